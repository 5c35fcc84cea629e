//! Journal endpoints: listing (JSON and HAR), clearing, and verifying expectations.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use serde_json::json;

use super::{AdminError, AdminResult, json_response, text_response};
use crate::journal::filter::{Filter, SELECTING_KEYS};
use crate::journal::{Entry, Stats, har, junit, verify};
use crate::scenario::fragment;
use crate::scenario::load::Format;
use crate::server::{Body, Shared};

/// The label of posted text in error positions.
pub(super) const BODY_LABEL: &str = "request body";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listing<'a> {
    requests: Vec<&'a Entry>,
    count: usize,
    more: bool,
    journal: Stats,
}

fn filter(query: Option<&str>, unmatched_only: bool) -> Result<Filter, AdminError> {
    let mut f = Filter::parse(query).map_err(|e| AdminError::bad_request(e.0))?;
    if unmatched_only {
        if f.unmatched == Some(false) {
            return Err(AdminError::bad_request(
                "unmatched=false contradicts /__admin/requests/unmatched; use /__admin/requests",
            ));
        }
        f.unmatched = Some(true);
    }
    Ok(f)
}

pub(super) fn list(shared: &Shared, query: Option<&str>, unmatched_only: bool) -> AdminResult {
    let f = filter(query, unmatched_only)?;
    let page = shared.engine.journal().query(&f);
    let listing = Listing {
        count: page.entries.len(),
        requests: page.entries.iter().map(|e| &**e).collect(),
        more: page.more,
        journal: page.stats,
    };
    let text = serde_json::to_string(&listing).unwrap_or_default();
    Ok(text_response(StatusCode::OK, "application/json", text))
}

pub(super) fn har(shared: &Shared, query: Option<&str>) -> AdminResult {
    let f = filter(query, false)?;
    let page = shared.engine.journal().query(&f);
    let doc = har::document(page.entries.iter().map(|e| &**e));
    Ok(text_response(
        StatusCode::OK,
        "application/json",
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    ))
}

pub(super) fn clear(shared: &Shared) -> hyper::Response<Body> {
    let cleared = shared.engine.journal().clear();
    json_response(StatusCode::OK, &json!({"cleared": cleared}))
}

/// The format a posted text is in: JSON when the content type says so, else YAML (which
/// reads JSON too).
pub(super) fn posted_format(parts: &http::request::Parts) -> Format {
    let json = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if json { Format::Json } else { Format::Yaml }
}

/// The posted body as text.
pub(super) fn posted_text(body: &Bytes) -> Result<&str, AdminError> {
    std::str::from_utf8(body).map_err(|e| {
        AdminError::bad_request(format!(
            "the request body is not UTF-8 (first bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

enum ReportFormat {
    Json,
    Text,
    Junit,
}

pub(super) fn verify(
    shared: &Shared,
    parts: &http::request::Parts,
    query: Option<&str>,
    body: &Bytes,
) -> AdminResult {
    let mut format = ReportFormat::Json;
    let params = crate::gigya::params::Params::decode(query, None, Default::default())
        .map_err(|e| AdminError::bad_request(format!("cannot read the query string: {e}")))?;
    let mut scope = Vec::new();
    for p in params.iter() {
        match (p.name(), p.value()) {
            ("format", "json") => format = ReportFormat::Json,
            ("format", "text") => format = ReportFormat::Text,
            ("format", "junit") => format = ReportFormat::Junit,
            ("format", other) => {
                return Err(AdminError::bad_request(format!(
                    "format={other:?}: expected json, text or junit"
                )));
            }
            ("limit", _) => {
                return Err(AdminError::bad_request(
                    "`limit` does not apply to verify: every entry the filters select counts",
                ));
            }
            (key, value) if Filter::is_key(key) => scope.push((key, value)),
            (other, _) => {
                return Err(AdminError::bad_request(format!(
                    "unknown parameter `{other}`; POST /__admin/verify takes `format` and the journal filters ({SELECTING_KEYS})"
                )));
            }
        }
    }
    let filter = Filter::from_pairs(scope.iter().copied())
        .map_err(|e| AdminError::bad_request(e.to_string()))?;
    let journal = shared.engine.journal();
    if !journal.enabled() {
        return Err(AdminError::new(
            StatusCode::CONFLICT,
            "the journal is disabled (--journal-size 0): there is nothing to verify against",
        ));
    }
    let set = shared.engine.scenarios();
    let text = posted_text(body)?;
    let posted;
    let expectations = if text.trim().is_empty() {
        &set.expectations
    } else {
        let names: HashSet<String> = set.stubs().iter().map(|s| s.name.to_string()).collect();
        posted = fragment::expectations(text, posted_format(parts), BODY_LABEL, &names)
            .map_err(|e| AdminError::invalid("the posted expectations are invalid", e))?;
        &posted
    };
    let (mut entries, stats): (Vec<Arc<Entry>>, Stats) =
        journal.after(filter.since_id.unwrap_or(0));
    entries.retain(|e| filter.matches(e));
    let mut report = verify::evaluate(
        expectations,
        &set,
        &entries,
        filter.dropped_in_scope(&stats),
    );
    report.scope = crate::journal::filter::describe(&scope);
    Ok(match format {
        ReportFormat::Json => text_response(
            StatusCode::OK,
            "application/json",
            serde_json::to_string(&report).unwrap_or_default(),
        ),
        ReportFormat::Text => text_response(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            report.to_text(),
        ),
        ReportFormat::Junit => text_response(
            StatusCode::OK,
            "application/xml; charset=utf-8",
            junit::render(&report),
        ),
    })
}
