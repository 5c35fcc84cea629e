//! The engine: shared state and `dispatch`, which turns one captured request into one reply.
//!
//! Order of business for every request: decode problems are answered at once; then the stub
//! set (an [`ArcSwap`] snapshot, loaded once per request) is searched; then the fallback (the
//! emulator, when configured); and finally the unmatched answer — a Gigya envelope naming the
//! nearest stubs, never a bare 404. `dispatch` is synchronous and cannot fail; delays are
//! returned in the reply for the server to apply.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::catalog::{self, ErrorInfo, codes};
use crate::gigya::envelope::{
    self, CallIds, Clock, Envelope, Format, JSON_CONTENT_TYPE, JSONP_CONTENT_TYPE, SystemClock,
};
use crate::gigya::params::{ConflictPolicy, parse_bool};
use crate::scenario::{CompiledResponse, CompiledStub, ScenarioSet};

/// Behaviour settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The error code for calls nothing answers (default 403007, as the service answers an
    /// unknown method).
    pub unmatched_code: u32,
    /// Same parameter in query and body.
    pub conflict: ConflictPolicy,
    /// `Content-Type` of JSON answers.
    pub json_content_type: String,
    /// Send an `x-callid` header equal to the body's `callId`.
    pub x_callid: bool,
    /// How many near misses an unmatched answer names.
    pub near_miss_limit: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            unmatched_code: codes::PERMISSION_DENIED,
            conflict: ConflictPolicy::default(),
            json_content_type: JSON_CONTENT_TYPE.to_owned(),
            x_callid: true,
            near_miss_limit: 3,
        }
    }
}

/// Per-request answer settings taken from the common parameters.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// JSON or JSONP.
    pub format: Format,
    /// The `context` to echo.
    pub context: Option<String>,
    /// `httpStatusCodes=true`.
    pub http_status_codes: bool,
}

impl CallContext {
    /// Reads `format`, `callback`, `context` and `httpStatusCodes`. A bad JSONP request yields
    /// the error to answer with (rendered as JSON).
    fn from_request(req: &CapturedRequest) -> (Self, Option<(u32, String)>) {
        let p = req.params();
        let mut ctx = Self {
            format: Format::Json,
            context: p.value("context").map(str::to_owned),
            http_status_codes: p.value("httpStatusCodes").and_then(parse_bool) == Some(true),
        };
        let mut problem = None;
        if p.value("format")
            .is_some_and(|f| f.eq_ignore_ascii_case("jsonp"))
        {
            match p.value("callback") {
                None | Some("") => {
                    problem = Some((
                        codes::MISSING_PARAMETER,
                        "Missing required parameter : callback".to_owned(),
                    ));
                }
                Some(cb) if envelope::valid_callback(cb) => {
                    ctx.format = Format::Jsonp(cb.to_owned())
                }
                Some(_) => {
                    problem = Some((
                        codes::INVALID_PARAMETER_VALUE,
                        "Invalid parameter value: callback must be a JavaScript function name"
                            .to_owned(),
                    ));
                }
            }
        }
        (ctx, problem)
    }
}

/// Everything variable in one envelope answer.
#[derive(Debug, Clone)]
pub struct EnvelopeSpec {
    /// Code, message and status.
    pub info: ErrorInfo,
    /// `errorMessage` override.
    pub message: Option<String>,
    /// `statusReason` override.
    pub status_reason: Option<String>,
    /// `errorDetails`.
    pub details: Option<String>,
    /// Rendered `validationErrors`.
    pub validation_errors: Option<String>,
    /// Pre-rendered method data.
    pub fields: Option<String>,
    /// Method data built now.
    pub dynamic_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// A fixed `callId`.
    pub call_id: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Delay.
    pub delay: Option<Duration>,
    /// Who answered.
    pub outcome: Outcome,
}

impl EnvelopeSpec {
    /// An envelope for a code, everything else default.
    #[must_use]
    pub fn code(code: u32, outcome: Outcome) -> Self {
        Self {
            info: catalog::describe(code),
            message: None,
            status_reason: None,
            details: None,
            validation_errors: None,
            fields: None,
            dynamic_fields: None,
            call_id: None,
            headers: Vec::new(),
            delay: None,
            outcome,
        }
    }

