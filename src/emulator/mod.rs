//! The Gigya emulator: answers the seed methods (and their read/delete companions) from
//! per-site state seeded by the scenario files' `sites` and `accounts`, after checking the
//! caller's credentials the way the service does.
//!
//! The emulator is consulted by the engine only after no stub matched, and only when at least
//! one site is configured. It owns the site table (credentials decoded once), one store per
//! site (see [`store`]), and the nonce memory of signed calls (see [`auth`]). It returns an
//! [`Answer`] — code, details, validation items, method data — and the engine renders the
//! envelope, so this module needs nothing from the engine and stays synchronous.
//!
//! State survives scenario reloads for sites that still exist; [`Emulator::reset`] puts the
//! seeded state back and forgets nonces.

pub mod admin;
pub mod auth;
#[expect(
    clippy::result_large_err,
    reason = "a rejected call is answered with its Answer, moved once; boxing buys nothing"
)]
mod methods;
pub mod site;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::exchange::CapturedRequest;
use crate::gigya::catalog::codes;
use crate::scenario::ScenarioSet;

use auth::NonceMemory;
pub use auth::{AuthConfig, Caller};
use site::SiteRuntime;
use store::SiteStore;

/// Emulator settings (from the CLI; per-site behaviour lives in the scenario `options`).
#[derive(Debug, Clone, Copy)]
pub struct EmulatorConfig {
    /// Credential-check settings.
    pub auth: AuthConfig,
    /// Most live `regToken`s per site.
    pub max_reg_tokens: usize,
    /// Most accounts per site that calls may create (seeded accounts always load).
    pub max_accounts: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            auth: AuthConfig::default(),
            max_reg_tokens: 10_000,
            max_accounts: 100_000,
        }
    }
}

impl EmulatorConfig {
    /// The default settings with another timestamp window.
    #[must_use]
    pub fn with_timestamp_window(mut self, window: Duration) -> Self {
        self.auth.timestamp_window = window;
        self
    }
}

/// One `validationErrors` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationItem {
    /// Item code (400003, 400023, ...).
    pub error_code: u32,
    /// What is wrong.
    pub message: String,
    /// Dotted field path.
    pub field_name: String,
}

impl ValidationItem {
    /// An item.
    #[must_use]
    pub fn new(code: u32, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_code: code,
            message: message.into(),
            field_name: field.into(),
        }
    }
}

/// What the emulator answers; the engine renders it as a Gigya envelope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// `errorCode`.
    pub code: u32,
    /// `errorDetails`.
    pub details: Option<String>,
    /// `validationErrors` (with code 400009).
    pub validation_errors: Vec<ValidationItem>,
    /// Method data, merged at the top level.
    pub fields: Map<String, Value>,
    /// A `statusCode` other than the catalogue's.
    pub status_code: Option<u16>,
    /// A note for the developer, sent as `x-gigya-mock-hint`.
    pub hint: Option<String>,
}

impl Answer {
    /// Success without data.
    #[must_use]
    pub fn ok() -> Self {
        Self::default()
    }

    /// Success with method data.
    #[must_use]
    pub fn data(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            ..Self::default()
        }
    }

    /// An error with details.
    #[must_use]
    pub fn error(code: u32, details: impl Into<String>) -> Self {
        Self {
            code,
            details: Some(details.into()),
            ..Self::default()
        }
    }

    /// `400009 Validation error` with its items.
    #[must_use]
    pub fn validation(items: Vec<ValidationItem>) -> Self {
        Self {
            code: codes::VALIDATION_ERROR,
            details: Some("Validation failed".to_owned()),
            validation_errors: items,
            ..Self::default()
        }
    }

    /// `400002` for a parameter.
    #[must_use]
    pub fn missing(name: &str) -> Self {
        Self::error(
            codes::MISSING_PARAMETER,
            format!("Missing required parameter : {name}"),
        )
    }

    /// `400006` with a reason.
    #[must_use]
    pub fn invalid(name: &str, why: impl std::fmt::Display) -> Self {
        Self::error(
            codes::INVALID_PARAMETER_VALUE,
            format!("Invalid parameter value: {name} {why}"),
        )
    }
}

type SiteTable = HashMap<String, Arc<SiteRuntime>>;

/// The emulator: sites, their state, and the nonce memory.
#[derive(Debug)]
pub struct Emulator {
    config: EmulatorConfig,
    sites: ArcSwap<SiteTable>,
    nonces: Mutex<NonceMemory>,
}

