//! What the journal keeps of an exchange until somebody reads it.
//!
//! Recording sits on every request's path, so it does the least that keeps the exchange
//! faithful: the request's text (authority, path, query, header values, body) is copied into
//! one buffer together with the answer's — hyper's parsed values are slices of the
//! connection's read buffer, which an entry must not pin, and one allocation is cheaper to
//! make and to free than one per part. The redacted [`Entry`] that queries, reports and
//! exports see is built from it on first read, by the same [`Entry::build`] that eager
//! recording uses, so both give the same entry. The unredacted copy never leaves the
//! process: every reader gets the built entry.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::entry::Entry;
use crate::exchange::{CapturedRequest, Outcome, Reply, RequestParts, Scheme};
use crate::gigya::params::ConflictPolicy;

/// One exchange as recorded, not yet redacted.
#[derive(Debug)]
pub(super) struct RawExchange {
    method: Method,
    version: http::Version,
    scheme: Scheme,
    /// Every text of the exchange back to back (one allocation): authority, path, query,
    /// Gigya method, request header values, request body, answer header values, answer body
    /// and `callId`.
    text: Bytes,
    host: Option<Range<usize>>,
    path: Range<usize>,
    query: Option<Range<usize>>,
    gigya_method: Option<Range<usize>>,
    /// Request headers, then answer headers (`request_headers` of them are the request's).
    headers: Vec<(HeaderName, Range<usize>)>,
    request_headers: usize,
    body: Range<usize>,
    client: Option<SocketAddr>,
    time: SystemTime,
    status: http::StatusCode,
    reply_body: Range<usize>,
    outcome: Outcome,
    error_code: Option<u32>,
    call_id: Option<Range<usize>>,
    latency: Duration,
    policy: ConflictPolicy,
}

impl RawExchange {
    /// Copies what an entry needs from an exchange.
    pub(super) fn capture(
        req: &CapturedRequest,
        reply: &Reply,
        version: http::Version,
        latency: Duration,
        policy: ConflictPolicy,
    ) -> Self {
        let header_bytes: usize = req.headers.values().map(HeaderValue::len).sum::<usize>()
            + reply.headers.iter().map(|(_, v)| v.len()).sum::<usize>();
        let size = req.host.as_ref().map_or(0, String::len)
            + req.path.len()
            + req.query.as_ref().map_or(0, String::len)
            + req.gigya_method.as_ref().map_or(0, String::len)
            + header_bytes
            + req.body.len()
            + reply.body.len()
            + reply.call_id.as_ref().map_or(0, String::len);
        let mut text = Vec::with_capacity(size);
        let mut push = |bytes: &[u8]| {
            let start = text.len();
            text.extend_from_slice(bytes);
            start..text.len()
        };
        let host = req.host.as_ref().map(|h| push(h.as_bytes()));
        let path = push(req.path.as_bytes());
        let query = req.query.as_ref().map(|q| push(q.as_bytes()));
        let gigya_method = req.gigya_method.as_ref().map(|m| push(m.as_bytes()));
        let mut headers = Vec::with_capacity(req.headers.len() + reply.headers.len());
        for (name, value) in &req.headers {
            headers.push((name.clone(), push(value.as_bytes())));
        }
        let request_headers = headers.len();
        let body = push(&req.body);
        for (name, value) in &reply.headers {
            headers.push((name.clone(), push(value.as_bytes())));
        }
        let reply_body = push(&reply.body);
        let call_id = reply.call_id.as_ref().map(|c| push(c.as_bytes()));
        Self {
            method: req.http_method.clone(),
            version,
            scheme: req.scheme,
            text: Bytes::from(text),
            host,
            path,
            query,
            gigya_method,
            headers,
            request_headers,
            body,
            client: req.remote,
            time: req.received_at,
            status: reply.status,
            reply_body,
            outcome: reply.outcome.clone(),
            error_code: reply.error_code,
            call_id,
            latency,
            policy,
        }
    }

    fn value(&self, range: &Range<usize>) -> HeaderValue {
        HeaderValue::from_maybe_shared(self.text.slice(range.clone()))
            .unwrap_or(HeaderValue::from_static(""))
    }

