//! Compiling live scenarios: response sequences, random delays, transport faults and response
//! templates of each stub, and compiling large sets on several threads. Fault rules are in
//! [`faults`](super::faults), scenario states and the set's runtime side in
//! [`states`](super::states).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderName;

use super::{CompiledResponse, CompiledStub, Compiler, KeyPath, MAX_DELAY_MS};
use crate::exchange::TransportFault;
use crate::scenario::model::{Delay, Fault, RandomDelay, Response, SequenceMode, SlowBody, Stub};
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

    pub(super) fn delay_spec(&mut self, delay: Option<&Delay>, at: &KeyPath) -> Option<DelaySpec> {
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
    pub(super) fn check_fault(&mut self, fault: Option<&Fault>, at: &KeyPath) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
