//! The admin API under `/__admin` on the same port: health and scenario inspection; the
//! live-scenario routes (scenario states, injected faults) are in `admin/live.rs`.
//!
//! Admin answers are plain JSON (not Gigya envelopes) with ordinary HTTP status codes; bad
//! admin input gets a 4xx with a JSON `error` naming the problem.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::json;

use crate::server::{Body, Shared, full};

mod live;

/// The reserved path prefix.
pub const PREFIX: &str = "/__admin";

/// Whether a request target belongs to the admin API.
#[must_use]
pub fn is_admin_path(uri: &http::Uri) -> bool {
    let p = uri.path();
    p == PREFIX || p.starts_with("/__admin/")
}

pub(crate) async fn handle(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    if let Some(resp) = live::handle(shared, parts, &body) {
        return resp;
    }
    let path = parts.uri.path().trim_end_matches('/');
    match (&parts.method, path) {
        (&Method::GET, "/__admin/health" | "/__admin") => {
            let set = shared.engine.scenarios();
            let s = set.summary();
            // `degraded`: the files changed into something invalid; the last good set serves.
            let (status, reload) = live::health(&shared.engine);
            json_response(
                StatusCode::OK,
                &json!({
                    "status": status,
                    "version": env!("CARGO_PKG_VERSION"),
                    "files": s.files,
                    "stubs": s.stubs,
                    "sites": s.sites,
                    "accounts": s.accounts,
                    "reload": reload,
                }),
            )
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no admin endpoint {} {}", parts.method, parts.uri.path())}),
        ),
    }
}

pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut resp = Response::new(full(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}
