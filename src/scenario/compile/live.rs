//! Compiling live scenarios: response sequences, scenario states, random delays, transport
//! faults, response templates and fault rules; and the runtime side that lives with the set
//! (claiming a match with its state transition, carrying counters over a reload).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderName, StatusCode};

use super::{
    CompileProblem, CompiledResponse, CompiledStub, Compiler, KeyPath, MAX_DELAY_MS, ScenarioSet,
};
use crate::exchange::{CapturedRequest, TransportFault};
use crate::gigya::catalog::{self, ErrorInfo};
use crate::scenario::model::{
    Delay, Fault, FaultRule, RandomDelay, Response, SequenceMode, SlowBody, Stub,
};
use crate::scenario::template::{self, TText, TValue};

/// The state every scenario starts in.
pub const STARTED: &str = "Started";

/// The largest `sigma` of a log-normal delay.
const MAX_SIGMA: f64 = 5.0;

/// The largest slow-body chunk and pause.
const MAX_CHUNK_BYTES: u64 = 1024 * 1024;
const MAX_PAUSE_MS: u64 = 60_000;

/// A delay, sampled per answer.
#[derive(Debug, Clone, PartialEq)]
pub enum DelaySpec {
    /// Always this long.
    Fixed(Duration),
    /// Uniform between two bounds (milliseconds, inclusive).
    Uniform(u64, u64),
    /// Log-normal with this median (milliseconds) and shape.
    LogNormal {
        /// Median in milliseconds.
        median: f64,
        /// Shape.
        sigma: f64,
    },
}

impl DelaySpec {
    /// One delay drawn from the distribution, at most [`MAX_DELAY_MS`].
    pub fn sample(&self, rng: &mut fastrand::Rng) -> Duration {
        let ms = match *self {
            DelaySpec::Fixed(d) => return d,
            DelaySpec::Uniform(min, max) => rng.u64(min..=max),
            DelaySpec::LogNormal { median, sigma } => {
                // Box-Muller: a standard normal from two uniforms in (0, 1].
                let u1 = 1.0 - rng.f64();
                let u2 = rng.f64();
                let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let x = median * (sigma * z).exp();
                if x.is_finite() {
                    x.max(0.0).round() as u64
                } else {
                    MAX_DELAY_MS
                }
            }
        };
        Duration::from_millis(ms.min(MAX_DELAY_MS))
    }

    /// Draws from a shared RNG (a fresh random one when the lock is poisoned).
    pub fn sample_shared(&self, rng: &Mutex<fastrand::Rng>) -> Duration {
        match rng.lock() {
            Ok(mut r) => self.sample(&mut r),
            Err(_) => self.sample(&mut fastrand::Rng::new()),
        }
    }
}

/// The templated parts of one response.
#[derive(Debug, Clone, Default)]
pub struct ResponseTemplate {
    /// The body (Gigya: the method data object; raw: any JSON value or text).
    pub body: Option<TValue>,
    /// `errorMessage`.
    pub message: Option<TText>,
    /// `errorDetails`.
    pub details: Option<TText>,
    /// Headers whose value is a template.
    pub headers: Vec<(HeaderName, TText)>,
}

/// What an answer has beyond its pre-rendered response.
#[derive(Debug, Clone, Default)]
pub struct AnswerExtras {
    /// A random delay (fixed delays stay in the response).
    pub delay: Option<DelaySpec>,
    /// A transport fault.
    pub fault: Option<Fault>,
    /// Templated parts, rendered per request.
    pub template: Option<Arc<ResponseTemplate>>,
}

/// A stub's place in a stateful scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubState {
    /// Index of the scenario in the set.
    pub scenario: usize,
    /// State the scenario must be in.
    pub required: Option<usize>,
    /// State the scenario moves to when the stub answers.
    pub new: Option<usize>,
}

/// The live parts of a stub: further responses, per-answer extras, its scenario state, its RNG.
#[derive(Debug)]
pub struct StubLive {
    /// What follows the last response.
    pub sequence: SequenceMode,
    /// Responses after the first (`responses[1..]`).
    pub more: Vec<CompiledResponse>,
    /// Extras per answer; index 0 belongs to the stub's `response`.
    pub extras: Vec<AnswerExtras>,
    /// Scenario state, linked after all stubs are compiled.
    pub state: Option<StubState>,
    /// Random source of delays and template values (seeded by `seed`).
    pub rng: Mutex<fastrand::Rng>,
}

