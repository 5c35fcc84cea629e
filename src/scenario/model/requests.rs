//! A stub's request pattern and the matchers on one value, with the shapes the JSON Schema
//! gives them (a matcher or its scalar shorthand).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::present_value;

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
