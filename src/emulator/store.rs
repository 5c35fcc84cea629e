//! The emulator's state for one site: accounts (profile, data, login IDs, flags, social user
//! info, user settings) and the registration tokens handed out, with the merge rules of the
//! protocol notes (§5).
//!
//! A [`SiteStore`] sits behind one `std::sync::Mutex` per site; a method call takes the lock,
//! validates, applies every change, renders what it answers and releases it, so concurrent
//! writers of different fields of one account never lose an update. Nothing here knows about
//! HTTP or credentials. Every table a client can grow is capped.

use std::collections::{BTreeSet, HashMap, VecDeque};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::scenario::model::{Account, NestedMerge};

/// How long a `regToken` lives.
pub const REG_TOKEN_TTL_MS: i64 = 3_600_000;

/// One account as the emulator keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccountRecord {
    /// The UID.
    pub uid: String,
    /// `profile`.
    pub profile: Map<String, Value>,
    /// `data`.
    pub data: Map<String, Value>,
    /// `subscriptions`.
    pub subscriptions: Map<String, Value>,
    /// `preferences`.
    pub preferences: Map<String, Value>,
    /// `communications`.
    pub communications: Map<String, Value>,
    /// `customIdentifiers`.
    pub custom_identifiers: Map<String, Value>,
    /// `internal`.
    pub internal: Map<String, Value>,
    /// `rba` policy override (`riskPolicy`, `riskPolicyLocked`).
    pub rba: Map<String, Value>,
    /// `isActive`.
    pub is_active: bool,
    /// `isVerified`.
    pub is_verified: bool,
    /// `isRegistered`.
    pub is_registered: bool,
    /// Created through a lite registration.
    pub is_lite: bool,
    /// Login emails, in the order they were added.
    pub login_emails: Vec<String>,
    /// Verified emails, lowercased.
    pub verified_emails: BTreeSet<String>,
    /// Login username.
    pub username: Option<String>,
    /// Password (memory only).
    pub password: Option<String>,
    /// When the password was last set (ms).
    pub password_set_ms: Option<i64>,
    /// Security question.
    pub secret_question: Option<String>,
    /// Security answer (memory only).
    pub secret_answer: Option<String>,
    /// `requirePasswordChange`.
    pub require_password_change: bool,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Language.
    pub lang: Option<String>,
    /// Registration source (set once).
    pub reg_source: Option<String>,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Last update (ms).
    pub last_updated_ms: i64,
    /// Registration time (ms).
    pub registered_ms: Option<i64>,
    /// Verification time (ms).
    pub verified_ms: Option<i64>,
    /// Social user info (`socialize.setUserInfo`).
    pub user_info: Map<String, Value>,
    /// User settings: group → name → value.
    pub user_settings: IndexMap<String, Map<String, Value>>,
}

impl AccountRecord {
    /// A fresh account created at `now_ms`.
    #[must_use]
    pub fn new(uid: &str, now_ms: i64) -> Self {
        Self {
            uid: uid.to_owned(),
            is_active: true,
            created_ms: now_ms,
            last_updated_ms: now_ms,
            ..Self::default()
        }
    }

    /// An account seeded from a scenario `accounts` item.
    #[must_use]
    pub fn from_seed(a: &Account, now_ms: i64) -> Self {
        let created_ms = a
            .created
            .as_deref()
            .and_then(parse_iso_ms)
            .unwrap_or(now_ms);
        let is_registered = a.is_registered.unwrap_or(true);
        let is_verified = a.is_verified.unwrap_or(false);
        let mut r = Self {
            uid: a.uid.clone(),
            profile: a.profile.clone().unwrap_or_default(),
            data: a.data.clone().unwrap_or_default(),
            subscriptions: a.subscriptions.clone().unwrap_or_default(),
            preferences: a.preferences.clone().unwrap_or_default(),
            rba: a.rba.clone().unwrap_or_default(),
            is_active: a.is_active.unwrap_or(true),
            is_verified,
            is_registered,
            login_emails: a.login_emails.clone(),
            username: a.username.clone(),
            password: a.password.clone(),
            password_set_ms: a.password.as_ref().map(|_| created_ms),
            secret_question: a.secret_question.clone(),
            secret_answer: a.secret_answer.clone(),
            require_password_change: a.require_password_change.unwrap_or(false),
            phone_number: a.phone_number.clone(),
            lang: a.lang.clone(),
            reg_source: a.reg_source.clone(),
            created_ms,
            last_updated_ms: now_ms.max(created_ms),
            registered_ms: is_registered.then_some(created_ms),
            verified_ms: is_verified.then_some(created_ms),
            user_info: a.user_info.clone().unwrap_or_default(),
            user_settings: a.user_settings.clone().unwrap_or_default(),
            ..Self::default()
        };
        if is_verified {
            r.verify_all_emails();
        }
        r
    }

