//! Compiled request matchers, the stub index, and near-miss explanations.
//!
//! Matchers are built once at load time (regexes compiled, paths parsed) by
//! `scenario::compile`. On the hot path [`RequestMatcher::matches`] answers yes/no without
//! allocating; only when nothing matches does [`RequestMatcher::explain`] build the human
//! reasons ("param UID expected \"u1\", got \"u2\"") for the unmatched report.

pub mod index;
pub mod jsonpath;

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use http::{HeaderName, Method};
use regex::Regex;
use serde_json::Value;

use crate::exchange::CapturedRequest;
use crate::gigya::params::{JsonCell, Param, cached_json};
pub use jsonpath::JsonPath;

/// A matcher on one value (a parameter, a header, a path, a JSON node).
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Equal: `text` for text subjects, `value` (loosely) for JSON subjects.
    Equals {
        /// The expected value as text.
        text: String,
        /// The expected value as JSON.
        value: Value,
    },
    /// Regex search.
    Matches(Arc<Regex>),
    /// Substring.
    Contains(String),
    /// Must be present.
    Present,
    /// Must be absent.
    Absent,
    /// JSON paths into the value, each with a matcher.
    Json(Vec<(JsonPath, Matcher)>),
    /// JSON that includes this (partial) value.
    JsonIncludes(Value),
    /// JSON equal to this value.
    JsonEquals(Value),
    /// Negation.
    Not(Box<Matcher>),
    /// Any of.
    AnyOf(Vec<Matcher>),
    /// All of.
    AllOf(Vec<Matcher>),
}

/// What a matcher looks at.
#[derive(Clone, Copy)]
pub enum Subject<'a> {
    /// Nothing there.
    Missing,
    /// Text, with a cache for its JSON parse.
    Text(&'a str, &'a JsonCell),
    /// A node inside a JSON document.
    Json(&'a Value),
}

impl<'a> Subject<'a> {
    fn json(&self) -> Option<&'a Value> {
        match *self {
            Subject::Missing => None,
            Subject::Text(t, cache) => cached_json(cache, t),
            Subject::Json(v) => Some(v),
        }
    }

    fn text(&self) -> Option<Cow<'a, str>> {
        match *self {
            Subject::Missing => None,
            Subject::Text(t, _) => Some(Cow::Borrowed(t)),
            Subject::Json(Value::String(s)) => Some(Cow::Borrowed(s)),
            Subject::Json(v) => Some(Cow::Owned(v.to_string())),
        }
    }

    fn describe(&self) -> String {
        match self.text() {
            None => "nothing".to_owned(),
            Some(t) => quote(&t),
        }
    }
}

/// Quotes a value for a message, shortened to 80 characters.
#[must_use]
pub fn quote(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX).collect();
        format!("{:?}…", cut)
    } else {
        format!("{s:?}")
    }
}

impl Matcher {
    /// The expected text when this is a plain equality (used by the index).
    #[must_use]
    pub fn equality_text(&self) -> Option<&str> {
        match self {
            Matcher::Equals { text, .. } => Some(text),
            Matcher::AllOf(items) => items.iter().find_map(Matcher::equality_text),
            _ => None,
        }
    }

    /// The string a JSON value must be for the matcher to hold, when nothing else can satisfy
    /// it: an `equals` of a string that does not read as a number or a boolean (those also
    /// equal the number or boolean).
    #[must_use]
    pub fn json_equality_string(&self) -> Option<&str> {
        match self {
            Matcher::Equals {
                text,
                value: Value::String(s),
            } if s == text && !reads_as_number_or_bool(s) => Some(text),
            Matcher::AllOf(items) => items.iter().find_map(Matcher::json_equality_string),
            _ => None,
        }
    }

