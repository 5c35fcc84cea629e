//! `socialize.setUserInfo` / `getUserInfo` (seed page 001) and `socialize.setUserSettings` /
//! `getUserSettings` / `delUserSettings` (seed page 000). These are server calls: `UID` is
//! required and so are server credentials.

use serde_json::{Map, Value, json};

use super::super::Answer;
use super::super::store::iso_ms;
use super::{Call, comma_list, uid_signature_fields};
use crate::gigya::catalog::codes;
use crate::scenario::model::SettingsMerge;

/// The `userInfo` fields `setUserInfo` stores.
const USER_INFO_FIELDS: &[&str] = &[
    "nickname",
    "photoURL",
    "thumbnailURL",
    "firstName",
    "lastName",
    "gender",
    "age",
    "email",
];

/// Profile fields `getUserInfo` reports when `setUserInfo` did not set them.
const PROFILE_FIELDS: &[&str] = &[
    "nickname",
    "photoURL",
    "thumbnailURL",
    "firstName",
    "lastName",
    "gender",
    "age",
    "email",
    "birthDay",
    "birthMonth",
    "birthYear",
    "country",
    "state",
    "city",
    "zip",
    "profileURL",
    "proxiedEmail",
];

/// The share-setting action ids of seed page 000.
const ACTION_IDS: &[&str] = &["Like", "Comment", "Rate", "Reply", "Publish"];

/// `UID` plus the server-credentials rule.
fn uid<'a>(c: &'a Call<'_>, method: &str) -> Result<&'a str, Answer> {
    let uid = c.required("UID")?;
    c.require_server(method)?;
    Ok(uid)
}

/// Reads `userInfo`: a JSON object, or a JSON string holding one.
fn read_user_info(c: &Call<'_>) -> Result<Map<String, Value>, Answer> {
    let param = c
        .req
        .params()
        .get("userInfo")
        .filter(|p| !p.value().is_empty())
        .ok_or_else(|| Answer::missing("userInfo"))?;
    let value = match param.json() {
        Some(Value::String(inner)) => serde_json::from_str::<Value>(inner).ok(),
        Some(v) => Some(v.clone()),
        None => None,
    };
    let Some(Value::Object(info)) = value else {
        return Err(Answer::invalid(
            "userInfo",
            "must be a JSON object (or a JSON string holding one)",
        ));
    };
    let mut out = Map::new();
    for (k, v) in info {
        if !USER_INFO_FIELDS.contains(&k.as_str()) {
            continue;
        }
        match (k.as_str(), &v) {
            (_, Value::Null) => {}
            ("gender", Value::String(g)) if matches!(g.as_str(), "m" | "f" | "u") => {}
            ("gender", _) => {
                return Err(Answer::invalid("userInfo.gender", "must be m, f or u"));
            }
            ("age", Value::Number(n)) if n.is_u64() => {}
            ("age", Value::String(s)) if s.trim().parse::<u32>().is_ok() => {}
            ("age", _) => return Err(Answer::invalid("userInfo.age", "must be an integer")),
            (_, Value::String(_)) => {}
            (name, _) => {
                return Err(Answer::invalid(
                    &format!("userInfo.{name}"),
                    "must be a string",
                ));
            }
        }
        out.insert(k, v);
    }
    Ok(out)
}

/// `socialize.setUserInfo`.
pub(super) fn set_user_info(c: &Call<'_>) -> Answer {
    let uid = match uid(c, "socialize.setUserInfo") {
        Ok(u) => u,
        Err(a) => return a,
    };
    let info = match read_user_info(c) {
        Ok(i) => i,
        Err(a) => return a,
    };
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let Some(acc) = store.accounts.get_mut(uid) else {
        return c.unknown_uid(uid);
    };
    for (k, v) in info {
        if v.is_null() {
            acc.user_info.remove(&k);
        } else {
            acc.user_info.insert(k, v);
        }
    }
    acc.last_updated_ms = c.now_ms;
    Answer::ok()
}

