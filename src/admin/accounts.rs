//! `GET` / `PUT /__admin/accounts/{UID}`: inspecting and seeding one emulated account.

use http::{Method, Response, StatusCode};
use serde_json::json;

use super::json_response;
use crate::server::{Body, Shared};

/// `GET` / `PUT /__admin/accounts/{UID}[?apiKey=]`.
pub(super) fn account(
    shared: &Shared,
    parts: &http::request::Parts,
    uid: &str,
    body: &[u8],
) -> Response<Body> {
    let Some(emulator) = shared.engine.emulator() else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": "the emulator is not enabled on this server"}),
        );
    };
    let query = crate::gigya::params::Params::decode(parts.uri.query(), None, Default::default())
        .unwrap_or_default();
    let api_key = query.value("apiKey");
    let result = match parts.method {
        Method::GET => emulator
            .admin_get_account(api_key, uid)
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
                    .admin_put_account(api_key, uid, a, shared.engine.clock().now())
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
