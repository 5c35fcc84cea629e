//! The scenario file of a recording: one stub per identified call (a response sequence when
//! it got different answers), under a header comment, with `{equals: scalar}` matchers
//! written in their short form.

use indexmap::IndexMap;
use serde_json::Value;

use super::matchers::pattern;
use super::{Layout, Recorded, Recorder, writer};
use crate::scenario::model::Stub;

impl Recorder {
    /// The stubs of the calls recorded into one file, each with the comment that goes above
    /// it.
    pub(super) fn stubs(&self, calls: &[Recorded]) -> Vec<(Option<String>, Stub)> {
        let mut stubs = Vec::new();
        let mut numbers: IndexMap<&str, usize> = IndexMap::new();
        for r in calls {
            let n = {
                let count = numbers.entry(r.method.as_str()).or_default();
                *count += 1;
                *count
            };
            let base = match self.config.layout {
                Layout::PerMethod => format!("{}-{n}", r.method),
                Layout::PerSession => format!("{}-{}-{n}", self.session, r.method),
            };
            let siblings: Vec<&Recorded> = calls.iter().filter(|o| o.method == r.method).collect();
            let request = pattern(r, &siblings);
            let total = r.answers.len();
            let stub = if total == 1 {
                Stub {
                    name: Some(base),
                    request,
                    response: r
                        .answers
                        .first()
                        .map(|(resp, _)| resp.clone())
                        .unwrap_or_default(),
                    ..Stub::default()
                }
            } else {
                // Each answer as often as it was seen, in order; the last one repeats.
                let mut responses = Vec::new();
                for (i, (response, seen)) in r.answers.iter().enumerate() {
                    let copies = if i + 1 == total { 1 } else { (*seen).max(1) };
                    for _ in 0..copies {
                        responses.push(response.clone());
                    }
                }
                Stub {
                    name: Some(base),
                    request,
                    responses,
                    ..Stub::default()
                }
            };
            let comment = (total > 1).then(|| {
                format!(
                    "{} call {n}: {total} different answers, in the order they came; the last repeats",
                    r.method
                )
            });
            stubs.push((comment, stub));
        }
        stubs
    }

    /// The whole file for the calls recorded into it.
    pub(super) fn render(&self, calls: &[Recorded]) -> String {
        let mut out = format!(
            "# Recorded by `gigya-mock record` from {}.\n\
             # Secrets and volatile parameters (sig, nonce, timestamp, userKey, ...) are not\n\
             # recorded; `time` is generated at replay. Rewritten whole after every call.\n\
             version: 1\nstubs:\n",
            self.config.upstream
        );
        for (comment, stub) in self.stubs(calls) {
            out.push('\n');
            if let Some(c) = comment {
                out.push_str("  # ");
                out.push_str(&c);
                out.push('\n');
            }
            let mut v = serde_json::to_value(&stub).unwrap_or(Value::Null);
            if !stub.responses.is_empty() {
                // A sequence replaces the single answer; the model's default one is not written.
                if let Some(obj) = v.as_object_mut() {
                    obj.shift_remove("response");
                }
            }
            shorten_matchers(&mut v);
            writer::item(&v, 2, &mut out);
        }
        out
    }
}

/// `{equals: scalar}` matchers written as the bare scalar (the file format's shorthand).
fn shorten_matchers(stub: &mut Value) {
    let Some(request) = stub.get_mut("request").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["method", "apiKey"] {
        if let Some(m) = request.get_mut(key) {
            shorten(m);
        }
    }
    if let Some(Value::Object(params)) = request.get_mut("params") {
        params.values_mut().for_each(shorten);
    }
}

fn shorten(m: &mut Value) {
    if let Value::Object(map) = m {
        if map.len() == 1 {
            if let Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) =
                map.get("equals")
            {
                *m = v.clone();
            }
        }
    }
}
