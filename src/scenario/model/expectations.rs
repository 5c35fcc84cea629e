//! The `expect` entries of a scenario file: assertions on the recorded traffic and the steps
//! of an `inOrder` expectation.

use schemars::JsonSchema;
use serde::Serialize;

use super::RequestPattern;

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