    /// Sets `errorDetails`.
    #[must_use]
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

/// Something that answers calls no stub matched (the emulator).
pub trait Fallback: Send + Sync + std::fmt::Debug {
    /// An answer, or `None` to let the engine give the unmatched answer.
    fn handle(&self, engine: &Engine, req: &CapturedRequest, ctx: &CallContext) -> Option<Reply>;
}

/// Shared state of a running mock.
#[derive(Debug)]
pub struct Engine {
    scenarios: ArcSwap<ScenarioSet>,
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    ids: CallIds,
    fallback: Option<Arc<dyn Fallback>>,
}

impl Engine {
    /// An engine over a scenario set, with the system clock and random call ids.
    #[must_use]
    pub fn new(set: ScenarioSet, config: EngineConfig) -> Self {
        Self {
            scenarios: ArcSwap::from_pointee(set),
            config,
            clock: Arc::new(SystemClock::default()),
            ids: CallIds::Random,
            fallback: None,
        }
    }

    /// Replaces the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the call-id source.
    #[must_use]
    pub fn with_call_ids(mut self, ids: CallIds) -> Self {
        self.ids = ids;
        self
    }

    /// Sets the fallback for unmatched calls.
    #[must_use]
    pub fn with_fallback(mut self, fallback: Arc<dyn Fallback>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The current scenario set.
    #[must_use]
    pub fn scenarios(&self) -> Arc<ScenarioSet> {
        self.scenarios.load_full()
    }

    /// Swaps in a new scenario set atomically.
    pub fn replace_scenarios(&self, set: ScenarioSet) {
        self.scenarios.store(Arc::new(set));
    }

    /// A fresh `callId`.
    #[must_use]
    pub fn new_call_id(&self) -> String {
        self.ids.next()
    }

    /// Answers one request. Never fails.
    #[must_use]
    pub fn dispatch(&self, req: &CapturedRequest) -> Reply {
        let (ctx, jsonp_problem) = CallContext::from_request(req);
        if let Err(e) = &req.params {
            let spec = EnvelopeSpec::code(codes::INVALID_REQUEST_FORMAT, Outcome::Rejected)
                .details(e.to_string());
            return self.envelope(&ctx, spec);
        }
        if let Some((code, details)) = jsonp_problem {
            return self.envelope(
                &ctx,
                EnvelopeSpec::code(code, Outcome::Rejected).details(details),
            );
        }
        let set = self.scenarios.load();
        if let Some(stub) = set.find_match(req) {
            return self.stub_reply(stub, &ctx);
        }
        if req.gigya_method.is_some() {
            if let Some((name, why)) = req.params().invalid_json_param() {
                let spec = EnvelopeSpec::code(codes::INVALID_PARAMETER_VALUE, Outcome::Rejected)
                    .details(format!(
                        "Invalid parameter value: {name} is not valid JSON ({why})"
                    ));
                return self.envelope(&ctx, spec);
            }
        }
        if let Some(fallback) = &self.fallback {
            if let Some(reply) = fallback.handle(self, req, &ctx) {
                return reply;
            }
        }
        if req.http_method != Method::GET && req.http_method != Method::POST {
            let spec = EnvelopeSpec::code(codes::INVALID_REQUEST_FORMAT, Outcome::Rejected)
                .details(format!(
                    "HTTP method {} is not supported: Gigya methods take GET or POST",
                    req.http_method
                ));
            return self.envelope(&ctx, spec);
        }
        self.unmatched(&set, req, &ctx)
    }

    fn unmatched(&self, set: &ScenarioSet, req: &CapturedRequest, ctx: &CallContext) -> Reply {
        let near = set.near_misses(req, self.config.near_miss_limit);
        let what = match &req.gigya_method {
            Some(m) => m.clone(),
            None => format!("{} {}", req.http_method, req.path),
        };
        let mut details = String::new();
        if self.config.unmatched_code == codes::PERMISSION_DENIED {
            if let Some(m) = &req.gigya_method {
                let (ns, name) = m.split_once('.').unwrap_or(("socialize", m));
                details.push_str(&format!(
                    "Invalid namespace &#39;{ns}&#39; or method &#39;{name}&#39; or you do not have the required permissions to call it. "
                ));
            }
        }
        details.push_str(&format!("[gigya-mock] no stub matched {what}"));
        if near.is_empty() {
            details.push_str(" (no stub is defined for it)");
        } else {
            details.push_str("; nearest: ");
            details.push_str(&near.join("; "));
        }
        tracing::info!(target: "gigya_mock::unmatched", call = %what, nearest = ?near, "no stub matched");
        let mut spec =
            EnvelopeSpec::code(self.config.unmatched_code, Outcome::Unmatched(near.clone()))
                .details(details);
        if let Some(first) = near.first() {
            if let Ok(v) = HeaderValue::from_str(&header_safe(first)) {
                spec.headers
                    .push((HeaderName::from_static("x-gigya-mock-near-miss"), v));
            }
        }
        self.envelope(ctx, spec)
    }

    fn stub_reply(&self, stub: &CompiledStub, ctx: &CallContext) -> Reply {
        let outcome = Outcome::Stub(stub.name.clone());
        match &stub.response {
            CompiledResponse::Gigya(g) => self.envelope(
                ctx,
                EnvelopeSpec {
                    info: g.info,
                    message: g.message.clone(),
                    status_reason: g.status_reason.clone(),
                    details: g.details.clone(),
                    validation_errors: g.validation_errors.clone(),
                    fields: Some(g.fields.clone()),
                    dynamic_fields: None,
                    call_id: g.call_id.clone(),
                    headers: g.headers.clone(),
                    delay: g.delay,
                    outcome,
                },
            ),
            CompiledResponse::Raw(r) => Reply {
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone(),
                delay: r.delay,
                outcome,
                error_code: None,
                call_id: None,
            },
        }
    }

    /// Builds an envelope reply honouring `format`, `context` and `httpStatusCodes`.
    #[must_use]
    pub fn envelope(&self, ctx: &CallContext, spec: EnvelopeSpec) -> Reply {
        let now = self.clock.now();
        let call_id = spec.call_id.unwrap_or_else(|| self.ids.next());
        let env = Envelope {
            call_id: &call_id,
            info: spec.info,
            message: spec.message.as_deref(),
            status_reason: spec.status_reason.as_deref(),
            details: spec.details.as_deref(),
            validation_errors: spec.validation_errors.as_deref(),
            fields: spec.fields.as_deref(),
            dynamic_fields: spec.dynamic_fields.as_ref(),
            context: ctx.context.as_deref(),
            time: now,
        };
        let body = env.render(&ctx.format);
        let content_type = match ctx.format {
            Format::Json if self.config.json_content_type == JSON_CONTENT_TYPE => {
                HeaderValue::from_static(JSON_CONTENT_TYPE)
            }
            Format::Json => HeaderValue::from_str(&self.config.json_content_type)
                .unwrap_or(HeaderValue::from_static(JSON_CONTENT_TYPE)),
            Format::Jsonp(_) => HeaderValue::from_static(JSONP_CONTENT_TYPE),
        };
        let status = if ctx.http_status_codes {
            StatusCode::from_u16(spec.info.status_code).unwrap_or(StatusCode::OK)
        } else {
            StatusCode::OK
        };
        let mut headers = Vec::with_capacity(4 + spec.headers.len());
        headers.push((http::header::CONTENT_TYPE, content_type));
        if let Some(d) = envelope::http_date_header(now) {
            headers.push((http::header::DATE, d));
        }
        if self.config.x_callid {
            if let Ok(v) = HeaderValue::from_str(&call_id) {
                headers.push((HeaderName::from_static("x-callid"), v));
            }
        }
        headers.extend(spec.headers);
        Reply {
            status,
            headers,
            body: Bytes::from(body),
            delay: spec.delay,
            outcome: spec.outcome,
            error_code: Some(spec.info.code),
            call_id: Some(call_id),
        }
    }

    /// An error envelope for a request the server rejected before dispatch (too large, slow).
    #[must_use]
    pub fn reject(&self, code: u32, details: impl Into<String>) -> Reply {
        let ctx = CallContext {
            format: Format::Json,
            context: None,
            http_status_codes: false,
        };
        self.envelope(
            &ctx,
            EnvelopeSpec::code(code, Outcome::Rejected).details(details),
        )
    }
}

/// Printable ASCII only, for header values; at most 300 characters.
fn header_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(300)
        .collect()
}
