//! One emulated site at run time: its credentials decoded once (HMAC keys, RSA public keys),
//! its auth mode and options with their defaults filled in, and its state.

use std::sync::{Arc, Mutex};

use rsa::RsaPublicKey;

use super::store::SiteStore;
use crate::gigya::catalog::codes;
use crate::gigya::signature;
use crate::scenario::model::{AuthMode, NestedMerge, SettingsMerge, Site};

/// An application key of a site.
#[derive(Debug)]
pub struct AppKey {
    /// The userKey.
    pub user_key: String,
    /// The secret as configured (base64).
    pub secret: Option<String>,
    /// The decoded secret (HMAC key).
    pub key: Option<Vec<u8>>,
    /// The RSA public key for bearer JWTs.
    pub public_key: Option<RsaPublicKey>,
}

/// Site options with defaults applied.
#[derive(Debug, Clone)]
pub struct Options {
    /// Code for an unknown UID.
    pub unknown_uid_code: u32,
    /// Code for an unknown or expired regToken.
    pub invalid_reg_token_code: u32,
    /// Code for HTTPS-only input over plain HTTP.
    pub https_required_code: u32,
    /// `statusCode` of 403043.
    pub login_id_exists_status: u16,
    /// Nested objects in updates.
    pub nested: NestedMerge,
    /// `null` removes a field.
    pub null_removes: bool,
    /// `setUserSettings` within a group.
    pub settings_merge: SettingsMerge,
    /// Fields only server calls may write.
    pub server_only_fields: Vec<String>,
    /// Strict `data` schema.
    pub data_fields: Option<Vec<String>>,
    /// `baseString`/`expectedSignature` on 403003.
    pub signature_debug: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            unknown_uid_code: codes::UNAUTHORIZED_USER,
            invalid_reg_token_code: codes::INVALID_PARAMETER_VALUE,
            https_required_code: codes::INVALID_REQUEST_FORMAT,
            login_id_exists_status: 403,
            nested: NestedMerge::Merge,
            null_removes: true,
            settings_merge: SettingsMerge::Merge,
            server_only_fields: Vec::new(),
            data_fields: None,
            signature_debug: false,
        }
    }
}

/// A site as the emulator uses it.
#[derive(Debug)]
pub struct SiteRuntime {
    /// The API key.
    pub api_key: String,
    /// The API domain, e.g. `us1.gigya.com`.
    pub domain: String,
    /// The partner secret as configured (base64).
    pub partner_secret: Option<String>,
    /// The decoded partner secret.
    pub partner_key: Option<Vec<u8>>,
    /// Application keys.
    pub apps: Vec<AppKey>,
    /// Credential checking mode.
    pub auth: AuthMode,
    /// HTTPS enforced for clear secrets and HTTPS-only parameters even in strict mode.
    pub require_https: bool,
    /// Options.
    pub options: Options,
    /// The state, shared across scenario reloads.
    pub store: Arc<Mutex<SiteStore>>,
}

impl SiteRuntime {
    /// Builds the runtime form of a (validated) site over an existing or new store.
    #[must_use]
    pub fn new(site: &Site, store: Arc<Mutex<SiteStore>>) -> Self {
        let dc = site.data_center.as_deref().unwrap_or("us1");
        let domain = if dc.contains('.') {
            dc.to_owned()
        } else if dc == "cn1" {
            "cn1.gigya-api.cn".to_owned()
        } else {
            format!("{dc}.gigya.com")
        };
        let apps = site
            .applications
            .iter()
            .map(|a| AppKey {
                user_key: a.user_key.clone(),
                secret: a.secret.clone(),
                key: a
                    .secret
                    .as_deref()
                    .and_then(|s| signature::decode_secret(s).ok()),
                public_key: a
                    .public_key
                    .as_deref()
                    .and_then(|p| crate::gigya::jwt::parse_public_key(p).ok()),
            })
            .collect();
        let defaults = Options::default();
        let options = match &site.options {
            None => defaults,
            Some(o) => Options {
                unknown_uid_code: o.unknown_uid_code.unwrap_or(defaults.unknown_uid_code),
                invalid_reg_token_code: o
                    .invalid_reg_token_code
                    .unwrap_or(defaults.invalid_reg_token_code),
                https_required_code: o
                    .https_required_code
                    .unwrap_or(defaults.https_required_code),
                login_id_exists_status: o
                    .login_id_exists_status
                    .unwrap_or(defaults.login_id_exists_status),
                nested: o.nested_objects.unwrap_or_default(),
                null_removes: o.null_removes_field.unwrap_or(true),
                settings_merge: o.user_settings.unwrap_or_default(),
                server_only_fields: o.server_only_fields.clone(),
                data_fields: o.data_fields.clone(),
                signature_debug: o.signature_debug.unwrap_or(false),
            },
        };
        Self {
            api_key: site.api_key.clone(),
            domain,
            partner_secret: site.partner_secret.clone(),
            partner_key: site
                .partner_secret
                .as_deref()
                .and_then(|s| signature::decode_secret(s).ok()),
            apps,
            auth: site.auth,
            require_https: site.require_https.unwrap_or(false),
            options,
            store,
        }
    }

    /// An application by userKey.
    #[must_use]
    pub fn app(&self, user_key: &str) -> Option<&AppKey> {
        self.apps.iter().find(|a| a.user_key == user_key)
    }

    /// Whether HTTPS is enforced for clear secrets and HTTPS-only parameters.
    #[must_use]
    pub fn https_enforced(&self) -> bool {
        self.auth == AuthMode::Exact || self.require_https
    }
}
