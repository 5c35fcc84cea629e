//! One journal entry: what arrived, who answered, what was sent back, and how long it took —
//! already redacted, with bodies capped.
//!
//! An entry is built from the record the journal keeps (see `raw`) the first time anything
//! reads it, or at once when a body is over the journal's limit. It copies little: request
//! header values go into one buffer, response headers and bodies are shared, and the decoded
//! parameters are not copied at all — they are decoded again from the redacted query and body
//! the first time someone reads them (only a truncated body makes the entry keep its own
//! copy). Everything textual (the URL, the JSON form) is produced when the entry is read.
//!
//! Entries serialize to the JSON the admin API serves and deserialize back (the CLI evaluates
//! expectations on entries it fetched). [`Entry::to_request`] rebuilds a [`CapturedRequest`]
//! from an entry so request patterns are matched by the very matcher stubs use.

mod capture;
mod json;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use crate::exchange::{CapturedRequest, RequestParts, Scheme};
use crate::gigya::params::{ConflictPolicy, Params};
use capture::redacted_params;

pub use json::{header_text, version_text};

/// Who answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnsweredBy {
    /// A stub (named in [`Entry::stub`]).
    Stub,
    /// The emulator.
    Emulator,
    /// Nothing matched: the unmatched error (see [`Entry::near_misses`]).
    Unmatched,
    /// Rejected before matching (undecodable, too large, too slow, bad HTTP method).
    Rejected,
    /// An injected fault rule (named in [`Entry::stub`]) answered instead of the stubs.
    Fault,
    /// Forwarded to the upstream server (named in [`Entry::upstream`]) and answered by it.
    Proxied,
}

impl AnsweredBy {
    /// The lowercase name used in JSON and filters.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Stub => "stub",
            AnsweredBy::Emulator => "emulator",
            AnsweredBy::Unmatched => "unmatched",
            AnsweredBy::Rejected => "rejected",
            AnsweredBy::Fault => "fault",
            AnsweredBy::Proxied => "proxied",
        }
    }
}

/// A recorded exchange.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in the journal: increases by one per request and is never reused (not even
    /// after the journal is cleared).
    pub id: u64,
    /// When the request arrived (the mock's clock).
    pub time: SystemTime,
    /// The client's address.
    pub client: Option<SocketAddr>,
    /// The request as received (redacted).
    pub request: RecordedRequest,
    /// The Gigya method the path names, if it names one.
    pub gigya_method: Option<String>,
    /// Who answered.
    pub answered_by: AnsweredBy,
    /// The stub that answered.
    pub stub: Option<Arc<str>>,
    /// For unmatched calls: the nearest stubs and why each did not match.
    pub near_misses: Vec<String>,
    /// For proxied calls: the upstream that answered (`http://127.0.0.1:9000`, `gigya:us1`).
    pub upstream: Option<Arc<str>>,
    /// The answer (redacted).
    pub response: RecordedResponse,
    /// From arrival to the answer being handed to the connection, delays included.
    pub latency: Duration,
    /// Decoded parameters (redacted): filled on first read, or at build time when the body
    /// was truncated, or from JSON.
    params: OnceLock<Vec<(String, String)>>,
    /// How query and body parameters were merged.
    policy: ConflictPolicy,
}

/// The request half of an entry.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: Method,
    /// HTTP version.
    pub version: http::Version,
    /// Transport scheme.
    pub scheme: Scheme,
    /// The authority the client addressed.
    pub host: Option<String>,
    /// URL path.
    pub path: String,
    /// Query string (redacted).
    pub query: Option<String>,
    /// Headers in arrival order (redacted).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body (redacted, capped).
    pub body: Bytes,
    /// The body's size as received, in bytes.
    pub body_size: usize,
    /// Whether `body` was cut at the journal's body limit.
    pub body_truncated: bool,
}

/// The response half of an entry.
#[derive(Debug, Clone)]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers (redacted).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body (redacted, capped).
    pub body: Bytes,
    /// The body's full size in bytes.
    pub body_size: usize,
    /// Whether `body` was cut at the journal's body limit.
    pub body_truncated: bool,
    /// The Gigya `errorCode` of an envelope answer.
    pub error_code: Option<u32>,
    /// The `callId` of an envelope answer.
    pub call_id: Option<String>,
}

/// Parameters a journal line shows first, when present.
const KEY_PARAMS: &[&str] = &["UID", "loginID", "targetUID", "email", "username"];

/// Parameters that say nothing about the call itself (credentials, SDK boilerplate).
const BOILERPLATE: &[&str] = &[
    "apiKey",
    "userKey",
    "secret",
    "sig",
    "nonce",
    "timestamp",
    "format",
    "sdk",
    "sdkBuild",
    "httpStatusCodes",
    "callback",
    "context",
    "targetEnv",
    "pageURL",
    "gmid",
    "ucid",
    "oauth_token",
    "authMode",
];

