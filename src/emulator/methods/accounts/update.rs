//! The update `accounts.setAccountInfo` asks for: its parameters read and checked, then the
//! checks against the stored account and the changes applied.
//!
//! `setAccountInfo` follows seed page 002 and the protocol notes (§5.1): every parameter is
//! read and checked before anything changes; then, under the site lock, the checks that need
//! the stored account (old password, login-identifier conflicts) run and every change is
//! applied at once — so a call either changes everything it asked for or nothing
//! (`saveProfileAndFail` excepted, which saves all but the conflicting identifiers).

use serde_json::{Map, Value};

use super::field_checks::{check_profile, is_e164, is_email};
use crate::emulator::methods::{Call, comma_list};
use crate::emulator::store::{SiteStore, merge_object, parse_iso_ms, path_covered, written_paths};
use crate::emulator::{Answer, ValidationItem};
use crate::gigya::catalog::codes;
use crate::scenario::model::NestedMerge;

/// Account fields only server-authenticated calls may write, whatever the site options say.
const BUILT_IN_SERVER_ONLY: &[&str] = &["isActive", "phoneNumber"];

/// Everything a `setAccountInfo` call asks for, read and checked.
#[derive(Default)]
pub(super) struct Update {
    profile: Option<Map<String, Value>>,
    data: Option<Map<String, Value>>,
    extra_maps: Vec<(&'static str, Map<String, Value>)>,
    rba: Option<Map<String, Value>>,
    add_emails: Vec<String>,
    remove_emails: Vec<String>,
    save_on_conflict: bool,
    is_active: Option<bool>,
    is_verified: Option<bool>,
    new_password: Option<String>,
    password: Option<String>,
    secret_question: Option<String>,
    secret_answer: Option<String>,
    security_override: bool,
    require_password_change: bool,
    username: Option<String>,
    created_ms: Option<i64>,
    reg_source: Option<String>,
    phone_number: Option<String>,
    lang: Option<String>,
}

pub(super) fn read_update(c: &Call<'_>) -> Result<Update, Answer> {
    let mut u = Update::default();
    match c.param("conflictHandling") {
        None | Some("fail") => {}
        Some("saveProfileAndFail") => u.save_on_conflict = true,
        Some(other) => {
            return Err(Answer::invalid(
                "conflictHandling",
                format!("must be fail or saveProfileAndFail, got {other:?}"),
            ));
        }
    }
    u.is_active = c.bool_param("isActive")?;
    u.is_verified = c.bool_param("isVerified")?;
    c.bool_param("muteWebhooks")?;
    c.bool_param("isLockedOut")?;
    u.security_override = c.bool_param("securityOverride")?.unwrap_or(false);
    match c.bool_param("requirePasswordChange")? {
        Some(false) => {
            return Err(Answer::invalid(
                "requirePasswordChange",
                "only accepts true",
            ));
        }
        Some(true) => u.require_password_change = true,
        None => {}
    }
    u.profile = c.object_param("profile")?;
    u.data = c.object_param("data")?;
    for name in [
        "subscriptions",
        "preferences",
        "communications",
        "customIdentifiers",
        "internal",
    ] {
        if let Some(m) = c.object_param(name)? {
            u.extra_maps.push((name, m));
        }
    }
    if let Some(rba) = c.object_param("rba")? {
        for (k, v) in &rba {
            match (k.as_str(), v) {
                ("riskPolicy", Value::String(_) | Value::Null)
                | ("riskPolicyLocked", Value::Bool(_) | Value::Null) => {}
                ("riskPolicy" | "riskPolicyLocked", _) => {
                    return Err(Answer::invalid(
                        &format!("rba.{k}"),
                        "has the wrong type (riskPolicy is a string, riskPolicyLocked a boolean)",
                    ));
                }
                _ => {
                    return Err(Answer::invalid(
                        "rba",
                        format!(
                            "has an unknown property {k:?} (expected riskPolicy, riskPolicyLocked)"
                        ),
                    ));
                }
            }
        }
        u.rba = Some(rba);
    }
    for (name, slot) in [
        ("addLoginEmails", &mut u.add_emails),
        ("removeLoginEmails", &mut u.remove_emails),
    ] {
        if let Some(list) = c.param(name) {
            for e in comma_list(list) {
                if !is_email(e) {
                    return Err(Answer::invalid(
                        name,
                        format!("contains {e:?}, not an email address"),
                    ));
                }
                slot.push(e.to_owned());
            }
        }
    }
    if let Some(created) = c.param("created") {
        u.created_ms = Some(parse_iso_ms(created).ok_or_else(|| {
            Answer::invalid(
                "created",
                format!("{created:?} is not an ISO 8601 time such as 2014-07-16T19:20:30Z"),
            )
        })?);
    }
    u.password = c
        .param("password")
        .or_else(|| c.param("oldPassword"))
        .map(str::to_owned);
    u.new_password = c.param("newPassword").map(str::to_owned);
    if (u.password.is_some() || u.new_password.is_some()) && c.https_violation() {
        return Err(c.https_required("password and newPassword"));
    }
    if u.security_override && !c.is_server() {
        return Err(Answer::error(
            codes::PERMISSION_DENIED,
            "Permission denied [gigya-mock: securityOverride needs server credentials]",
        ));
    }
    u.secret_question = c.param("secretQuestion").map(str::to_owned);
    u.secret_answer = c.param("secretAnswer").map(str::to_owned);
    match (&u.secret_question, &u.secret_answer) {
        (Some(_), None) => return Err(Answer::missing("secretAnswer")),
        (None, Some(_)) => return Err(Answer::missing("secretQuestion")),
        _ => {}
    }
    // `username=` (empty) clears the username, so read it raw.
    u.username = c.req.params().value("username").map(str::to_owned);
    u.reg_source = c.param("regSource").map(str::to_owned);
    u.lang = c.param("lang").map(str::to_owned);
    u.phone_number = c.param("phoneNumber").map(str::to_owned);

    let mut items = Vec::new();
    if let Some(p) = &u.profile {
        check_profile(p, &mut items);
    }
    if let Some(phone) = &u.phone_number {
        if !is_e164(phone) {
            items.push(ValidationItem::new(
                codes::INVALID_FORMAT,
                "phoneNumber",
                "invalid format: expected E.164, e.g. +15551234567",
            ));
        }
    }
    let nested = c.site.options.nested;
    let mut written: Vec<String> = Vec::new();
    if let Some(p) = &u.profile {
        written.extend(written_paths("profile", p, nested));
    }
    if let Some(d) = &u.data {
        written.extend(written_paths("data", d, nested));
        if let Some(allowed) = &c.site.options.data_fields {
            for path in written_paths("data", d, NestedMerge::Merge) {
                let inner = path.strip_prefix("data.").unwrap_or(&path);
                let ok = allowed
                    .iter()
                    .any(|a| path_covered(inner, a) || path_covered(a, inner));
                if !ok {
                    items.push(ValidationItem::new(
                        codes::DYNAMIC_FIELDS,
                        path,
                        "field is not in the site's data schema",
                    ));
                }
            }
        }
    }
    for (name, m) in &u.extra_maps {
        written.extend(written_paths(name, m, nested));
    }
    if let Some(r) = &u.rba {
        written.extend(written_paths("rba", r, NestedMerge::Merge));
    }
    for (name, present) in [
        ("isActive", u.is_active.is_some()),
        ("phoneNumber", u.phone_number.is_some()),
        ("isVerified", u.is_verified.is_some()),
        ("username", u.username.is_some()),
        ("created", u.created_ms.is_some()),
        ("regSource", u.reg_source.is_some()),
        ("lang", u.lang.is_some()),
    ] {
        if present {
            written.push(name.to_owned());
        }
    }
    if !c.is_server() {
        for path in &written {
            let server_only = BUILT_IN_SERVER_ONLY.contains(&path.as_str())
                || c.site
                    .options
                    .server_only_fields
                    .iter()
                    .any(|rule| path_covered(path, rule));
            if server_only {
                items.push(ValidationItem::new(
                    codes::WRITE_ACCESS,
                    path.clone(),
                    "write access denied: only server-side calls may write this field",
                ));
            }
        }
    }
    if !items.is_empty() {
        return Err(Answer::validation(items));
    }
    Ok(u)
}

/// Checks that need the stored account, then applies everything. `Ok(Some(token))` means a
/// `saveProfileAndFail` conflict: saved, and the token is to be returned with `200010`.
pub(super) fn apply_update(
    c: &Call<'_>,
    store: &mut SiteStore,
    uid: &str,
    u: Update,
) -> Result<Option<String>, Answer> {
    let Some(current) = store.accounts.get(uid) else {
        return Err(c.unknown_uid(uid));
    };
    let password_ok = |given: Option<&String>| -> Result<(), Answer> {
        match (given, &current.password) {
            (None, _) => Err(Answer::missing("password")),
            (Some(g), Some(stored)) if g == stored => Ok(()),
            (Some(_), None) => Ok(()),
            (Some(_), Some(_)) => Err(Answer::error(
                codes::INVALID_LOGIN_ID,
                "Invalid LoginID [gigya-mock: password does not match the account's current password]",
            )),
        }
    };
    if u.new_password.is_some() && current.password.is_some() && !u.security_override {
        password_ok(u.password.as_ref())?;
    }
    if u.new_password.as_deref() == Some("") {
        return Err(Answer::invalid("newPassword", "must not be empty"));
    }
    if u.secret_question.is_some() && current.secret_question.is_some() && !u.security_override {
        password_ok(u.password.as_ref())?;
    }
    if let Some(rba) = &u.rba {
        let locked = current
            .rba
            .get("riskPolicyLocked")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if locked && !c.is_server() && rba.contains_key("riskPolicy") {
            return Err(Answer::validation(vec![ValidationItem::new(
                codes::WRITE_ACCESS,
                "rba.riskPolicy",
                "write access denied: the risk policy is locked (riskPolicyLocked)",
            )]));
        }
    }

    // Login identifiers taken by other accounts.
    let mut conflicts: Vec<String> = Vec::new();
    let mut add_emails = Vec::new();
    for e in &u.add_emails {
        match store.login_email_owner(e, uid) {
            Some(owner) => conflicts.push(format!("{e} (account {owner})")),
            None => add_emails.push(e.clone()),
        }
    }
    let mut username = u.username.clone();
    if let Some(name) = u.username.as_deref().filter(|n| !n.is_empty()) {
        if let Some(owner) = store.username_owner(name, uid) {
            conflicts.push(format!("username {name} (account {owner})"));
            username = None;
        }
    }
    if !conflicts.is_empty() && !u.save_on_conflict {
        let mut a = Answer::error(
            codes::LOGIN_ID_EXISTS,
            format!(
                "Login identifier exists [gigya-mock: already used: {}]",
                conflicts.join(", ")
            ),
        );
        if c.site.options.login_id_exists_status != 403 {
            a.status_code = Some(c.site.options.login_id_exists_status);
        }
        return Err(a);
    }

    let opts = &c.site.options;
    let now = c.now_ms;
    let Some(acc) = store.accounts.get_mut(uid) else {
        return Err(c.unknown_uid(uid));
    };
    if let Some(p) = &u.profile {
        merge_object(&mut acc.profile, p, opts.nested, opts.null_removes);
    }
    if let Some(d) = &u.data {
        merge_object(&mut acc.data, d, opts.nested, opts.null_removes);
    }
    for (name, m) in &u.extra_maps {
        let slot = match *name {
            "subscriptions" => &mut acc.subscriptions,
            "preferences" => &mut acc.preferences,
            "communications" => &mut acc.communications,
            "customIdentifiers" => &mut acc.custom_identifiers,
            _ => &mut acc.internal,
        };
        merge_object(slot, m, opts.nested, opts.null_removes);
    }
    if let Some(r) = &u.rba {
        merge_object(&mut acc.rba, r, NestedMerge::Merge, true);
    }
    for e in add_emails {
        if !acc.has_login_email(&e) {
            acc.login_emails.push(e);
        }
    }
    for e in &u.remove_emails {
        acc.login_emails.retain(|x| !x.eq_ignore_ascii_case(e));
        if acc
            .username
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(e))
        {
            acc.username = None;
        }
    }
    if let Some(name) = username {
        acc.username = (!name.is_empty()).then_some(name);
    }
    if let Some(active) = u.is_active {
        acc.is_active = active;
    }
    if u.is_verified == Some(true) {
        acc.verify_all_emails();
        if !acc.is_verified {
            acc.is_verified = true;
            acc.verified_ms = Some(now);
        }
    }
    if let Some(pw) = u.new_password {
        acc.password = Some(pw);
        acc.password_set_ms = Some(now);
        acc.require_password_change = false;
    }
    if u.require_password_change {
        acc.require_password_change = true;
    }
    if let (Some(q), Some(a)) = (u.secret_question, u.secret_answer) {
        acc.secret_question = Some(q);
        acc.secret_answer = Some(a);
    }
    if let Some(ms) = u.created_ms {
        acc.created_ms = ms;
    }
    if acc.reg_source.is_none() {
        acc.reg_source = u.reg_source;
    }
    if let Some(phone) = u.phone_number {
        acc.phone_number = Some(phone);
    }
    if let Some(lang) = u.lang {
        acc.lang = Some(lang);
    }
    acc.last_updated_ms = now;
    if conflicts.is_empty() {
        Ok(None)
    } else {
        Ok(Some(store.issue_reg_token(uid, false, now)))
    }
}
