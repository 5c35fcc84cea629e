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

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use http::{HeaderName, HeaderValue, Method};

use crate::emulator::{Answer, Emulator, EmulatorConfig};
use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::catalog::{self, codes};
use crate::gigya::envelope::{self, CallIds, Clock, Format, JSON_CONTENT_TYPE, SystemClock};
use crate::gigya::params::{ConflictPolicy, parse_bool};
use crate::journal::{Journal, JournalConfig};
use crate::scenario::ScenarioSet;

mod edits;
mod live;
mod replies;

pub use edits::{MAX_RUNTIME_STUBS, StubError};
pub use live::{FaultRegistry, MAX_ADMIN_FAULTS, ReloadState, ReloadStatus};
pub use replies::EnvelopeSpec;

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
        let report = set.near_misses(req, self.config.near_miss_limit);
        let near = report.nearest;
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
        if report.compared < report.related {
            details.push_str(&format!(
                " (compared with the first {} of the {} stubs that could answer it)",
                report.compared, report.related
            ));
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
