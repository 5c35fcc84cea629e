//! A stub's answer: the Gigya envelope or raw HTTP response, its `validationErrors` items, and
//! the delays and transport faults applied to it.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::present_value;

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