    /// Whether the subject satisfies the matcher.
    #[must_use]
    pub fn is_match(&self, s: Subject<'_>) -> bool {
        match self {
            Matcher::Equals { text, value } => match s {
                Subject::Missing => false,
                Subject::Text(t, _) => t == text,
                Subject::Json(v) => loose_eq(value, v),
            },
            Matcher::Matches(re) => s.text().is_some_and(|t| re.is_match(&t)),
            Matcher::Contains(needle) => s.text().is_some_and(|t| t.contains(needle.as_str())),
            Matcher::Present => !matches!(s, Subject::Missing),
            Matcher::Absent => matches!(s, Subject::Missing),
            Matcher::Json(paths) => s
                .json()
                .is_some_and(|root| paths.iter().all(|(path, m)| path_matches(path, m, root))),
            Matcher::JsonIncludes(expected) => s.json().is_some_and(|v| includes(v, expected)),
            Matcher::JsonEquals(expected) => s
                .json()
                .is_some_and(|v| loose_eq(expected, v) && json_eq(expected, v)),
            Matcher::Not(inner) => !inner.is_match(s),
            Matcher::AnyOf(items) => items.iter().any(|m| m.is_match(s)),
            Matcher::AllOf(items) => items.iter().all(|m| m.is_match(s)),
        }
    }

    /// Why the subject does not satisfy the matcher; `None` when it does.
    #[must_use]
    pub fn explain(&self, s: Subject<'_>) -> Option<String> {
        if self.is_match(s) {
            return None;
        }
        Some(match self {
            Matcher::Equals { text, value } => match s {
                Subject::Missing => format!("missing (expected {})", quote(text)),
                Subject::Json(_) => format!("expected {}, got {}", value, s.describe()),
                Subject::Text(..) => format!("expected {}, got {}", quote(text), s.describe()),
            },
            Matcher::Matches(re) => match s {
                Subject::Missing => format!("missing (expected to match /{}/)", re.as_str()),
                _ => format!("expected to match /{}/, got {}", re.as_str(), s.describe()),
            },
            Matcher::Contains(needle) => match s {
                Subject::Missing => format!("missing (expected to contain {})", quote(needle)),
                _ => format!(
                    "expected to contain {}, got {}",
                    quote(needle),
                    s.describe()
                ),
            },
            Matcher::Present => "missing".to_owned(),
            Matcher::Absent => format!("expected to be absent, got {}", s.describe()),
            Matcher::Json(paths) => match s.json() {
                None if matches!(s, Subject::Missing) => "missing (expected JSON)".to_owned(),
                None => format!("is not valid JSON: {}", s.describe()),
                Some(root) => paths
                    .iter()
                    .find_map(|(path, m)| explain_path(path, m, root))
                    .unwrap_or_else(|| "JSON paths do not match".to_owned()),
            },
            Matcher::JsonIncludes(expected) => match s.json() {
                None => format!("is not JSON (expected it to include {expected})"),
                Some(v) => match first_difference(v, expected, "$") {
                    Some(diff) => diff,
                    None => format!("does not include {expected}"),
                },
            },
            Matcher::JsonEquals(expected) => match s.json() {
                None => format!("is not JSON (expected {expected})"),
                Some(v) => format!("expected JSON {expected}, got {v}"),
            },
            Matcher::Not(inner) => format!("matched a `not` condition ({})", inner.summary()),
            Matcher::AnyOf(items) => format!(
                "matched none of {} alternatives (first: {})",
                items.len(),
                items.first().and_then(|m| m.explain(s)).unwrap_or_default()
            ),
            Matcher::AllOf(items) => items
                .iter()
                .find_map(|m| m.explain(s))
                .unwrap_or_else(|| "an `allOf` condition failed".to_owned()),
        })
    }

    /// A short description of the condition, for messages.
    #[must_use]
    pub fn summary(&self) -> String {
        match self {
            Matcher::Equals { text, .. } => format!("equals {}", quote(text)),
            Matcher::Matches(re) => format!("matches /{}/", re.as_str()),
            Matcher::Contains(n) => format!("contains {}", quote(n)),
            Matcher::Present => "present".to_owned(),
            Matcher::Absent => "absent".to_owned(),
            Matcher::Json(paths) => {
                let parts: Vec<String> = paths
                    .iter()
                    .map(|(p, m)| format!("{p} {}", m.summary()))
                    .collect();
                format!("json {}", parts.join(", "))
            }
            Matcher::JsonIncludes(v) => format!("jsonIncludes {v}"),
            Matcher::JsonEquals(v) => format!("jsonEquals {v}"),
            Matcher::Not(m) => format!("not {}", m.summary()),
            Matcher::AnyOf(items) => format!(
                "anyOf [{}]",
                items
                    .iter()
                    .map(Matcher::summary)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Matcher::AllOf(items) => items
                .iter()
                .map(Matcher::summary)
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }
}

fn path_matches(path: &JsonPath, m: &Matcher, root: &Value) -> bool {
    let found = path.select(root);
    if found.is_empty() {
        return m.is_match(Subject::Missing);
    }
    found.iter().any(|v| m.is_match(Subject::Json(v)))
}

fn explain_path(path: &JsonPath, m: &Matcher, root: &Value) -> Option<String> {
    if path_matches(path, m, root) {
        return None;
    }
    let found = path.select(root);
    let reason = match found.first() {
        None => m.explain(Subject::Missing),
        Some(v) => m.explain(Subject::Json(v)),
    };
    Some(format!(
        "{path} {}",
        reason.unwrap_or_else(|| "does not match".to_owned())
    ))
}

/// Whether [`loose_eq`] may find `s` equal to a number or a boolean: it reads as one (`30`,
/// `-1.5e3`, `inf`, `true`). Most strings start with a letter that rules it out at once.
fn reads_as_number_or_bool(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b'0'..=b'9' | b'+' | b'-' | b'.' | b'i' | b'I' | b'n' | b'N' | b't' | b'f') => {
            s.parse::<f64>().is_ok() || s == "true" || s == "false"
        }
        _ => false,
    }
}

