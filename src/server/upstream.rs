//! Forwarding to an upstream server: what `serve --proxy-unmatched` and `record` do with the
//! calls no stub answers.
//!
//! The upstream is either a fixed base URL (`http://127.0.0.1:9000`: every call goes there,
//! its path appended to the base's) or `gigya:<data-center>` (each call goes to the host its
//! namespace and the data centre imply: `accounts.getAccountInfo` with `gigya:eu1` goes to
//! `https://accounts.eu1.gigya.com/accounts.getAccountInfo`). The request is sent as it
//! arrived — method, path, query, headers (less hop-by-hop ones, `Host` and
//! `Accept-Encoding`, so answers come back uncompressed) and body — and the answer is returned
//! to the client unchanged. Failures become Gigya envelopes: `500026 Network error` when the
//! upstream cannot be reached, `504001 Timeout` when it is too slow.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::exchange::CapturedRequest;

/// The largest upstream answer accepted, in bytes.
pub const MAX_UPSTREAM_BODY: usize = 32 * 1024 * 1024;

/// Where unmatched calls are forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    target: Target,
    /// How long the upstream has to answer (headers and body).
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `scheme://authority` plus a path prefix without a trailing slash.
    Base {
        scheme: String,
        authority: String,
        prefix: String,
    },
    /// `https://{namespace}.{data_center}.gigya.com`.
    Gigya { data_center: String },
}

/// Why an upstream description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an upstream: {1}")]
pub struct UpstreamError(String, &'static str);

const USAGE: &str = "give an http:// or https:// base URL (e.g. http://127.0.0.1:9000) or gigya:<data-center> (e.g. gigya:us1)";

impl Upstream {
    /// Parses `http://host:port[/prefix]`, `https://...` or `gigya:<data-center>`; the timeout
    /// is 30 s.
    ///
    /// # Errors
    /// Anything else, with what is accepted.
    pub fn parse(text: &str) -> Result<Self, UpstreamError> {
        let t = text.trim();
        let bad = |why| Err(UpstreamError(text.to_owned(), why));
        if let Some(dc) = t.strip_prefix("gigya:") {
            if dc.is_empty()
                || dc.len() > 16
                || !dc
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return bad("the data centre must be a name such as us1, eu1 or au1");
            }
            return Ok(Self {
                target: Target::Gigya {
                    data_center: dc.to_owned(),
                },
                timeout: Duration::from_secs(30),
            });
        }
        let Ok(uri) = t.parse::<http::Uri>() else {
            return bad(USAGE);
        };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return bad(USAGE);
        };
        if scheme != "http" && scheme != "https" {
            return bad(USAGE);
        }
        if uri.query().is_some() {
            return bad("a base URL has no query string");
        }
        Ok(Self {
            target: Target::Base {
                scheme: scheme.to_owned(),
                authority: authority.as_str().to_owned(),
                prefix: uri.path().trim_end_matches('/').to_owned(),
            },
            timeout: Duration::from_secs(30),
        })
    }

    /// The same upstream with another timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL a request goes to; `None` when it cannot be routed (a `gigya:` upstream and a
    /// path that names no Gigya method).
    #[must_use]
    pub fn url_for(&self, req: &CapturedRequest) -> Option<String> {
        let mut url = match &self.target {
            Target::Base {
                scheme,
                authority,
                prefix,
            } => format!("{scheme}://{authority}{prefix}{}", req.path),
            Target::Gigya { data_center } => {
                let method = req.gigya_method.as_deref()?;
                let namespace = method.split('.').next()?;
                format!("https://{namespace}.{data_center}.gigya.com{}", req.path)
            }
        };
        if let Some(q) = &req.query {
            url.push('?');
            url.push_str(q);
        }
        Some(url)
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Base {
                scheme,
                authority,
                prefix,
            } => write!(f, "{scheme}://{authority}{prefix}"),
            Target::Gigya { data_center } => write!(f, "gigya:{data_center}"),
        }
    }
}

impl std::str::FromStr for Upstream {
    type Err = UpstreamError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An upstream's answer, read whole.
#[derive(Debug, Clone)]
pub struct UpstreamAnswer {
    /// HTTP status.
    pub status: StatusCode,
    /// Headers, less hop-by-hop ones and `Content-Length` (the server sets it again).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body.
    pub body: Bytes,
}

impl UpstreamAnswer {
    /// A header value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::exchange::header_in(&self.headers, name)
    }
}

/// Why a forward failed: the Gigya error code to answer with and the details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardError {
    /// `500026` (unreachable, bad answer) or `504001` (timeout).
    pub code: u32,
    /// What went wrong, for `errorDetails`.
    pub details: String,
}

