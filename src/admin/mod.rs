//! The admin API under `/__admin`: the journal, run-time stubs, reset, verification, health
//! and shutdown.
//!
//! Admin answers are plain JSON (not Gigya envelopes) with ordinary HTTP status codes; bad
//! admin input gets a 4xx with a JSON `error` naming the problem (and `problems` with
//! `line`/`col` for posted YAML/JSON). Admin calls are not recorded in the journal.
//!
//! Every endpoint is listed once in [`ROUTES`]; the router dispatches through that table, and
//! a test checks it against the OpenAPI document served at `/__admin/openapi.json`
//! (`src/admin/openapi.json`), so the two cannot drift apart.

mod accounts;
mod live;
mod requests;
mod stubs;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::scenario::load::{LoadError, Problem};
use crate::server::{Body, BodyError, Shared, full};

/// The reserved path prefix.
pub const PREFIX: &str = "/__admin";

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Whether a request target belongs to the admin API.
#[must_use]
pub fn is_admin_path(uri: &http::Uri) -> bool {
    let p = uri.path();
    p == PREFIX || p.starts_with("/__admin/")
}

/// An admin endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /__admin`: the list of endpoints.
    Index,
    /// `GET /__admin/health`.
    Health,
    /// `GET /__admin/openapi.json`.
    OpenApi,
    /// `GET /__admin/requests`.
    ListRequests,
    /// `DELETE /__admin/requests`.
    ClearRequests,
    /// `GET /__admin/requests/unmatched`.
    UnmatchedRequests,
    /// `GET /__admin/requests.har`.
    Har,
    /// `GET /__admin/stubs`.
    ListStubs,
    /// `POST /__admin/stubs`.
    AddStubs,
    /// `DELETE /__admin/stubs/{name}`.
    DeleteStub,
    /// `POST /__admin/reset`.
    Reset,
    /// `POST /__admin/verify`.
    Verify,
    /// The live-scenario routes: scenario states and injected faults.
    Live,
    /// `GET /__admin/accounts/{UID}`.
    GetAccount,
    /// `PUT /__admin/accounts/{UID}`.
    PutAccount,
    /// `POST /__admin/shutdown`.
    Shutdown,
}

/// One route: method, path pattern (`{name}` matches one segment), endpoint, summary.
#[derive(Debug, Clone)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path pattern.
    pub path: &'static str,
    /// What serves it.
    pub endpoint: Endpoint,
    /// One line about it.
    pub summary: &'static str,
}

