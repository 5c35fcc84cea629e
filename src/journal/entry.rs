//! One journal entry: what arrived, who answered, what was sent back, and how long it took —
//! already redacted, with bodies capped.
//!
//! Entries serialize to the JSON the admin API serves and deserialize back (the CLI evaluates
//! expectations on entries it fetched). [`Entry::to_request`] rebuilds a [`CapturedRequest`]
//! from an entry so request patterns are matched by the very matcher stubs use.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};

use crate::exchange::{CapturedRequest, Outcome, Reply, RequestParts, Scheme};
use crate::gigya::params::{ConflictPolicy, Params};
use crate::redact::{self, BodyKind};

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
        }
    }
}

/// A recorded exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Position in the journal: increases by one per request and is never reused (not even
    /// after the journal is cleared).
    pub id: u64,
    /// When the request arrived (the mock's clock).
    #[serde(with = "iso_time")]
    pub time: SystemTime,
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The request as received (redacted).
    pub request: RecordedRequest,
    /// The Gigya method the path names, if it names one.
    pub gigya_method: Option<String>,
    /// Decoded parameters, query and body merged (redacted).
    #[serde(with = "pairs")]
    pub params: Vec<(String, String)>,
    /// Who answered.
    pub answered_by: AnsweredBy,
    /// The stub that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    /// For unmatched calls: the nearest stubs and why each did not match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near_misses: Vec<String>,
    /// The answer (redacted).
    pub response: RecordedResponse,
    /// From arrival to the answer being handed to the connection, delays included.
    pub latency_ms: f64,
}

/// The request half of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// HTTP version (`HTTP/1.1`, `HTTP/2.0`).
    pub http_version: String,
    /// Full URL (query redacted).
    pub url: String,
    /// URL path.
    pub path: String,
    /// Query string (redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Headers, lowercase names; repeated headers joined with `, ` (redacted).
    #[serde(with = "pairs")]
    pub headers: Vec<(String, String)>,
    /// Body text (redacted, capped; invalid UTF-8 shown as U+FFFD).
    #[serde(with = "body_text")]
    pub body: Bytes,
    /// The body's size as received, in bytes.
    pub body_size: usize,
    /// Whether `body` was cut at the journal's body limit.
    pub body_truncated: bool,
}

