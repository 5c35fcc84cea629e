//! `expect:` clauses: compiling them (checked like stubs, every problem with its key path) and
//! describing them in words for reports.
//!
//! An expectation has one subject — a stub name, a request pattern (compiled with the same
//! compiler as stub patterns), `never` (a pattern that must not be called) or `inOrder` (a
//! sequence of stubs or patterns) — and, for stubs and patterns, a count range. Evaluating them
//! against recorded traffic is the journal's business (`journal::verify`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;

use super::compile::{Compiler, KeyPath};
use super::model::{Expectation, OrderItem, RequestPattern};
use crate::matching::RequestMatcher;

/// A compiled expectation.
#[derive(Debug, Clone)]
pub struct CompiledExpectation {
    /// The `name` given in the file, if any.
    pub name: Option<String>,
    /// A generated description ("exactly 1 call answered by stub \"gold\"").
    pub description: String,
    /// Where it was written (`file:line:col`), when known.
    pub location: Option<String>,
    /// Which input it came from and where in it (the loader turns this into `location`).
    pub origin: (usize, KeyPath),
    /// What to check.
    pub check: Check,
}

impl CompiledExpectation {
    /// The name to show: the given one, else the description.
    #[must_use]
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.description)
    }
}

/// What an expectation checks.
#[derive(Debug, Clone)]
pub enum Check {
    /// The number of calls to a target lies in `min..=max`.
    Count {
        /// Which calls count.
        target: Target,
        /// Fewest allowed.
        min: u64,
        /// Most allowed (`None`: no limit).
        max: Option<u64>,
    },
    /// Each target is called, in this order, others possibly in between.
    InOrder(Vec<Target>),
}

/// Which calls an expectation is about.
#[derive(Debug, Clone)]
pub enum Target {
    /// Calls answered by a stub.
    Stub(Arc<str>),
    /// Calls matching a pattern.
    Request {
        /// The compiled pattern.
        matcher: Box<RequestMatcher>,
        /// The pattern as compact text, for messages.
        text: String,
    },
}

impl Target {
    /// The target in words: `stub "gold"` or `{method: a.b}`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Target::Stub(name) => format!("stub {:?}", &**name),
            Target::Request { text, .. } => text.clone(),
        }
    }
}

/// A count range in words: "exactly 1 call", "at least 2 calls", "no calls".
#[must_use]
pub fn count_text(min: u64, max: Option<u64>) -> String {
    let calls = |n: u64| format!("{n} call{}", if n == 1 { "" } else { "s" });
    match (min, max) {
        (0, Some(0)) => "no calls".to_owned(),
        (a, Some(b)) if a == b => format!("exactly {}", calls(a)),
        (0, Some(b)) => format!("at most {}", calls(b)),
        (a, None) => format!("at least {}", calls(a)),
        (a, Some(b)) => format!("between {a} and {}", calls(b)),
    }
}

