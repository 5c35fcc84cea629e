//! The request side of a recorded call: the matcher for each identifying parameter (`equals`,
//! `jsonEquals`, `jsonIncludes` or `present`) and the request pattern of a stub, with `absent`
//! for the parameters the other calls of its method send.

use indexmap::IndexMap;
use serde_json::Value;

use super::redaction::remove_at;
use super::{Call, Recorded, Recorder, Rule};
use crate::gigya::params::JSON_PARAMS;
use crate::redact;
use crate::scenario::model::{RequestPattern, ValueMatch};

impl Recorder {
    /// The request pattern of a call: `apiKey` and the other identifying parameters.
    pub(super) fn identity(
        &self,
        call: &Call,
        hidden: &mut Vec<String>,
    ) -> (Option<ValueMatch>, Vec<(String, ValueMatch)>) {
        let mut api_key = None;
        let mut params: Vec<(String, ValueMatch)> = Vec::new();
        for (name, value) in &call.params {
            if redact::is_secret_name(name)
                || redact::is_volatile_name(name)
                || params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let rules: Vec<&Rule> = self
                .rules
                .iter()
                .filter(|r| {
                    r.segments
                        .first()
                        .is_some_and(|s| s.eq_ignore_ascii_case(name))
                })
                .collect();
            let matcher = if rules.iter().any(|r| r.segments.len() == 1) {
                hidden.push(value.clone());
                present()
            } else {
                param_matcher(name, value, &rules, hidden)
            };
            if name.eq_ignore_ascii_case("apiKey") && api_key.is_none() {
                api_key = Some(matcher);
            } else {
                params.push((name.clone(), matcher));
            }
        }
        params.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        (api_key, params)
    }
}

/// The request pattern of a call, with `absent` for parameters its siblings (same method, same
/// file) send and it does not.
pub(super) fn pattern(r: &Recorded, siblings: &[&Recorded]) -> RequestPattern {
    let mut params: IndexMap<String, ValueMatch> = r.params.iter().cloned().collect();
    let mut missing: Vec<String> = Vec::new();
    for s in siblings {
        for (name, _) in &s.params {
            let known = params
                .keys()
                .chain(missing.iter())
                .any(|n| n.eq_ignore_ascii_case(name));
            if !known {
                missing.push(name.clone());
            }
        }
    }
    missing.sort_by_key(|n| n.to_ascii_lowercase());
    for name in missing {
        params.insert(
            name,
            ValueMatch {
                absent: Some(true),
                ..ValueMatch::default()
            },
        );
    }
    let api_key = r.api_key.clone().or_else(|| {
        siblings
            .iter()
            .any(|s| s.api_key.is_some())
            .then(|| ValueMatch {
                absent: Some(true),
                ..ValueMatch::default()
            })
    });
    RequestPattern {
        method: Some(Box::new(equals(Value::String(r.method.clone())))),
        api_key: api_key.map(Box::new),
        params,
        ..RequestPattern::default()
    }
}

fn equals(v: Value) -> ValueMatch {
    ValueMatch {
        equals: Some(v),
        ..ValueMatch::default()
    }
}

fn present() -> ValueMatch {
    ValueMatch {
        present: Some(true),
        ..ValueMatch::default()
    }
}

pub(super) fn value_match_json(m: &ValueMatch) -> Value {
    serde_json::to_value(m).unwrap_or(Value::Null)
}

/// The matcher for one identifying parameter.
fn param_matcher(name: &str, value: &str, rules: &[&Rule], hidden: &mut Vec<String>) -> ValueMatch {
    let is_json_param = JSON_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name));
    let parsed = if is_json_param || !rules.is_empty() {
        serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    } else {
        None
    };
    let Some(mut json) = parsed else {
        if redact::is_secret_name(name) || redact::json_text(value) != value {
            return present();
        }
        return equals(Value::String(value.to_owned()));
    };
    let mut partial = redact::strip_json(&mut json);
    for rule in rules {
        partial |= remove_at(
            &mut json,
            rule.segments.get(1..).unwrap_or_default(),
            hidden,
        );
    }
    let mut check = json.clone();
    if redact::json(&mut check) {
        // Secrets in JSON text nested inside the value: nothing safe to compare.
        return present();
    }
    if partial {
        ValueMatch {
            json_includes: Some(json),
            ..ValueMatch::default()
        }
    } else {
        ValueMatch {
            json_equals: Some(json),
            ..ValueMatch::default()
        }
    }
}
