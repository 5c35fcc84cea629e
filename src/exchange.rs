//! One HTTP exchange as the engine sees it: the captured request (decoded once) and the reply.
//!
//! A [`CapturedRequest`] is built once per request from the HTTP parts and the capped body. It
//! decodes the Gigya parameters (query and form body merged), works out the Gigya method from
//! the path, and caches the lazily parsed JSON views matchers need. A [`Reply`] is what the
//! engine decided to send, plus what the journal and logs need to know about that decision.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::gigya::params::{ConflictPolicy, DecodeError, Params};

/// The transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// TLS.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A request, decoded once.
#[derive(Debug)]
pub struct CapturedRequest {
    /// HTTP method.
    pub http_method: Method,
    /// Transport scheme.
    pub scheme: Scheme,
    /// The authority the client addressed: the absolute-form target's, else the `Host` header.
    pub host: Option<String>,
    /// Whether the request line used the absolute form (the client treats us as a proxy).
    pub absolute_form: bool,
    /// URL path.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes (already capped by the server).
    pub body: Bytes,
    /// Decoded parameters, or why they could not be decoded.
    pub params: Result<Params, DecodeError>,
    /// The Gigya method named by the path (`/accounts.getAccountInfo`), if the path has that shape.
    pub gigya_method: Option<String>,
    /// Client address.
    pub remote: Option<SocketAddr>,
    /// When the request arrived.
    pub received_at: SystemTime,
    query_params: OnceLock<Params>,
    body_json: OnceLock<Option<serde_json::Value>>,
}

impl CapturedRequest {
    /// Decodes a request.
    #[must_use]
    pub fn new(parts: RequestParts, policy: ConflictPolicy) -> Self {
        let RequestParts {
            http_method,
            scheme,
            uri,
            headers,
            body,
            remote,
            received_at,
        } = parts;
        let absolute_form = uri.authority().is_some() && uri.scheme().is_some();
        let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
        });
        let path = uri.path().to_owned();
        let query = uri.query().map(str::to_owned);
        let form_body = is_form_body(&headers);
        let params = match std::str::from_utf8(&body) {
            _ if body.is_empty() || !form_body => {
                Params::decode_text(query.as_deref(), None, policy)
            }
            Ok(text) => Params::decode_text(query.as_deref(), Some(text), policy),
            Err(e) => Err(DecodeError::RawNotUtf8 {
                location: crate::gigya::params::Source::Body,
                offset: e.valid_up_to(),
            }),
        };
        let gigya_method = gigya_method_from_path(&path);
        Self {
            http_method,
            scheme,
            host,
            absolute_form,
            path,
            query,
            headers,
            body,
            params,
            gigya_method,
            remote,
            received_at,
            query_params: OnceLock::new(),
            body_json: OnceLock::new(),
        }
    }

    /// A decoded Gigya call, for dispatch tests and the library API: `POST /<method>` with the
    /// given form parameters.
    #[must_use]
    pub fn gigya_call<I, K, V>(method: &str, params: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let body = form_encode(params);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers.insert(http::header::HOST, HeaderValue::from_static("localhost"));
        let uri = format!("/{method}").parse().unwrap_or_default();
        Self::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Http,
                uri,
                headers,
                body: Bytes::from(body),
                remote: None,
                received_at: SystemTime::now(),
            },
            ConflictPolicy::default(),
        )
    }

    /// The decoded parameters, or an empty set when decoding failed.
    #[must_use]
    pub fn params(&self) -> &Params {
        static EMPTY: OnceLock<Params> = OnceLock::new();
        match &self.params {
            Ok(p) => p,
            Err(_) => EMPTY.get_or_init(Params::default),
        }
    }

    /// A parameter value (case-insensitive name).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params().value(name)
    }

    /// Query-string parameters alone (decoded on first use; empty when malformed).
    #[must_use]
    pub fn query_params(&self) -> &Params {
        self.query_params.get_or_init(|| {
            Params::decode(self.query.as_deref(), None, ConflictPolicy::default())
                .unwrap_or_default()
        })
    }

    /// The body parsed as JSON, cached.
    #[must_use]
    pub fn body_json(&self) -> Option<&serde_json::Value> {
        self.body_json
            .get_or_init(|| serde_json::from_slice(&self.body).ok())
            .as_ref()
    }

    /// A header value as text; several values are joined with `, `.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let first = values.next()?;
        let mut out = first.to_owned();
        for v in values {
            out.push_str(", ");
            out.push_str(v);
        }
        Some(out)
    }
}