impl Compiler {
    /// Compiles one `expect` item; `stubs` holds every stub name of the set.
    pub(super) fn expectation(
        &mut self,
        e: &Expectation,
        at: &KeyPath,
        stubs: &HashSet<String>,
    ) -> Option<CompiledExpectation> {
        let before = self.problem_count();
        let subjects: Vec<&str> = [
            (e.stub.is_some(), "stub"),
            (e.request.is_some(), "request"),
            (e.never.is_some(), "never"),
            (!e.in_order.is_empty(), "inOrder"),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, k)| *k)
        .collect();
        match subjects.as_slice() {
            [] => {
                self.problem(
                    at,
                    "an expectation needs one of `stub`, `request`, `never` or `inOrder`",
                );
                return None;
            }
            [_] => {}
            [first, second, ..] => {
                self.problem(
                    &at.key(second),
                    format!("give one subject per expectation: `{first}` and `{second}` are both set; split them into two items"),
                );
                return None;
            }
        }
        let counted = e.stub.is_some() || e.request.is_some();
        for (value, key) in [
            (e.times, "times"),
            (e.at_least, "atLeast"),
            (e.at_most, "atMost"),
        ] {
            if value.is_some() && !counted {
                let subject = if e.never.is_some() {
                    "`never` (it means no calls)"
                } else {
                    "`inOrder`"
                };
                self.problem(&at.key(key), format!("`{key}` does not apply to {subject}"));
            }
        }
        let (min, max) = match (e.times, e.at_least, e.at_most) {
            (Some(t), None, None) => (t, Some(t)),
            (Some(_), _, _) => {
                self.problem(
                    &at.key("times"),
                    "`times` cannot be combined with `atLeast` or `atMost`",
                );
                (0, None)
            }
            (None, None, None) => (1, None),
            (None, least, most) => {
                let min = least.unwrap_or(0);
                if most.is_some_and(|m| m < min) {
                    self.problem(
                        &at.key("atLeast"),
                        format!(
                            "atLeast {min} is more than atMost {}",
                            most.unwrap_or_default()
                        ),
                    );
                }
                (min, most)
            }
        };
        let check = if let Some(name) = &e.stub {
            let target = self.stub_target(name, &at.key("stub"), stubs);
            target.map(|target| Check::Count { target, min, max })
        } else if let Some(p) = &e.request {
            self.request_target(p, &at.key("request"))
                .map(|target| Check::Count { target, min, max })
        } else if let Some(p) = &e.never {
            self.request_target(p, &at.key("never"))
                .map(|target| Check::Count {
                    target,
                    min: 0,
                    max: Some(0),
                })
        } else {
            self.in_order(&e.in_order, &at.key("inOrder"), stubs)
        };
        if self.problem_count() != before {
            return None;
        }
        let check = check?;
        let description = describe(&check);
        Some(CompiledExpectation {
            name: e.name.clone().filter(|n| !n.trim().is_empty()),
            description,
            location: None,
            origin: (self.input(), at.clone()),
            check,
        })
    }

    fn stub_target(&mut self, name: &str, at: &KeyPath, stubs: &HashSet<String>) -> Option<Target> {
        if stubs.contains(name) {
            Some(Target::Stub(name.into()))
        } else {
            let mut names: Vec<&str> = stubs.iter().map(String::as_str).collect();
            names.sort_unstable();
            let hint = match super::decode::suggest(name, &names) {
                Some(near) => format!("did you mean {near:?}?"),
                None => "expectations refer to stubs by their `name`".to_owned(),
            };
            self.problem(at, format!("no stub is named {name:?}; {hint}"));
            None
        }
    }

    fn request_target(&mut self, p: &RequestPattern, at: &KeyPath) -> Option<Target> {
        let matcher = self.request(p, at)?;
        Some(Target::Request {
            matcher: Box::new(matcher),
            text: pattern_text(p),
        })
    }

    fn in_order(
        &mut self,
        items: &[OrderItem],
        at: &KeyPath,
        stubs: &HashSet<String>,
    ) -> Option<Check> {
        if items.len() < 2 {
            self.problem(at, "inOrder needs at least two steps");
            return None;
        }
        let mut targets = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let here = at.index(i);
            let target = match (&item.stub, &item.request) {
                (Some(name), None) => self.stub_target(name, &here, stubs),
                (None, Some(p)) => self.request_target(p, &here.key("request")),
                (Some(_), Some(_)) => {
                    self.problem(
                        &here,
                        "an inOrder step is a `stub` or a `request`, not both",
                    );
                    None
                }
                (None, None) => {
                    self.problem(&here, "an inOrder step needs a `stub` or a `request`");
                    None
                }
            };
            targets.extend(target);
        }
        (targets.len() == items.len()).then_some(Check::InOrder(targets))
    }
}

/// Compiles expectations on their own (the admin API's ad-hoc `POST /__admin/verify`); key
/// paths are `expect[i]...`.
///
/// # Errors
/// Every problem found.
pub fn compile_expectations(
    items: &[Expectation],
    stubs: &HashSet<String>,
) -> Result<Vec<CompiledExpectation>, Vec<super::compile::CompileProblem>> {
    let mut c = Compiler::default();
    let mut out = Vec::new();
    for (i, e) in items.iter().enumerate() {
        let at = KeyPath::default().key("expect").index(i);
        out.extend(c.expectation(e, &at, stubs));
    }
    c.into_result(out)
}

fn describe(check: &Check) -> String {
    match check {
        Check::Count { target, min, max } => {
            format!("{} {}", count_text(*min, *max), target_phrase(target))
        }
        Check::InOrder(targets) => {
            let steps: Vec<String> = targets.iter().map(Target::describe).collect();
            format!("in order: {}", steps.join(", then "))
        }
    }
}

/// What follows a count: `answered by stub "gold"` or `matching {method: a.b}`.
#[must_use]
pub fn target_phrase(target: &Target) -> String {
    match target {
        Target::Stub(name) => format!("answered by stub {:?}", &**name),
        Target::Request { text, .. } => format!("matching {text}"),
    }
}

/// A request pattern as compact flow text: `{method: accounts.setAccountInfo, params: {UID: u-100}}`.
/// `equals` matchers are shown as their bare value.
#[must_use]
pub fn pattern_text(p: &RequestPattern) -> String {
    let value = serde_json::to_value(p).unwrap_or(Value::Null);
    let mut out = String::new();
    flow(&simplify(value), &mut out);
    out
}

