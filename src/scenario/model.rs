//! The scenario file format as plain data: what a YAML or JSON scenario file says, nothing more.
//!
//! These types mirror the file format one to one (field names are the file's keys). They are
//! produced by the decoder (`decode.rs`) from files and by the library's builders, and consumed
//! by `compile.rs`; the JSON Schema published by `gigya-mock schema` is derived from them.
//! Nothing here is validated beyond shape: semantic checks live in `compile.rs`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One scenario file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "gigya-mock scenario file")]
pub struct ScenarioFile {
    /// Format version; must be `1`.
    pub version: u32,
    /// Emulated sites (API keys, credentials, auth mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<Site>,
    /// Accounts seeded into the emulator's store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<Account>,
    /// Canned answers, tried before the emulator.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stubs: Vec<Stub>,
    /// Injected failures ("the next 3 calls to M fail with E"), checked before the stubs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
    /// Assertions on the traffic, checked by `gigya-mock verify` and `POST /__admin/verify`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expectation>,
}

/// One assertion on the recorded traffic. Give exactly one subject: `stub`, `request`,
/// `never` or `inOrder`. `stub` and `request` take a count (`times`, or `atLeast` and/or
/// `atMost`); without one they mean "at least once".
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectation {
    /// How reports name this expectation (default: a description of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Calls answered by this stub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    /// Calls matching this pattern (same format as a stub's `request`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestPattern>,
    /// No call may match this pattern (shorthand for `request` with `times: 0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never: Option<RequestPattern>,
    /// These calls arrive in this order (others may come in between). Each item is a stub name
    /// or `{stub: name}` / `{request: pattern}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<OrderItemSchema>")]
    pub in_order: Vec<OrderItem>,
    /// Exactly this many calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// At least this many calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u64>,
    /// At most this many calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<u64>,
}

/// One step of an `inOrder` expectation: a stub name (a bare string in files) or a pattern.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderItem {
    /// Calls answered by this stub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    /// Calls matching this pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestPattern>,
}

/// Schema-only: an `inOrder` item or its stub-name shorthand.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "only describes the file format for the JSON Schema"
)]
enum OrderItemSchema {
    StubName(String),
    Full(Box<OrderItem>),
}

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

/// One stub: a request pattern and the answer to give.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Stub {
    /// Unique name (default `<file>#<index>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lower numbers are tried first (default 5); ties go to the earlier stub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// Retire the stub after this many matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// What a request must look like.
    pub request: RequestPattern,
    /// The answer (give either `response` or `responses`).
    #[serde(default)]
    pub response: Response,
    /// Answers used in order, one per match; see `sequence`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<Response>,
    /// What follows the last of `responses` (default `repeat-last`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<SequenceMode>,
    /// The stateful scenario this stub belongs to (its state starts as `Started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Match only while the scenario is in this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_state: Option<String>,
    /// Move the scenario to this state when the stub answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_state: Option<String>,
    /// Seed for the stub's random choices (random delays, template random values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// What a stub with `responses` does after the last one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SequenceMode {
    /// Keep giving the last response (default).
    #[default]
    RepeatLast,
    /// Start again with the first.
    Cycle,
    /// Stop matching (other stubs, the emulator or the unmatched answer take over).
    Exhaust,
}

/// A delay before answering: milliseconds, or a random distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Delay {
    /// Always this many milliseconds.
    Fixed(u64),
    /// A random delay.
    Random(RandomDelay),
}

/// A random delay distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum RandomDelay {
    /// Uniform between `[min, max]` milliseconds.
    Uniform([u64; 2]),
    /// Log-normal: `median` milliseconds and shape `sigma` (long tail, like real latency).
    Lognormal(LogNormalDelay),
}

/// Parameters of a log-normal delay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogNormalDelay {
    /// The median delay in milliseconds.
    pub median: u64,
    /// The standard deviation of the underlying normal distribution (0.1 tight, 1 wide).
    pub sigma: f64,
}

/// A transport-level failure instead of (or on top of) a normal answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Reset the TCP connection (RST) without answering.
    ConnectionReset,
    /// Close the connection without answering.
    Close,
    /// Send the answer with its body cut in half (valid HTTP, invalid JSON).
    MalformedBody,
    /// Announce the full body length, send half of it, then close the connection.
    TruncatedBody,
    /// Send the body in small chunks with pauses between them.
    #[serde(rename = "slowBody")]
    SlowBody(SlowBody),
}

/// Parameters of a slow body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlowBody {
    /// Bytes per chunk (default 16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_bytes: Option<u64>,
    /// Pause between chunks in milliseconds (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
}