/// Every admin route.
pub const ROUTES: &[Route] = &[
    Route {
        method: Method::GET,
        path: "/__admin",
        endpoint: Endpoint::Index,
        summary: "list the admin endpoints",
    },
    Route {
        method: Method::GET,
        path: "/__admin/health",
        endpoint: Endpoint::Health,
        summary: "liveness, loaded scenarios and journal counters",
    },
    Route {
        method: Method::GET,
        path: "/__admin/openapi.json",
        endpoint: Endpoint::OpenApi,
        summary: "this API as an OpenAPI 3 document",
    },
    Route {
        method: Method::GET,
        path: "/__admin/requests",
        endpoint: Endpoint::ListRequests,
        summary: "recorded requests, oldest first, filtered",
    },
    Route {
        method: Method::DELETE,
        path: "/__admin/requests",
        endpoint: Endpoint::ClearRequests,
        summary: "empty the journal",
    },
    Route {
        method: Method::GET,
        path: "/__admin/requests/unmatched",
        endpoint: Endpoint::UnmatchedRequests,
        summary: "requests no stub answered, with their near misses",
    },
    Route {
        method: Method::GET,
        path: "/__admin/requests.har",
        endpoint: Endpoint::Har,
        summary: "recorded requests as HAR 1.2",
    },
    Route {
        method: Method::GET,
        path: "/__admin/stubs",
        endpoint: Endpoint::ListStubs,
        summary: "the stubs being served, in the order they are tried",
    },
    Route {
        method: Method::POST,
        path: "/__admin/stubs",
        endpoint: Endpoint::AddStubs,
        summary: "add stubs at run time (YAML or JSON, as in scenario files)",
    },
    Route {
        method: Method::DELETE,
        path: "/__admin/stubs/{name}",
        endpoint: Endpoint::DeleteStub,
        summary: "remove a stub until the next reset",
    },
    Route {
        method: Method::POST,
        path: "/__admin/reset",
        endpoint: Endpoint::Reset,
        summary: "back to the loaded files: journal, hit counters, run-time stubs, emulator state",
    },
    Route {
        method: Method::GET,
        path: "/__admin/scenarios",
        endpoint: Endpoint::Live,
        summary: "stateful scenarios and their current states",
    },
    Route {
        method: Method::POST,
        path: "/__admin/scenarios/reset",
        endpoint: Endpoint::Live,
        summary: "every scenario back to `Started` (and stub hit counters to zero)",
    },
    Route {
        method: Method::PUT,
        path: "/__admin/scenarios/{name}",
        endpoint: Endpoint::Live,
        summary: "set a scenario state, body `{\"state\": \"...\"}`",
    },
    Route {
        method: Method::GET,
        path: "/__admin/faults",
        endpoint: Endpoint::Live,
        summary: "injected fault rules with their seen, fired and remaining counts",
    },
    Route {
        method: Method::POST,
        path: "/__admin/faults",
        endpoint: Endpoint::Live,
        summary: "add fault rules (YAML or JSON, as the `faults:` key of scenario files)",
    },
    Route {
        method: Method::DELETE,
        path: "/__admin/faults",
        endpoint: Endpoint::Live,
        summary: "remove the fault rules added through this API",
    },
    Route {
        method: Method::GET,
        path: "/__admin/accounts/{UID}",
        endpoint: Endpoint::GetAccount,
        summary: "an emulated account as getAccountInfo shows it, with its site (?apiKey= when several)",
    },
    Route {
        method: Method::PUT,
        path: "/__admin/accounts/{UID}",
        endpoint: Endpoint::PutAccount,
        summary: "seed or replace one emulated account (JSON shaped like a scenario `accounts` item)",
    },
    Route {
        method: Method::POST,
        path: "/__admin/verify",
        endpoint: Endpoint::Verify,
        summary: "check expect: clauses against the journal",
    },
    Route {
        method: Method::POST,
        path: "/__admin/shutdown",
        endpoint: Endpoint::Shutdown,
        summary: "stop the server",
    },
];

/// The route for a request: its endpoint and the `{name}` segment (percent-decoded), or the
/// error answer (404 for an unknown path, 405 with `Allow` for a known path and wrong method).
///
/// # Errors
/// No route serves this method and path.
pub fn route(method: &Method, path: &str) -> Result<(Endpoint, Option<String>), AdminError> {
    let path = match path.trim_end_matches('/') {
        "" => "/",
        p => p,
    };
    let mut allowed: Vec<&str> = Vec::new();
    for r in ROUTES {
        if let Some(param) = match_path(r.path, path) {
            if r.method == *method {
                return Ok((r.endpoint, param));
            }
            allowed.push(r.method.as_str());
        }
    }
    if allowed.is_empty() {
        Err(AdminError::new(
            StatusCode::NOT_FOUND,
            format!("no admin endpoint {method} {path}; GET {PREFIX} lists them"),
        ))
    } else {
        Err(AdminError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{path} does not take {method}; it takes {}",
                allowed.join(", ")
            ),
        )
        .allow(allowed.join(", ")))
    }
}

/// Matches a pattern; `Some(param)` on success (`param` is the `{…}` segment, if any).
fn match_path(pattern: &str, path: &str) -> Option<Option<String>> {
    let mut param = None;
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(param),
            (Some(p), Some(g)) if p.starts_with('{') && p.ends_with('}') => {
                if g.is_empty() {
                    return None;
                }
                param = Some(percent_decode(g)?);
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

fn percent_decode(segment: &str) -> Option<String> {
    let params = crate::gigya::params::Params::decode(
        Some(&format!("x={}", segment.replace('+', "%2B"))),
        None,
        crate::gigya::params::ConflictPolicy::default(),
    )
    .ok()?;
    params.value("x").map(str::to_owned)
}

/// An admin error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// HTTP status (4xx).
    pub status: StatusCode,
    /// What is wrong.
    pub message: String,
    /// Positioned problems in posted YAML/JSON.
    pub problems: Vec<Problem>,
    allow: Option<String>,
}

impl AdminError {
    /// An error with a status and message.
    #[must_use]
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            problems: Vec::new(),
            allow: None,
        }
    }

    /// 400 Bad Request.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with the problems of posted scenario text.
    #[must_use]
    pub fn invalid(what: &str, e: LoadError) -> Self {
        let n = e.problems.len();
        let mut err = Self::bad_request(format!(
            "{what}: {n} problem{}: {}",
            if n == 1 { "" } else { "s" },
            e.problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ));
        err.problems = e.problems;
        err
    }

    fn allow(mut self, methods: String) -> Self {
        self.allow = Some(methods);
        self
    }

    fn into_response(self) -> Response<Body> {
        let mut body = json!({"error": self.message});
        if !self.problems.is_empty() {
            body["problems"] = Value::Array(
                self.problems
                    .iter()
                    .map(|p| {
                        let mut v = json!({"message": p.message, "text": p.to_string()});
                        if let Some(pos) = p.pos {
                            v["line"] = json!(pos.line);
                            v["col"] = json!(pos.col);
                        }
                        v
                    })
                    .collect(),
            );
        }
        let mut resp = json_response(self.status, &body);
        if let Some(allow) = self
            .allow
            .and_then(|a| http::HeaderValue::from_str(&a).ok())
        {
            resp.headers_mut().insert(http::header::ALLOW, allow);
        }
        resp
    }
}

