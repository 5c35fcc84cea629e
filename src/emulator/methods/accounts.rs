//! `accounts.setAccountInfo`, `accounts.getAccountInfo`, `accounts.initRegistration` and
//! `accounts.deleteAccount`, and how a call names its account (`UID` or `regToken`).

mod field_checks;
mod update;
mod view;

use serde_json::{Map, Value};

use super::super::Answer;
use super::super::store::{AccountRecord, SiteStore};
use super::{Call, comma_list, uid_signature_fields};
use crate::gigya::catalog::codes;
use update::{apply_update, read_update};
use view::account_view;

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