/// An injected failure: calls to matching methods fail with an error, a raw status or a
/// transport fault, for the next `next` calls, with a probability, or always.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Unique name (default `<file>#faults[<index>]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Gigya method; `*` matches any run of characters (`accounts.*`). Default: every call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Answer with this Gigya error code (e.g. 403048 rate limit, 500001, 504002).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// `errorMessage` of that answer (default: the catalogue's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `errorDetails` of that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// Answer with this raw HTTP status (empty body) instead of an envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A transport fault; alone, it applies to the answer the call would otherwise get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// A delay; alone, it applies to the answer the call would otherwise get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Fire for the next N matching calls only, then behave normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// Fire for each matching call with this probability (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed for `probability` (and random delays), for reproducible runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// A request pattern. Every criterion given must hold.
// The single-value criteria are boxed: most stubs use one or two of them, and a big scenario
// set keeps every pattern in memory (a `ValueMatch` is a few hundred bytes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPattern {
    /// Gigya method name (`accounts.setAccountInfo`), exact or a matcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ValueMatchSchema>")]
    pub method: Option<Box<ValueMatch>>,
    /// The `apiKey` parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ValueMatchSchema>")]
    pub api_key: Option<Box<ValueMatch>>,
    /// Parameters (query and form body merged; names case-insensitive).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(with = "IndexMap<String, ValueMatchSchema>")]
    pub params: IndexMap<String, ValueMatch>,
    /// HTTP headers (names case-insensitive).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(with = "IndexMap<String, ValueMatchSchema>")]
    pub headers: IndexMap<String, ValueMatch>,
    /// Raw stubs: the URL path, exact or a matcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ValueMatchSchema>")]
    pub path: Option<Box<ValueMatch>>,
    /// Raw stubs: the HTTP method (`GET`, `POST`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Raw stubs: query-string parameters only.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(with = "IndexMap<String, ValueMatchSchema>")]
    pub query: IndexMap<String, ValueMatch>,
    /// Raw stubs: the request body as text (JSON operators parse it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<ValueMatchSchema>")]
    pub body: Option<Box<ValueMatch>>,
    /// The nested pattern must not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<RequestPattern>>,
    /// At least one nested pattern must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<RequestPattern>,
    /// Every nested pattern must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<RequestPattern>,
}

/// Operators on one value. A bare scalar in a file is shorthand for `equals`. Every operator
/// given must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValueMatch {
    /// Equal to this value (numbers and booleans compare by their text).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub equals: Option<Value>,
    /// Matches this regular expression (anywhere; anchor with `^`/`$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// Contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// `true`: must be present; `false`: must be absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// `true`: must be absent; `false`: must be present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    /// The value is JSON; each JSON path (`$.a.b[0]`, `$.tags[*]`) must satisfy its matcher.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    #[schemars(with = "IndexMap<String, ValueMatchSchema>")]
    pub json: IndexMap<String, ValueMatch>,
    /// The value is JSON that includes this object (partial, recursive equality).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub json_includes: Option<Value>,
    /// The value is JSON equal to this (whitespace and key order ignored).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub json_equals: Option<Value>,
    /// The nested matcher must not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Box<ValueMatchSchema>>")]
    pub not: Option<Box<ValueMatch>>,
    /// At least one nested matcher must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<ValueMatchSchema>")]
    pub any_of: Vec<ValueMatch>,
    /// Every nested matcher must match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<ValueMatchSchema>")]
    pub all_of: Vec<ValueMatch>,
}

/// Schema-only: a matcher or its scalar shorthand.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "only describes the file format for the JSON Schema"
)]
enum ValueMatchSchema {
    Shorthand(ScalarSchema),
    Full(Box<ValueMatch>),
}

/// Schema-only: a scalar.
#[derive(JsonSchema)]
#[serde(untagged)]
#[expect(
    dead_code,
    reason = "only describes the file format for the JSON Schema"
)]
enum ScalarSchema {
    Text(String),
    Number(f64),
    Flag(bool),
}

/// The answer of a stub. With `status` it is sent as a raw HTTP response; otherwise it is a
/// Gigya envelope built from `errorCode` and the other fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Response {
    /// Gigya `errorCode` (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// Overrides the catalogue's `errorMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `errorDetails`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_details: Option<String>,
    /// Overrides the catalogue's `statusCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Overrides the catalogue's `statusReason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// A fixed `callId` (32 lowercase hex); generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// A fixed `time` (`2024-05-01T10:00:00.123Z`, as recorded); the current time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `validationErrors` items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<ValidationError>,
    /// Gigya: extra top-level fields (an object). Raw: the body (text, or JSON for other values).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_value"
    )]
    pub body: Option<Value>,
    /// Read `body` from this file, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    /// Extra response headers.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Raw response: the HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Wait before answering: milliseconds, `{uniform: [min, max]}` or
    /// `{lognormal: {median, sigma}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// A transport fault: `connection-reset`, `close`, `malformed-body`, `truncated-body` or
    /// `{slowBody: {chunkBytes, pauseMs}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
}

/// One `validationErrors` item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValidationError {
    /// Item code, e.g. 400003.
    pub error_code: u32,
    /// Item message; defaults to the catalogue's message for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Dotted field path, e.g. `profile.email`.
    pub field_name: String,
}

/// The JSON Schema of the scenario format, pretty-printed.
#[must_use]
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

/// Reads an optional JSON value whose key is present: `null` is the value `null`, not "absent"
/// (serde's default for `Option`), so a model written as JSON reads back unchanged.
fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