/// JSON equality where a string also equals a number or boolean with the same text, and
/// numbers compare by value.
#[must_use]
pub fn loose_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(e), Value::Number(n)) => {
            e.parse::<f64>().ok() == n.as_f64() || *e == n.to_string().as_str()
        }
        (Value::String(e), Value::Bool(b)) => e.as_str() == if *b { "true" } else { "false" },
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| loose_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| loose_eq(v, w)))
        }
        _ => expected == actual,
    }
}

fn json_eq(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => expected == actual,
    }
}

/// Whether `actual` includes `expected`: objects by key (recursively), arrays when every
/// expected element is included by some actual element, scalars by [`loose_eq`].
#[must_use]
pub fn includes(actual: &Value, expected: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| includes(av, ev))),
        (Value::Array(e), Value::Array(a)) => {
            e.iter().all(|ev| a.iter().any(|av| includes(av, ev)))
        }
        _ => loose_eq(expected, actual),
    }
}

fn first_difference(actual: &Value, expected: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, ev)| {
            let here = format!("{at}.{k}");
            match a.get(k) {
                None => Some(format!("{here} missing (expected {ev})")),
                Some(av) => first_difference(av, ev, &here),
            }
        }),
        _ if includes(actual, expected) => None,
        _ => Some(format!("{at} expected {expected}, got {actual}")),
    }
}

/// Where a named value is looked up in a request.
#[derive(Debug, Clone)]
pub struct Field {
    /// The name as written in the scenario.
    pub name: String,
    /// The matcher.
    pub matcher: Matcher,
}

/// A compiled request pattern. Every criterion given must hold.
#[derive(Debug, Clone, Default)]
pub struct RequestMatcher {
    /// Gigya method.
    pub method: Option<Matcher>,
    /// `apiKey` parameter (boxed, like `path` and `body`: rarely given, and a large set keeps
    /// every pattern in memory).
    pub api_key: Option<Box<Matcher>>,
    /// Parameters.
    pub params: Vec<Field>,
    /// Headers.
    pub headers: Vec<(HeaderName, Matcher)>,
    /// URL path.
    pub path: Option<Box<Matcher>>,
    /// HTTP method.
    pub http_method: Option<Method>,
    /// Query-string parameters.
    pub query: Vec<Field>,
    /// Body text.
    pub body: Option<Box<Matcher>>,
    /// Must not match.
    pub not: Option<Box<RequestMatcher>>,
    /// One must match.
    pub any_of: Vec<RequestMatcher>,
    /// All must match.
    pub all_of: Vec<RequestMatcher>,
}

fn param_subject<'a>(p: Option<Param<'a>>) -> Subject<'a> {
    match p {
        Some(p) => Subject::Text(p.value(), p.json_cell()),
        None => Subject::Missing,
    }
}

fn text_subject<'a>(t: Option<&'a str>, cache: &'a JsonCell) -> Subject<'a> {
    match t {
        Some(t) => Subject::Text(t, cache),
        None => Subject::Missing,
    }
}

impl RequestMatcher {
    /// Whether the request matches.
    #[must_use]
    pub fn matches(&self, req: &CapturedRequest) -> bool {
        self.walk(req, None)
    }