impl Default for StubLive {
    fn default() -> Self {
        Self {
            sequence: SequenceMode::RepeatLast,
            more: Vec::new(),
            extras: vec![AnswerExtras::default()],
            state: None,
            rng: Mutex::new(fastrand::Rng::new()),
        }
    }
}

impl StubLive {
    /// Number of answers.
    #[must_use]
    pub fn len(&self) -> usize {
        self.more.len() + 1
    }

    /// Whether the stub has a single answer.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The answer index for the `ordinal`-th match (0-based).
    #[must_use]
    pub fn index(&self, ordinal: u64) -> usize {
        let n = self.len() as u64;
        let i = match self.sequence {
            SequenceMode::Cycle => ordinal % n,
            SequenceMode::RepeatLast | SequenceMode::Exhaust => ordinal.min(n - 1),
        };
        usize::try_from(i).unwrap_or(0)
    }
}

impl CompiledStub {
    /// The response and extras for the `ordinal`-th match.
    #[must_use]
    pub fn answer(&self, ordinal: u64) -> (&CompiledResponse, &AnswerExtras) {
        let i = self.live.index(ordinal);
        let response = match i {
            0 => &self.response,
            n => self.live.more.get(n - 1).unwrap_or(&self.response),
        };
        static NONE: std::sync::OnceLock<AnswerExtras> = std::sync::OnceLock::new();
        let extras = self
            .live
            .extras
            .get(i)
            .unwrap_or_else(|| NONE.get_or_init(AnswerExtras::default));
        (response, extras)
    }

    /// Claims one use; the number of earlier uses (the sequence position), or `None` when
    /// `times` is used up.
    pub fn claim_ordinal(&self) -> Option<u64> {
        match self.times {
            None => Some(self.hits.fetch_add(1, Ordering::AcqRel)),
            Some(limit) => self
                .hits
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                    (h < limit).then_some(h + 1)
                })
                .ok(),
        }
    }
}

/// A stateful scenario: its name, the states its stubs mention, and the current one.
#[derive(Debug)]
pub struct ScenarioMachine {
    /// Name.
    pub name: Arc<str>,
    /// Known states; `Started` first.
    pub states: Vec<Arc<str>>,
    /// Names of the stubs that belong to it.
    pub stubs: Vec<Arc<str>>,
    current: AtomicUsize,
}

impl ScenarioMachine {
    /// The current state.
    #[must_use]
    pub fn state(&self) -> &str {
        self.states
            .get(self.current.load(Ordering::Acquire))
            .map_or(STARTED, |s| s)
    }

