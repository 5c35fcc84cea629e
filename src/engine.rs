//! The engine: shared state and `dispatch`, which turns one captured request into one reply.
//!
//! Order of business for every request: decode problems are answered at once; then the stub
//! set (an [`ArcSwap`] snapshot, loaded once per request) is searched; then the emulator (when
//! enabled and a site is configured); and finally the unmatched answer — a Gigya envelope naming the
//! nearest stubs, never a bare 404. `dispatch` is synchronous and cannot fail; delays are
//! returned in the reply for the server to apply.
//!
//! The engine also holds the traffic [`Journal`] (the server records into it) and the admin
//! API's edits of the stub set: stubs added or removed at run time produce a new set that is
//! swapped in whole, and [`Engine::reset`] goes back to the set loaded from files.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::emulator::{Answer, Emulator, EmulatorConfig};
use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::catalog::{self, ErrorInfo, codes};
use crate::gigya::envelope::{
    self, CallIds, Clock, Envelope, Format, JSON_CONTENT_TYPE, JSONP_CONTENT_TYPE, SystemClock,
};
use crate::gigya::params::{ConflictPolicy, parse_bool};
use crate::journal::{Journal, JournalConfig};
use crate::scenario::compile::GigyaResponse;
use crate::scenario::load::{self, LoadError};
use crate::scenario::model::Stub;
use crate::scenario::{CompiledResponse, CompiledStub, ScenarioSet, fragment};

/// The most stubs the admin API may add at run time (they live until a reset).
pub const MAX_RUNTIME_STUBS: usize = 10_000;

mod live;

pub use live::{FaultRegistry, MAX_ADMIN_FAULTS, ReloadState, ReloadStatus};

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

/// The header that repeats an envelope's `callId`.
const X_CALLID: HeaderName = HeaderName::from_static("x-callid");

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
    /// A fixed `time` (as recorded); the clock's time when absent.
    pub time: Option<String>,
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
            time: None,
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

/// Shared state of a running mock.
#[derive(Debug)]
pub struct Engine {
    /// The set being served (files plus run-time edits).
    scenarios: ArcSwap<ScenarioSet>,
    /// The set as loaded from files: what a reset goes back to.
    files: ArcSwap<ScenarioSet>,
    /// Serializes admin edits, so two concurrent edits cannot both start from the same set and
    /// lose one of them. Never held across `.await` (edits are synchronous).
    edits: Mutex<()>,
    /// Numbers unnamed stubs added at run time.
    runtime_names: AtomicU64,
    journal: Journal,
    config: EngineConfig,
    clock: Arc<dyn Clock>,
    ids: CallIds,
    emulator: Option<Arc<Emulator>>,
    live: live::LiveState,
}

/// Why run-time stubs were not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct StubError {
    /// One line per problem: `stubs[0].request.params.UID.matches: invalid regular expression ...`.
    pub problems: Vec<String>,
}