    /// The account in the scenario `accounts` shape, without the password and the secret
    /// answer (the admin API's view).
    #[must_use]
    pub fn to_seed(&self, api_key: &str) -> Account {
        let non_empty = |m: &Map<String, Value>| (!m.is_empty()).then(|| m.clone());
        Account {
            uid: self.uid.clone(),
            api_key: Some(api_key.to_owned()),
            profile: Some(self.profile.clone()),
            data: Some(self.data.clone()),
            subscriptions: non_empty(&self.subscriptions),
            preferences: non_empty(&self.preferences),
            is_active: Some(self.is_active),
            is_verified: Some(self.is_verified),
            is_registered: Some(self.is_registered),
            login_emails: self.login_emails.clone(),
            username: self.username.clone(),
            password: None,
            secret_question: self.secret_question.clone(),
            secret_answer: None,
            require_password_change: Some(self.require_password_change),
            phone_number: self.phone_number.clone(),
            lang: self.lang.clone(),
            rba: non_empty(&self.rba),
            created: Some(iso_ms(self.created_ms)),
            reg_source: self.reg_source.clone(),
            user_info: non_empty(&self.user_info),
            user_settings: (!self.user_settings.is_empty()).then(|| self.user_settings.clone()),
        }
    }

    /// Every email of the account (login emails, then `profile.email`), deduplicated
    /// case-insensitively.
    #[must_use]
    pub fn all_emails(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let profile_email = self.profile.get("email").and_then(Value::as_str);
        for e in self
            .login_emails
            .iter()
            .map(String::as_str)
            .chain(profile_email)
        {
            if !e.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(e)) {
                out.push(e.to_owned());
            }
        }
        out
    }

    /// Whether an email is verified.
    #[must_use]
    pub fn email_verified(&self, email: &str) -> bool {
        self.verified_emails.contains(&email.to_ascii_lowercase())
    }

    /// Flags every email of the account as verified.
    pub fn verify_all_emails(&mut self) {
        for e in self.all_emails() {
            self.verified_emails.insert(e.to_ascii_lowercase());
        }
    }

    /// Whether `email` is one of this account's login emails.
    #[must_use]
    pub fn has_login_email(&self, email: &str) -> bool {
        self.login_emails
            .iter()
            .any(|e| e.eq_ignore_ascii_case(email))
    }
}

/// A registration token handed out by `accounts.initRegistration` (or a
/// `saveProfileAndFail` update).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegToken {
    /// The account it stands for (created on first write when it does not exist yet).
    pub uid: String,
    /// Expiry (ms).
    pub expires_ms: i64,
    /// `isLite` registration.
    pub is_lite: bool,
}

/// The state of one site.
#[derive(Debug, Default)]
pub struct SiteStore {
    /// Accounts by UID.
    pub accounts: HashMap<String, AccountRecord>,
    reg_tokens: HashMap<String, RegToken>,
    reg_order: VecDeque<String>,
    reg_cap: usize,
    account_cap: usize,
}