    /// Sets the state by name; false when the scenario does not know it.
    pub fn set_state(&self, state: &str) -> bool {
        match self.states.iter().position(|s| &**s == state) {
            Some(i) => {
                self.current.store(i, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Back to `Started`.
    pub fn reset(&self) {
        self.current.store(0, Ordering::Release);
    }
}

/// What a fault rule answers with.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// A Gigya error envelope.
    Error {
        /// Code, message and status.
        info: ErrorInfo,
        /// `errorMessage` override.
        message: Option<String>,
        /// `errorDetails`.
        details: Option<String>,
    },
    /// A raw HTTP status with an empty body.
    Status(StatusCode),
    /// The normal answer, with the rule's fault and delay applied.
    Wrap,
}

/// A compiled fault rule with its counters.
#[derive(Debug)]
pub struct CompiledFaultRule {
    /// Unique name.
    pub name: Arc<str>,
    /// Where it came from (a file label, or `admin`).
    pub origin: String,
    /// The rule as written.
    pub source: FaultRule,
    /// The answer.
    pub action: FaultAction,
    /// Transport fault.
    pub fault: Option<Fault>,
    /// Delay.
    pub delay: Option<DelaySpec>,
    method: Option<Vec<String>>,
    rng: Mutex<fastrand::Rng>,
    seen: AtomicU64,
    fired: AtomicU64,
}

impl CompiledFaultRule {
    /// Whether the rule applies to a Gigya method (glob with `*`).
    #[must_use]
    pub fn applies_to(&self, method: Option<&str>) -> bool {
        match (&self.method, method) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(parts), Some(m)) => glob_match(parts, m),
        }
    }

    /// Counts a call to a matching method and decides whether the rule fires for it.
    pub fn try_fire(&self, method: Option<&str>) -> bool {
        if !self.applies_to(method) {
            return false;
        }
        self.seen.fetch_add(1, Ordering::AcqRel);
        if let Some(p) = self.source.probability {
            let roll = match self.rng.lock() {
                Ok(mut r) => r.f64(),
                Err(_) => fastrand::f64(),
            };
            if roll >= p {
                return false;
            }
        }
        match self.source.next {
            None => {
                self.fired.fetch_add(1, Ordering::AcqRel);
                true
            }
            Some(limit) => self
                .fired
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                    (f < limit).then_some(f + 1)
                })
                .is_ok(),
        }
    }

    /// A delay for one firing.
    #[must_use]
    pub fn sample_delay(&self) -> Option<Duration> {
        self.delay.as_ref().map(|d| d.sample_shared(&self.rng))
    }

    /// Matching calls seen so far.
    #[must_use]
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Times the rule fired.
    #[must_use]
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::Acquire)
    }

    /// Firings left for a `next` rule.
    #[must_use]
    pub fn remaining(&self) -> Option<u64> {
        self.source.next.map(|n| n.saturating_sub(self.fired()))
    }

    /// The rule and its counters, for the admin API.
    #[must_use]
    pub fn report(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.source).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("name".into(), self.name.to_string().into());
            m.insert("origin".into(), self.origin.clone().into());
            m.insert("seen".into(), self.seen().into());
            m.insert("fired".into(), self.fired().into());
            if let Some(r) = self.remaining() {
                m.insert("remaining".into(), r.into());
            }
        }
        v
    }
}

/// `*` matches any run of characters; everything else literally.
fn glob_match(parts: &[String], text: &str) -> bool {
    let [first, middle @ .., last] = parts else {
        return parts.first().is_none_or(|p| p == text);
    };
    let Some(mut rest) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    for p in middle {
        match rest.find(p.as_str()) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last.as_str())
}

/// Converts a transport fault of the file format into what the server applies; `None` for
/// faults the engine applies itself (`malformed-body`).
#[must_use]
pub fn transport_fault(f: &Fault) -> Option<TransportFault> {
    match f {
        Fault::ConnectionReset => Some(TransportFault::ConnectionReset),
        Fault::Close => Some(TransportFault::Close),
        Fault::TruncatedBody => Some(TransportFault::TruncatedBody),
        Fault::MalformedBody => None,
        Fault::SlowBody(SlowBody {
            chunk_bytes,
            pause_ms,
        }) => Some(TransportFault::SlowBody {
            chunk_bytes: usize::try_from(chunk_bytes.unwrap_or(16).max(1)).unwrap_or(16),
            pause: Duration::from_millis(pause_ms.unwrap_or(100)),
        }),
    }
}

impl Compiler {
    /// Compiles a stub's answers: `response`, or each of `responses` with the sequence mode.
    pub(super) fn stub_answers(
        &mut self,
        stub: &Stub,
        at: &KeyPath,
        base: &Path,
    ) -> (Option<CompiledResponse>, StubLive) {
        let mut live = StubLive {
            sequence: stub.sequence.unwrap_or_default(),
            rng: Mutex::new(match stub.seed {
                Some(seed) => fastrand::Rng::with_seed(seed),
                None => fastrand::Rng::new(),
            }),
            extras: Vec::new(),
            ..StubLive::default()
        };
        if stub.sequence.is_some() && stub.responses.is_empty() {
            self.problem(
                &at.key("sequence"),
                "`sequence` applies to `responses`; this stub has a single `response`",
            );
        }
        let answers: Vec<(&Response, KeyPath)> = if stub.responses.is_empty() {
            vec![(&stub.response, at.key("response"))]
        } else {
            stub.responses
                .iter()
                .enumerate()
                .map(|(i, r)| (r, at.key("responses").index(i)))
                .collect()
        };
        let mut first = None;
        let mut ok = true;
        for (i, (r, here)) in answers.into_iter().enumerate() {
            let mut compiled = self.response(r, &here, base);
            let extras = self.answer_extras(r, &here, compiled.as_mut());
            live.extras.push(extras);
            match (i, compiled) {
                (0, c) => first = c,
                (_, Some(c)) => live.more.push(c),
                (_, None) => ok = false,
            }
        }
        self.stub_state_keys(stub, at);
        (first.filter(|_| ok), live)
    }

