//! The admin API under `/__admin` on the same port: health, scenario inspection, reset, and
//! the emulator's accounts.
//!
//! Admin answers are plain JSON (not Gigya envelopes) with ordinary HTTP status codes; bad
//! admin input gets a 4xx with a JSON `error` naming the problem.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::json;

use crate::server::{Body, Shared, full};

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
    let path = parts.uri.path().trim_end_matches('/');
    if let Some(uid) = path.strip_prefix("/__admin/accounts/") {
        return accounts(shared, parts, uid, &body);
    }
    match (&parts.method, path) {
        (&Method::POST, "/__admin/reset") => {
            shared.engine.reset();
            json_response(StatusCode::OK, &json!({"reset": true}))
        }
        (&Method::GET, "/__admin/health" | "/__admin") => {
            let set = shared.engine.scenarios();
            let s = set.summary();
            json_response(
                StatusCode::OK,
                &json!({
                    "status": "ok",
                    "version": env!("CARGO_PKG_VERSION"),
                    "files": s.files,
                    "stubs": s.stubs,
                    "sites": s.sites,
                    "accounts": s.accounts,
                }),
            )
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no admin endpoint {} {}", parts.method, parts.uri.path())}),
        ),
    }
}

/// `GET` / `PUT /__admin/accounts/{UID}[?apiKey=]`.
fn accounts(
    shared: &Shared,
    parts: &http::request::Parts,
    raw_uid: &str,
    body: &[u8],
) -> Response<Body> {
    let Some(emulator) = shared.engine.emulator() else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "the emulator is not enabled on this server"}),
        );
    };
    let uid = match crate::gigya::params::Params::decode(
        Some(&format!("u={raw_uid}")),
        None,
        Default::default(),
    ) {
        Ok(p) => p.value("u").unwrap_or_default().to_owned(),
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("the UID in the path is not valid: {e}")}),
            );
        }
    };
    let query = crate::gigya::params::Params::decode(parts.uri.query(), None, Default::default())
        .unwrap_or_default();
    let api_key = query.value("apiKey");
    let result = match parts.method {
        Method::GET => emulator
            .admin_get_account(api_key, &uid)
            .map(|v| (StatusCode::OK, v)),
        Method::PUT => {
            let text = String::from_utf8_lossy(body);
            let node = match crate::scenario::tree::parse_json(&text) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": "the body is empty: send a JSON object shaped like a scenario `accounts` item"}),
                    );
                }
                Err(e) => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": format!("the body is not JSON: {}: {}", e.pos, e.message)}),
                    );
                }
            };
            let mut problems = Vec::new();
            let account = crate::scenario::decode::account(&node, &mut problems);
            let problems: Vec<String> = problems
                .iter()
                .filter(|p| p.message != "account is missing `UID`")
                .map(|p| format!("{}:{}: {}", p.pos.line, p.pos.col, p.message))
                .collect();
            match account {
                Some(a) if problems.is_empty() => emulator
                    .admin_put_account(api_key, &uid, a, shared.engine.clock().now())
                    .map(|(v, replaced)| {
                        let status = if replaced {
                            StatusCode::OK
                        } else {
                            StatusCode::CREATED
                        };
                        (status, v)
                    }),
                _ => {
                    return json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": "the account is not valid", "problems": problems}),
                    );
                }
            }
        }
        _ => {
            return json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": format!("{} is not supported here; use GET or PUT", parts.method)}),
            );
        }
    };
    match result {
        Ok((status, v)) => json_response(status, &v),
        Err(e) => json_response(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            &json!({"error": e.message}),
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