impl SiteStore {
    /// A store seeded with `accounts`, keeping at most `reg_cap` live registration tokens
    /// and letting calls create accounts up to `account_cap`.
    #[must_use]
    pub fn seeded<'a>(
        accounts: impl IntoIterator<Item = &'a Account>,
        now_ms: i64,
        reg_cap: usize,
        account_cap: usize,
    ) -> Self {
        let mut s = Self {
            reg_cap: reg_cap.max(1),
            account_cap: account_cap.max(1),
            ..Self::default()
        };
        for a in accounts {
            s.accounts
                .insert(a.uid.clone(), AccountRecord::from_seed(a, now_ms));
        }
        s
    }

    /// Whether calls may create another account.
    #[must_use]
    pub fn has_room(&self) -> bool {
        self.accounts.len() < self.account_cap
    }

    /// The most accounts calls may create.
    #[must_use]
    pub fn account_cap(&self) -> usize {
        self.account_cap
    }

    /// Hands out a new registration token for `uid`; the oldest token is dropped when the
    /// table is full.
    pub fn issue_reg_token(&mut self, uid: &str, is_lite: bool, now_ms: i64) -> String {
        self.purge_reg_tokens(now_ms);
        while self.reg_tokens.len() >= self.reg_cap {
            match self.reg_order.pop_front() {
                Some(old) => {
                    self.reg_tokens.remove(&old);
                }
                None => break,
            }
        }
        let token = format!(
            "st2.s.{:016x}{:016x}.{:016x}",
            fastrand::u64(..),
            fastrand::u64(..),
            fastrand::u64(..)
        );
        self.reg_tokens.insert(
            token.clone(),
            RegToken {
                uid: uid.to_owned(),
                expires_ms: now_ms.saturating_add(REG_TOKEN_TTL_MS),
                is_lite,
            },
        );
        self.reg_order.push_back(token.clone());
        token
    }

    /// A live registration token.
    #[must_use]
    pub fn reg_token(&self, token: &str, now_ms: i64) -> Option<&RegToken> {
        self.reg_tokens.get(token).filter(|t| now_ms < t.expires_ms)
    }

    /// Number of registration tokens held (expired ones included until purged).
    #[must_use]
    pub fn reg_token_count(&self) -> usize {
        self.reg_tokens.len()
    }

    fn purge_reg_tokens(&mut self, now_ms: i64) {
        while let Some(front) = self.reg_order.front() {
            let expired = self
                .reg_tokens
                .get(front)
                .is_none_or(|t| t.expires_ms <= now_ms);
            if !expired {
                break;
            }
            if let Some(old) = self.reg_order.pop_front() {
                self.reg_tokens.remove(&old);
            }
        }
    }

    /// The UID of another account that already uses `email` as a login email.
    #[must_use]
    pub fn login_email_owner(&self, email: &str, except: &str) -> Option<&str> {
        self.accounts
            .values()
            .find(|a| a.uid != except && a.has_login_email(email))
            .map(|a| a.uid.as_str())
    }

    /// The UID of another account that already uses `username`.
    #[must_use]
    pub fn username_owner(&self, username: &str, except: &str) -> Option<&str> {
        self.accounts
            .values()
            .find(|a| {
                a.uid != except
                    && a.username
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(username))
            })
            .map(|a| a.uid.as_str())
    }
}

/// Merges `update` into `target`: keys sent are added or changed, the others stay. With
/// [`NestedMerge::Merge`], objects merge key by key at every level; arrays and scalars are
/// replaced whole. A `null` removes the key when `null_removes` is set, else is stored.
pub fn merge_object(
    target: &mut Map<String, Value>,
    update: &Map<String, Value>,
    nested: NestedMerge,
    null_removes: bool,
) {
    for (k, v) in update {
        match v {
            Value::Null if null_removes => {
                target.remove(k);
            }
            Value::Object(sub) if nested == NestedMerge::Merge => match target.get_mut(k) {
                Some(Value::Object(existing)) => {
                    merge_object(existing, sub, nested, null_removes);
                }
                _ => {
                    let mut fresh = Map::new();
                    merge_object(&mut fresh, sub, nested, null_removes);
                    target.insert(k.clone(), Value::Object(fresh));
                }
            },
            other => {
                target.insert(k.clone(), other.clone());
            }
        }
    }
}

/// Every dotted path an update writes: leaves, and objects it sets as a whole.
#[must_use]
pub fn written_paths(
    prefix: &str,
    update: &Map<String, Value>,
    nested: NestedMerge,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in update {
        let path = format!("{prefix}.{k}");
        match v {
            Value::Object(sub) if nested == NestedMerge::Merge && !sub.is_empty() => {
                out.extend(written_paths(&path, sub, nested));
            }
            _ => out.push(path),
        }
    }
    out
}

/// Whether `path` equals `rule` or lies below it (`data.a.b` is covered by `data.a`).
#[must_use]
pub fn path_covered(path: &str, rule: &str) -> bool {
    path == rule
        || (path.len() > rule.len()
            && path.starts_with(rule)
            && path.as_bytes().get(rule.len()) == Some(&b'.'))
}