/// Sends requests to an upstream (one pooled HTTP/HTTPS client).
pub(crate) struct Forwarder {
    pub(crate) upstream: Upstream,
    pub(crate) label: Arc<str>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forwarder")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// Headers that belong to one connection, not to the request or answer.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authorization"
            | "proxy-authenticate"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
    )
}

impl Forwarder {
    pub(crate) fn new(upstream: Upstream) -> std::io::Result<Self> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(std::io::Error::other)?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        let label = Arc::from(upstream.to_string());
        Ok(Self {
            upstream,
            label,
            client,
        })
    }

    /// Forwards a request. `None` when the upstream cannot route it.
    pub(crate) async fn forward(
        &self,
        req: &CapturedRequest,
    ) -> Option<Result<UpstreamAnswer, ForwardError>> {
        let url = self.upstream.url_for(req)?;
        Some(self.send(req, &url).await)
    }

    async fn send(&self, req: &CapturedRequest, url: &str) -> Result<UpstreamAnswer, ForwardError> {
        let network = |details: String| ForwardError {
            code: crate::gigya::catalog::codes::NETWORK_ERROR,
            details,
        };
        let timeout = || ForwardError {
            code: crate::gigya::catalog::codes::TIMEOUT,
            details: format!(
                "[gigya-mock] the upstream {} did not answer within {} s",
                self.label,
                self.upstream.timeout.as_secs_f64()
            ),
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e| network(format!("[gigya-mock] cannot forward to {url}: {e}")))?;
        let mut builder = http::Request::builder()
            .method(req.http_method.clone())
            .uri(uri);
        if let Some(headers) = builder.headers_mut() {
            copy_headers(&req.headers, headers);
        }
        let request = builder
            .body(Full::new(req.body.clone()))
            .map_err(|e| network(format!("[gigya-mock] cannot forward to {url}: {e}")))?;
        let deadline = tokio::time::Instant::now() + self.upstream.timeout;
        let response = tokio::time::timeout_at(deadline, self.client.request(request))
            .await
            .map_err(|_| timeout())?
            .map_err(|e| {
                network(format!(
                    "[gigya-mock] the upstream {} could not be reached: {}",
                    self.label,
                    error_chain(&e)
                ))
            })?;
        let (parts, body) = response.into_parts();
        let body =
            tokio::time::timeout_at(deadline, Limited::new(body, MAX_UPSTREAM_BODY).collect())
                .await
                .map_err(|_| timeout())?
                .map_err(|e| {
                    network(format!(
                        "[gigya-mock] reading the answer of {} failed: {e}",
                        self.label
                    ))
                })?
                .to_bytes();
        let headers = parts
            .headers
            .iter()
            .filter(|(n, _)| !hop_by_hop(n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        Ok(UpstreamAnswer {
            status: parts.status,
            headers,
            body,
        })
    }
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if hop_by_hop(name) || name == http::header::HOST || name == http::header::ACCEPT_ENCODING {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

/// An error and its causes, `: `-joined (hyper's top-level messages say little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls_and_data_centres() {
        let u = Upstream::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(u.to_string(), "http://127.0.0.1:9000");
        let req = CapturedRequest::gigya_call("accounts.getAccountInfo", [("UID", "u")]);
        assert_eq!(
            u.url_for(&req).as_deref(),
            Some("http://127.0.0.1:9000/accounts.getAccountInfo")
        );
        let u = Upstream::parse("https://gw.example.com/gigya").unwrap();
        assert_eq!(
            u.url_for(&req).as_deref(),
            Some("https://gw.example.com/gigya/accounts.getAccountInfo")
        );
        let u = Upstream::parse("gigya:eu1").unwrap();
        assert_eq!(u.to_string(), "gigya:eu1");
        assert_eq!(
            u.url_for(&req).as_deref(),
            Some("https://accounts.eu1.gigya.com/accounts.getAccountInfo")
        );
        let plain = CapturedRequest::gigya_call("x", [("a", "b")]);
        assert!(u.url_for(&plain).is_some(), "socialize.x");
        for bad in [
            "ftp://x",
            "localhost:9000",
            "gigya:",
            "gigya:EU 1",
            "http://h/?q=1",
            "",
        ] {
            let e = Upstream::parse(bad).unwrap_err().to_string();
            assert!(e.contains("is not an upstream"), "{bad}: {e}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut from = HeaderMap::new();
        from.insert("host", HeaderValue::from_static("localhost:8080"));
        from.insert("connection", HeaderValue::from_static("keep-alive"));
        from.insert("accept-encoding", HeaderValue::from_static("gzip"));
        from.insert("content-type", HeaderValue::from_static("text/plain"));
        from.insert("authorization", HeaderValue::from_static("Bearer x"));
        let mut to = HeaderMap::new();
        copy_headers(&from, &mut to);
        let names: Vec<&str> = to.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["content-type", "authorization"]);
    }
}
