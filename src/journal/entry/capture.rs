//! Building an entry from an exchange: bodies and parameters redacted, bodies capped at the
//! journal's limit, request headers copied into one buffer and response headers shared.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};

use super::{AnsweredBy, Entry, RecordedRequest, RecordedResponse};
use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::params::{ConflictPolicy, Params};
use crate::redact::{self, BodyKind};

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
}

pub(super) fn redacted_params(params: &Params) -> Vec<(String, String)> {
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
