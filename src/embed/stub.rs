//! Builders that write stubs in Rust: [`GigyaStub`] and the value matchers in
//! [`crate::matchers`]. They produce the same [`Stub`] model the scenario files decode to, so a
//! stub built here behaves exactly like its YAML twin.

use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use serde_json::Value;

use crate::scenario::model::{RequestPattern, Response, Stub, ValidationError, ValueMatch};

/// How many times a stub is expected to be called: an exact count or a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    min: u64,
    max: Option<u64>,
}

impl Times {
    /// Whether `n` calls satisfy the expectation.
    #[must_use]
    pub fn contains(&self, n: u64) -> bool {
        n >= self.min && self.max.is_none_or(|m| n <= m)
    }
}

impl std::fmt::Display for Times {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls = |n: u64| if n == 1 { "call" } else { "calls" };
        match self.max {
            Some(max) if max == self.min => write!(f, "exactly {max} {}", calls(max)),
            Some(max) if self.min == 0 => write!(f, "at most {max} {}", calls(max)),
            Some(max) => write!(f, "between {} and {max} calls", self.min),
            None => write!(f, "at least {} {}", self.min, calls(self.min)),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }
}

macro_rules! times_from_range {
    ($($t:ty),*) => {$(
        impl From<$t> for Times {
            fn from(r: $t) -> Self {
                let min: u64 = match RangeBounds::<u64>::start_bound(&r) {
                    Bound::Included(n) => *n,
                    Bound::Excluded(n) => n.saturating_add(1),
                    Bound::Unbounded => 0,
                };
                let max: Option<u64> = match RangeBounds::<u64>::end_bound(&r) {
                    Bound::Included(n) => Some(*n),
                    Bound::Excluded(n) => Some(n.saturating_sub(1)),
                    Bound::Unbounded => None,
                };
                Self { min, max }
            }
        }
    )*};
}
times_from_range!(
    std::ops::Range<u64>,
    std::ops::RangeInclusive<u64>,
    std::ops::RangeFrom<u64>,
    std::ops::RangeTo<u64>,
    std::ops::RangeToInclusive<u64>
);

impl From<std::ops::RangeFull> for Times {
    fn from(_: std::ops::RangeFull) -> Self {
        Self { min: 0, max: None }
    }
}

/// A stub under construction. Start with [`GigyaStub::method`] (a Gigya call) or
/// [`GigyaStub::path`] (a raw HTTP endpoint), add matchers, then an answer.
///
/// ```
/// use gigya_mock::GigyaStub;
/// use gigya_mock::matchers::{eq, path};
///
/// let stub = GigyaStub::method("accounts.setAccountInfo")
///     .param("UID", eq("u-1"))
///     .json_param("data", path("$.tier", eq("gold")))
///     .responds_error(400006)
///     .named("gold-tier-rejected");
/// assert_eq!(stub.name(), Some("gold-tier-rejected"));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a stub does nothing until it is mounted or passed to a builder"]
pub struct GigyaStub {
    pub(crate) stub: Stub,
    pub(crate) expect: Option<Times>,
}

impl GigyaStub {
    /// A stub for a Gigya method (`accounts.setAccountInfo`).
    pub fn method(name: &str) -> Self {
        Self::from_request(RequestPattern {
            method: Some(Box::new(eq(name))),
            ..RequestPattern::default()
        })
    }

    /// A stub for Gigya methods whose name matches a regular expression.
    pub fn method_matching(regex: &str) -> Self {
        Self::from_request(RequestPattern {
            method: Some(Box::new(matches(regex))),
            ..RequestPattern::default()
        })
    }

    /// A raw stub for an HTTP path (`/health`).
    pub fn path(path: &str) -> Self {
        Self::from_request(RequestPattern {
            path: Some(Box::new(eq(path))),
            ..RequestPattern::default()
        })
    }

    fn from_request(request: RequestPattern) -> Self {
        Self {
            stub: Stub {
                request,
                ..Stub::default()
            },
            expect: None,
        }
    }

    /// Wraps an existing model stub (for example one decoded from a file).
    pub fn from_model(stub: Stub) -> Self {
        Self { stub, expect: None }
    }

