//! Stub endpoints (list, add, delete) and reset.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::requests::{BODY_LABEL, posted_format, posted_text};
use super::{AdminError, AdminResult, json_response};
use crate::server::{Body, Shared};

pub(super) fn list(shared: &Shared) -> hyper::Response<Body> {
    let set = shared.engine.scenarios();
    let stubs: Vec<Value> = set
        .stubs()
        .iter()
        .map(|s| {
            let model = s.model();
            json!({
                "name": &*s.name,
                "priority": s.priority,
                "times": s.times,
                "hits": s.hit_count(),
                "origin": s.origin,
                "runtime": s.runtime,
                "request": model.request,
                "response": model.response,
            })
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"count": stubs.len(), "stubs": stubs}),
    )
}

pub(super) fn add(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> AdminResult {
    let text = posted_text(body)?;
    let names = shared
        .engine
        .add_stubs(text, posted_format(parts), BODY_LABEL)
        .map_err(|e| AdminError::invalid("the posted stubs are invalid", e))?;
    tracing::info!(stubs = ?names, "stubs added through the admin API");
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"added": names, "stubs": shared.engine.scenarios().stubs().len()}),
    ))
}

pub(super) fn delete(shared: &Shared, name: &str) -> AdminResult {
    if shared.engine.remove_stub(name) {
        tracing::info!(stub = name, "stub removed through the admin API");
        Ok(json_response(StatusCode::OK, &json!({"deleted": name})))
    } else {
        Err(AdminError::new(
            StatusCode::NOT_FOUND,
            format!("no stub is named {name:?}; GET /__admin/stubs lists them"),
        ))
    }
}

pub(super) fn reset(shared: &Shared) -> hyper::Response<Body> {
    let cleared = shared.engine.reset();
    tracing::info!("reset through the admin API");
    json_response(
        StatusCode::OK,
        &json!({
            "status": "reset",
            "clearedRequests": cleared,
            "stubs": shared.engine.scenarios().stubs().len(),
        }),
    )
}
