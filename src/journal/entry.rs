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

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    /// Builds an entry (id 0; the journal numbers it) from an exchange. Everything is redacted
    /// here, and bodies are cut at `body_limit` bytes.
    #[must_use]
    pub fn build(
        req: &CapturedRequest,
        reply: &Reply,
        version: http::Version,
        latency: Duration,
        body_limit: usize,
        policy: ConflictPolicy,
    ) -> Self {
        let content_type = req
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let req_kind = BodyKind::of_request(content_type, &req.body);
        let (mut req_body, req_truncated) = cap(
            // Under another policy a body value may have been dropped from the merged
            // parameters, so the quick check would not see it: examine the body itself.
            redact::request_body(
                req_kind,
                &req.body,
                req.params
                    .as_ref()
                    .ok()
                    .filter(|_| policy == ConflictPolicy::BodyWins),
            ),
            body_limit,
        );
        if !req_body.is_empty() && req_body.as_ptr() == req.body.as_ptr() {
            // Still a slice of the connection's read buffer: copy it rather than keep the
            // whole buffer alive for as long as the entry lives.
            req_body = Bytes::copy_from_slice(&req_body);
        }
        let resp_kind = BodyKind::of_response(reply.header("content-type"), &reply.body);
        let (resp_body, resp_truncated) = cap(redact::body(resp_kind, &reply.body), body_limit);
        let mut upstream = None;
        let (answered_by, stub, near_misses) = match &reply.outcome {
            Outcome::Stub(name) => (AnsweredBy::Stub, Some(name.clone()), Vec::new()),
            Outcome::Emulator => (AnsweredBy::Emulator, None, Vec::new()),
            Outcome::Unmatched(near) => (AnsweredBy::Unmatched, None, near.clone()),
            Outcome::Fault(rule) => (AnsweredBy::Fault, Some(rule.clone()), Vec::new()),
            Outcome::Proxied(to) => {
                upstream = Some(to.clone());
                (AnsweredBy::Proxied, None, Vec::new())
            }
            // Admin calls are not journaled; should one ever be, it was not a Gigya answer.
            Outcome::Rejected | Outcome::Admin => (AnsweredBy::Rejected, None, Vec::new()),
        };
        let params = OnceLock::new();
        if req_truncated {
            // The cut body no longer decodes to what arrived: keep the parameters now.
            let _ = params.set(redacted_params(req.params()));
        }
        Self {
            id: 0,
            time: req.received_at,
            client: req.remote,
            request: RecordedRequest {
                method: req.http_method.clone(),
                version,
                scheme: req.scheme,
                host: req.host.clone(),
                path: req.path.clone(),
                query: req.query.as_deref().map(|q| redact::form(q).into_owned()),
                headers: compact_headers(req.headers.iter()),
                body: req_body,
                body_size: req.body.len(),
                body_truncated: req_truncated,
            },
            gigya_method: req.gigya_method.clone(),
            answered_by,
            stub,
            near_misses,
            upstream,
            response: RecordedResponse {
                status: reply.status.as_u16(),
                headers: redacted_headers(reply.headers.iter().map(|(n, v)| (n, v))),
                body: resp_body,
                body_size: reply.body.len(),
                body_truncated: resp_truncated,
                error_code: reply.error_code,
                call_id: reply.call_id.clone(),
            },
            latency,
            params,
            policy,
        }
    }

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

fn redacted_params(params: &Params) -> Vec<(String, String)> {
    params
        .iter()
        .map(|p| {
            (
                p.name().to_owned(),
                redact::param(p.name(), p.value()).into_owned(),
            )
        })
        .collect()
}

/// Copies request headers, credentials redacted, with every value in one buffer: the values
/// hyper parsed are slices of the connection's read buffer, which an entry must not pin.
fn compact_headers<'a>(
    headers: impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut spans: Vec<(HeaderName, std::ops::Range<usize>)> = Vec::with_capacity(16);
    for (n, v) in headers {
        let start = buf.len();
        if redact::is_secret_header(n.as_str()) {
            let text = String::from_utf8_lossy(v.as_bytes());
            buf.extend_from_slice(redact::header(n.as_str(), &text).as_bytes());
        } else {
            buf.extend_from_slice(v.as_bytes());
        }
        spans.push((n.clone(), start..buf.len()));
    }
    let buf = Bytes::from(buf);
    spans
        .into_iter()
        .map(|(n, range)| {
            let value = HeaderValue::from_maybe_shared(buf.slice(range))
                .unwrap_or(HeaderValue::from_static(redact::MARKER));
            (n, value)
        })
        .collect()
}