impl Engine {
    /// An engine over a scenario set, with the system clock and random call ids.
    #[must_use]
    pub fn new(set: ScenarioSet, config: EngineConfig) -> Self {
        let set = Arc::new(set);
        Self {
            scenarios: ArcSwap::new(set.clone()),
            files: ArcSwap::new(set),
            edits: Mutex::new(()),
            runtime_names: AtomicU64::new(0),
            journal: Journal::new(JournalConfig::default()),
            config,
            clock: Arc::new(SystemClock::default()),
            ids: CallIds::Random,
            emulator: None,
            live: live::LiveState::default(),
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

    /// Replaces the journal (default: [`JournalConfig::default`]).
    #[must_use]
    pub fn with_journal(mut self, config: JournalConfig) -> Self {
        self.journal = Journal::new(config);
        self
    }

    /// The traffic journal.
    #[must_use]
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Enables the emulator, seeded from the current scenario set at the engine's clock (set
    /// the clock first).
    #[must_use]
    pub fn with_emulator(mut self, config: EmulatorConfig) -> Self {
        let set = self.scenarios();
        self.emulator = Some(Arc::new(Emulator::new(config, &set, self.clock.now())));
        self
    }

    /// The emulator, when enabled.
    #[must_use]
    pub fn emulator(&self) -> Option<&Arc<Emulator>> {
        self.emulator.as_ref()
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

    /// Swaps in a new set loaded from files, atomically. It becomes what a reset returns to;
    /// stubs added at run time are dropped with the old set, while hit counters, scenario
    /// states and fault-rule counters of what survives carry over.
    pub fn replace_scenarios(&self, set: ScenarioSet) {
        drop(self.swap_scenarios(set));
    }

    /// [`Engine::replace_scenarios`], returning the replaced set so the caller decides where
    /// the (possibly large) old set is freed.
    pub fn swap_scenarios(&self, set: ScenarioSet) -> Arc<ScenarioSet> {
        let _guard = self.edit_lock();
        if let Some(emulator) = &self.emulator {
            emulator.apply_scenarios(&set, self.clock.now());
        }
        let old = self.scenarios.load_full();
        set.carry_over_from(&old);
        let set = Arc::new(set);
        self.files.store(set.clone());
        self.scenarios.store(set);
        old
    }

    fn edit_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is `()`: a poisoned lock carries no broken state.
        self.edits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds stubs posted as YAML or JSON text (one stub, a list, or `{stubs: [...]}`) to the
    /// served set; unnamed stubs are called `runtime-<n>`. Returns the new stubs' names.
    /// Each is tried before the existing stubs of the same priority.
    ///
    /// # Errors
    /// Every problem in the text, positioned as `label:line:col`; nothing is added then.
    pub fn add_stubs(
        &self,
        text: &str,
        format: load::Format,
        label: &str,
    ) -> Result<Vec<String>, LoadError> {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        let held = current.stubs().iter().filter(|s| s.runtime).count();
        let room = MAX_RUNTIME_STUBS.saturating_sub(held);
        let added = fragment::runtime_stubs(text, format, label, &current, room, || {
            let n = self.runtime_names.fetch_add(1, Ordering::Relaxed) + 1;
            format!("runtime-{n}")
        })?;
        let names: Vec<String> = added.iter().filter_map(|s| s.name.clone()).collect();
        match current.with_runtime_stubs(added) {
            Ok(next) => {
                self.scenarios.store(Arc::new(next));
                Ok(names)
            }
            Err(problems) => Err(LoadError {
                problems: problems
                    .into_iter()
                    .map(|p| crate::scenario::Problem {
                        file: label.to_owned(),
                        pos: None,
                        message: format!("{}: {}", p.path, p.message),
                    })
                    .collect(),
            }),
        }
    }

    /// Removes a stub (from files or added at run time) from the served set until the next
    /// reset. Returns false when no stub has that name.
    pub fn remove_stub(&self, name: &str) -> bool {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        match current.without_stub(name) {
            Some(next) => {
                self.scenarios.store(Arc::new(next));
                true
            }
            None => false,
        }
    }

    /// Back to the state after start-up: the files' stubs (run-time stubs removed, removed
    /// stubs restored) with zeroed hit counters and scenarios in `Started`, an empty journal,
    /// and the emulator's seeded accounts with no remembered nonces. Returns how many journal
    /// entries were cleared.
    pub fn reset(&self) -> usize {
        let _guard = self.edit_lock();
        let files = self.files.load_full();
        files.reset_live();
        self.scenarios.store(files.clone());
        if let Some(emulator) = &self.emulator {
            emulator.reset(&files, self.clock.now());
        }
        self.journal.clear()
    }

    /// Adds stubs given as models (the library's builders) to the served set; unnamed stubs
    /// are called `runtime-<n>`. Returns the new stubs' names. `bodyFile` paths are relative to
    /// the working directory.
    ///
    /// # Errors
    /// The stubs do not compile, or a name is taken; nothing is added then.
    pub fn add_stub_models(&self, mut stubs: Vec<Stub>) -> Result<Vec<String>, StubError> {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        let held = current.stubs().iter().filter(|s| s.runtime).count();
        let mut problems = Vec::new();
        if held + stubs.len() > MAX_RUNTIME_STUBS {
            problems.push(format!(
                "{} more run-time stubs would exceed the limit of {MAX_RUNTIME_STUBS} ({held} held now)",
                stubs.len()
            ));
        }
        for (i, stub) in stubs.iter_mut().enumerate() {
            match &stub.name {
                Some(name) if current.stub(name).is_some() => problems.push(format!(
                    "stubs[{i}].name: a stub named {name:?} already exists"
                )),
                Some(_) => {}
                None => {
                    let n = self.runtime_names.fetch_add(1, Ordering::Relaxed) + 1;
                    stub.name = Some(format!("runtime-{n}"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(StubError { problems });
        }
        let names: Vec<String> = stubs.iter().filter_map(|s| s.name.clone()).collect();
        let next = current
            .with_runtime_stubs(stubs)
            .map_err(|problems| StubError {
                problems: problems
                    .into_iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect(),
            })?;
        self.scenarios.store(Arc::new(next));
        Ok(names)
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
        // Injected faults come first: they replace the answer, or change how it is sent.
        let fired = self.fire_fault(&set, req);
        if let Some(rule) = &fired {
            if let Some(reply) = self.fault_reply(rule, &ctx) {
                return reply;
            }
        }
        let reply = self.answer(&set, req, &ctx);
        match fired {
            Some(rule) => self.wrap_with_fault(reply, &rule),
            None => reply,
        }
    }

    /// The answer from the stubs, the fallback, or the unmatched report.
    fn answer(&self, set: &ScenarioSet, req: &CapturedRequest, ctx: &CallContext) -> Reply {
        if let Some((stub, ordinal)) = set.claim_match(req) {
            return self.live_stub_reply(set, stub, ordinal, req, ctx);
        }
        if let Some(method) = &req.gigya_method {
            // `settings` is a comma list of names for these two, not JSON.
            let skip: &[&str] = match method.as_str() {
                "socialize.getUserSettings" | "socialize.delUserSettings" => &["settings"],
                _ => &[],
            };
            if let Some((name, why)) = req.params().invalid_json_param_except(skip) {
                let spec = EnvelopeSpec::code(codes::INVALID_PARAMETER_VALUE, Outcome::Rejected)
                    .details(format!(
                        "Invalid parameter value: {name} is not valid JSON ({why})"
                    ));
                return self.envelope(ctx, spec);
            }
        }
        if let Some(emulator) = &self.emulator {
            if let Some(answer) = emulator.handle(req, self.clock.now()) {
                return self.emulator_reply(ctx, answer);
            }
        }
        if req.http_method != Method::GET && req.http_method != Method::POST {
            let spec = EnvelopeSpec::code(codes::INVALID_REQUEST_FORMAT, Outcome::Rejected)
                .details(format!(
                    "HTTP method {} is not supported: Gigya methods take GET or POST",
                    req.http_method
                ));
            return self.envelope(ctx, spec);
        }
        self.unmatched(set, req, ctx)
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

    fn emulator_reply(&self, ctx: &CallContext, answer: Answer) -> Reply {
        let mut info = catalog::describe(answer.code);
        if let Some(status) = answer.status_code {
            info.status_code = status;
            info.status_reason = catalog::reason_phrase(status);
        }
        let mut spec = EnvelopeSpec::code(answer.code, Outcome::Emulator);
        spec.info = info;
        spec.details = answer.details;
        if !answer.validation_errors.is_empty() {
            spec.validation_errors = serde_json::to_string(&answer.validation_errors).ok();
        }
        if !answer.fields.is_empty() {
            spec.dynamic_fields = Some(answer.fields);
        }
        if let Some(hint) = answer.hint {
            let mut text = header_safe_long(&hint, 4000);
            if text.len() < hint.len() {
                text.push_str("...");
            }
            if let Ok(v) = HeaderValue::from_str(&text) {
                spec.headers
                    .push((HeaderName::from_static("x-gigya-mock-hint"), v));
            }
        }
        self.envelope(ctx, spec)
    }

    fn stub_reply(
        &self,
        stub: &CompiledStub,
        response: &CompiledResponse,
        ctx: &CallContext,
    ) -> Reply {
        let outcome = Outcome::Stub(stub.name.clone());
        match response {
            CompiledResponse::Gigya(g) => self.stub_envelope(ctx, g, outcome),
            CompiledResponse::Raw(r) => Reply {
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone(),
                delay: r.delay,
                outcome,
                error_code: None,
                call_id: None,
                fault: None,
            },
        }
    }

    /// A stub's envelope: like [`Engine::envelope`], borrowing the stub's fixed parts (its
    /// middle members are rendered once, on the first answer).
    fn stub_envelope(&self, ctx: &CallContext, g: &GigyaResponse, outcome: Outcome) -> Reply {
        let now = self.clock.now();
        let call_id = g.call_id.clone().unwrap_or_else(|| self.ids.next());
        let mut env = Envelope {
            call_id: &call_id,
            info: g.info,
            message: g.message.as_deref(),
            status_reason: g.status_reason.as_deref(),
            details: g.details.as_deref(),
            validation_errors: g.validation_errors.as_deref(),
            fields: Some(&g.fields),
            dynamic_fields: None,
            context: ctx.context.as_deref(),
            time: now,
            time_text: g.time.as_deref(),
            middle: None,
        };
        env.middle = Some(g.middle.get_or_init(|| env.middle().into_boxed_str()));
        let body = env.render(&ctx.format);
        self.envelope_reply(
            ctx,
            now,
            g.info,
            call_id,
            body,
            g.headers.iter().cloned(),
            g.delay,
            outcome,
        )
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
            time_text: spec.time.as_deref(),
            middle: None,
        };
        let body = env.render(&ctx.format);
        self.envelope_reply(
            ctx,
            now,
            spec.info,
            call_id,
            body,
            spec.headers,
            spec.delay,
            spec.outcome,
        )
    }

    /// The reply around a rendered envelope: content type, status, `Date` and `x-callid`.
    #[allow(clippy::too_many_arguments)]
    fn envelope_reply(
        &self,
        ctx: &CallContext,
        now: std::time::SystemTime,
        info: ErrorInfo,
        call_id: String,
        body: String,
        extra_headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
        delay: Option<Duration>,
        outcome: Outcome,
    ) -> Reply {
        let extra_headers = extra_headers.into_iter();
        let content_type = match ctx.format {
            Format::Json if self.config.json_content_type == JSON_CONTENT_TYPE => {
                HeaderValue::from_static(JSON_CONTENT_TYPE)
            }
            Format::Json => HeaderValue::from_str(&self.config.json_content_type)
                .unwrap_or(HeaderValue::from_static(JSON_CONTENT_TYPE)),
            Format::Jsonp(_) => HeaderValue::from_static(JSONP_CONTENT_TYPE),
        };
        let status = if ctx.http_status_codes {
            StatusCode::from_u16(info.status_code).unwrap_or(StatusCode::OK)
        } else {
            StatusCode::OK
        };
        let mut headers = Vec::with_capacity(3 + extra_headers.size_hint().0);
        headers.push((http::header::CONTENT_TYPE, content_type));
        if let Some(d) = envelope::http_date_header(now) {
            headers.push((http::header::DATE, d));
        }
        if self.config.x_callid {
            if let Ok(v) = HeaderValue::from_str(&call_id) {
                headers.push((X_CALLID, v));
            }
        }
        headers.extend(extra_headers);
        Reply {
            status,
            headers,
            body: Bytes::from(body),
            delay,
            outcome,
            error_code: Some(info.code),
            call_id: Some(call_id),
            fault: None,
        }
    }

    /// An error envelope answering `req` (honouring its `format`, `callback`, `context` and
    /// `httpStatusCodes`), for answers decided outside [`Engine::dispatch`] such as a failed
    /// forward to the upstream.
    #[must_use]
    pub fn error_for(
        &self,
        req: &CapturedRequest,
        code: u32,
        details: impl Into<String>,
        outcome: Outcome,
    ) -> Reply {
        let (ctx, _) = CallContext::from_request(req);
        self.envelope(&ctx, EnvelopeSpec::code(code, outcome).details(details))
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
    header_safe_long(s, 300)
}

/// Printable ASCII only, for header values; at most `max` characters.
fn header_safe_long(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(max)
        .collect()
}