/// Parses an ISO 8601 / RFC 3339 time into Unix milliseconds.
#[must_use]
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Formats Unix milliseconds as Gigya does: UTC ISO 8601 with milliseconds and `Z`.
#[must_use]
pub fn iso_ms(ms: i64) -> String {
    // Years 1970 to 9999 take the envelope's writer; chrono the rest.
    if let Ok(after_epoch @ 0..253_402_300_800_000) = u64::try_from(ms) {
        return crate::gigya::envelope::format_time(
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(after_epoch),
        );
    }
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_are_written_like_chrono_writes_them() {
        let chrono_text = |ms: i64| {
            chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default()
        };
        let mut rng = fastrand::Rng::with_seed(5);
        let samples = (0..5_000)
            .map(|_| rng.i64(-62_000_000_000_000..400_000_000_000_000))
            .chain([
                0,
                -1,
                1_700_000_000_123,
                253_402_300_799_999,
                253_402_300_800_000,
            ])
            .chain([i64::MIN, i64::MAX]);
        for ms in samples {
            assert_eq!(iso_ms(ms), chrono_text(ms), "{ms} ms");
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn merge_is_partial_and_recursive() {
        let mut t = obj(
            json!({"car": "Fiat", "addr": {"city": "Rome", "zip": "1"}, "tags": [1, 2], "gone": 1}),
        );
        merge_object(
            &mut t,
            &obj(
                json!({"car": "Suzuki Alto", "addr": {"zip": "2"}, "tags": [3], "gone": null, "new": {"a": {"b": 1}}}),
            ),
            NestedMerge::Merge,
            true,
        );
        assert_eq!(
            Value::Object(t),
            json!({"car": "Suzuki Alto", "addr": {"city": "Rome", "zip": "2"}, "tags": [3], "new": {"a": {"b": 1}}})
        );
    }

    #[test]
    fn merge_can_replace_nested_objects_and_keep_nulls() {
        let mut t = obj(json!({"addr": {"city": "Rome", "zip": "1"}}));
        merge_object(
            &mut t,
            &obj(json!({"addr": {"zip": "2"}, "x": null})),
            NestedMerge::Replace,
            false,
        );
        assert_eq!(Value::Object(t), json!({"addr": {"zip": "2"}, "x": null}));
    }

    #[test]
    fn written_paths_and_coverage() {
        let paths = written_paths(
            "data",
            &obj(json!({"a": {"b": 1, "c": {}}, "d": [1]})),
            NestedMerge::Merge,
        );
        assert_eq!(paths, vec!["data.a.b", "data.a.c", "data.d"]);
        assert!(path_covered("data.a.b", "data.a"));
        assert!(path_covered("data.a", "data.a"));
        assert!(!path_covered("data.ab", "data.a"));
    }

    #[test]
    fn reg_tokens_expire_and_are_capped() {
        let mut s = SiteStore::seeded([], 0, 2, 10);
        let a = s.issue_reg_token("u1", false, 0);
        assert!(a.starts_with("st2.s."));
        assert_eq!(s.reg_token(&a, 10).map(|t| t.uid.as_str()), Some("u1"));
        assert!(
            s.reg_token(&a, REG_TOKEN_TTL_MS).is_none(),
            "expired after one hour"
        );
        let b = s.issue_reg_token("u2", false, 1);
        let c = s.issue_reg_token("u3", false, 2);
        assert_eq!(s.reg_token_count(), 2, "the cap holds");
        assert!(s.reg_token(&a, 3).is_none(), "the oldest was dropped");
        assert!(s.reg_token(&b, 3).is_some() && s.reg_token(&c, 3).is_some());
        // Expired tokens are purged when new ones are issued.
        let _ = s.issue_reg_token("u4", false, REG_TOKEN_TTL_MS + 10);
        assert_eq!(s.reg_token_count(), 1);
    }

    #[test]
    fn seeds_round_trip_without_secrets() {
        let seed = Account {
            uid: "u1".into(),
            login_emails: vec!["A@x.test".into()],
            is_verified: Some(true),
            password: Some("pw".into()),
            secret_answer: Some("blue".into()),
            created: Some("2014-07-16T19:20:30Z".into()),
            ..Account::default()
        };
        let r = AccountRecord::from_seed(&seed, 1_700_000_000_000);
        assert!(r.email_verified("a@x.test"));
        assert_eq!(r.created_ms, 1_405_538_430_000);
        let back = r.to_seed("k");
        assert_eq!(back.password, None);
        assert_eq!(back.secret_answer, None);
        assert_eq!(back.created.as_deref(), Some("2014-07-16T19:20:30.000Z"));
        assert_eq!(back.login_emails, vec!["A@x.test".to_owned()]);
    }
}
