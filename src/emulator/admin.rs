//! What the admin API may do with the emulator's state: show one account, seed one account.
//! Results are JSON values (the scenario `accounts` item shape) or an [`AdminError`] with an
//! HTTP status; the `admin` module turns them into responses.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;

use super::Emulator;
use super::auth::unix_ms;
use super::site::SiteRuntime;
use super::store::AccountRecord;
use crate::scenario::model::Account;

/// A refused admin request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    /// HTTP status to answer with.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

impl AdminError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl Emulator {
    /// The site an admin request means: the given apiKey, or the only site, or (for reads)
    /// the only site holding `uid`.
    fn admin_site(
        &self,
        api_key: Option<&str>,
        uid: Option<&str>,
    ) -> Result<Arc<SiteRuntime>, AdminError> {
        if let Some(key) = api_key {
            return self.site(key).ok_or_else(|| {
                AdminError::new(
                    404,
                    format!(
                        "no site has apiKey {key:?}; configured: {}",
                        self.site_keys().join(", ")
                    ),
                )
            });
        }
        let keys = self.site_keys();
        match keys.as_slice() {
            [] => Err(AdminError::new(
                404,
                "no site is configured: add one under `sites` in a scenario file",
            )),
            [only] => self
                .site(only)
                .ok_or_else(|| AdminError::new(404, "the site disappeared")),
            _ => {
                let holders: Vec<Arc<SiteRuntime>> = keys
                    .iter()
                    .filter_map(|k| self.site(k))
                    .filter(|s| {
                        uid.is_some_and(|u| {
                            s.store.lock().is_ok_and(|st| st.accounts.contains_key(u))
                        })
                    })
                    .collect();
                match holders.as_slice() {
                    [one] => Ok(one.clone()),
                    _ => Err(AdminError::new(
                        400,
                        format!(
                            "several sites are configured ({}): add ?apiKey=",
                            keys.join(", ")
                        ),
                    )),
                }
            }
        }
    }

    /// One account in the scenario `accounts` shape (without password or secret answer).
    ///
    /// # Errors
    /// Unknown site or account (404), an ambiguous site (400).
    pub fn admin_get_account(&self, api_key: Option<&str>, uid: &str) -> Result<Value, AdminError> {
        let site = self.admin_site(api_key, Some(uid))?;
        let store = site
            .store
            .lock()
            .map_err(|_| AdminError::new(500, "the site's store is unavailable"))?;
        let acc = store.accounts.get(uid).ok_or_else(|| {
            AdminError::new(
                404,
                format!("no account with UID {uid:?} on site {}", site.api_key),
            )
        })?;
        serde_json::to_value(acc.to_seed(&site.api_key))
            .map_err(|e| AdminError::new(500, e.to_string()))
    }

    /// Seeds (creates or replaces) one account; returns it as [`Emulator::admin_get_account`]
    /// shows it, and whether it replaced an existing account.
    ///
    /// # Errors
    /// Unknown or ambiguous site, a UID in the body that differs from the path's, a bad
    /// `created` time.
    pub fn admin_put_account(
        &self,
        query_api_key: Option<&str>,
        uid: &str,
        mut account: Account,
        now: SystemTime,
    ) -> Result<(Value, bool), AdminError> {
        if uid.is_empty() {
            return Err(AdminError::new(
                400,
                "the UID in the path must not be empty",
            ));
        }
        if !account.uid.is_empty() && account.uid != uid {
            return Err(AdminError::new(
                400,
                format!(
                    "the body's UID {:?} differs from the path's {uid:?}; leave it out or make them equal",
                    account.uid
                ),
            ));
        }
        account.uid = uid.to_owned();
        let api_key = match (query_api_key, account.api_key.as_deref()) {
            (Some(q), Some(b)) if q != b => {
                return Err(AdminError::new(
                    400,
                    format!("?apiKey={q} and the body's apiKey {b:?} differ"),
                ));
            }
            (Some(q), _) => Some(q.to_owned()),
            (None, b) => b.map(str::to_owned),
        };
        let site = match api_key.as_deref() {
            Some(k) => self.admin_site(Some(k), None)?,
            None => {
                if self.site_keys().len() > 1 {
                    return Err(AdminError::new(
                        400,
                        format!(
                            "several sites are configured ({}): give apiKey in the body or ?apiKey=",
                            self.site_keys().join(", ")
                        ),
                    ));
                }
                self.admin_site(None, None)?
            }
        };
        if let Some(created) = &account.created {
            if chrono::DateTime::parse_from_rfc3339(created).is_err() {
                return Err(AdminError::new(
                    400,
                    format!(
                        "created: {created:?} is not an ISO 8601 time such as 2014-07-16T19:20:30Z"
                    ),
                ));
            }
        }
        let record = AccountRecord::from_seed(&account, unix_ms(now));
        let mut store = site
            .store
            .lock()
            .map_err(|_| AdminError::new(500, "the site's store is unavailable"))?;
        let replaced = store.accounts.insert(uid.to_owned(), record).is_some();
        let shown = store
            .accounts
            .get(uid)
            .map(|a| a.to_seed(&site.api_key))
            .unwrap_or_default();
        drop(store);
        let value = serde_json::to_value(shown).map_err(|e| AdminError::new(500, e.to_string()))?;
        Ok((value, replaced))
    }
}