/// The response half of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, lowercase names (redacted).
    #[serde(with = "pairs")]
    pub headers: Vec<(String, String)>,
    /// Body text (redacted, capped).
    #[serde(with = "body_text")]
    pub body: Bytes,
    /// The body's full size in bytes.
    pub body_size: usize,
    /// Whether `body` was cut at the journal's body limit.
    pub body_truncated: bool,
    /// The Gigya `errorCode` of an envelope answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// The `callId` of an envelope answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// Builds an entry (id 0; the journal numbers it) from an exchange. Everything is redacted
    /// here, and bodies are cut at `body_limit` bytes.
    #[must_use]
    pub fn build(
        req: &CapturedRequest,
        reply: &Reply,
        http_version: http::Version,
        latency: Duration,
        body_limit: usize,
    ) -> Self {
        let query = req.query.as_deref().map(|q| redact::form(q).into_owned());
        let url = format!(
            "{}://{}{}{}{}",
            req.scheme.as_str(),
            req.host.as_deref().unwrap_or("localhost"),
            req.path,
            if query.is_some() { "?" } else { "" },
            query.as_deref().unwrap_or_default()
        );
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let req_kind = BodyKind::of_request(content_type, &req.body);
        let (req_body, req_truncated) = cap(redact::body(req_kind, &req.body), body_limit);
        let resp_kind = BodyKind::of_response(reply.header("content-type"), &reply.body);
        let (resp_body, resp_truncated) = cap(redact::body(resp_kind, &reply.body), body_limit);
        let (answered_by, stub, near_misses) = match &reply.outcome {
            Outcome::Stub(name) => (AnsweredBy::Stub, Some(name.to_string()), Vec::new()),
            Outcome::Emulator => (AnsweredBy::Emulator, None, Vec::new()),
            Outcome::Unmatched(near) => (AnsweredBy::Unmatched, None, near.clone()),
            // Admin calls are not journaled; should one ever be, it was not a Gigya answer.
            Outcome::Rejected | Outcome::Admin => (AnsweredBy::Rejected, None, Vec::new()),
        };
        Self {
            id: 0,
            time: req.received_at,
            client: req.remote.map(|a| a.to_string()),
            request: RecordedRequest {
                method: req.http_method.to_string(),
                http_version: version_text(http_version).to_owned(),
                url,
                path: req.path.clone(),
                query,
                headers: header_pairs(&req.headers),
                body: req_body,
                body_size: req.body.len(),
                body_truncated: req_truncated,
            },
            gigya_method: req.gigya_method.clone(),
            params: req
                .params()
                .iter()
                .map(|p| {
                    (
                        p.name().to_owned(),
                        redact::param(p.name(), p.value()).into_owned(),
                    )
                })
                .collect(),
            answered_by,
            stub,
            near_misses,
            response: RecordedResponse {
                status: reply.status.as_u16(),
                headers: reply
                    .headers
                    .iter()
                    .map(|(n, v)| {
                        let v = String::from_utf8_lossy(v.as_bytes());
                        (
                            n.as_str().to_owned(),
                            redact::header(n.as_str(), &v).into_owned(),
                        )
                    })
                    .collect(),
                body: resp_body,
                body_size: reply.body.len(),
                body_truncated: resp_truncated,
                error_code: reply.error_code,
                call_id: reply.call_id.clone(),
            },
            latency_ms: (latency.as_micros() as f64) / 1000.0,
        }
    }

    /// A parameter value (case-insensitive name).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| {
                self.params
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .map(|(_, v)| v.as_str())
    }

    /// The Gigya method, or `HTTP-METHOD /path` for other requests.
    #[must_use]
    pub fn call_name(&self) -> String {
        match &self.gigya_method {
            Some(m) => m.clone(),
            None => format!("{} {}", self.request.method, self.request.path),
        }
    }

    /// Who answered, in a few words: `stub "gold"`, `emulator`, `unmatched`, `rejected`.
    #[must_use]
    pub fn answered_text(&self) -> String {
        match (&self.answered_by, &self.stub) {
            (AnsweredBy::Stub, Some(name)) => format!("stub {name:?}"),
            (other, _) => other.as_str().to_owned(),
        }
    }

    /// The parameters that identify the call (`UID=u-100 loginID=a@b.c`), else the first
    /// two that are not SDK boilerplate; at most `max` characters.
    #[must_use]
    pub fn key_params(&self, max: usize) -> String {
        let mut picked: Vec<(&str, &str)> = KEY_PARAMS
            .iter()
            .filter_map(|k| {
                self.params
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(k))
                    .map(|(n, v)| (n.as_str(), v.as_str()))
            })
            .collect();
        if picked.is_empty() {
            picked = self
                .params
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

    /// The request rebuilt from the entry, with the recorded (redacted) parameters, for
    /// matching request patterns. Headers that are no longer valid are skipped.
    #[must_use]
    pub fn to_request(&self) -> CapturedRequest {
        let mut headers = HeaderMap::new();
        for (n, v) in &self.request.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(n, v);
            }
        }
        let target = match &self.request.query {
            Some(q) => format!("{}?{q}", self.request.path),
            None => self.request.path.clone(),
        };
        let uri = target
            .parse()
            .or_else(|_| self.request.path.parse())
            .unwrap_or_else(|_| http::Uri::from_static("/"));
        let mut req = CapturedRequest::new(
            RequestParts {
                http_method: Method::from_bytes(self.request.method.as_bytes())
                    .unwrap_or(Method::GET),
                scheme: if self.request.url.starts_with("https:") {
                    Scheme::Https
                } else {
                    Scheme::Http
                },
                uri,
                headers,
                body: self.request.body.clone(),
                remote: self
                    .client
                    .as_deref()
                    .and_then(|c| c.parse::<SocketAddr>().ok()),
                received_at: self.time,
            },
            ConflictPolicy::default(),
        );
        req.params = Ok(Params::from_pairs(self.params.iter().cloned()));
        req.gigya_method.clone_from(&self.gigya_method);
        req
    }
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

fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let mut value = String::new();
        for (i, v) in headers.get_all(name).iter().enumerate() {
            if i > 0 {
                value.push_str(", ");
            }
            value.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        let value = redact::header(name.as_str(), &value).into_owned();
        out.push((name.as_str().to_owned(), value));
    }
    out
}

/// Cuts a body at `limit` bytes, backing off to a UTF-8 character boundary.
fn cap(body: Bytes, limit: usize) -> (Bytes, bool) {
    if body.len() <= limit {
        return (body, false);
    }
    let mut end = limit;
    while end > 0 && body.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    (body.slice(..end), true)
}

/// `SystemTime` as ISO 8601 UTC with milliseconds.
mod iso_time {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::gigya::envelope::format_time(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(SystemTime::from)
            .map_err(serde::de::Error::custom)
    }
}

