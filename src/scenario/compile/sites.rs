//! Sites and seeded accounts: checking each site's apiKey, data centre, secrets, applications
//! and options, and giving every account the apiKey of its site.

use super::{Compiler, KeyPath};
use crate::scenario::model::{Account, Site, SiteOptions};

impl Compiler {
    pub(super) fn site(&mut self, site: &Site, at: &KeyPath) {
        if site.api_key.trim().is_empty() {
            self.problem(&at.key("apiKey"), "site apiKey must not be empty");
        }
        if let Some(dc) = &site.data_center {
            if dc.is_empty()
                || !dc
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            {
                self.problem(
                    &at.key("dataCenter"),
                    format!("dataCenter {dc:?} is not a data-centre name such as us1, eu1, au1"),
                );
            }
        }
        if let Some(secret) = &site.partner_secret {
            if let Err(e) = crate::gigya::signature::decode_secret(secret) {
                self.problem(&at.key("partnerSecret"), format!("partnerSecret: {e}"));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, app) in site.applications.iter().enumerate() {
            let at = at.key("applications").index(i);
            if app.user_key.trim().is_empty() {
                self.problem(&at.key("userKey"), "userKey must not be empty");
            } else if seen.contains(&app.user_key.as_str()) {
                self.problem(
                    &at.key("userKey"),
                    format!("userKey {:?} is listed twice in this site", app.user_key),
                );
            }
            seen.push(&app.user_key);
            if let Some(secret) = &app.secret {
                if let Err(e) = crate::gigya::signature::decode_secret(secret) {
                    self.problem(&at.key("secret"), format!("application {e}"));
                }
            }
            if let Some(pem) = &app.public_key {
                if let Err(e) = crate::gigya::jwt::parse_public_key(pem) {
                    self.problem(
                        &at.key("publicKey"),
                        format!("publicKey is not a usable RSA key: {e}"),
                    );
                }
            }
            if app.secret.is_none() && app.public_key.is_none() {
                self.problem(&at, "application needs a `secret`, a `publicKey`, or both");
            }
        }
        if let Some(o) = &site.options {
            self.site_options(o, &at.key("options"));
        }
    }

    fn site_options(&mut self, o: &SiteOptions, at: &KeyPath) {
        for (key, code) in [
            ("unknownUidCode", o.unknown_uid_code),
            ("invalidRegTokenCode", o.invalid_reg_token_code),
            ("httpsRequiredCode", o.https_required_code),
        ] {
            if let Some(code) = code {
                if code < 100_000 || !crate::gigya::catalog::is_known(code) {
                    self.problem(
                        &at.key(key),
                        format!("{key}: {code} is not an error code of the Gigya catalogue"),
                    );
                }
            }
        }
        if let Some(s) = o.login_id_exists_status {
            if !(100..=599).contains(&s) {
                self.problem(
                    &at.key("loginIdExistsStatus"),
                    format!("loginIdExistsStatus: {s} is not an HTTP-like status (100 to 599)"),
                );
            }
        }
        for (i, f) in o.server_only_fields.iter().enumerate() {
            if !valid_field_path(f) {
                self.problem(
                    &at.key("serverOnlyFields").index(i),
                    format!(
                        "serverOnlyFields: {f:?} is not a field path such as data.tier, profile.email or isActive"
                    ),
                );
            }
        }
        for (i, f) in o.data_fields.iter().flatten().enumerate() {
            if f.is_empty() || f.split('.').any(str::is_empty) {
                self.problem(
                    &at.key("dataFields").index(i),
                    format!(
                        "dataFields: {f:?} is not a dotted field path such as tier or address.city"
                    ),
                );
            }
        }
    }

    pub(super) fn accounts(
        &mut self,
        accounts: Vec<(usize, usize, Account)>,
        sites: &[Site],
    ) -> Vec<Account> {
        let mut out: Vec<Account> = Vec::new();
        for (input, i, mut account) in accounts {
            self.input = input;
            let at = KeyPath::default().key("accounts").index(i);
            if account.uid.trim().is_empty() {
                self.problem(&at.key("UID"), "UID must not be empty");
                continue;
            }
            match (&account.api_key, sites) {
                (Some(key), _) if !sites.iter().any(|s| &s.api_key == key) => {
                    self.problem(
                        &at.key("apiKey"),
                        format!("account apiKey {key:?} does not name a site in `sites`"),
                    );
                    continue;
                }
                (Some(_), _) => {}
                (None, [only]) => account.api_key = Some(only.api_key.clone()),
                (None, []) => {
                    self.problem(&at, "accounts need a site: add one under `sites`");
                    continue;
                }
                (None, _) => {
                    self.problem(
                        &at,
                        "several sites are configured: give this account an `apiKey`",
                    );
                    continue;
                }
            }
            if let Some(created) = &account.created {
                if chrono::DateTime::parse_from_rfc3339(created).is_err() {
                    self.problem(
                        &at.key("created"),
                        format!("created: {created:?} is not an ISO 8601 time such as 2014-07-16T19:20:30Z"),
                    );
                }
            }
            if out
                .iter()
                .any(|a| a.uid == account.uid && a.api_key == account.api_key)
            {
                self.problem(
                    &at.key("UID"),
                    format!(
                        "account UID {:?} is seeded twice for the same site",
                        account.uid
                    ),
                );
                continue;
            }
            out.push(account);
        }
        out
    }
}

/// Whether `path` names a writable account field: `profile.x`, `data.x.y`, or a top-level
/// account field such as `isActive`.
fn valid_field_path(path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    if path.split('.').any(str::is_empty) {
        return false;
    }
    match first {
        "profile" | "data" | "subscriptions" | "preferences" | "rba" => true,
        _ => {
            path == first
                && first
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
    }
}