    /// Checks `scenario` / `requiredState` / `newState` (they are linked later).
    fn stub_state_keys(&mut self, stub: &Stub, at: &KeyPath) {
        for (value, key) in [
            (&stub.scenario, "scenario"),
            (&stub.required_state, "requiredState"),
            (&stub.new_state, "newState"),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                self.problem(&at.key(key), format!("`{key}` must not be empty"));
            }
        }
        if stub.scenario.is_none() {
            for (value, key) in [
                (&stub.required_state, "requiredState"),
                (&stub.new_state, "newState"),
            ] {
                if value.is_some() {
                    self.problem(
                        &at.key(key),
                        format!("`{key}` needs `scenario`: the name of the scenario whose state it reads or sets"),
                    );
                }
            }
        }
    }

    /// A fixed delay for the pre-rendered response of the response at `at`; random ones are
    /// checked and kept in the extras.
    pub(super) fn fixed_delay(&mut self, delay: Option<&Delay>, at: &KeyPath) -> Option<Duration> {
        match delay {
            Some(Delay::Fixed(_)) => match self.delay_spec(delay, &at.key("delay"))? {
                DelaySpec::Fixed(d) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    fn delay_spec(&mut self, delay: Option<&Delay>, at: &KeyPath) -> Option<DelaySpec> {
        match delay? {
            Delay::Fixed(ms) if *ms > MAX_DELAY_MS => {
                self.problem(
                    at,
                    format!("delay {ms} ms is longer than the {MAX_DELAY_MS} ms limit"),
                );
                None
            }
            Delay::Fixed(ms) => Some(DelaySpec::Fixed(Duration::from_millis(*ms))),
            Delay::Random(RandomDelay::Uniform([min, max])) => {
                let here = at.key("uniform");
                if min > max {
                    self.problem(
                        &here,
                        format!("uniform: min {min} is larger than max {max}"),
                    );
                    None
                } else if *max > MAX_DELAY_MS {
                    self.problem(
                        &here,
                        format!("uniform: max {max} ms is longer than the {MAX_DELAY_MS} ms limit"),
                    );
                    None
                } else {
                    Some(DelaySpec::Uniform(*min, *max))
                }
            }
            Delay::Random(RandomDelay::Lognormal(l)) => {
                let here = at.key("lognormal");
                if l.median > MAX_DELAY_MS {
                    self.problem(
                        &here.key("median"),
                        format!(
                            "median {} ms is longer than the {MAX_DELAY_MS} ms limit",
                            l.median
                        ),
                    );
                    None
                } else if !(0.0..=MAX_SIGMA).contains(&l.sigma) {
                    self.problem(
                        &here.key("sigma"),
                        format!("sigma {} is outside 0 to {MAX_SIGMA}", l.sigma),
                    );
                    None
                } else {
                    Some(DelaySpec::LogNormal {
                        median: l.median as f64,
                        sigma: l.sigma,
                    })
                }
            }
        }
    }

    /// Checks the `fault` of the response or rule at `at`.
    fn check_fault(&mut self, fault: Option<&Fault>, at: &KeyPath) {
        if let Some(Fault::SlowBody(s)) = fault {
            let here = at.key("fault").key("slowBody");
            if s.chunk_bytes.is_some_and(|c| c == 0 || c > MAX_CHUNK_BYTES) {
                self.problem(
                    &here.key("chunkBytes"),
                    format!("chunkBytes must be 1 to {MAX_CHUNK_BYTES}"),
                );
            }
            if s.pause_ms.is_some_and(|p| p > MAX_PAUSE_MS) {
                self.problem(
                    &here.key("pauseMs"),
                    format!("pauseMs must be at most {MAX_PAUSE_MS}"),
                );
            }
        }
    }

    /// Random delay, fault and templates of one response. Templated headers are taken out of
    /// the pre-rendered response (they are rendered per request).
    fn answer_extras(
        &mut self,
        r: &Response,
        at: &KeyPath,
        compiled: Option<&mut CompiledResponse>,
    ) -> AnswerExtras {
        let delay = match &r.delay {
            Some(Delay::Random(_)) => self.delay_spec(r.delay.as_ref(), &at.key("delay")),
            _ => None,
        };
        self.check_fault(r.fault.as_ref(), at);
        let template = self.response_template(r, at);
        if let (Some(t), Some(c)) = (&template, compiled) {
            let headers = match c {
                CompiledResponse::Gigya(g) => &mut g.headers,
                CompiledResponse::Raw(raw) => &mut raw.headers,
            };
            headers.retain(|(n, _)| !t.headers.iter().any(|(tn, _)| tn == n));
        }
        AnswerExtras {
            delay,
            fault: r.fault.clone(),
            template: template.map(Arc::new),
        }
    }

    fn response_template(&mut self, r: &Response, at: &KeyPath) -> Option<ResponseTemplate> {
        let mut t = ResponseTemplate::default();
        let mut any = false;
        if let Some(body) = r.body.as_ref().filter(|b| template::has_template(b)) {
            let body_at = at.key("body");
            match self.templates.value(body) {
                Ok(TValue::Static(_)) => {}
                Ok(v) => {
                    t.body = Some(v);
                    any = true;
                }
                Err(errors) => {
                    for (path, msg) in errors {
                        let mut here = body_at.clone();
                        here.0.extend(path);
                        self.problem(&here, msg);
                    }
                }
            }
        }
        for (text, key, slot) in [
            (&r.error_message, "errorMessage", &mut t.message),
            (&r.error_details, "errorDetails", &mut t.details),
        ] {
            if let Some(text) = text.as_ref().filter(|t| template::is_template(t)) {
                match self.templates.text(text) {
                    Ok(TText::Static(_)) => {}
                    Ok(tt) => {
                        *slot = Some(tt);
                        any = true;
                    }
                    Err(msg) => self.problem(&at.key(key), msg),
                }
            }
        }
        for (name, value) in r.headers.iter().filter(|(_, v)| template::is_template(v)) {
            match self.templates.text(value) {
                Ok(TText::Static(_)) => {}
                Ok(tt) => {
                    // A bad header name is reported by the header check.
                    if let Ok(h) = HeaderName::from_bytes(name.as_bytes()) {
                        t.headers.push((h, tt));
                        any = true;
                    }
                }
                Err(msg) => self.problem(&at.key("headers").key(name), msg),
            }
        }
        any.then_some(t)
    }

    /// Compiles one fault rule.
    pub(super) fn fault_rule(
        &mut self,
        rule: &FaultRule,
        at: &KeyPath,
        name: String,
        origin: &str,
    ) -> Option<CompiledFaultRule> {
        let before = self.problems.len();
        if name.trim().is_empty() {
            self.problem(&at.key("name"), "fault rule name must not be empty");
        }
        let method = rule.method.as_ref().map(|m| {
            if m.trim().is_empty() {
                self.problem(
                    &at.key("method"),
                    "method must not be empty (leave it out to match every call)",
                );
            }
            m.split('*').map(str::to_owned).collect::<Vec<_>>()
        });
        let action = match (rule.error_code, rule.status) {
            (Some(_), Some(_)) => {
                self.problem(
                    &at.key("status"),
                    "give either `errorCode` (a Gigya envelope) or `status` (a raw HTTP answer), not both",
                );
                FaultAction::Wrap
            }
            (Some(code), None) => {
                if !catalog::is_known(code) && rule.error_message.is_none() {
                    self.problem(
                        &at.key("errorCode"),
                        format!(
                            "error code {code} is not in the Gigya catalogue; give `errorMessage`"
                        ),
                    );
                }
                if code == 0 {
                    self.problem(&at.key("errorCode"), "a fault's errorCode must not be 0");
                }
                FaultAction::Error {
                    info: catalog::describe(code),
                    message: rule.error_message.clone(),
                    details: rule.error_details.clone(),
                }
            }
            (None, Some(status)) => match StatusCode::from_u16(status) {
                Ok(s) => FaultAction::Status(s),
                Err(_) => {
                    self.problem(
                        &at.key("status"),
                        format!("{status} is not an HTTP status (100-999)"),
                    );
                    FaultAction::Wrap
                }
            },
            (None, None) => {
                if rule.fault.is_none() && rule.delay.is_none() {
                    self.problem(
                        at,
                        "a fault rule needs `errorCode`, `status`, `fault` or `delay`",
                    );
                }
                FaultAction::Wrap
            }
        };
        if rule.error_code.is_none() {
            for (set, key) in [
                (rule.error_message.is_some(), "errorMessage"),
                (rule.error_details.is_some(), "errorDetails"),
            ] {
                if set {
                    self.problem(&at.key(key), format!("`{key}` needs `errorCode`"));
                }
            }
        }
        self.check_fault(rule.fault.as_ref(), at);
        let delay = self.delay_spec(rule.delay.as_ref(), &at.key("delay"));
        if rule.next == Some(0) {
            self.problem(
                &at.key("next"),
                "next must be at least 1 (remove the rule to disable it)",
            );
        }
        if let Some(p) = rule.probability {
            if !(0.0..=1.0).contains(&p) {
                self.problem(
                    &at.key("probability"),
                    format!("probability {p} is outside 0 to 1"),
                );
            }
        }
        if self.problems.len() != before {
            return None;
        }
        Some(CompiledFaultRule {
            name: name.into(),
            origin: origin.to_owned(),
            source: rule.clone(),
            action,
            fault: rule.fault.clone(),
            delay,
            method,
            rng: Mutex::new(match rule.seed {
                Some(seed) => fastrand::Rng::with_seed(seed),
                None => fastrand::Rng::new(),
            }),
            seen: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        })
    }
}

/// Compiles fault rules outside a scenario file (the admin API). `taken` are names in use.
///
/// # Errors
/// Every problem, with the key path below the rule list (`[0].errorCode`).
pub fn compile_fault_rules(
    rules: &[FaultRule],
    origin: &str,
    first_index: usize,
    taken: &[Arc<str>],
) -> Result<Vec<CompiledFaultRule>, Vec<CompileProblem>> {
    let mut c = Compiler::default();
    let mut out = Vec::new();
    let mut names: Vec<String> = taken.iter().map(|n| n.to_string()).collect();
    for (i, rule) in rules.iter().enumerate() {
        let at = KeyPath::default().index(i);
        let name = rule
            .name
            .clone()
            .unwrap_or_else(|| format!("{origin}#{}", first_index + i));
        if names.contains(&name) {
            c.problem(
                &at.key("name"),
                format!("fault rule name {name:?} is already used"),
            );
        }
        names.push(name.clone());
        if let Some(r) = c.fault_rule(rule, &at, name, origin) {
            out.push(r);
        }
    }
    if c.problems.is_empty() {
        Ok(out)
    } else {
        Err(c.problems)
    }
}

/// One stub to compile: where it is and its (checked) name.
#[derive(Debug)]
pub(super) struct StubJob {
    pub(super) input: usize,
    pub(super) index: usize,
    pub(super) name: String,
}

/// Sets smaller than this compile on the calling thread.
const PARALLEL_FROM: usize = 2000;

/// Compiles stubs in file order. Large sets are split into contiguous chunks compiled on
/// scoped threads, each with its own [`Compiler`]; problems and templates are merged into `c`.
pub(super) fn compile_stubs(
    c: &mut Compiler,
    jobs: Vec<StubJob>,
    inputs: &[&super::Input],
) -> Vec<CompiledStub> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4);
    let run = |c: &mut Compiler, jobs: &[StubJob]| -> Vec<CompiledStub> {
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let Some(input) = inputs.get(job.input) else {
                continue;
            };
            let Some(stub) = input.file.stubs.get(job.index) else {
                continue;
            };
            c.input = job.input;
            let at = KeyPath::default().key("stubs").index(job.index);
            if let Some(compiled) = c.stub(stub, &at, input, job.name.clone()) {
                out.push(compiled);
            }
        }
        out
    };
    if threads < 2 || jobs.len() < PARALLEL_FROM {
        return run(c, &jobs);
    }
    let chunk = jobs.len().div_ceil(threads);
    let results: Vec<Option<(Vec<CompiledStub>, Compiler)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                let run = &run;
                scope.spawn(move || {
                    let mut local = Compiler {
                        templates: crate::scenario::template::Templates::with_prefix(&format!(
                            "c{n}-"
                        )),
                        ..Compiler::default()
                    };
                    let stubs = run(&mut local, part);
                    (stubs, local)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok()).collect()
    });
    let mut out = Vec::with_capacity(jobs.len());
    for r in results {
        match r {
            Some((stubs, local)) => {
                out.extend(stubs);
                c.problems.extend(local.problems);
                if let Err(e) = c.templates.absorb(local.templates) {
                    c.problem(&KeyPath::default(), e);
                }
            }
            None => c.problem(
                &KeyPath::default(),
                "internal error while compiling the stubs",
            ),
        }
    }
    out
}