/// Name/value pairs as a JSON object, in order.
mod pairs {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        pairs: &[(String, String)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (k, v) in pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of text values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// Body bytes as (lossy) UTF-8 text.
mod body_text {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(b))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(Bytes::from(String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use crate::scenario::ScenarioSet;

    fn exchange(form: &str) -> (CapturedRequest, Reply) {
        let mut req =
            CapturedRequest::gigya_call("accounts.login", std::iter::empty::<(&str, &str)>());
        req = CapturedRequest::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Http,
                uri: "/accounts.login?apiKey=k&sig=abc".parse().unwrap(),
                headers: {
                    let mut h = HeaderMap::new();
                    h.insert("authorization", HeaderValue::from_static("Bearer x.y.z"));
                    h.append("x-multi", HeaderValue::from_static("a"));
                    h.append("x-multi", HeaderValue::from_static("b"));
                    h
                },
                body: Bytes::from(form.to_owned()),
                remote: Some("127.0.0.1:5000".parse().unwrap()),
                received_at: req.received_at,
            },
            ConflictPolicy::default(),
        );
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        let reply = engine.dispatch(&req);
        (req, reply)
    }

    #[test]
    fn entries_are_redacted_when_built() {
        let (req, reply) = exchange("loginID=a%40b.c&password=hunter2&UID=u1");
        let e = Entry::build(
            &req,
            &reply,
            http::Version::HTTP_11,
            Duration::from_micros(1500),
            1024,
        );
        assert_eq!(e.param("password"), Some(redact::MARKER));
        assert_eq!(e.param("sig"), Some(redact::MARKER));
        assert_eq!(e.param("loginid"), Some("a@b.c"));
        assert_eq!(
            e.request.body,
            Bytes::from_static(b"loginID=a%40b.c&password=[REDACTED]&UID=u1")
        );
        assert_eq!(e.request.query.as_deref(), Some("apiKey=k&sig=[REDACTED]"));
        assert!(
            e.request
                .url
                .ends_with("/accounts.login?apiKey=k&sig=[REDACTED]")
        );
        let auth = e.request.headers.iter().find(|(n, _)| n == "authorization");
        assert_eq!(auth.map(|(_, v)| v.as_str()), Some("Bearer [REDACTED]"));
        let multi = e.request.headers.iter().find(|(n, _)| n == "x-multi");
        assert_eq!(multi.map(|(_, v)| v.as_str()), Some("a, b"));
        assert_eq!(e.answered_by, AnsweredBy::Unmatched);
        assert_eq!(e.response.error_code, Some(403007));
        assert_eq!(e.latency_ms, 1.5);
        let text = serde_json::to_string(&e).unwrap();
        assert!(!text.contains("hunter2") && !text.contains("abc") && !text.contains("x.y.z"));
    }

    #[test]
    fn bodies_are_capped_on_a_character_boundary() {
        let (req, reply) = exchange(&format!("UID={}", "é".repeat(20)));
        let e = Entry::build(&req, &reply, http::Version::HTTP_11, Duration::ZERO, 8);
        assert!(e.request.body_truncated);
        assert_eq!(e.request.body_size, 44);
        assert_eq!(&e.request.body[..], "UID=éé".as_bytes());
        assert!(e.response.body_truncated);
    }

    #[test]
    fn entries_round_trip_through_json_and_back_to_requests() {
        let (req, reply) = exchange("UID=u1&data=%7B%22tier%22%3A%22gold%22%7D");
        let mut e = Entry::build(&req, &reply, http::Version::HTTP_2, Duration::ZERO, 1024);
        e.id = 7;
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["params"]["UID"], "u1");
        assert_eq!(json["answeredBy"], "unmatched");
        assert_eq!(json["request"]["httpVersion"], "HTTP/2.0");
        let back: Entry = serde_json::from_value(json).unwrap();
        assert_eq!(back.id, 7);
        assert_eq!(back.params, e.params);
        assert_eq!(
            crate::gigya::envelope::format_time(back.time),
            crate::gigya::envelope::format_time(e.time)
        );
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
        let e = Entry::build(&req, &reply, http::Version::HTTP_11, Duration::ZERO, 1024);
        assert_eq!(e.key_params(40), "UID=u1 loginID=a");
        let (req, reply) = exchange("nonce=1&zeta=1&eta=2&theta=3");
        let e = Entry::build(&req, &reply, http::Version::HTTP_11, Duration::ZERO, 1024);
        assert_eq!(e.key_params(40), "zeta=1 eta=2");
        assert_eq!(e.key_params(8), "zeta=1 …");
        assert_eq!(
            e.summary(),
            "POST accounts.login zeta=1 eta=2 → unmatched, errorCode 403007"
        );
    }
}
