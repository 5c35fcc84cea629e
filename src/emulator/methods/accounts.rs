//! `accounts.setAccountInfo`, `accounts.getAccountInfo`, `accounts.initRegistration` and
//! `accounts.deleteAccount`.
//!
//! `setAccountInfo` follows seed page 002 and the protocol notes (§5.1): every parameter is
//! read and checked before anything changes; then, under the site lock, the checks that need
//! the stored account (old password, login-identifier conflicts) run and every change is
//! applied at once — so a call either changes everything it asked for or nothing
//! (`saveProfileAndFail` excepted, which saves all but the conflicting identifiers).

use serde_json::{Map, Value, json};

use super::super::store::{
    AccountRecord, SiteStore, iso_ms, merge_object, parse_iso_ms, path_covered, written_paths,
};
use super::super::{Answer, ValidationItem};
use super::{Call, comma_list, uid_signature_fields};
use crate::gigya::catalog::codes;
use crate::scenario::model::NestedMerge;

/// The parameters of `accounts.setAccountInfo` (seed page 002 plus the protocol notes).
pub(super) const SET_ACCOUNT_INFO_PARAMS: &[&str] = &[
    "UID",
    "regToken",
    "addLoginEmails",
    "removeLoginEmails",
    "conflictHandling",
    "data",
    "isActive",
    "isLockedOut",
    "isVerified",
    "muteWebhooks",
    "newPassword",
    "password",
    "oldPassword",
    "profile",
    "requirePasswordChange",
    "secretAnswer",
    "secretQuestion",
    "securityOverride",
    "rba",
    "username",
    "created",
    "regSource",
    "subscriptions",
    "preferences",
    "communications",
    "customIdentifiers",
    "internal",
    "lang",
    "phoneNumber",
];

/// Account fields only server-authenticated calls may write, whatever the site options say.
const BUILT_IN_SERVER_ONLY: &[&str] = &["isActive", "phoneNumber"];

/// `profile` fields holding text.
const PROFILE_STRINGS: &[&str] = &[
    "firstName",
    "lastName",
    "nickname",
    "email",
    "photoURL",
    "thumbnailURL",
    "profileURL",
    "city",
    "state",
    "country",
    "zip",
    "address",
    "bio",
    "locale",
    "timezone",
    "name",
    "username",
    "hometown",
    "industry",
    "honors",
    "religion",
    "politicalView",
    "professionalHeadline",
    "relationshipStatus",
    "specialties",
    "educationLevel",
    "interestedIn",
    "languages",
    "proxiedEmail",
];

/// `profile` fields holding integers, with their ranges.
const PROFILE_INTEGERS: &[(&str, i64, i64)] = &[
    ("age", 0, 200),
    ("birthDay", 1, 31),
    ("birthMonth", 1, 12),
    ("birthYear", 1800, 9999),
    ("followersCount", 0, i64::MAX),
    ("followingCount", 0, i64::MAX),
];

/// Profile fields `getAccountInfo` returns only when named in `extraProfileFields`.
const EXTRA_PROFILE_FIELDS: &[&str] = &[
    "languages",
    "address",
    "phones",
    "education",
    "educationLevel",
    "honors",
    "publications",
    "patents",
    "certifications",
    "professionalHeadline",
    "bio",
    "industry",
    "specialties",
    "work",
    "skills",
    "religion",
    "politicalView",
    "interestedIn",
    "relationshipStatus",
    "hometown",
    "favorites",
    "followersCount",
    "followingCount",
    "username",
    "name",
    "locale",
    "verified",
    "timezone",
    "likes",
    "samlData",
];

/// `include` values of `getAccountInfo`.
const INCLUDES: &[&str] = &[
    "identities-active",
    "identities-all",
    "identities-global",
    "loginIDs",
    "emails",
    "profile",
    "data",
    "password",
    "isLockedOut",
    "lastLoginLocation",
    "regSource",
    "irank",
    "rba",
    "subscriptions",
    "userInfo",
    "preferences",
    "groups",
    "internal",
    "customIdentifiers",
    "memberships",
    "id_token",
    "communications",
    "phoneNumber",
];