/// Clones headers (sharing their bytes), replacing the values of credentials.
fn redacted_headers<'a>(
    headers: impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .map(|(n, v)| {
            let value = if redact::is_secret_header(n.as_str()) {
                let text = String::from_utf8_lossy(v.as_bytes());
                HeaderValue::from_str(&redact::header(n.as_str(), &text))
                    .unwrap_or(HeaderValue::from_static(redact::MARKER))
            } else {
                v.clone()
            };
            (n.clone(), value)
        })
        .collect()
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

/// `HTTP/1.1` and friends.
#[must_use]
pub fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn version_from_text(v: &str) -> http::Version {
    match v {
        "HTTP/0.9" => http::Version::HTTP_09,
        "HTTP/1.0" => http::Version::HTTP_10,
        "HTTP/2.0" | "HTTP/2" => http::Version::HTTP_2,
        "HTTP/3.0" | "HTTP/3" => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

/// Header pairs as text, repeated names joined with `, ` (the JSON form).
#[must_use]
pub fn header_text(headers: &[(HeaderName, HeaderValue)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (n, v) in headers {
        let value = String::from_utf8_lossy(v.as_bytes());
        match out.iter_mut().find(|(name, _)| name == n.as_str()) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => out.push((n.as_str().to_owned(), value.into_owned())),
        }
    }
    out
}

fn header_values(headers: Vec<(String, String)>) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .into_iter()
        .filter_map(|(n, v)| {
            Some((
                HeaderName::from_bytes(n.as_bytes()).ok()?,
                HeaderValue::from_str(&v).ok()?,
            ))
        })
        .collect()
}

/// The JSON form of an entry (what the admin API serves and the CLI reads).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    id: u64,
    #[serde(with = "iso_time")]
    time: SystemTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    request: RequestJson,
    gigya_method: Option<String>,
    #[serde(with = "pairs")]
    params: Vec<(String, String)>,
    answered_by: AnsweredBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stub: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    near_misses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
    response: ResponseJson,
    latency_ms: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestJson {
    method: String,
    http_version: String,
    url: String,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(with = "pairs")]
    headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    body: Bytes,
    body_size: usize,
    body_truncated: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseJson {
    status: u16,
    #[serde(with = "pairs")]
    headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    body: Bytes,
    body_size: usize,
    body_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    call_id: Option<String>,
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.request;
        let p = &self.response;
        EntryJson {
            id: self.id,
            time: self.time,
            client: self.client.map(|a| a.to_string()),
            request: RequestJson {
                method: r.method.to_string(),
                http_version: version_text(r.version).to_owned(),
                url: self.url(),
                path: r.path.clone(),
                query: r.query.clone(),
                headers: header_text(&r.headers),
                body: r.body.clone(),
                body_size: r.body_size,
                body_truncated: r.body_truncated,
            },
            gigya_method: self.gigya_method.clone(),
            params: self.params().to_vec(),
            answered_by: self.answered_by,
            stub: self.stub.as_deref().map(str::to_owned),
            near_misses: self.near_misses.clone(),
            upstream: self.upstream.as_deref().map(str::to_owned),
            response: ResponseJson {
                status: p.status,
                headers: header_text(&p.headers),
                body: p.body.clone(),
                body_size: p.body_size,
                body_truncated: p.body_truncated,
                error_code: p.error_code,
                call_id: p.call_id.clone(),
            },
            latency_ms: self.latency_ms(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = EntryJson::deserialize(d)?;
        let params = OnceLock::new();
        let _ = params.set(j.params);
        let scheme = if j.request.url.starts_with("https:") {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let host = j
            .request
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
        Ok(Entry {
            id: j.id,
            time: j.time,
            client: j.client.and_then(|c| c.parse().ok()),
            request: RecordedRequest {
                method: Method::from_bytes(j.request.method.as_bytes()).unwrap_or(Method::GET),
                version: version_from_text(&j.request.http_version),
                scheme,
                host,
                path: j.request.path,
                query: j.request.query,
                headers: header_values(j.request.headers),
                body: j.request.body,
                body_size: j.request.body_size,
                body_truncated: j.request.body_truncated,
            },
            gigya_method: j.gigya_method,
            answered_by: j.answered_by,
            stub: j.stub.map(Arc::from),
            near_misses: j.near_misses,
            upstream: j.upstream.map(Arc::from),
            response: RecordedResponse {
                status: j.response.status,
                headers: header_values(j.response.headers),
                body: j.response.body,
                body_size: j.response.body_size,
                body_truncated: j.response.body_truncated,
                error_code: j.response.error_code,
                call_id: j.response.call_id,
            },
            latency: Duration::from_secs_f64((j.latency_ms / 1000.0).max(0.0)),
            params,
            policy: ConflictPolicy::default(),
        })
    }
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
