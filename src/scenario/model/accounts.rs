//! The `accounts` entries of a scenario file: accounts seeded into the emulator's store.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

/// A seeded account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The account's UID.
    #[serde(rename = "UID")]
    pub uid: String,
    /// The site it belongs to; may be omitted when exactly one site is configured.
    #[serde(rename = "apiKey", default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Profile fields (`firstName`, `email`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Map<String, Value>>,
    /// Custom data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    /// Subscriptions object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<Map<String, Value>>,
    /// Preferences (consents) object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<Map<String, Value>>,
    /// `isActive` (default true).
    #[serde(rename = "isActive", default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// `isVerified` (default false).
    #[serde(
        rename = "isVerified",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_verified: Option<bool>,
    /// `isRegistered` (default true).
    #[serde(
        rename = "isRegistered",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_registered: Option<bool>,
    /// Login emails.
    #[serde(rename = "loginEmails", default, skip_serializing_if = "Vec::is_empty")]
    pub login_emails: Vec<String>,
    /// Login username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Current password (kept in the emulator's memory only; never shown by the admin API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Security question.
    #[serde(
        rename = "secretQuestion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_question: Option<String>,
    /// Answer to the security question (never shown by the admin API).
    #[serde(
        rename = "secretAnswer",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_answer: Option<String>,
    /// `requirePasswordChange` (default false).
    #[serde(
        rename = "requirePasswordChange",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub require_password_change: Option<bool>,
    /// Phone number (E.164).
    #[serde(
        rename = "phoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<String>,
    /// Language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Risk-based-authentication policy: `riskPolicy`, `riskPolicyLocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rba: Option<Map<String, Value>>,
    /// Creation time, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Registration source.
    #[serde(rename = "regSource", default, skip_serializing_if = "Option::is_none")]
    pub reg_source: Option<String>,
    /// Social user info (`socialize.getUserInfo` fields such as `nickname`).
    #[serde(rename = "userInfo", default, skip_serializing_if = "Option::is_none")]
    pub user_info: Option<Map<String, Value>>,
    /// User settings per group (`""` is the default group): group → setting → value.
    #[serde(
        rename = "userSettings",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_settings: Option<IndexMap<String, Map<String, Value>>>,
}
