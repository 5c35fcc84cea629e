//! A small HTTP client for the commands that talk to a running server (`verify`, `journal`).

use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::journal::filter::{Filter, SELECTING_KEYS};
use crate::journal::{Entry, Stats};

/// How long one admin call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The most entries asked for per page.
const PAGE: usize = crate::journal::filter::MAX_LIMIT;

/// A client of one server's admin API.
pub(super) struct Admin {
    base: String,
    client: HyperClient<HttpConnector, Full<Bytes>>,
}

/// A response read whole.
pub(super) struct Answer {
    pub(super) status: http::StatusCode,
    pub(super) body: Bytes,
}

impl Answer {
    /// The admin API's `error` message, or the body text.
    pub(super) fn error_text(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned())
    }
}

#[derive(Deserialize)]
struct Listing {
    requests: Vec<Entry>,
    more: bool,
    journal: Stats,
}

impl Admin {
    /// A client for `url` (`http://host:port`).
    pub(super) fn new(url: &str) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        let uri: http::Uri = base
            .parse()
            .with_context(|| format!("--url {url:?} is not a URL such as http://127.0.0.1:8080"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                bail!("--url {url:?}: the {other}:// scheme is not supported; use http://")
            }
            None => bail!("--url {url:?} needs a scheme, e.g. http://127.0.0.1:8080"),
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            bail!("--url {url:?}: give the server's base URL without a path");
        }
        Ok(Self {
            base,
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sends a request to `path` (with query) on the server.
    pub(super) async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Bytes,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let req = http::Request::builder()
            .method(method.clone())
            .uri(&url)
            .body(Full::new(body))
            .with_context(|| format!("cannot build a request to {url}"))?;
        let call = async {
            let resp = self.client.request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok(Answer {
                status: parts.status,
                body,
            })
        };
        match tokio::time::timeout(TIMEOUT, call).await {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(e).with_context(|| {
                format!("cannot reach gigya-mock at {} ({method} {path})", self.base)
            }),
            Err(_) => bail!(
                "gigya-mock at {} did not answer {method} {path} within {} s",
                self.base,
                TIMEOUT.as_secs()
            ),
        }
    }

    /// Every entry after `since`, paging through the journal, and the latest counters.
    pub(super) async fn entries_after(
        &self,
        mut since: u64,
    ) -> anyhow::Result<(Vec<Entry>, Stats)> {
        let mut out = Vec::new();
        loop {
            let path = format!("/__admin/requests?limit={PAGE}&since={since}");
            let answer = self.call(http::Method::GET, &path, Bytes::new()).await?;
            if !answer.status.is_success() {
                bail!(
                    "GET /__admin/requests answered {}: {}",
                    answer.status,
                    answer.error_text()
                );
            }
            let page: Listing = serde_json::from_slice(&answer.body)
                .context("GET /__admin/requests did not answer with a journal listing")?;
            if let Some(last) = page.requests.last() {
                since = last.id;
            }
            out.extend(page.requests);
            if !page.more {
                return Ok((out, page.journal));
            }
        }
    }
}

/// The journal filters given with `--filter KEY=VALUE`: which entries `verify` counts and
/// `journal` prints.
#[derive(Debug, Default)]
pub(super) struct Scope {
    pub(super) filter: Filter,
    pairs: Vec<(String, String)>,
}

impl Scope {
    /// Reads `KEY=VALUE` filters (the admin API's journal filters, without `limit`).
    ///
    /// # Errors
    /// A filter without `=`, an unknown key, a bad value.
    pub(super) fn parse(filters: &[String]) -> anyhow::Result<Self> {
        let mut pairs = Vec::new();
        for f in filters {
            let Some((key, value)) = f.split_once('=') else {
                bail!("--filter {f:?}: expected KEY=VALUE, e.g. header.x-test-id=checkout");
            };
            if key == "limit" {
                bail!("--filter limit: every entry the filters select is read; drop `limit`");
            }
            if !Filter::is_key(key) {
                bail!("--filter {f:?}: unknown filter `{key}`; expected one of: {SELECTING_KEYS}");
            }
            pairs.push((key.to_owned(), value.to_owned()));
        }
        let filter = Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| anyhow::anyhow!("--filter: {e}"))?;
        Ok(Self { filter, pairs })
    }

    /// The filters as a query string (empty without filters).
    pub(super) fn query(&self) -> String {
        crate::exchange::form_encode(self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// How reports name the filters; `None` without filters.
    pub(super) fn describe(&self) -> Option<String> {
        let pairs: Vec<(&str, &str)> = self
            .pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        crate::journal::filter::describe(&pairs)
    }
}