/// Where a call points: an account or a registration token.
enum Target<'a> {
    Uid(&'a str),
    RegToken(&'a str),
}

/// Reads `UID` xor `regToken`. UID calls need server credentials; regToken calls are
/// client-side and, where the site enforces HTTPS, HTTPS-only.
fn target<'a>(c: &'a Call<'_>, what: &str) -> Result<Target<'a>, Answer> {
    match (c.param("UID"), c.param("regToken")) {
        (Some(_), Some(_)) => Err(Answer::invalid(
            "UID",
            "and regToken were both given; pass exactly one of them",
        )),
        (None, None) => Err(Answer::missing("UID")),
        (Some(uid), None) => {
            c.require_server(&format!("{what} with UID"))?;
            Ok(Target::Uid(uid))
        }
        (None, Some(token)) => {
            if c.https_violation() {
                return Err(c.https_required("a call with regToken"));
            }
            Ok(Target::RegToken(token))
        }
    }
}

/// Resolves a target to a UID under the lock; `create` makes the account of a fresh
/// registration token.
fn resolve(
    c: &Call<'_>,
    store: &mut SiteStore,
    target: &Target<'_>,
    create: bool,
) -> Result<(String, bool), Answer> {
    match target {
        Target::Uid(uid) => {
            if store.accounts.contains_key(*uid) {
                Ok(((*uid).to_owned(), false))
            } else {
                Err(c.unknown_uid(uid))
            }
        }
        Target::RegToken(token) => {
            let Some(t) = store.reg_token(token, c.now_ms).cloned() else {
                let code = c.site.options.invalid_reg_token_code;
                let message = crate::gigya::catalog::describe(code).message;
                return Err(Answer::error(
                    code,
                    format!(
                        "{message}: regToken [gigya-mock: unknown or expired; registration tokens live one hour]"
                    ),
                ));
            };
            if !store.accounts.contains_key(&t.uid) {
                if !create {
                    return Err(c.unknown_uid(&t.uid));
                }
                if !store.has_room() {
                    return Err(Answer::error(
                        codes::GENERAL_SERVER_ERROR,
                        format!(
                            "General Server Error [gigya-mock: site {} holds {} accounts, the --max-accounts limit]",
                            c.site.api_key,
                            store.account_cap()
                        ),
                    ));
                }
                let mut rec = AccountRecord::new(&t.uid, c.now_ms);
                rec.is_registered = false;
                rec.is_lite = t.is_lite;
                store.accounts.insert(t.uid.clone(), rec);
            }
            Ok((t.uid, t.is_lite))
        }
    }
}

/// Everything a `setAccountInfo` call asks for, read and checked.
#[derive(Default)]
struct Update {
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

fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Type and format checks on a `profile` update.
fn check_profile(profile: &Map<String, Value>, items: &mut Vec<ValidationItem>) {
    for (k, v) in profile {
        if v.is_null() {
            continue;
        }
        let field = format!("profile.{k}");
        if PROFILE_STRINGS.contains(&k.as_str()) && !v.is_string() {
            items.push(ValidationItem::new(
                codes::INVALID_TYPE,
                field.clone(),
                "invalid type: expected a string",
            ));
            continue;
        }
        if let Some((_, lo, hi)) = PROFILE_INTEGERS.iter().find(|(n, ..)| n == k) {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                None => items.push(ValidationItem::new(
                    codes::INVALID_TYPE,
                    field,
                    "invalid type: expected an integer",
                )),
                Some(n) if n < *lo || n > *hi => items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    format!("value {n} is out of range ({lo} to {hi})"),
                )),
                Some(_) => {}
            }
            continue;
        }
        match (k.as_str(), v.as_str()) {
            ("gender", Some(g)) if !matches!(g, "m" | "f" | "u" | "") => {
                items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    "invalid format: gender is m, f or u",
                ));
            }
            ("gender", None) => items.push(ValidationItem::new(
                codes::INVALID_TYPE,
                field,
                "invalid type: expected a string",
            )),
            ("email", Some(e)) if !e.is_empty() && !is_email(e) => {
                items.push(ValidationItem::new(
                    codes::INVALID_FORMAT,
                    field,
                    "invalid format: not an email address",
                ));
            }
            _ => {}
        }
    }
}