    /// The stub's name, if set.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.stub.name.as_deref()
    }

    /// The model this builder produced.
    #[must_use]
    pub fn into_model(self) -> Stub {
        self.stub
    }

    /// Names the stub (names are unique per server).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.stub.name = Some(name.into());
        self
    }

    /// Lower priorities are tried first (default 5).
    pub fn priority(mut self, priority: i32) -> Self {
        self.stub.priority = Some(priority);
        self
    }

    /// Retire the stub after `n` matches.
    pub fn times(mut self, n: u64) -> Self {
        self.stub.times = Some(n);
        self
    }

    /// Expect this many calls (a count or a range); checked by `verify()` and on drop.
    pub fn expect(mut self, times: impl Into<Times>) -> Self {
        self.expect = Some(times.into());
        self
    }

    /// Requires a parameter (query or form; case-insensitive name).
    pub fn param(mut self, name: &str, matcher: impl Into<ValueMatch>) -> Self {
        self.stub
            .request
            .params
            .insert(name.to_owned(), matcher.into());
        self
    }

    /// Requires a JSON-valued parameter (`profile`, `data`, ...); use [`crate::matchers::path`],
    /// [`crate::matchers::json_includes`] or [`crate::matchers::json_equals`].
    pub fn json_param(self, name: &str, matcher: impl Into<ValueMatch>) -> Self {
        self.param(name, matcher)
    }

    /// Requires the `apiKey` parameter.
    pub fn api_key(mut self, matcher: impl Into<ValueMatch>) -> Self {
        self.stub.request.api_key = Some(Box::new(matcher.into()));
        self
    }

    /// Requires a header.
    pub fn header(mut self, name: &str, matcher: impl Into<ValueMatch>) -> Self {
        self.stub
            .request
            .headers
            .insert(name.to_owned(), matcher.into());
        self
    }

    /// Raw stubs: requires an HTTP method.
    pub fn http_method(mut self, method: &str) -> Self {
        self.stub.request.http_method = Some(method.to_owned());
        self
    }

    /// Raw stubs: requires the body to satisfy a matcher.
    pub fn body(mut self, matcher: impl Into<ValueMatch>) -> Self {
        self.stub.request.body = Some(Box::new(matcher.into()));
        self
    }

    /// Answers with the success envelope.
    pub fn responds_ok(mut self) -> Self {
        self.stub.response = Response::default();
        self
    }

    /// Answers with the success envelope plus these top-level fields (a JSON object).
    pub fn responds_with(mut self, fields: Value) -> Self {
        self.stub.response = Response {
            body: Some(fields),
            ..Response::default()
        };
        self
    }

    /// Answers with a Gigya error code (message and status from the catalogue).
    pub fn responds_error(mut self, code: u32) -> Self {
        self.stub.response = Response {
            error_code: Some(code),
            ..Response::default()
        };
        self
    }

    /// Answers with a raw HTTP response.
    pub fn responds_raw(mut self, status: u16, body: impl Into<Value>) -> Self {
        self.stub.response = Response {
            status: Some(status),
            body: Some(body.into()),
            ..Response::default()
        };
        self
    }

    /// Sets `errorDetails`.
    pub fn error_details(mut self, details: impl Into<String>) -> Self {
        self.stub.response.error_details = Some(details.into());
        self
    }

    /// Adds a `validationErrors` item.
    pub fn validation_error(mut self, code: u32, field: &str, message: Option<&str>) -> Self {
        self.stub.response.validation_errors.push(ValidationError {
            error_code: code,
            field_name: field.to_owned(),
            message: message.map(str::to_owned),
        });
        self
    }

    /// Fixes the `callId`.
    pub fn call_id(mut self, call_id: impl Into<String>) -> Self {
        self.stub.response.call_id = Some(call_id.into());
        self
    }

    /// Adds a response header.
    pub fn response_header(mut self, name: &str, value: &str) -> Self {
        self.stub
            .response
            .headers
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// Waits before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.stub.response.delay = Some(crate::scenario::model::Delay::Fixed(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        ));
        self
    }
}