/// The raw parts a [`CapturedRequest`] is built from.
#[derive(Debug)]
pub struct RequestParts {
    /// HTTP method.
    pub http_method: Method,
    /// Transport scheme.
    pub scheme: Scheme,
    /// Request target.
    pub uri: http::Uri,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    /// Client address.
    pub remote: Option<SocketAddr>,
    /// Arrival time.
    pub received_at: SystemTime,
}

fn is_form_body(headers: &HeaderMap) -> bool {
    match headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        // SDKs that build the body by hand sometimes omit the content type.
        None => true,
        Some(ct) => {
            let ct = ct.trim_start().as_bytes();
            let starts = |prefix: &str| {
                ct.get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
            };
            starts("application/x-www-form-urlencoded") || starts("text/plain")
        }
    }
}

/// The Gigya method a path names: `/accounts.getAccountInfo` → `accounts.getAccountInfo`;
/// a name without a namespace is a `socialize` method, as the SDKs treat it.
#[must_use]
pub fn gigya_method_from_path(path: &str) -> Option<String> {
    const NAME: u8 = 1;
    const DOT: u8 = 2;
    /// What each byte may be in a method name: a letter, digit, `_` or `-` (`NAME`), a dot.
    static METHOD_BYTE: [u8; 256] = {
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                table[b] = NAME;
            }
            b += 1;
        }
        table[b'.' as usize] = DOT;
        table
    };
    let name = path.strip_prefix('/')?;
    if name.is_empty() || name.len() > 200 {
        return None;
    }
    // One pass: allowed characters only, no leading, trailing or doubled dot.
    let mut previous_dot = true;
    let mut dots = false;
    for b in name.bytes() {
        match METHOD_BYTE[usize::from(b)] {
            NAME => previous_dot = false,
            DOT if !previous_dot => (previous_dot, dots) = (true, true),
            _ => return None,
        }
    }
    if previous_dot {
        return None;
    }
    if dots {
        Some(name.to_owned())
    } else {
        Some(format!("socialize.{name}"))
    }
}

/// Form-encodes pairs the way the SDKs do (RFC 3986 escapes).
#[must_use]
pub fn form_encode<I, K, V>(pairs: I) -> String
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&crate::gigya::percent_encode(k.as_ref()));
        out.push('=');
        out.push_str(&crate::gigya::percent_encode(v.as_ref()));
    }
    out
}

/// Who answered a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A stub, by name.
    Stub(Arc<str>),
    /// The emulator.
    Emulator,
    /// Nothing matched; the near-miss report.
    Unmatched(Vec<String>),
    /// The request was rejected before matching (bad encoding, too large, bad method).
    Rejected,
    /// The admin API.
    Admin,
    /// An injected fault rule (by name) answered instead of the stubs.
    Fault(Arc<str>),
    /// Forwarded to an upstream server (`serve --proxy-unmatched`, `record`), named by its
    /// base URL (`http://127.0.0.1:9000`, `gigya:us1`).
    Proxied(Arc<str>),
}

/// A failure the server produces on the connection instead of a normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFault {
    /// Reset the connection (TCP RST where the transport allows it) without answering.
    ConnectionReset,
    /// Close the connection without answering.
    Close,
    /// Announce the whole body, send half of it, then close the connection.
    TruncatedBody,
    /// Send the body in chunks with pauses between them.
    SlowBody {
        /// Bytes per chunk.
        chunk_bytes: usize,
        /// Pause between chunks.
        pause: Duration,
    },
}