/// Links stubs to their scenarios: collects each scenario's states (`Started` first) and gives
/// every stub with a `scenario` its [`StubState`].
pub(super) fn link_scenarios(stubs: &mut [CompiledStub]) -> Vec<ScenarioMachine> {
    let mut machines: Vec<ScenarioMachine> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for stub in stubs.iter_mut() {
        let Some(name) = stub.source.scenario.clone() else {
            continue;
        };
        let idx = *by_name.entry(name.clone()).or_insert_with(|| {
            machines.push(ScenarioMachine {
                name: name.as_str().into(),
                states: vec![STARTED.into()],
                stubs: Vec::new(),
                current: AtomicUsize::new(0),
            });
            machines.len() - 1
        });
        let Some(m) = machines.get_mut(idx) else {
            continue;
        };
        m.stubs.push(stub.name.clone());
        let mut state_index = |s: &Option<String>| {
            s.as_ref()
                .map(|s| match m.states.iter().position(|x| **x == **s) {
                    Some(i) => i,
                    None => {
                        m.states.push(s.as_str().into());
                        m.states.len() - 1
                    }
                })
        };
        let required = state_index(&stub.source.required_state);
        let new = state_index(&stub.source.new_state);
        stub.live.state = Some(StubState {
            scenario: idx,
            required,
            new,
        });
    }
    machines
}