impl Entry {
    /// The decoded parameters, query and body merged (redacted), in arrival order.
    #[must_use]
    pub fn params(&self) -> &[(String, String)] {
        self.params.get_or_init(|| {
            let req = self.rebuild();
            redacted_params(req.params())
        })
    }

    /// A parameter value (case-insensitive name).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        let params = self.params();
        params
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.as_str())
    }

    /// The full URL (query redacted).
    #[must_use]
    pub fn url(&self) -> String {
        let r = &self.request;
        let mut url = format!(
            "{}://{}{}",
            r.scheme.as_str(),
            r.host.as_deref().unwrap_or("localhost"),
            r.path
        );
        if let Some(q) = &r.query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    /// Latency in milliseconds, to the microsecond.
    #[must_use]
    pub fn latency_ms(&self) -> f64 {
        (self.latency.as_micros() as f64) / 1000.0
    }

    /// The Gigya method, or `HTTP-METHOD /path` for other requests.
    #[must_use]
    pub fn call_name(&self) -> String {
        match &self.gigya_method {
            Some(m) => m.clone(),
            None => format!("{} {}", self.request.method, self.request.path),
        }
    }

    /// Who answered, in a few words: `stub "gold"`, `emulator`, `unmatched`, `rejected`,
    /// `proxied to http://127.0.0.1:9000`.
    #[must_use]
    pub fn answered_text(&self) -> String {
        match (&self.answered_by, &self.stub) {
            (AnsweredBy::Stub, Some(name)) => format!("stub {:?}", &**name),
            (AnsweredBy::Proxied, _) => match &self.upstream {
                Some(to) => format!("proxied to {to}"),
                None => "proxied".to_owned(),
            },
            (other, _) => other.as_str().to_owned(),
        }
    }

    /// The parameters that identify the call (`UID=u-100 loginID=a@b.c`), else the first
    /// two that are not SDK boilerplate; at most `max` characters.
    #[must_use]
    pub fn key_params(&self, max: usize) -> String {
        let params = self.params();
        let mut picked: Vec<(&str, &str)> = KEY_PARAMS
            .iter()
            .filter_map(|k| {
                params
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(k))
                    .map(|(n, v)| (n.as_str(), v.as_str()))
            })
            .collect();
        if picked.is_empty() {
            picked = params
                .iter()
                .filter(|(n, _)| !BOILERPLATE.iter().any(|b| b.eq_ignore_ascii_case(n)))
                .take(2)
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
        }
        let text = picked
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        shorten(&text, max)
    }

    /// One line for reports: `POST accounts.setAccountInfo UID=u-200 → stub "x", errorCode 0`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut out = format!("{} {}", self.request.method, self.call_name());
        let params = self.key_params(60);
        if !params.is_empty() {
            out.push(' ');
            out.push_str(&params);
        }
        out.push_str(" → ");
        out.push_str(&self.answered_text());
        match self.response.error_code {
            Some(code) => out.push_str(&format!(", errorCode {code}")),
            None => out.push_str(&format!(", HTTP {}", self.response.status)),
        }
        out
    }

    /// The request rebuilt from the entry (redacted), decoded as the server decodes requests.
    fn rebuild(&self) -> CapturedRequest {
        let r = &self.request;
        let mut headers = HeaderMap::with_capacity(r.headers.len());
        for (n, v) in &r.headers {
            headers.append(n.clone(), v.clone());
        }
        let uri = request_uri(&r.path, r.query.as_deref());
        CapturedRequest::new(
            RequestParts {
                http_method: r.method.clone(),
                scheme: r.scheme,
                uri,
                headers,
                body: r.body.clone(),
                remote: self.client,
                received_at: self.time,
            },
            self.policy,
        )
    }

    /// The request rebuilt from the entry, with the recorded (redacted) parameters, for
    /// matching request patterns.
    #[must_use]
    pub fn to_request(&self) -> CapturedRequest {
        let mut req = self.rebuild();
        req.params = Ok(Params::from_pairs(self.params().iter().cloned()));
        req.gigya_method.clone_from(&self.gigya_method);
        req
    }
}

/// The request target of a recorded path and query (the path alone if the two do not parse
/// together, `/` if not even the path does).
pub(super) fn request_uri(path: &str, query: Option<&str>) -> http::Uri {
    let parsed = match query {
        Some(q) => format!("{path}?{q}").parse(),
        None => path.parse(),
    };
    parsed
        .or_else(|_| path.parse())
        .unwrap_or_else(|_| http::Uri::from_static("/"))
}