    fn text(&self, range: &Range<usize>) -> String {
        self.text
            .get(range.clone())
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// The redacted entry (id 0; the caller sets it), bodies cut at `body_limit`.
    pub(super) fn build(&self, body_limit: usize) -> Entry {
        let (request_headers, reply_headers) = self
            .headers
            .split_at(self.request_headers.min(self.headers.len()));
        let mut headers = HeaderMap::with_capacity(request_headers.len());
        for (name, range) in request_headers {
            headers.append(name.clone(), self.value(range));
        }
        let path = self.text(&self.path);
        let query = self.query.as_ref().map(|q| self.text(q));
        let uri = super::entry::request_uri(&path, query.as_deref());
        let mut req = CapturedRequest::new(
            RequestParts {
                http_method: self.method.clone(),
                scheme: self.scheme,
                uri,
                headers,
                body: self.text.slice(self.body.clone()),
                remote: self.client,
                received_at: self.time,
            },
            self.policy,
        );
        // The authority may have come from an absolute-form target rather than `Host`, and
        // the recorded path is authoritative even where the URI would normalize it.
        req.host = self.host.as_ref().map(|h| self.text(h));
        req.path = path;
        req.gigya_method = self.gigya_method.as_ref().map(|m| self.text(m));
        let reply = Reply {
            status: self.status,
            headers: reply_headers
                .iter()
                .map(|(name, range)| (name.clone(), self.value(range)))
                .collect(),
            body: self.text.slice(self.reply_body.clone()),
            delay: None,
            outcome: self.outcome.clone(),
            error_code: self.error_code,
            call_id: self.call_id.as_ref().map(|c| self.text(c)),
            fault: None,
        };
        Entry::build(
            &req,
            &reply,
            self.version,
            self.latency,
            body_limit,
            self.policy,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use crate::scenario::ScenarioSet;

    fn request(target: &str, headers: &[(&str, &str)], body: &str) -> CapturedRequest {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        CapturedRequest::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Https,
                uri: target.parse().unwrap(),
                headers: map,
                body: Bytes::from(body.to_owned()),
                remote: Some("127.0.0.1:4000".parse().unwrap()),
                received_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            },
            ConflictPolicy::BodyWins,
        )
    }

    /// The entry built later from the record is the entry eager recording would have built:
    /// same text, same redaction, same answer.
    #[test]
    fn a_record_builds_the_entry_recording_would_have_built() {
        let engine = Engine::new(ScenarioSet::default(), EngineConfig::default());
        for req in [
            request(
                "http://accounts.us1.gigya.com/accounts.setAccountInfo?apiKey=k&sig=abc",
                &[
                    ("host", "ignored.example"),
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", "Bearer abc.def.ghi"),
                    ("x-custom", "one"),
                    ("x-custom", "two"),
                ],
                "UID=u-1&secret=s3cr3t&profile=%7B%22password%22%3A%22p%22%2C%22a%22%3A1%7D",
            ),
            request(
                "/socialize.getUserInfo",
                &[("host", "localhost:1234"), ("content-type", "text/plain")],
                "not a form %ZZ",
            ),
            request("/not/a/method?x=%E2%82%AC", &[], ""),
        ] {
            let reply = engine.dispatch(&req);
            let latency = Duration::from_micros(1234);
            let eager = Entry::build(
                &req,
                &reply,
                http::Version::HTTP_11,
                latency,
                1024,
                ConflictPolicy::BodyWins,
            );
            let raw = RawExchange::capture(
                &req,
                &reply,
                http::Version::HTTP_11,
                latency,
                ConflictPolicy::BodyWins,
            );
            let lazy = raw.build(1024);
            let (eager, lazy) = (
                serde_json::to_value(&eager).unwrap(),
                serde_json::to_value(&lazy).unwrap(),
            );
            assert_eq!(lazy, eager);
            let text = lazy.to_string();
            for secret in ["s3cr3t", "abc.def.ghi", "sig=abc", "\\\"p\\\""] {
                assert!(!text.contains(secret), "{secret} leaked: {text}");
            }
        }
    }
}