impl ScenarioSet {
    /// The stateful scenarios.
    #[must_use]
    pub fn machines(&self) -> &[ScenarioMachine] {
        &self.machines
    }

    /// A stateful scenario by name.
    #[must_use]
    pub fn machine(&self, name: &str) -> Option<&ScenarioMachine> {
        self.machines.iter().find(|m| &*m.name == name)
    }

    /// The fault rules of the files.
    #[must_use]
    pub fn fault_rules(&self) -> &[Arc<CompiledFaultRule>] {
        &self.fault_rules
    }

    /// The compiled response templates.
    #[must_use]
    pub fn templates(&self) -> &crate::scenario::template::Templates {
        &self.templates
    }

    /// The first stub that matches, is in its required scenario state and still has uses
    /// left: claims one use, applies its state transition, and returns it with the number of
    /// earlier uses (its sequence position).
    #[must_use]
    pub fn claim_match(&self, req: &CapturedRequest) -> Option<(&CompiledStub, u64)> {
        thread_local! {
            static CANDIDATES: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        CANDIDATES.with(|c| {
            let mut ids = c.borrow_mut();
            self.index.candidates(req, &mut ids);
            for id in ids.iter() {
                let Some(stub) = self.stubs.get(*id as usize) else {
                    continue;
                };
                if stub.exhausted() || !self.state_allows(stub) || !stub.matcher.matches(req) {
                    continue;
                }
                let Some(undo) = self.transition(stub) else {
                    continue;
                };
                match stub.claim_ordinal() {
                    Some(n) => return Some((stub, n)),
                    None => self.undo_transition(stub, undo),
                }
            }
            None
        })
    }

    /// Whether the stub's scenario is in the state it requires.
    #[must_use]
    pub fn state_allows(&self, stub: &CompiledStub) -> bool {
        match stub.live.state {
            Some(StubState {
                scenario,
                required: Some(req),
                ..
            }) => self
                .machines
                .get(scenario)
                .is_some_and(|m| m.current.load(Ordering::Acquire) == req),
            _ => true,
        }
    }

    /// Why a stub's scenario state keeps it from matching, for near-miss reports.
    #[must_use]
    pub fn state_reason(&self, stub: &CompiledStub) -> Option<String> {
        let s = stub.live.state?;
        let m = self.machines.get(s.scenario)?;
        let required = m.states.get(s.required?)?;
        (!self.state_allows(stub)).then(|| {
            format!(
                "scenario {:?} is in state {:?}, the stub requires {:?}",
                &*m.name,
                m.state(),
                &**required
            )
        })
    }

    /// Applies the stub's transition atomically; `None` when another request moved the
    /// scenario first. Returns the state to restore if the stub turns out to be used up.
    fn transition(&self, stub: &CompiledStub) -> Option<Option<(usize, usize)>> {
        let Some(StubState {
            scenario,
            required,
            new: Some(new),
        }) = stub.live.state
        else {
            return Some(None);
        };
        let m = self.machines.get(scenario)?;
        match required {
            Some(req) => m
                .current
                .compare_exchange(req, new, Ordering::AcqRel, Ordering::Acquire)
                .ok()
                .map(|old| Some((scenario, old))),
            None => Some(Some((scenario, m.current.swap(new, Ordering::AcqRel)))),
        }
    }

    fn undo_transition(&self, stub: &CompiledStub, undo: Option<(usize, usize)>) {
        if let (Some((scenario, old)), Some(StubState { new: Some(new), .. })) =
            (undo, stub.live.state)
        {
            if let Some(m) = self.machines.get(scenario) {
                let _ = m
                    .current
                    .compare_exchange(new, old, Ordering::AcqRel, Ordering::Acquire);
            }
        }
    }

    /// Takes over the counters of the set this one replaces: stub hits (and so `times` and
    /// sequence positions) for stubs whose name survives, scenario states by scenario name
    /// (when the state still exists), and fault-rule counters by rule name.
    pub fn carry_over_from(&self, old: &ScenarioSet) {
        let old_stubs: HashMap<&str, &CompiledStub> =
            old.stubs.iter().map(|s| (&*s.name, s)).collect();
        for stub in &self.stubs {
            if let Some(o) = old_stubs.get(&*stub.name) {
                stub.hits
                    .store(o.hits.load(Ordering::Acquire), Ordering::Release);
            }
        }
        for m in &self.machines {
            if let Some(o) = old.machine(&m.name) {
                m.set_state(o.state());
            }
        }
        for r in &self.fault_rules {
            if let Some(o) = old.fault_rules.iter().find(|o| o.name == r.name) {
                r.seen.store(o.seen(), Ordering::Release);
                r.fired.store(o.fired(), Ordering::Release);
            }
        }
    }

    /// Puts every scenario back to `Started` and every stub's hit counter (sequences,
    /// `times`) to zero.
    pub fn reset_live(&self) {
        for m in &self.machines {
            m.reset();
        }
        for s in &self.stubs {
            s.hits.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g =
            |p: &str, t: &str| glob_match(&p.split('*').map(str::to_owned).collect::<Vec<_>>(), t);
        assert!(g("accounts.*", "accounts.login"));
        assert!(!g("accounts.*", "socialize.login"));
        assert!(g("*", "anything"));
        assert!(g("accounts.setAccountInfo", "accounts.setAccountInfo"));
        assert!(!g("accounts.setAccountInfo", "accounts.setAccountInfoX"));
        assert!(g("*.login", "accounts.login"));
        assert!(g("a*b*c", "a-b-c"));
        assert!(!g("a*b*c", "a-c"));
        assert!(!g("ab*ba", "aba"));
    }

    #[test]
    fn delay_samples_stay_in_their_ranges_and_repeat_with_a_seed() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..1000 {
            let d = DelaySpec::Uniform(100, 300).sample(&mut rng);
            assert!((100..=300).contains(&(d.as_millis() as u64)));
        }
        let ln = DelaySpec::LogNormal {
            median: 200.0,
            sigma: 0.5,
        };
        let mut samples: Vec<u64> = (0..2001)
            .map(|_| ln.sample(&mut rng).as_millis() as u64)
            .collect();
        samples.sort_unstable();
        let median = samples[1000];
        assert!((170..=230).contains(&median), "median {median}");
        let a: Vec<_> = {
            let mut r = fastrand::Rng::with_seed(9);
            (0..5).map(|_| ln.sample(&mut r)).collect()
        };
        let b: Vec<_> = {
            let mut r = fastrand::Rng::with_seed(9);
            (0..5).map(|_| ln.sample(&mut r)).collect()
        };
        assert_eq!(a, b);
        let huge = DelaySpec::LogNormal {
            median: MAX_DELAY_MS as f64,
            sigma: 5.0,
        };
        for _ in 0..100 {
            assert!(huge.sample(&mut rng) <= Duration::from_millis(MAX_DELAY_MS));
        }
    }
}