/// What the engine decided to send.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers (content type included).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body.
    pub body: Bytes,
    /// Wait this long before sending.
    pub delay: Option<Duration>,
    /// Who answered.
    pub outcome: Outcome,
    /// The Gigya `errorCode` of an envelope reply.
    pub error_code: Option<u32>,
    /// The `callId` of an envelope reply.
    pub call_id: Option<String>,
    /// A transport fault the server applies instead of sending the reply normally.
    pub fault: Option<TransportFault>,
}

/// The first value of header `name` (any case) in a list of headers, when it is text.
pub(crate) fn header_in<'a>(
    headers: &'a [(HeaderName, HeaderValue)],
    name: &str,
) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.to_str().ok())
}

impl Reply {
    /// A header of the reply.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.headers, name)
    }

    /// The body as JSON (for envelope replies).
    #[must_use]
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_answer_the_first_text_value_in_any_case() {
        let headers = vec![
            (
                HeaderName::from_static("x-bin"),
                HeaderValue::from_bytes(b"\xff").unwrap(),
            ),
            (
                HeaderName::from_static("x-callid"),
                HeaderValue::from_static("one"),
            ),
            (
                HeaderName::from_static("x-callid"),
                HeaderValue::from_static("two"),
            ),
        ];
        assert_eq!(header_in(&headers, "X-CallId"), Some("one"));
        assert_eq!(header_in(&headers, "x-bin"), None);
        assert_eq!(header_in(&headers, "absent"), None);
    }

    #[test]
    fn gigya_methods_from_paths() {
        assert_eq!(
            gigya_method_from_path("/accounts.setAccountInfo").as_deref(),
            Some("accounts.setAccountInfo")
        );
        assert_eq!(
            gigya_method_from_path("/accounts.tfa.phone.sendVerificationCode").as_deref(),
            Some("accounts.tfa.phone.sendVerificationCode")
        );
        assert_eq!(
            gigya_method_from_path("/getUserInfo").as_deref(),
            Some("socialize.getUserInfo")
        );
        let long = format!("/a.{}", "b".repeat(199));
        for bad in [
            "/", "/a/b", "/.x", "/x.", "/a..b", "/a b", "/é", "nope", &long,
        ] {
            assert_eq!(gigya_method_from_path(bad), None, "{bad}");
        }
        assert!(gigya_method_from_path(&long[..long.len() - 1]).is_some());
    }

    #[test]
    fn captured_requests_merge_query_and_form() {
        let req = CapturedRequest::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Http,
                uri: "http://accounts.us1.gigya.com/accounts.getAccountInfo?apiKey=k"
                    .parse()
                    .unwrap(),
                headers: HeaderMap::new(),
                body: Bytes::from_static(b"UID=u+1"),
                remote: None,
                received_at: SystemTime::now(),
            },
            ConflictPolicy::default(),
        );
        assert!(req.absolute_form);
        assert_eq!(req.host.as_deref(), Some("accounts.us1.gigya.com"));
        assert_eq!(req.param("uid"), Some("u 1"));
        assert_eq!(req.param("apikey"), Some("k"));
        assert_eq!(req.query_params().value("UID"), None);
    }

    #[test]
    fn non_form_bodies_are_not_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let req = CapturedRequest::new(
            RequestParts {
                http_method: Method::POST,
                scheme: Scheme::Http,
                uri: "/x".parse().unwrap(),
                headers,
                body: Bytes::from_static(br#"{"a":1}"#),
                remote: None,
                received_at: SystemTime::now(),
            },
            ConflictPolicy::default(),
        );
        assert!(req.params().is_empty());
        assert_eq!(req.body_json().unwrap()["a"], 1);
    }

    #[test]
    fn gigya_call_builds_a_form_post() {
        let req =
            CapturedRequest::gigya_call("accounts.setAccountInfo", [("data", "{\"a\": \"b c\"}")]);
        assert_eq!(req.gigya_method.as_deref(), Some("accounts.setAccountInfo"));
        assert_eq!(req.param("data"), Some("{\"a\": \"b c\"}"));
    }
}