fn read_update(c: &Call<'_>) -> Result<Update, Answer> {
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

/// `accounts.setAccountInfo`.
pub(super) fn set_account_info(c: &Call<'_>) -> Answer {
    let target = match target(c, "accounts.setAccountInfo") {
        Ok(t) => t,
        Err(a) => return a,
    };
    let update = match read_update(c) {
        Ok(u) => u,
        Err(a) => return a,
    };
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let (uid, is_lite) = match resolve(c, &mut store, &target, true) {
        Ok(x) => x,
        Err(a) => return a,
    };
    match apply_update(c, &mut store, &uid, update) {
        Err(a) => a,
        Ok(Some(conflict_token)) => {
            let mut fields = Map::new();
            fields.insert("regToken".into(), Value::String(conflict_token));
            Answer {
                code: codes::OK_LOGIN_ID_EXISTS,
                fields,
                ..Answer::default()
            }
        }
        Ok(None) => {
            let mut fields = Map::new();
            if matches!(target, Target::RegToken(_)) && is_lite {
                fields.insert("UID".into(), Value::String(uid));
            }
            Answer::data(fields)
        }
    }
}

/// Checks that need the stored account, then applies everything. `Ok(Some(token))` means a
/// `saveProfileAndFail` conflict: saved, and the token is to be returned with `200010`.
fn apply_update(
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

/// `accounts.getAccountInfo`.
pub(super) fn get_account_info(c: &Call<'_>) -> Answer {
    let target = match target(c, "accounts.getAccountInfo") {
        Ok(t) => t,
        Err(a) => return a,
    };
    let include: Vec<&str> = match c.param("include") {
        Some(list) => comma_list(list),
        None => vec!["profile", "data", "subscriptions"],
    };
    if let Some(bad) = include.iter().find(|i| !INCLUDES.contains(i)) {
        return Answer::invalid(
            "include",
            format!(
                "has an unknown value {bad:?} (expected a comma list of {})",
                INCLUDES.join(", ")
            ),
        );
    }
    let extra: Vec<&str> = c
        .param("extraProfileFields")
        .map(comma_list)
        .unwrap_or_default();
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let uid = match resolve(c, &mut store, &target, false) {
        Ok((uid, _)) => uid,
        Err(a) => return a,
    };
    let Some(acc) = store.accounts.get(&uid) else {
        return c.unknown_uid(&uid);
    };
    let mut out = account_view(
        acc,
        &include,
        &extra,
        c.param("includeCommunications").is_some(),
    );
    drop(store);
    uid_signature_fields(c, &uid, &mut out);
    Answer::data(out)
}

/// The `getAccountInfo` fields of an account.
fn account_view(
    acc: &AccountRecord,
    include: &[&str],
    extra_profile: &[&str],
    communications: bool,
) -> Map<String, Value> {
    let has = |name: &str| include.contains(&name);
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("UID", json!(acc.uid));
    put("created", json!(iso_ms(acc.created_ms)));
    put("createdTimestamp", json!(acc.created_ms));
    put("lastUpdated", json!(iso_ms(acc.last_updated_ms)));
    put("lastUpdatedTimestamp", json!(acc.last_updated_ms));
    put("oldestDataUpdated", json!(iso_ms(acc.created_ms)));
    put("oldestDataUpdatedTimestamp", json!(acc.created_ms));
    if let Some(ms) = acc.registered_ms.filter(|_| acc.is_registered) {
        put("registered", json!(iso_ms(ms)));
        put("registeredTimestamp", json!(ms));
    }
    if let Some(ms) = acc.verified_ms.filter(|_| acc.is_verified) {
        put("verified", json!(iso_ms(ms)));
        put("verifiedTimestamp", json!(ms));
    }
    put("isActive", json!(acc.is_active));
    put("isRegistered", json!(acc.is_registered));
    put("isVerified", json!(acc.is_verified));
    put("loginProvider", json!("site"));
    put("socialProviders", json!("site"));
    if let Some(src) = &acc.reg_source {
        put("regSource", json!(src));
    }
    if let Some(lang) = &acc.lang {
        put("lang", json!(lang));
    }
    if acc.require_password_change {
        put("requirePasswordChange", json!(true));
    }
    if has("profile") {
        let profile: Map<String, Value> = acc
            .profile
            .iter()
            .filter(|(k, _)| {
                !EXTRA_PROFILE_FIELDS.contains(&k.as_str()) || extra_profile.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        put("profile", Value::Object(profile));
    }
    for (name, map) in [
        ("data", &acc.data),
        ("subscriptions", &acc.subscriptions),
        ("preferences", &acc.preferences),
        ("internal", &acc.internal),
        ("customIdentifiers", &acc.custom_identifiers),
    ] {
        if has(name) {
            put(name, Value::Object(map.clone()));
        }
    }
    if has("communications") || communications {
        put("communications", Value::Object(acc.communications.clone()));
    }
    if has("userInfo") {
        put("userInfo", Value::Object(acc.user_info.clone()));
    }
    if has("phoneNumber") {
        if let Some(p) = &acc.phone_number {
            put("phoneNumber", json!(p));
        }
    }
    let emails = acc.all_emails();
    if has("emails") {
        let (verified, unverified): (Vec<&String>, Vec<&String>) =
            emails.iter().partition(|e| acc.email_verified(e));
        put(
            "emails",
            json!({"verified": verified, "unverified": unverified}),
        );
    }
    if has("loginIDs") {
        let (verified, unverified): (Vec<&String>, Vec<&String>) =
            acc.login_emails.iter().partition(|e| acc.email_verified(e));
        let mut ids = json!({"emails": verified, "unverifiedEmails": unverified});
        if let (Some(name), Some(obj)) = (&acc.username, ids.as_object_mut()) {
            obj.insert("username".into(), json!(name));
        }
        put("loginIDs", ids);
    }
    if has("password") {
        let mut pw = Map::new();
        if let Some(ms) = acc.password_set_ms.filter(|_| acc.password.is_some()) {
            pw.insert("created".into(), json!(iso_ms(ms)));
        }
        put("password", Value::Object(pw));
    }
    if has("isLockedOut") {
        put("isLockedOut", json!(false));
    }
    if has("irank") {
        put("iRank", json!(0));
    }
    if has("rba") {
        let mut policy = Map::new();
        policy.insert(
            "riskPolicy".into(),
            acc.rba.get("riskPolicy").cloned().unwrap_or(Value::Null),
        );
        policy.insert(
            "riskPolicyLocked".into(),
            acc.rba
                .get("riskPolicyLocked")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        );
        put("rbaPolicy", Value::Object(policy));
    }
    if has("identities-active") || has("identities-all") || has("identities-global") {
        let mut id = Map::new();
        id.insert("provider".into(), json!("site"));
        id.insert("providerUID".into(), json!(acc.uid));
        id.insert("allowsLogin".into(), json!(true));
        id.insert("isLoginIdentity".into(), json!(true));
        id.insert("isExpiredSession".into(), json!(false));
        id.insert("lastUpdated".into(), json!(iso_ms(acc.last_updated_ms)));
        id.insert("lastUpdatedTimestamp".into(), json!(acc.last_updated_ms));
        for k in [
            "firstName",
            "lastName",
            "nickname",
            "email",
            "gender",
            "photoURL",
        ] {
            if let Some(v) = acc.profile.get(k) {
                id.insert(k.into(), v.clone());
            }
        }
        put("identities", Value::Array(vec![Value::Object(id)]));
    }
    out
}

/// `accounts.initRegistration`: a fresh registration token for a new account (created on
/// its first `setAccountInfo`).
pub(super) fn init_registration(c: &Call<'_>) -> Answer {
    let is_lite = match c.bool_param("isLite") {
        Ok(b) => b.unwrap_or(false),
        Err(a) => return a,
    };
    let uid = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    let token = store.issue_reg_token(&uid, is_lite, c.now_ms);
    let mut fields = Map::new();
    fields.insert("regToken".into(), Value::String(token));
    Answer::data(fields)
}

/// `accounts.deleteAccount`.
pub(super) fn delete_account(c: &Call<'_>) -> Answer {
    let uid = match c.required("UID") {
        Ok(u) => u,
        Err(a) => return a,
    };
    if let Err(a) = c.require_server("accounts.deleteAccount") {
        return a;
    }
    let Ok(mut store) = c.site.store.lock() else {
        return Answer::error(codes::GENERAL_SERVER_ERROR, "General Server Error");
    };
    if store.accounts.remove(uid).is_none() {
        return c.unknown_uid(uid);
    }
    Answer::ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phone_numbers() {
        assert!(is_email("a@b.test"));
        assert!(!is_email("a b@c"));
        assert!(!is_email("@c"));
        assert!(!is_email("a@b@c"));
        assert!(is_e164("+15551234567"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+0555"));
    }

    #[test]
    fn profile_checks_report_every_field() {
        let p = json!({"age": "x", "birthMonth": 13, "gender": "q", "email": "nope", "firstName": 3, "zip": null, "age2": 1});
        let mut items = Vec::new();
        check_profile(p.as_object().unwrap(), &mut items);
        let fields: Vec<&str> = items.iter().map(|i| i.field_name.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "profile.age",
                "profile.birthMonth",
                "profile.gender",
                "profile.email",
                "profile.firstName"
            ]
        );
    }
}