/// What an admin handler returns.
pub(crate) type AdminResult = Result<Response<Body>, AdminError>;

pub(crate) async fn handle(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Bytes,
) -> Response<Body> {
    let result = route(&parts.method, parts.uri.path()).and_then(|(endpoint, param)| {
        if endpoint.may_take_long() {
            off_the_worker(|| serve(shared, parts, &body, endpoint, param))
        } else {
            serve(shared, parts, &body, endpoint, param)
        }
    });
    result.unwrap_or_else(AdminError::into_response)
}

impl Endpoint {
    /// Whether answering may build thousands of journal entries or stubs (tens of
    /// milliseconds), which must not hold up the Gigya calls sharing the worker thread.
    fn may_take_long(self) -> bool {
        matches!(
            self,
            Endpoint::ListRequests
                | Endpoint::UnmatchedRequests
                | Endpoint::Har
                | Endpoint::Verify
                | Endpoint::ListStubs
        )
    }
}

/// Runs `work` without holding up the other tasks of the worker thread it runs on: on a
/// multi-threaded runtime the worker's other tasks move to another thread first
/// (`block_in_place`); a single-threaded runtime (tests, embedders) runs it in place.
fn off_the_worker<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

fn serve(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
    endpoint: Endpoint,
    param: Option<String>,
) -> AdminResult {
    let query = parts.uri.query().filter(|q| !q.is_empty());
    let no_query = || match query {
        Some(_) => Err(AdminError::bad_request(format!(
            "{} {} takes no query parameters",
            parts.method,
            parts.uri.path()
        ))),
        None => Ok(()),
    };
    match endpoint {
        Endpoint::Index => {
            no_query()?;
            Ok(index())
        }
        Endpoint::Health => {
            no_query()?;
            Ok(health(shared))
        }
        Endpoint::OpenApi => {
            no_query()?;
            let mut resp = Response::new(full(OPENAPI));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok(resp)
        }
        Endpoint::ListRequests => requests::list(shared, query, false),
        Endpoint::UnmatchedRequests => requests::list(shared, query, true),
        Endpoint::Har => requests::har(shared, query),
        Endpoint::ClearRequests => {
            if query.is_some() {
                return Err(AdminError::bad_request(
                    "DELETE /__admin/requests empties the whole journal; it takes no filters",
                ));
            }
            Ok(requests::clear(shared))
        }
        Endpoint::Verify => requests::verify(shared, parts, query, body),
        Endpoint::ListStubs => {
            no_query()?;
            Ok(stubs::list(shared))
        }
        Endpoint::AddStubs => {
            no_query()?;
            stubs::add(shared, parts, body)
        }
        Endpoint::DeleteStub => {
            no_query()?;
            stubs::delete(shared, param.as_deref().unwrap_or_default())
        }
        Endpoint::Live => Ok(live::handle(shared, parts, body).unwrap_or_else(|| {
            json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("no admin endpoint {} {}", parts.method, parts.uri.path())}),
            )
        })),
        Endpoint::GetAccount | Endpoint::PutAccount => Ok(accounts::account(
            shared,
            parts,
            param.as_deref().unwrap_or_default(),
            body,
        )),
        Endpoint::Reset => {
            no_query()?;
            Ok(stubs::reset(shared))
        }
        Endpoint::Shutdown => {
            no_query()?;
            tracing::info!("shutdown requested through the admin API");
            shared.shutdown.cancel();
            Ok(json_response(
                StatusCode::ACCEPTED,
                &json!({"status": "shutting down"}),
            ))
        }
    }
}