/// Shortens text to `max` characters, marking the cut with `…`.
#[must_use]
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use crate::exchange::Reply;
    use crate::redact;
    use crate::scenario::ScenarioSet;

    fn exchange(form: &str) -> (CapturedRequest, Reply) {
        let req = CapturedRequest::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Http,
                uri: "/accounts.login?apiKey=k&sig=abc".parse().unwrap(),
                headers: {
                    let mut h = HeaderMap::new();
                    h.insert("authorization", HeaderValue::from_static("Bearer x.y.z"));
                    h.insert("host", HeaderValue::from_static("localhost:8080"));
                    h.append("x-multi", HeaderValue::from_static("a"));
                    h.append("x-multi", HeaderValue::from_static("b"));
                    h
                },
                body: Bytes::from(form.to_owned()),
                remote: Some("127.0.0.1:5000".parse().unwrap()),
                received_at: SystemTime::now(),
            },
            ConflictPolicy::default(),
        );
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        let reply = engine.dispatch(&req);
        (req, reply)
    }

    fn build(req: &CapturedRequest, reply: &Reply, limit: usize) -> Entry {
        Entry::build(
            req,
            reply,
            http::Version::HTTP_11,
            Duration::from_micros(1500),
            limit,
            ConflictPolicy::default(),
        )
    }

    #[test]
    fn entries_are_redacted_when_built() {
        let (req, reply) = exchange("loginID=a%40b.c&password=hunter2&UID=u1");
        let e = build(&req, &reply, 1024);
        assert_eq!(e.param("password"), Some(redact::MARKER));
        assert_eq!(e.param("sig"), Some(redact::MARKER));
        assert_eq!(e.param("loginid"), Some("a@b.c"));
        assert_eq!(
            e.request.body,
            Bytes::from_static(b"loginID=a%40b.c&password=[REDACTED]&UID=u1")
        );
        assert_eq!(e.request.query.as_deref(), Some("apiKey=k&sig=[REDACTED]"));
        assert_eq!(
            e.url(),
            "http://localhost:8080/accounts.login?apiKey=k&sig=[REDACTED]"
        );
        let auth = e.request.headers.iter().find(|(n, _)| n == "authorization");
        assert_eq!(
            auth.map(|(_, v)| v.to_str().unwrap()),
            Some("Bearer [REDACTED]")
        );
        assert_eq!(e.answered_by, AnsweredBy::Unmatched);
        assert_eq!(e.response.error_code, Some(403007));
        assert_eq!(e.latency_ms(), 1.5);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["request"]["headers"]["x-multi"], "a, b");
        assert_eq!(json["latencyMs"], 1.5);
        let text = json.to_string();
        assert!(!text.contains("hunter2") && !text.contains("abc") && !text.contains("x.y.z"));
    }

    #[test]
    fn bodies_are_capped_on_a_character_boundary_and_params_kept_whole() {
        let (req, reply) = exchange(&format!("UID={}", "é".repeat(20)));
        let e = build(&req, &reply, 8);
        assert!(e.request.body_truncated);
        assert_eq!(e.request.body_size, 44);
        assert_eq!(&e.request.body[..], "UID=éé".as_bytes());
        assert_eq!(e.param("UID"), Some("é".repeat(20).as_str()));
        assert!(e.response.body_truncated);
    }

    #[test]
    fn entries_round_trip_through_json_and_back_to_requests() {
        let (req, reply) = exchange("UID=u1&data=%7B%22tier%22%3A%22gold%22%7D");
        let mut e = Entry::build(
            &req,
            &reply,
            http::Version::HTTP_2,
            Duration::ZERO,
            1024,
            ConflictPolicy::default(),
        );
        e.id = 7;
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["params"]["UID"], "u1");
        assert_eq!(json["answeredBy"], "unmatched");
        assert_eq!(json["request"]["httpVersion"], "HTTP/2.0");
        assert_eq!(json["client"], "127.0.0.1:5000");
        let back: Entry = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json, "lossless");
        assert_eq!(back.id, 7);
        let rebuilt = back.to_request();
        assert_eq!(rebuilt.gigya_method.as_deref(), Some("accounts.login"));
        assert_eq!(rebuilt.param("uid"), Some("u1"));
        assert_eq!(
            rebuilt.params().get("data").and_then(|p| p.json()).unwrap()["tier"],
            "gold"
        );
        assert_eq!(rebuilt.query_params().value("apiKey"), Some("k"));
    }

    #[test]
    fn key_params_prefer_identifying_parameters() {
        let (req, reply) = exchange("UID=u1&loginID=a&zeta=1");
        let e = build(&req, &reply, 1024);
        assert_eq!(e.key_params(40), "UID=u1 loginID=a");
        let (req, reply) = exchange("nonce=1&zeta=1&eta=2&theta=3");
        let e = build(&req, &reply, 1024);
        assert_eq!(e.key_params(40), "zeta=1 eta=2");
        assert_eq!(e.key_params(8), "zeta=1 …");
        assert_eq!(
            e.summary(),
            "POST accounts.login zeta=1 eta=2 → unmatched, errorCode 403007"
        );
    }
}