impl Emulator {
    /// An emulator for the sites and accounts of `set`, seeded at `now`.
    #[must_use]
    pub fn new(config: EmulatorConfig, set: &ScenarioSet, now: SystemTime) -> Self {
        let e = Self {
            config,
            sites: ArcSwap::from_pointee(SiteTable::new()),
            nonces: Mutex::new(NonceMemory::default()),
        };
        e.apply_scenarios(set, now);
        e
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Takes a new scenario set: site settings are replaced, sites that existed before keep
    /// their state, new sites are seeded from the set's accounts, removed sites are dropped.
    pub fn apply_scenarios(&self, set: &ScenarioSet, now: SystemTime) {
        let old = self.sites.load();
        let now_ms = auth::unix_ms(now);
        let mut table = SiteTable::new();
        for site in &set.sites {
            let store = match old.get(&site.api_key) {
                Some(existing) => existing.store.clone(),
                None => Arc::new(Mutex::new(self.seed_store(set, &site.api_key, now_ms))),
            };
            table.insert(
                site.api_key.clone(),
                Arc::new(SiteRuntime::new(site, store)),
            );
        }
        self.sites.store(Arc::new(table));
    }

    /// Puts every site back to the state `set` seeds, and forgets every nonce.
    pub fn reset(&self, set: &ScenarioSet, now: SystemTime) {
        let now_ms = auth::unix_ms(now);
        let table = self.sites.load();
        for (api_key, site) in table.iter() {
            let fresh = self.seed_store(set, api_key, now_ms);
            if let Ok(mut store) = site.store.lock() {
                *store = fresh;
            }
        }
        if let Ok(mut n) = self.nonces.lock() {
            n.clear();
        }
    }

    fn seed_store(&self, set: &ScenarioSet, api_key: &str, now_ms: i64) -> SiteStore {
        SiteStore::seeded(
            set.accounts
                .iter()
                .filter(|a| a.api_key.as_deref() == Some(api_key)),
            now_ms,
            self.config.max_reg_tokens,
            self.config.max_accounts,
        )
    }

    /// Whether any site is configured (the emulator answers nothing otherwise).
    #[must_use]
    pub fn has_sites(&self) -> bool {
        !self.sites.load().is_empty()
    }

    /// Whether `method` is one the emulator implements.
    #[must_use]
    pub fn emulates(method: &str) -> bool {
        methods::find(method).is_some()
    }

    /// The names of the emulated methods.
    #[must_use]
    pub fn method_names() -> Vec<&'static str> {
        methods::METHODS.iter().map(|m| m.name).collect()
    }

    /// Number of remembered nonces (for tests and the admin API).
    #[must_use]
    pub fn remembered_nonces(&self) -> usize {
        self.nonces.lock().map(|n| n.len()).unwrap_or(0)
    }

    pub(crate) fn site(&self, api_key: &str) -> Option<Arc<SiteRuntime>> {
        self.sites.load().get(api_key).cloned()
    }

    pub(crate) fn site_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.sites.load().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Answers `req` when it calls an emulated method and a site is configured; `None` lets
    /// the engine give its unmatched answer.
    #[must_use]
    pub fn handle(&self, req: &CapturedRequest, now: SystemTime) -> Option<Answer> {
        let method = methods::find(req.gigya_method.as_deref()?)?;
        if req.http_method != http::Method::GET && req.http_method != http::Method::POST {
            return None;
        }
        let table = self.sites.load();
        if table.is_empty() {
            return None;
        }
        let p = req.params();
        let Some(api_key) = p.value("apiKey").filter(|k| !k.is_empty()) else {
            return Some(Answer::error(
                codes::INVALID_API_KEY,
                format!(
                    "Missing required parameter: ApiKey [gigya-mock: no stub matched this {} call, and the emulator needs the apiKey of a configured site: {}]",
                    method.name,
                    self.site_keys().join(", ")
                ),
            ));
        };
        let Some(site) = table.get(api_key) else {
            let mut known: Vec<&str> = table.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Some(Answer::error(
                codes::INVALID_API_KEY,
                format!(
                    "Invalid ApiKey parameter [gigya-mock: no site has apiKey {api_key:?}; configured: {}]",
                    known.join(", ")
                ),
            ));
        };
        let caller = match auth::authenticate(req, site, now, &self.config.auth, &self.nonces) {
            Ok(c) => c,
            Err(f) => {
                let mut a = Answer::error(f.code, f.details);
                a.hint = f.hint;
                if let Some((base, expected)) = f.debug {
                    a.fields.insert("baseString".into(), Value::String(base));
                    a.fields
                        .insert("expectedSignature".into(), Value::String(expected));
                }
                return Some(a);
            }
        };
        let call = methods::Call {
            req,
            site,
            caller,
            now_ms: auth::unix_ms(now),
        };
        Some(methods::run(method, &call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_carry_the_documented_details() {
        let a = Answer::missing("UID");
        assert_eq!(a.code, 400002);
        assert_eq!(
            a.details.as_deref(),
            Some("Missing required parameter : UID")
        );
        let v = Answer::validation(vec![ValidationItem::new(400025, "isActive", "server only")]);
        assert_eq!(v.code, 400009);
        assert_eq!(
            serde_json::to_value(&v.validation_errors).unwrap(),
            serde_json::json!([{"errorCode": 400025, "message": "server only", "fieldName": "isActive"}])
        );
    }

    #[test]
    fn the_emulated_methods_are_listed() {
        for m in [
            "accounts.setAccountInfo",
            "accounts.getAccountInfo",
            "accounts.initRegistration",
            "accounts.deleteAccount",
            "socialize.setUserInfo",
            "socialize.getUserInfo",
            "socialize.setUserSettings",
            "socialize.getUserSettings",
            "socialize.delUserSettings",
        ] {
            assert!(Emulator::emulates(m), "{m}");
        }
        assert!(!Emulator::emulates("accounts.login"));
    }
}
