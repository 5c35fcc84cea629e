//! The `faults` entries of a scenario file: failures injected into calls to matching methods.

use schemars::JsonSchema;
use serde::Serialize;

use super::{Delay, Fault};

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