fn index() -> Response<Body> {
    let endpoints: Vec<Value> = ROUTES
        .iter()
        .map(|r| json!({"method": r.method.as_str(), "path": r.path, "summary": r.summary}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"endpoints": endpoints, "openapi": "/__admin/openapi.json"}),
    )
}

fn health(shared: &Shared) -> Response<Body> {
    let set = shared.engine.scenarios();
    let s = set.summary();
    let runtime = set.stubs().iter().filter(|s| s.runtime).count();
    // `degraded`: the watched files changed into something invalid; the last good set serves.
    let (status, reload) = live::health(&shared.engine);
    json_response(
        StatusCode::OK,
        &json!({
            "status": status,
            "reload": reload,
            "version": env!("CARGO_PKG_VERSION"),
            "files": s.files,
            "stubs": s.stubs,
            "runtimeStubs": runtime,
            "expectations": set.expectations.len(),
            "sites": s.sites,
            "accounts": s.accounts,
            "journal": shared.engine.journal().stats(),
        }),
    )
}

/// The answer on the admin port to a path outside `/__admin`.
pub(crate) fn not_here(parts: &http::request::Parts) -> Response<Body> {
    AdminError::new(
        StatusCode::NOT_FOUND,
        format!(
            "{} {}: this port serves only the admin API under {PREFIX}; send Gigya calls to the main port",
            parts.method,
            parts.uri.path()
        ),
    )
    .into_response()
}

/// The answer to an admin request whose body could not be read.
pub(crate) fn body_error(e: &BodyError) -> Response<Body> {
    let status = match e {
        BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        BodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        BodyError::Read(_) => StatusCode::BAD_REQUEST,
    };
    AdminError::new(status, e.message()).into_response()
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    text_response(status, "application/json", value.to_string())
}

pub(crate) fn text_response(
    status: StatusCode,
    content_type: &'static str,
    text: String,
) -> Response<Body> {
    let mut resp = Response::new(full(text));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_admin_work_leaves_the_worker_to_other_tasks() {
        // One worker: while the admin work blocks, only a worker handed over to another
        // thread can run the task it waits for.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let waited = runtime.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel();
            let (started_tx, started_rx) = tokio::sync::oneshot::channel();
            let slow = tokio::spawn(async move {
                let _ = started_tx.send(());
                off_the_worker(|| rx.recv_timeout(std::time::Duration::from_secs(10)))
            });
            // The worker is now inside the blocking work (or about to be).
            started_rx.await.unwrap();
            let other = tokio::spawn(async move { tx.send(()) });
            let sent = other.await.unwrap();
            (sent, slow.await.unwrap())
        });
        assert_eq!(waited, (Ok(()), Ok(())));
        // Without a multi-threaded runtime it simply runs.
        assert_eq!(off_the_worker(|| 7), 7);
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(current.block_on(async { off_the_worker(|| 8) }), 8);
        assert!(Endpoint::ListRequests.may_take_long() && !Endpoint::Health.may_take_long());
    }

    #[test]
    fn routes_resolve_and_misses_are_explained() {
        assert_eq!(
            route(&Method::GET, "/__admin/requests/").unwrap().0,
            Endpoint::ListRequests
        );
        assert_eq!(
            route(&Method::DELETE, "/__admin/stubs/a%20b%23c+d").unwrap(),
            (Endpoint::DeleteStub, Some("a b#c+d".to_owned()))
        );
        let e = route(&Method::PUT, "/__admin/stubs").unwrap_err();
        assert_eq!(e.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(e.allow.as_deref(), Some("GET, POST"));
        let e = route(&Method::GET, "/__admin/nope").unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert!(route(&Method::DELETE, "/__admin/stubs/").is_err());
        assert!(route(&Method::DELETE, "/__admin/stubs/a/b").is_err());
    }

    /// The OpenAPI document lists exactly the routes the router serves.
    #[test]
    fn openapi_document_matches_the_routes() {
        let doc: Value = serde_json::from_str(OPENAPI).expect("openapi.json is valid JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    op["responses"].is_object(),
                    "{method} {path} documents its responses"
                );
                documented.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served, "src/admin/openapi.json is out of date");
        for r in ROUTES {
            let concrete = r.path.replace("{name}", "some-stub");
            assert_eq!(
                route(&r.method, &concrete).map(|(e, _)| e),
                Ok(r.endpoint),
                "{} {}",
                r.method,
                r.path
            );
        }
    }
}