    /// Why the request does not match: one reason per failed criterion, and how many
    /// criteria passed (for ranking near misses).
    #[must_use]
    pub fn explain(&self, req: &CapturedRequest) -> (Vec<String>, usize) {
        let mut report = Report {
            words: true,
            ..Report::default()
        };
        self.walk(req, Some(&mut report));
        (report.reasons, report.passed)
    }

    /// How many criteria fail and how many pass: [`RequestMatcher::explain`]'s counts,
    /// without writing the reasons (ranking many stubs for a near-miss report).
    #[must_use]
    pub fn score(&self, req: &CapturedRequest) -> (usize, usize) {
        let mut report = Report::default();
        self.walk(req, Some(&mut report));
        (report.failed, report.passed)
    }

    /// Evaluates every criterion. Without a report it stops at the first failure; with one it
    /// goes on and records a reason per failure.
    fn walk(&self, req: &CapturedRequest, mut report: Option<&mut Report>) -> bool {
        let mut matched = true;
        macro_rules! check {
            ($ok:expr, $reason:expr) => {{
                let ok = $ok;
                match report.as_deref_mut() {
                    None if !ok => return false,
                    None => {}
                    Some(r) if ok => r.passed += 1,
                    Some(r) => {
                        matched = false;
                        r.failed += 1;
                        if r.words {
                            r.reasons.push($reason);
                        }
                    }
                }
            }};
        }
        if let Some(m) = &self.method {
            let cache = OnceLock::new();
            let s = text_subject(req.gigya_method.as_deref(), &cache);
            check!(
                m.is_match(s),
                format!("method {}", m.explain(s).unwrap_or_default())
            );
        }
        if let Some(m) = &self.http_method {
            check!(
                req.http_method == *m,
                format!("HTTP method expected {m}, got {}", req.http_method)
            );
        }
        if let Some(m) = &self.path {
            let cache = OnceLock::new();
            let s = Subject::Text(&req.path, &cache);
            check!(
                m.is_match(s),
                format!("path {}", m.explain(s).unwrap_or_default())
            );
        }
        if let Some(m) = &self.api_key {
            let s = param_subject(req.params().get("apiKey"));
            check!(
                m.is_match(s),
                format!("param apiKey {}", m.explain(s).unwrap_or_default())
            );
        }
        for f in &self.params {
            let s = param_subject(req.params().get(&f.name));
            check!(
                f.matcher.is_match(s),
                format!(
                    "param {} {}",
                    f.name,
                    f.matcher.explain(s).unwrap_or_default()
                )
            );
        }
        for f in &self.query {
            let s = param_subject(req.query_params().get(&f.name));
            check!(
                f.matcher.is_match(s),
                format!(
                    "query {} {}",
                    f.name,
                    f.matcher.explain(s).unwrap_or_default()
                )
            );
        }
        for (name, m) in &self.headers {
            let value = req.header(name.as_str());
            let cache = OnceLock::new();
            let s = text_subject(value.as_deref(), &cache);
            check!(
                m.is_match(s),
                format!("header {name} {}", m.explain(s).unwrap_or_default())
            );
        }
        if let Some(m) = &self.body {
            let text = String::from_utf8_lossy(&req.body);
            let cache = OnceLock::new();
            let s = if req.body.is_empty() {
                Subject::Missing
            } else {
                Subject::Text(&text, &cache)
            };
            check!(
                m.is_match(s),
                format!("body {}", m.explain(s).unwrap_or_default())
            );
        }
        if let Some(inner) = &self.not {
            check!(!inner.matches(req), "matched a `not` pattern".to_owned());
        }
        if !self.any_of.is_empty() {
            check!(
                self.any_of.iter().any(|m| m.matches(req)),
                format!(
                    "matched none of {} `anyOf` patterns (first: {})",
                    self.any_of.len(),
                    self.any_of
                        .first()
                        .map(|m| m.explain(req).0.join("; "))
                        .unwrap_or_default()
                )
            );
        }
        for inner in &self.all_of {
            check!(inner.matches(req), inner.explain(req).0.join("; "));
        }
        matched
    }
}

#[derive(Default)]
struct Report {
    /// Write a reason per failed criterion (else only count them).
    words: bool,
    reasons: Vec<String>,
    failed: usize,
    passed: usize,
}

#[cfg(test)]
mod tests;