/// `socialize.getUserInfo`.
pub(super) fn get_user_info(c: &Call<'_>) -> Answer {
    let uid = match uid(c, "socialize.getUserInfo") {
        Ok(u) => u,
        Err(a) => return a,
    };
    let Ok(store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let Some(acc) = store.accounts.get(uid) else {
        return c.unknown_uid(uid);
    };
    let mut out = Map::new();
    out.insert("UID".into(), json!(acc.uid));
    out.insert("isSiteUser".into(), json!(true));
    out.insert("isSiteUID".into(), json!(true));
    out.insert("isConnected".into(), json!(false));
    out.insert(
        "isLoggedIn".into(),
        json!(acc.is_registered && acc.is_active),
    );
    out.insert("isTempUser".into(), json!(false));
    out.insert("loginProvider".into(), json!("site"));
    out.insert("loginProviderUID".into(), json!(acc.uid));
    for k in PROFILE_FIELDS {
        if let Some(v) = acc
            .user_info
            .get(*k)
            .or_else(|| acc.profile.get(*k))
            .filter(|v| !v.is_null())
        {
            out.insert((*k).to_owned(), v.clone());
        }
    }
    let mut identity = Map::new();
    identity.insert("provider".into(), json!("site"));
    identity.insert("providerUID".into(), json!(acc.uid));
    identity.insert("isLoginIdentity".into(), json!(true));
    for k in USER_INFO_FIELDS {
        if let Some(v) = out.get(*k) {
            identity.insert((*k).to_owned(), v.clone());
        }
    }
    out.insert(
        "identities".into(),
        Value::Array(vec![Value::Object(identity)]),
    );
    out.insert("oldestDataUpdatedTimestamp".into(), json!(acc.created_ms));
    out.insert("oldestDataUpdated".into(), json!(iso_ms(acc.created_ms)));
    drop(store);
    uid_signature_fields(c, uid, &mut out);
    Answer::data(out)
}

/// Checks one share setting of an action id.
fn check_action_setting(name: &str, v: &Value) -> Result<(), Answer> {
    let field = format!("settings.{name}");
    let Value::Object(m) = v else {
        return Err(Answer::invalid(
            &field,
            "must be an object with alwaysShare, neverShare and providers",
        ));
    };
    for flag in ["alwaysShare", "neverShare"] {
        if m.get(flag).is_some_and(|b| !b.is_boolean()) {
            return Err(Answer::invalid(
                &format!("{field}.{flag}"),
                "must be a boolean",
            ));
        }
    }
    if m.get("providers").is_some_and(|p| !p.is_string()) {
        return Err(Answer::invalid(
            &format!("{field}.providers"),
            "must be a comma-separated string of provider names",
        ));
    }
    let on = |k: &str| m.get(k).and_then(Value::as_bool) == Some(true);
    if on("alwaysShare") && on("neverShare") {
        return Err(Answer::invalid(
            &field,
            "cannot set both alwaysShare and neverShare to true",
        ));
    }
    Ok(())
}

/// `socialize.setUserSettings`.
pub(super) fn set_user_settings(c: &Call<'_>) -> Answer {
    let uid = match uid(c, "socialize.setUserSettings") {
        Ok(u) => u,
        Err(a) => return a,
    };
    let settings = match c.object_param("settings") {
        Ok(Some(s)) => s,
        Ok(None) => return Answer::missing("settings"),
        Err(a) => return a,
    };
    for (name, v) in &settings {
        if ACTION_IDS.contains(&name.as_str()) {
            if let Err(a) = check_action_setting(name, v) {
                return a;
            }
        }
    }
    let group = c.param("group").unwrap_or("").to_owned();
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let Some(acc) = store.accounts.get_mut(uid) else {
        return c.unknown_uid(uid);
    };
    let slot = acc.user_settings.entry(group).or_default();
    if c.site.options.settings_merge == SettingsMerge::Replace {
        slot.clear();
    }
    for (name, v) in settings {
        slot.insert(name, v);
    }
    acc.last_updated_ms = c.now_ms;
    Answer::ok()
}

/// `socialize.getUserSettings`.
pub(super) fn get_user_settings(c: &Call<'_>) -> Answer {
    let uid = match uid(c, "socialize.getUserSettings") {
        Ok(u) => u,
        Err(a) => return a,
    };
    let group = c.param("group").unwrap_or("");
    let filter: Option<Vec<&str>> = c.param("settings").map(comma_list);
    let Ok(store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let Some(acc) = store.accounts.get(uid) else {
        return c.unknown_uid(uid);
    };
    let settings: Map<String, Value> = acc
        .user_settings
        .get(group)
        .map(|g| {
            g.iter()
                .filter(|(k, _)| filter.as_ref().is_none_or(|f| f.contains(&k.as_str())))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    out.insert("settings".into(), Value::Object(settings));
    Answer::data(out)
}

/// `socialize.delUserSettings`.
pub(super) fn del_user_settings(c: &Call<'_>) -> Answer {
    let uid = match uid(c, "socialize.delUserSettings") {
        Ok(u) => u,
        Err(a) => return a,
    };
    let group = c.param("group").unwrap_or("").to_owned();
    let filter: Option<Vec<String>> = c
        .param("settings")
        .map(|s| comma_list(s).into_iter().map(str::to_owned).collect());
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let Some(acc) = store.accounts.get_mut(uid) else {
        return c.unknown_uid(uid);
    };
    match filter {
        None => {
            acc.user_settings.shift_remove(&group);
        }
        Some(names) => {
            if let Some(g) = acc.user_settings.get_mut(&group) {
                for n in names {
                    g.remove(&n);
                }
            }
        }
    }
    acc.last_updated_ms = c.now_ms;
    Answer::ok()
}