/// Equal to `v` (text; numbers and booleans compare by their text).
pub fn eq(v: impl Into<Value>) -> ValueMatch {
    ValueMatch {
        equals: Some(v.into()),
        ..ValueMatch::default()
    }
}

/// Matches a regular expression.
pub fn matches(regex: &str) -> ValueMatch {
    ValueMatch {
        matches: Some(regex.to_owned()),
        ..ValueMatch::default()
    }
}

/// Contains a substring.
pub fn contains(s: &str) -> ValueMatch {
    ValueMatch {
        contains: Some(s.to_owned()),
        ..ValueMatch::default()
    }
}

/// Is sent.
#[must_use]
pub fn present() -> ValueMatch {
    ValueMatch {
        present: Some(true),
        ..ValueMatch::default()
    }
}

/// Is not sent.
#[must_use]
pub fn absent() -> ValueMatch {
    ValueMatch {
        absent: Some(true),
        ..ValueMatch::default()
    }
}

/// The value is JSON and the node at `json_path` (`$.tier`, `$.tags[*]`) satisfies `inner`.
pub fn path(json_path: &str, inner: impl Into<ValueMatch>) -> ValueMatch {
    let mut m = ValueMatch::default();
    m.json.insert(json_path.to_owned(), inner.into());
    m
}

/// The value is JSON that includes `v` (partial, recursive).
pub fn json_includes(v: Value) -> ValueMatch {
    ValueMatch {
        json_includes: Some(v),
        ..ValueMatch::default()
    }
}

/// The value is JSON equal to `v`.
pub fn json_equals(v: Value) -> ValueMatch {
    ValueMatch {
        json_equals: Some(v),
        ..ValueMatch::default()
    }
}

/// Does not satisfy `inner`.
pub fn not(inner: impl Into<ValueMatch>) -> ValueMatch {
    ValueMatch {
        not: Some(Box::new(inner.into())),
        ..ValueMatch::default()
    }
}

/// Satisfies one of `items`.
pub fn any_of(items: impl IntoIterator<Item = ValueMatch>) -> ValueMatch {
    ValueMatch {
        any_of: items.into_iter().collect(),
        ..ValueMatch::default()
    }
}

/// Satisfies all of `items`.
pub fn all_of(items: impl IntoIterator<Item = ValueMatch>) -> ValueMatch {
    ValueMatch {
        all_of: items.into_iter().collect(),
        ..ValueMatch::default()
    }
}

impl From<&str> for ValueMatch {
    fn from(s: &str) -> Self {
        eq(s)
    }
}

impl From<String> for ValueMatch {
    fn from(s: String) -> Self {
        eq(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_counts_and_ranges() {
        assert!(Times::from(2).contains(2));
        assert!(!Times::from(2).contains(1));
        assert!(Times::from(1..=3).contains(3));
        assert!(!Times::from(1..3).contains(3));
        assert!(Times::from(2..).contains(100));
        assert!(Times::from(..).contains(0));
        assert_eq!(Times::from(1).to_string(), "exactly 1 call");
        assert_eq!(Times::from(2..).to_string(), "at least 2 calls");
        assert_eq!(Times::from(..=3).to_string(), "at most 3 calls");
        assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3 calls");
    }

    #[test]
    fn builders_produce_the_file_model() {
        let built = GigyaStub::method("accounts.setAccountInfo")
            .param("UID", eq("u-1"))
            .json_param("data", path("$.tier", eq("gold")))
            .responds_error(400006)
            .into_model();
        let yaml = crate::scenario::load::load_sources(vec![crate::scenario::load::Source {
            label: "t.yaml".into(),
            base_dir: ".".into(),
            format: crate::scenario::load::Format::Yaml,
            text: "version: 1\nstubs:\n  - request:\n      method: accounts.setAccountInfo\n      params:\n        UID: {equals: u-1}\n        data: {json: {\"$.tier\": {equals: gold}}}\n    response: {errorCode: 400006}\n".into(),
        }])
        .unwrap();
        assert_eq!(built, yaml.stubs()[0].model());
    }
}
