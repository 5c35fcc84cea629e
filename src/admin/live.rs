//! Admin routes of live scenarios: stateful scenarios (`/__admin/scenarios`) and injected
//! faults (`/__admin/faults`), plus the reload part of the health answer.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::json_response;
use crate::engine::Engine;
use crate::scenario::compile::compile_fault_rules;
use crate::scenario::{decode, load, tree};
use crate::server::{Body, Shared};

/// Answers the live-scenario routes; `None` for any other path.
pub(crate) fn handle(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Option<Response<Body>> {
    let path = parts.uri.path().trim_end_matches('/');
    let engine = &shared.engine;
    Some(match (&parts.method, path) {
        (&Method::GET, "/__admin/scenarios") => list_scenarios(engine),
        (&Method::POST, "/__admin/scenarios/reset") => {
            let set = engine.scenarios();
            set.reset_live();
            json_response(
                StatusCode::OK,
                &json!({"reset": set.machines().len(), "scenarios": scenarios_json(engine)}),
            )
        }
        (&Method::PUT, p) if p.starts_with("/__admin/scenarios/") => {
            let raw = p.trim_start_matches("/__admin/scenarios/");
            set_state(engine, raw, body)
        }
        (&Method::GET, "/__admin/faults") => {
            json_response(StatusCode::OK, &json!({"faults": engine.fault_report()}))
        }
        (&Method::POST, "/__admin/faults") => add_faults(engine, body),
        (&Method::DELETE, "/__admin/faults") => {
            let removed = engine.faults().clear();
            json_response(StatusCode::OK, &json!({"removed": removed}))
        }
        _ => return None,
    })
}

/// The reload part of the health answer: `("ok" | "degraded", details)`.
pub(crate) fn health(engine: &Engine) -> (&'static str, Value) {
    let state = engine.reload_status().snapshot();
    let status = if state.degraded() { "degraded" } else { "ok" };
    (status, serde_json::to_value(&state).unwrap_or(Value::Null))
}

fn scenarios_json(engine: &Engine) -> Vec<Value> {
    let set = engine.scenarios();
    set.machines()
        .iter()
        .map(|m| {
            json!({
                "name": &*m.name,
                "state": m.state(),
                "states": m.states.iter().map(|s| &**s).collect::<Vec<_>>(),
                "stubs": m.stubs.iter().map(|s| &**s).collect::<Vec<_>>(),
            })
        })
        .collect()
}

fn list_scenarios(engine: &Engine) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({"scenarios": scenarios_json(engine)}),
    )
}

fn bad_request(message: impl Into<String>) -> Response<Body> {
    json_response(StatusCode::BAD_REQUEST, &json!({"error": message.into()}))
}

fn set_state(engine: &Engine, raw_name: &str, body: &Bytes) -> Response<Body> {
    let Some(name) = percent_decode(raw_name) else {
        return bad_request(format!(
            "scenario name {raw_name:?} is not valid percent-encoded UTF-8"
        ));
    };
    let set = engine.scenarios();
    let Some(machine) = set.machine(&name) else {
        let known: Vec<&str> = set.machines().iter().map(|m| &*m.name).collect();
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no scenario named {name:?}"), "scenarios": known}),
        );
    };
    let state = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => match m.get("state") {
            Some(Value::String(s)) => s.clone(),
            _ => return bad_request("body must be {\"state\": \"<state name>\"}"),
        },
        Ok(_) => return bad_request("body must be {\"state\": \"<state name>\"}"),
        Err(e) => return bad_request(format!("body is not JSON: {e}")),
    };
    if !machine.set_state(&state) {
        return bad_request(format!(
            "scenario {name:?} has no state {state:?}; its states are: {}",
            machine
                .states
                .iter()
                .map(|s| &**s)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    json_response(
        StatusCode::OK,
        &json!({"name": name, "state": machine.state()}),
    )
}

fn add_faults(engine: &Engine, body: &Bytes) -> Response<Body> {
    let Ok(text) = std::str::from_utf8(body) else {
        return bad_request("body is not UTF-8");
    };
    let root = match tree::parse_json(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return bad_request(
                "body is empty; send a fault rule such as {\"method\": \"accounts.login\", \"errorCode\": 403048, \"next\": 3}",
            );
        }
        Err(e) => return bad_request(format!("{}: {}", e.pos, e.message)),
    };
    let mut shape = Vec::new();
    let rules = decode::fault_rules(&root, &mut shape);
    let mut problems: Vec<String> = shape
        .iter()
        .map(|p| format!("{}: {}", p.pos, p.message))
        .collect();
    if problems.is_empty() {
        let set = engine.scenarios();
        let taken: Vec<_> = engine
            .faults()
            .rules()
            .iter()
            .chain(set.fault_rules())
            .map(|r| r.name.clone())
            .collect();
        // A single rule is decoded as a one-element list: its problems' paths start at [0].
        let single = !matches!(root.kind, tree::Kind::Seq(_));
        match compile_fault_rules(&rules, "admin", engine.faults().added(), &taken) {
            Ok(compiled) => {
                let names: Vec<String> = compiled.iter().map(|r| r.name.to_string()).collect();
                if !engine.faults().add(compiled) {
                    return bad_request(format!(
                        "too many fault rules (at most {}); DELETE /__admin/faults first",
                        crate::engine::MAX_ADMIN_FAULTS
                    ));
                }
                return json_response(
                    StatusCode::CREATED,
                    &json!({"added": names, "faults": engine.fault_report()}),
                );
            }
            Err(compile_problems) => {
                for p in compile_problems {
                    let mut path = p.path.clone();
                    if single && !path.0.is_empty() {
                        path.0.remove(0);
                    }
                    let pos = load::resolve(&root, &path);
                    problems.push(format!("{pos}: {}", p.message));
                }
            }
        }
    }
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": "invalid fault rule", "problems": problems}),
    )
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_paths_are_percent_decoded() {
        assert_eq!(percent_decode("sign%20up").as_deref(), Some("sign up"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
