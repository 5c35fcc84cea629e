//! The `sites` entries of a scenario file: an emulated site, its application keys, its
//! credential checking mode and its emulator options.

use schemars::JsonSchema;
use serde::Serialize;

/// How strictly a site checks credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every check, accepting the URL and timestamp variants real SDKs produce (default).
    #[default]
    Strict,
    /// What the real service does, bit for bit.
    Exact,
    /// No credential checks.
    Off,
}

/// An emulated site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Site {
    /// The site's API key.
    pub api_key: String,
    /// Data centre, e.g. `us1`, `eu1`, `au1` (default `us1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<String>,
    /// The partner secret, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_secret: Option<String>,
    /// Application keys (userKey + secret and/or public key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
    /// Credential checking mode.
    #[serde(default)]
    pub auth: AuthMode,
    /// Reject a clear `secret` (and other HTTPS-only input) over plain HTTP even in `strict` mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_https: Option<bool>,
    /// Emulator behaviours the protocol leaves open (each has a documented default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<SiteOptions>,
}

/// How an update merges nested objects of `profile` and `data`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NestedMerge {
    /// Nested objects merge key by key; arrays are replaced whole (default).
    #[default]
    Merge,
    /// A sent top-level value replaces the stored one whole.
    Replace,
}

/// How `socialize.setUserSettings` treats the settings already stored in a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingsMerge {
    /// Settings merge by name; the others in the group stay (default).
    #[default]
    Merge,
    /// The sent settings replace the whole group.
    Replace,
}

/// Per-site emulator options. Every key is optional; the defaults follow the protocol notes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteOptions {
    /// Error code for a `UID` the site does not know (default 403005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_uid_code: Option<u32>,
    /// Error code for an unknown or expired `regToken` (default 400006).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_reg_token_code: Option<u32>,
    /// Error code for HTTPS-only input (`regToken`, passwords) over plain HTTP, where HTTPS is
    /// enforced (default 400001).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_required_code: Option<u32>,
    /// `statusCode` of `403043 Login identifier exists` (default 403; 409 is the alternative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_id_exists_status: Option<u16>,
    /// Nested objects in `profile`/`data` updates: `merge` (default) or `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nested_objects: Option<NestedMerge>,
    /// Whether `null` in a `profile`/`data` update removes the field (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_removes_field: Option<bool>,
    /// `socialize.setUserSettings` within a group: `merge` (default) or `replace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_settings: Option<SettingsMerge>,
    /// Fields only server-authenticated calls may write (dotted, e.g. `data.tier`); a
    /// `regToken` (client-side) write gets `400009` with a `400025` item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_only_fields: Vec<String>,
    /// A strict `data` schema: the only `data` fields that may be written (dotted paths;
    /// a path allows everything below it). Others get `400009` with a `400024` item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fields: Option<Vec<String>>,
    /// Add `baseString` and `expectedSignature` to `403003` answers (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_debug: Option<bool>,
}

/// An application key of a site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    /// The userKey.
    pub user_key: String,
    /// Its secret, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RSA public (or private) key PEM for `Authorization: Bearer` JWTs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}