fn simplify(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(eq) = map.get("equals") {
                    return eq.clone();
                }
            }
            Value::Object(map.into_iter().map(|(k, v)| (k, simplify(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(simplify).collect()),
        other => other,
    }
}

fn flow(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                scalar_text(k, out);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(v, out);
            }
            out.push(']');
        }
        Value::String(s) => scalar_text(s, out),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn scalar_text(s: &str, out: &mut String) {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '$' | '@' | '*' | '+')
        })
        && !matches!(s, "true" | "false" | "null")
        && s.parse::<f64>().is_err();
    if plain {
        out.push_str(s);
    } else {
        let _ = write!(out, "{}", Value::String(s.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::ValueMatch;

    #[test]
    fn counts_in_words() {
        assert_eq!(count_text(1, Some(1)), "exactly 1 call");
        assert_eq!(count_text(2, None), "at least 2 calls");
        assert_eq!(count_text(0, Some(3)), "at most 3 calls");
        assert_eq!(count_text(1, Some(3)), "between 1 and 3 calls");
        assert_eq!(count_text(0, Some(0)), "no calls");
    }

    fn load(files: &[(&str, &str)]) -> Result<crate::scenario::ScenarioSet, Vec<String>> {
        crate::scenario::load_sources(
            files
                .iter()
                .map(|(label, text)| crate::scenario::load::Source {
                    label: (*label).into(),
                    base_dir: ".".into(),
                    format: crate::scenario::load::Format::Yaml,
                    text: (*text).into(),
                })
                .collect(),
        )
        .map_err(|e| e.problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn expectations_compile_across_files_with_locations() {
        let set = load(&[
            (
                "stubs.yaml",
                "version: 1\nstubs:\n  - {name: a, request: {method: x.a}, response: {}}\n  - {name: b, request: {method: x.b}, response: {}}\n",
            ),
            (
                "expect.yaml",
                "version: 1\nexpect:\n  - stub: a\n  - {name: b twice, stub: b, times: 2}\n  - {request: {method: x.c}, atLeast: 1, atMost: 3}\n  - inOrder: [a, {stub: b}, {request: {method: x.c}}]\n",
            ),
        ])
        .unwrap();
        let e = &set.expectations;
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].description, "at least 1 call answered by stub \"a\"");
        assert_eq!(e[0].location.as_deref(), Some("expect.yaml:3:5"));
        assert_eq!(e[1].label(), "b twice");
        assert_eq!(
            e[2].description,
            "between 1 and 3 calls matching {method: x.c}"
        );
        assert_eq!(
            e[3].description,
            "in order: stub \"a\", then stub \"b\", then {method: x.c}"
        );
        assert!(matches!(&e[3].check, Check::InOrder(t) if t.len() == 3));
    }

    #[test]
    fn every_expectation_problem_is_reported_at_its_position() {
        let problems = load(&[(
            "e.yaml",
            "version: 1\nstubs:\n  - {name: a, request: {method: x.a}, response: {}}\nexpect:\n  - {stub: a, atleast: 1}\n  - {stub: a, atLeast: 3, atMost: 2}\n  - {inOrder: [a]}\n  - {inOrder: [a, {}], times: 1}\n  - {request: {method: {matches: \"(\"}}}\n  - {never: {method: x.b}, stub: a}\n  - {inOrder: [a, ~]}\n",
        )])
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                "e.yaml:5:15: unknown key `atleast` in an expectation; did you mean `atLeast`?",
                "e.yaml:6:24: atLeast 3 is more than atMost 2",
                "e.yaml:7:15: inOrder needs at least two steps",
                "e.yaml:8:19: an inOrder step needs a `stub` or a `request`",
                "e.yaml:8:31: `times` does not apply to `inOrder`",
                "e.yaml:9:34: invalid regular expression \"(\": unclosed group",
                "e.yaml:10:13: give one subject per expectation: `stub` and `never` are both set; split them into two items",
                "e.yaml:11:19: inOrder item: expected a stub name or a mapping, found null",
            ]
        );
    }

    #[test]
    fn patterns_as_flow_text() {
        let mut p = RequestPattern {
            method: Some(Box::new(ValueMatch {
                equals: Some("accounts.setAccountInfo".into()),
                ..ValueMatch::default()
            })),
            ..RequestPattern::default()
        };
        p.params.insert(
            "UID".into(),
            ValueMatch {
                equals: Some("u 100".into()),
                ..ValueMatch::default()
            },
        );
        p.params.insert(
            "age".into(),
            ValueMatch {
                matches: Some("^4".into()),
                ..ValueMatch::default()
            },
        );
        assert_eq!(
            pattern_text(&p),
            r#"{method: accounts.setAccountInfo, params: {UID: "u 100", age: {matches: "^4"}}}"#
        );
    }
}
