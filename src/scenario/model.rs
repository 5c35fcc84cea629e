//! The scenario file format as plain data: what a YAML or JSON scenario file says, nothing more.
//!
//! These types mirror the file format one to one (field names are the file's keys). They are
//! produced by the decoder (`decode.rs`) from files and by the library's builders, and consumed
//! by `compile.rs`; the JSON Schema published by `gigya-mock schema` is derived from them.
//! Nothing here is validated beyond shape: semantic checks live in `compile.rs`.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

mod accounts;
mod expectations;
mod faults;
mod requests;
mod responses;
mod sites;

pub use accounts::Account;
pub use expectations::{Expectation, OrderItem};
pub use faults::FaultRule;
pub use requests::{RequestPattern, ValueMatch};
pub use responses::{
    Delay, Fault, LogNormalDelay, RandomDelay, Response, SlowBody, ValidationError,
};
pub use sites::{Application, AuthMode, NestedMerge, SettingsMerge, Site, SiteOptions};

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
