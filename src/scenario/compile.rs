//! Model → runtime: validating a scenario set as a whole and building the [`ScenarioSet`] the
//! engine serves from (compiled matchers, pre-rendered responses, the stub index).
//!
//! Every semantic problem (a bad regex, an unknown error code, a duplicate stub name, a secret
//! that is not base64) is collected with the key path of the offending value
//! (`stubs[2].request.params.UID.matches`); the loader turns key paths into `line:col`.
//! Nothing is half-compiled: either the whole set is valid, or the caller gets every problem.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use regex::Regex;
use serde_json::Value;

use super::expect::CompiledExpectation;
use super::model::{Account, RequestPattern, Response, ScenarioFile, Site, Stub, ValueMatch};
use crate::exchange::CapturedRequest;
use crate::gigya::catalog::{self, ErrorInfo};
use crate::matching::index::{IndexKey, StubIndex};
use crate::matching::{Field, JsonPath, Matcher, RequestMatcher};

mod faults;
mod live;
mod source;
mod states;

pub use faults::{CompiledFaultRule, FaultAction, compile_fault_rules};
pub use live::{
    AnswerExtras, DelaySpec, ResponseTemplate, STARTED, StubLive, StubState, transport_fault,
};
pub use source::StubSource;
pub use states::ScenarioMachine;

/// The default stub priority (lower is tried first).
pub const DEFAULT_PRIORITY: i32 = 5;

/// The longest `delay` a stub may ask for.
pub const MAX_DELAY_MS: u64 = 600_000;

/// One segment of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A mapping key (shared: key paths are cloned for every value compiled).
    Key(Arc<str>),
    /// A list index.
    Index(usize),
}

/// Where a value sits in a file: `stubs[2].request.params.UID`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// The path of a key below this one.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        let mut p = Vec::with_capacity(self.0.len() + 1);
        p.extend(self.0.iter().cloned());
        p.push(Seg::Key(k.into()));
        KeyPath(p)
    }

    /// The path of a list item below this one.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A semantic problem: which input, where in it, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileProblem {
    /// Index of the input (file) it belongs to.
    pub input: usize,
    /// Where in that input.
    pub path: KeyPath,
    /// What is wrong.
    pub message: String,
}

/// One decoded file, ready to compile.
#[derive(Debug, Clone)]
pub struct Input {
    /// How the file is named in messages and auto-generated stub names.
    pub label: String,
    /// Directory `bodyFile` paths are relative to.
    pub base_dir: PathBuf,
    /// The decoded content.
    pub file: ScenarioFile,
}

/// A stub ready to serve.
#[derive(Debug)]
pub struct CompiledStub {
    /// Unique name.
    pub name: Arc<str>,
    /// Priority (lower first).
    pub priority: i32,
    /// Retire after this many matches.
    pub times: Option<u64>,
    /// Matches so far.
    pub hits: AtomicU64,
    /// The compiled pattern.
    pub matcher: RequestMatcher,
    /// The pre-rendered answer.
    pub response: CompiledResponse,
    /// The stub as written (for listings and recompiling), stored compactly.
    pub source: StubSource,
    /// The file it came from.
    pub origin: String,
    /// Further responses, per-answer extras, scenario state.
    pub live: StubLive,
    /// Added at run time (the admin API, the library); removed again by a reset.
    pub runtime: bool,
    /// `scenario`, `requiredState` and `newState` as written (linked after compiling).
    pub(crate) scenario: Option<Box<ScenarioKeys>>,
}

/// A stub's scenario keys, kept until the set links its scenarios.
#[derive(Debug)]
pub(crate) struct ScenarioKeys {
    pub(crate) name: String,
    pub(crate) required: Option<String>,
    pub(crate) new: Option<String>,
}

impl CompiledStub {
    /// The stub as written (read back from its stored form).
    #[must_use]
    pub fn model(&self) -> Stub {
        self.source.model()
    }

    /// Claims one use of the stub; false when `times` is used up.
    pub fn claim(&self) -> bool {
        match self.times {
            None => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                true
            }
            Some(limit) => self
                .hits
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                    (h < limit).then_some(h + 1)
                })
                .is_ok(),
        }
    }

    /// Matches so far.
    #[must_use]
    pub fn hit_count(&self) -> u64 {
        self.hits.load(Ordering::Acquire)
    }

    /// Whether `times` is used up.
    #[must_use]
    pub fn exhausted(&self) -> bool {
        self.times
            .is_some_and(|limit| self.hits.load(Ordering::Acquire) >= limit)
    }
}

/// A pre-rendered answer.
#[derive(Debug, Clone)]
pub enum CompiledResponse {
    /// A Gigya envelope.
    Gigya(GigyaResponse),
    /// A raw HTTP response.
    Raw(RawResponse),
}

/// The parts of a Gigya envelope that are fixed at load time.
#[derive(Debug, Clone)]
pub struct GigyaResponse {
    /// Code, message, status.
    pub info: ErrorInfo,
    /// `errorMessage` override.
    pub message: Option<String>,
    /// `statusReason` override.
    pub status_reason: Option<String>,
    /// `errorDetails`.
    pub details: Option<String>,
    /// A fixed `callId`.
    pub call_id: Option<String>,
    /// A fixed `time`.
    pub time: Option<String>,
    /// Rendered `validationErrors` array.
    pub validation_errors: Option<String>,
    /// Rendered method data (object members without braces).
    pub fields: String,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Delay before answering.
    pub delay: Option<Duration>,
    /// The envelope members from `errorCode` to `statusReason`, rendered on first use.
    pub middle: std::sync::OnceLock<Box<str>>,
}

/// A raw HTTP answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers (content type included).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body.
    pub body: Bytes,
    /// Delay before answering.
    pub delay: Option<Duration>,
}

/// A validated, compiled scenario set.
#[derive(Debug, Default)]
pub struct ScenarioSet {
    stubs: Vec<CompiledStub>,
    index: StubIndex,
    /// Sites, in file order.
    pub sites: Vec<Site>,
    /// Accounts, in file order (each with its site's apiKey filled in).
    pub accounts: Vec<Account>,
    /// Number of files the set came from.
    pub files: usize,
    /// The `expect:` clauses of every file, in file order.
    pub expectations: Vec<CompiledExpectation>,
    inputs: Arc<Vec<Input>>,
    machines: Vec<ScenarioMachine>,
    fault_rules: Vec<Arc<CompiledFaultRule>>,
    templates: crate::scenario::template::Templates,
}

impl ScenarioSet {
    /// The stubs, in the order they are tried.
    #[must_use]
    pub fn stubs(&self) -> &[CompiledStub] {
        &self.stubs
    }

    /// A stub by name.
    #[must_use]
    pub fn stub(&self, name: &str) -> Option<&CompiledStub> {
        self.stubs.iter().find(|s| &*s.name == name)
    }

    /// The decoded inputs this set was compiled from, stubs included (the stubs are taken
    /// from their compiled forms, each with its name pinned).
    #[must_use]
    pub fn inputs(&self) -> Vec<Input> {
        let mut inputs: Vec<Input> = self.inputs.as_ref().clone();
        // Compiled stubs are in priority order, which is declaration order among equals, so
        // appending them per input keeps every order that matters for matching.
        for stub in &self.stubs {
            if let Some(input) = inputs.iter_mut().find(|i| i.label == stub.origin) {
                let mut model = stub.model();
                model.name = Some(stub.name.to_string());
                input.file.stubs.push(model);
            }
        }
        inputs
    }

    /// A new set with `stubs` added as run-time stubs (named already). The whole set is
    /// compiled again, so templates and scenario states work for them too; counters of
    /// surviving stubs, scenario states and fault-rule counters carry over.
    ///
    /// # Errors
    /// The problems of the combined set.
    pub fn with_runtime_stubs(&self, stubs: Vec<Stub>) -> Result<ScenarioSet, Vec<CompileProblem>> {
        let mut inputs = self.inputs();
        let runtime = crate::scenario::fragment::RUNTIME_ORIGIN;
        // Run-time stubs are tried before file stubs of the same priority, the newest batch
        // first (a batch keeps its own order).
        match inputs.iter_mut().find(|i| i.label == runtime) {
            Some(input) => {
                let older = std::mem::take(&mut input.file.stubs);
                input.file.stubs = stubs.into_iter().chain(older).collect();
            }
            None => inputs.insert(
                0,
                Input {
                    label: runtime.to_owned(),
                    base_dir: PathBuf::from("."),
                    file: ScenarioFile {
                        version: 1,
                        stubs,
                        ..ScenarioFile::default()
                    },
                },
            ),
        }
        let set = compile(inputs)?;
        set.carry_over_from(self);
        Ok(set)
    }

    /// A new set without the stub called `name` (until a reset), or `None` when no stub has
    /// that name.
    #[must_use]
    pub fn without_stub(&self, name: &str) -> Option<ScenarioSet> {
        let mut inputs = self.inputs();
        let mut found = false;
        for input in &mut inputs {
            let names: Vec<String> = input
                .file
                .stubs
                .iter()
                .enumerate()
                .map(|(i, s)| stub_name(s, input, i))
                .collect();
            if let Some(pos) = names.iter().position(|n| n == name) {
                // Pin the generated names of the others so removing one renames nothing.
                for (stub, n) in input.file.stubs.iter_mut().zip(names) {
                    stub.name = Some(n);
                }
                input.file.stubs.remove(pos);
                found = true;
                break;
            }
        }
        if !found {
            return None;
        }
        // Expectations about the removed stub cannot be checked until it comes back (reset).
        for input in &mut inputs {
            input.file.expect.retain(|e| {
                e.stub.as_deref() != Some(name)
                    && !e.in_order.iter().any(|o| o.stub.as_deref() == Some(name))
            });
        }
        let set = compile(inputs).ok()?;
        set.carry_over_from(self);
        Some(set)
    }

    /// The first stub that matches and still has uses left; claims one use (see
    /// [`ScenarioSet::claim_match`]).
    #[must_use]
    pub fn find_match(&self, req: &CapturedRequest) -> Option<&CompiledStub> {
        self.claim_match(req).map(|(stub, _)| stub)
    }

    /// The nearest stubs for an unmatched request, each with its first reason:
    /// `stub "vip-user": param UID expected "u1", got "u2"`.
    #[must_use]
    pub fn near_misses(&self, req: &CapturedRequest, limit: usize) -> Vec<String> {
        let mut ids = Vec::new();
        self.index.related(req, &mut ids);
        let mut scored: Vec<(usize, usize, u32, String)> = ids
            .iter()
            .filter_map(|id| self.stubs.get(*id as usize).map(|s| (*id, s)))
            .filter_map(|(id, stub)| {
                let (reasons, passed) = stub.matcher.explain(req);
                // A stub none of whose criteria hold is not "near"; leave it out.
                if passed == 0 && !reasons.is_empty() {
                    return None;
                }
                let reason = if stub.exhausted() && reasons.is_empty() {
                    format!("used up (times: {})", stub.times.unwrap_or(0))
                } else if let Some(why) = reasons
                    .is_empty()
                    .then(|| self.state_reason(stub))
                    .flatten()
                {
                    why
                } else {
                    reasons.first().cloned().unwrap_or_default()
                };
                Some((
                    reasons.len(),
                    usize::MAX - passed,
                    id,
                    format!("stub {:?}: {reason}", &*stub.name),
                ))
            })
            .collect();
        scored.sort();
        scored.into_iter().take(limit).map(|(.., s)| s).collect()
    }
}

/// Compiles decoded inputs into one set; every problem is reported.
///
/// # Errors
/// All semantic problems found.
pub fn compile(inputs: Vec<Input>) -> Result<ScenarioSet, Vec<CompileProblem>> {
    compile_refs(&inputs.iter().collect::<Vec<_>>())
}

/// [`compile`] over borrowed inputs (the reload cache keeps them between reloads).
///
/// # Errors
/// All semantic problems found.
pub fn compile_refs(inputs: &[&Input]) -> Result<ScenarioSet, Vec<CompileProblem>> {
    let mut c = Compiler::default();
    let mut jobs: Vec<live::StubJob> =
        Vec::with_capacity(inputs.iter().map(|i| i.file.stubs.len()).sum());
    let mut sites: Vec<Site> = Vec::new();
    let mut accounts: Vec<(usize, usize, Account)> = Vec::new();
    let files = inputs
        .iter()
        .filter(|i| i.label != crate::scenario::fragment::RUNTIME_ORIGIN)
        .count();
    let mut names = std::collections::HashSet::new();
    let mut fault_rules: Vec<Arc<CompiledFaultRule>> = Vec::new();
    for (input_idx, input) in inputs.iter().enumerate() {
        c.input = input_idx;
        let root = KeyPath::default();
        for (i, site) in input.file.sites.iter().enumerate() {
            let at = root.key("sites").index(i);
            c.site(site, &at);
            if sites.iter().any(|s| s.api_key == site.api_key) && !site.api_key.is_empty() {
                c.problem(
                    &at.key("apiKey"),
                    format!("site apiKey {:?} is defined twice", site.api_key),
                );
            }
            sites.push(site.clone());
        }
        for (i, account) in input.file.accounts.iter().enumerate() {
            accounts.push((input_idx, i, account.clone()));
        }
        for (i, stub) in input.file.stubs.iter().enumerate() {
            let name = stub_name(stub, input, i);
            if !names.insert(name.clone()) {
                c.problem(
                    &root.key("stubs").index(i).key("name"),
                    format!(
                        "stub name {name:?} is already used; names must be unique across all files"
                    ),
                );
            }
            jobs.push(live::StubJob {
                input: input_idx,
                index: i,
                name,
            });
        }
        for (i, rule) in input.file.faults.iter().enumerate() {
            let at = root.key("faults").index(i);
            let name = rule
                .name
                .clone()
                .unwrap_or_else(|| format!("{}#faults[{i}]", input.label));
            if fault_rules.iter().any(|r| *r.name == *name) {
                c.problem(
                    &at.key("name"),
                    format!("fault rule name {name:?} is already used; names must be unique across all files"),
                );
            }
            if let Some(r) = c.fault_rule(rule, &at, name, &input.label) {
                fault_rules.push(Arc::new(r));
            }
        }
    }
    let accounts = c.accounts(accounts, &sites);
    // Stubs compile independently of each other: large sets use several threads.
    let mut stubs = live::compile_stubs(&mut c, jobs, inputs);
    let mut expectations = Vec::new();
    for (input_idx, input) in inputs.iter().enumerate() {
        c.input = input_idx;
        for (i, e) in input.file.expect.iter().enumerate() {
            let at = KeyPath::default().key("expect").index(i);
            expectations.extend(c.expectation(e, &at, &names));
        }
    }
    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    // Stable: equal priorities keep declaration order. Stubs are large; an already sorted list
    // (the usual case) is not moved at all.
    stubs.sort_by_key(|s| s.priority);
    let machines = states::link_scenarios(&mut stubs);
    let keys: Vec<IndexKey> = stubs.iter().map(|s| index_key(&s.matcher)).collect();
    Ok(ScenarioSet {
        index: StubIndex::build(&keys),
        stubs,
        sites,
        accounts,
        files,
        expectations,
        // Kept without their stubs (each compiled stub holds its own model): enough to compile
        // the set again when stubs are added or removed at run time.
        inputs: Arc::new(
            inputs
                .iter()
                .map(|i| Input {
                    label: i.label.clone(),
                    base_dir: i.base_dir.clone(),
                    file: ScenarioFile {
                        version: i.file.version,
                        sites: i.file.sites.clone(),
                        accounts: i.file.accounts.clone(),
                        stubs: Vec::new(),
                        expect: i.file.expect.clone(),
                        faults: i.file.faults.clone(),
                    },
                })
                .collect(),
        ),
        machines,
        fault_rules,
        templates: c.templates,
    })
}

/// Whether `t` is a UTC ISO-8601 time as Gigya writes `time` (`2024-05-01T10:00:00.123Z`);
/// only such text is written into answers as is.
pub fn valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let head = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    let tail = match b.get(19..) {
        Some(b"Z") => true,
        Some([b'.', rest @ ..]) => {
            rest.len() >= 2
                && rest.len() <= 10
                && rest.last() == Some(&b'Z')
                && rest[..rest.len() - 1].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    head && tail
}

/// Whether `path` names a writable account field: `profile.x`, `data.x.y`, or a top-level
/// account field such as `isActive`.
fn valid_field_path(path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    if path.split('.').any(str::is_empty) {
        return false;
    }
    match first {
        "profile" | "data" | "subscriptions" | "preferences" | "rba" => true,
        _ => {
            path == first
                && first
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
    }
}

/// A stub's name: as written, or `<file>#<index>`.
fn stub_name(stub: &Stub, input: &Input, i: usize) -> String {
    stub.name
        .clone()
        .unwrap_or_else(|| format!("{}#{i}", input.label))
}

fn index_key(m: &RequestMatcher) -> IndexKey {
    if let Some(method) = m.method.as_ref().and_then(Matcher::equality_text) {
        let param = m.params.iter().find_map(|f| {
            f.matcher
                .equality_text()
                .map(|v| (f.name.clone(), v.to_owned()))
        });
        return IndexKey::Method {
            method: method.to_owned(),
            param,
        };
    }
    if let Some(path) = m.path.as_deref().and_then(Matcher::equality_text) {
        return IndexKey::Path(path.to_owned());
    }
    IndexKey::Generic
}

#[derive(Default)]
pub(super) struct Compiler {
    input: usize,
    problems: Vec<CompileProblem>,
    templates: crate::scenario::template::Templates,
    /// Compiled regular expressions by pattern: stubs that repeat a pattern share one program.
    regexes: HashMap<String, Arc<Regex>>,
}

impl Compiler {
    pub(super) fn into_result<T>(self, value: T) -> Result<T, Vec<CompileProblem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }

    pub(super) fn problem_count(&self) -> usize {
        self.problems.len()
    }

    pub(super) fn input(&self) -> usize {
        self.input
    }

    /// The compiled form of `pattern`, shared with every earlier use of the same pattern.
    fn regex(&mut self, pattern: &str) -> Result<Arc<Regex>, regex::Error> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re.clone());
        }
        let re = Arc::new(Regex::new(pattern)?);
        self.regexes.insert(pattern.to_owned(), re.clone());
        Ok(re)
    }

    pub(super) fn problem(&mut self, at: &KeyPath, message: impl Into<String>) {
        self.problems.push(CompileProblem {
            input: self.input,
            path: at.clone(),
            message: message.into(),
        });
    }

    fn site(&mut self, site: &Site, at: &KeyPath) {
        if site.api_key.trim().is_empty() {
            self.problem(&at.key("apiKey"), "site apiKey must not be empty");
        }
        if let Some(dc) = &site.data_center {
            if dc.is_empty()
                || !dc
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            {
                self.problem(
                    &at.key("dataCenter"),
                    format!("dataCenter {dc:?} is not a data-centre name such as us1, eu1, au1"),
                );
            }
        }
        if let Some(secret) = &site.partner_secret {
            if let Err(e) = crate::gigya::signature::decode_secret(secret) {
                self.problem(&at.key("partnerSecret"), format!("partnerSecret: {e}"));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, app) in site.applications.iter().enumerate() {
            let at = at.key("applications").index(i);
            if app.user_key.trim().is_empty() {
                self.problem(&at.key("userKey"), "userKey must not be empty");
            } else if seen.contains(&app.user_key.as_str()) {
                self.problem(
                    &at.key("userKey"),
                    format!("userKey {:?} is listed twice in this site", app.user_key),
                );
            }
            seen.push(&app.user_key);
            if let Some(secret) = &app.secret {
                if let Err(e) = crate::gigya::signature::decode_secret(secret) {
                    self.problem(&at.key("secret"), format!("application {e}"));
                }
            }
            if let Some(pem) = &app.public_key {
                if let Err(e) = crate::gigya::jwt::parse_public_key(pem) {
                    self.problem(
                        &at.key("publicKey"),
                        format!("publicKey is not a usable RSA key: {e}"),
                    );
                }
            }
            if app.secret.is_none() && app.public_key.is_none() {
                self.problem(&at, "application needs a `secret`, a `publicKey`, or both");
            }
        }
        if let Some(o) = &site.options {
            self.site_options(o, &at.key("options"));
        }
    }

    fn site_options(&mut self, o: &super::model::SiteOptions, at: &KeyPath) {
        for (key, code) in [
            ("unknownUidCode", o.unknown_uid_code),
            ("invalidRegTokenCode", o.invalid_reg_token_code),
            ("httpsRequiredCode", o.https_required_code),
        ] {
            if let Some(code) = code {
                if code < 100_000 || !crate::gigya::catalog::is_known(code) {
                    self.problem(
                        &at.key(key),
                        format!("{key}: {code} is not an error code of the Gigya catalogue"),
                    );
                }
            }
        }
        if let Some(s) = o.login_id_exists_status {
            if !(100..=599).contains(&s) {
                self.problem(
                    &at.key("loginIdExistsStatus"),
                    format!("loginIdExistsStatus: {s} is not an HTTP-like status (100 to 599)"),
                );
            }
        }
        for (i, f) in o.server_only_fields.iter().enumerate() {
            if !valid_field_path(f) {
                self.problem(
                    &at.key("serverOnlyFields").index(i),
                    format!(
                        "serverOnlyFields: {f:?} is not a field path such as data.tier, profile.email or isActive"
                    ),
                );
            }
        }
        for (i, f) in o.data_fields.iter().flatten().enumerate() {
            if f.is_empty() || f.split('.').any(str::is_empty) {
                self.problem(
                    &at.key("dataFields").index(i),
                    format!(
                        "dataFields: {f:?} is not a dotted field path such as tier or address.city"
                    ),
                );
            }
        }
    }

    fn accounts(&mut self, accounts: Vec<(usize, usize, Account)>, sites: &[Site]) -> Vec<Account> {
        let mut out: Vec<Account> = Vec::new();
        for (input, i, mut account) in accounts {
            self.input = input;
            let at = KeyPath::default().key("accounts").index(i);
            if account.uid.trim().is_empty() {
                self.problem(&at.key("UID"), "UID must not be empty");
                continue;
            }
            match (&account.api_key, sites) {
                (Some(key), _) if !sites.iter().any(|s| &s.api_key == key) => {
                    self.problem(
                        &at.key("apiKey"),
                        format!("account apiKey {key:?} does not name a site in `sites`"),
                    );
                    continue;
                }
                (Some(_), _) => {}
                (None, [only]) => account.api_key = Some(only.api_key.clone()),
                (None, []) => {
                    self.problem(&at, "accounts need a site: add one under `sites`");
                    continue;
                }
                (None, _) => {
                    self.problem(
                        &at,
                        "several sites are configured: give this account an `apiKey`",
                    );
                    continue;
                }
            }
            if let Some(created) = &account.created {
                if chrono::DateTime::parse_from_rfc3339(created).is_err() {
                    self.problem(
                        &at.key("created"),
                        format!("created: {created:?} is not an ISO 8601 time such as 2014-07-16T19:20:30Z"),
                    );
                }
            }
            if out
                .iter()
                .any(|a| a.uid == account.uid && a.api_key == account.api_key)
            {
                self.problem(
                    &at.key("UID"),
                    format!(
                        "account UID {:?} is seeded twice for the same site",
                        account.uid
                    ),
                );
                continue;
            }
            out.push(account);
        }
        out
    }

    fn stub(
        &mut self,
        stub: &Stub,
        at: &KeyPath,
        input: &Input,
        name: String,
    ) -> Option<CompiledStub> {
        if name.trim().is_empty() {
            self.problem(&at.key("name"), "stub name must not be empty");
            return None;
        }
        let name: Arc<str> = name.into();
        if stub.times == Some(0) {
            self.problem(
                &at.key("times"),
                "times must be at least 1 (remove the stub to disable it)",
            );
        }
        let req_at = at.key("request");
        let matcher = self.request(&stub.request, &req_at);
        if stub.request.method.is_some() && stub.request.path.is_some() {
            self.problem(
                &req_at,
                "a stub matches either a Gigya `method` or a raw `path`, not both",
            );
        }
        let (response, live) = self.stub_answers(stub, at, &input.base_dir);
        // An exhausting sequence retires the stub after its last response.
        let times = match (stub.sequence, stub.times) {
            (Some(crate::scenario::model::SequenceMode::Exhaust), t) => {
                Some(t.map_or(live.len() as u64, |t| t.min(live.len() as u64)))
            }
            (_, t) => t,
        };
        Some(CompiledStub {
            name,
            priority: stub.priority.unwrap_or(DEFAULT_PRIORITY),
            times,
            hits: AtomicU64::new(0),
            matcher: matcher?,
            response: response?,
            source: StubSource::new(stub),
            origin: input.label.clone(),
            live,
            runtime: input.label == crate::scenario::fragment::RUNTIME_ORIGIN,
            scenario: stub.scenario.as_ref().map(|name| {
                Box::new(ScenarioKeys {
                    name: name.clone(),
                    required: stub.required_state.clone(),
                    new: stub.new_state.clone(),
                })
            }),
        })
    }

    pub(super) fn request(&mut self, r: &RequestPattern, at: &KeyPath) -> Option<RequestMatcher> {
        let before = self.problems.len();
        let mut out = RequestMatcher {
            params: Vec::with_capacity(r.params.len()),
            query: Vec::with_capacity(r.query.len()),
            headers: Vec::with_capacity(r.headers.len()),
            method: r
                .method
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("method"))),
            api_key: r
                .api_key
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("apiKey")))
                .map(Box::new),
            path: r
                .path
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("path")))
                .map(Box::new),
            body: r
                .body
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("body")))
                .map(Box::new),
            ..RequestMatcher::default()
        };
        if let Some(Matcher::Equals { text, .. }) = out.path.as_deref() {
            if !text.starts_with('/') {
                self.problem(
                    &at.key("path"),
                    format!("path {text:?} must start with `/`"),
                );
            }
        }
        for (name, m) in &r.params {
            let p = at.key("params").key(name);
            if name.is_empty() {
                self.problem(&p, "parameter name must not be empty");
            }
            if let Some(matcher) = self.matcher(m, &p) {
                out.params.push(Field {
                    name: name.clone(),
                    matcher,
                });
            }
        }
        for (name, m) in &r.query {
            let p = at.key("query").key(name);
            if let Some(matcher) = self.matcher(m, &p) {
                out.query.push(Field {
                    name: name.clone(),
                    matcher,
                });
            }
        }
        for (name, m) in &r.headers {
            let p = at.key("headers").key(name);
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) => {
                    if let Some(matcher) = self.matcher(m, &p) {
                        out.headers.push((h, matcher));
                    }
                }
                Err(_) => self.problem(&p, format!("{name:?} is not a valid header name")),
            }
        }
        if let Some(m) = &r.http_method {
            match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                Ok(method) => out.http_method = Some(method),
                Err(_) => self.problem(
                    &at.key("httpMethod"),
                    format!("{m:?} is not an HTTP method"),
                ),
            }
        }
        if let Some(not) = &r.not {
            out.not = self.request(not, &at.key("not")).map(Box::new);
        }
        for (i, p) in r.any_of.iter().enumerate() {
            if let Some(m) = self.request(p, &at.key("anyOf").index(i)) {
                out.any_of.push(m);
            }
        }
        for (i, p) in r.all_of.iter().enumerate() {
            if let Some(m) = self.request(p, &at.key("allOf").index(i)) {
                out.all_of.push(m);
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn matcher(&mut self, m: &ValueMatch, at: &KeyPath) -> Option<Matcher> {
        let before = self.problems.len();
        let mut parts = Vec::new();
        if let Some(v) = &m.equals {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => {
                    // Objects and arrays compare as JSON values; as text they never match.
                    v.to_string()
                }
            };
            parts.push(Matcher::Equals {
                text,
                value: v.clone(),
            });
        }
        if let Some(re) = &m.matches {
            match self.regex(re) {
                Ok(r) => parts.push(Matcher::Matches(r)),
                Err(e) => self.problem(
                    &at.key("matches"),
                    format!("invalid regular expression {re:?}: {}", regex_reason(&e)),
                ),
            }
        }
        if let Some(s) = &m.contains {
            parts.push(Matcher::Contains(s.clone()));
        }
        let present = match (m.present, m.absent) {
            (Some(p), Some(a)) if p == a => {
                self.problem(at, "`present` and `absent` contradict each other");
                None
            }
            (Some(p), _) => Some(p),
            (None, Some(a)) => Some(!a),
            (None, None) => None,
        };
        match present {
            Some(true) => parts.push(Matcher::Present),
            Some(false) => parts.push(Matcher::Absent),
            None => {}
        }
        if !m.json.is_empty() {
            let mut paths = Vec::new();
            for (p, inner) in &m.json {
                let here = at.key("json").key(p);
                match JsonPath::parse(p) {
                    Ok(path) => {
                        if let Some(im) = self.matcher(inner, &here) {
                            paths.push((path, im));
                        }
                    }
                    Err(e) => self.problem(&here, e.to_string()),
                }
            }
            parts.push(Matcher::Json(paths));
        }
        if let Some(v) = &m.json_includes {
            parts.push(Matcher::JsonIncludes(v.clone()));
        }
        if let Some(v) = &m.json_equals {
            parts.push(Matcher::JsonEquals(v.clone()));
        }
        if let Some(inner) = &m.not {
            if let Some(im) = self.matcher(inner, &at.key("not")) {
                parts.push(Matcher::Not(Box::new(im)));
            }
        }
        if !m.any_of.is_empty() {
            let items: Vec<Matcher> = m
                .any_of
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.matcher(x, &at.key("anyOf").index(i)))
                .collect();
            parts.push(Matcher::AnyOf(items));
        }
        if !m.all_of.is_empty() {
            let items: Vec<Matcher> = m
                .all_of
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.matcher(x, &at.key("allOf").index(i)))
                .collect();
            parts.extend(items);
        }
        if self.problems.len() != before {
            return None;
        }
        match parts.len() {
            0 => {
                self.problem(
                    at,
                    "empty matcher; give at least one operator such as `equals`",
                );
                None
            }
            1 => parts.pop(),
            _ => {
                parts.shrink_to_fit();
                Some(Matcher::AllOf(parts))
            }
        }
    }

    fn response(&mut self, r: &Response, at: &KeyPath, base: &Path) -> Option<CompiledResponse> {
        let before = self.problems.len();
        let delay = self.fixed_delay(r.delay.as_ref(), at);
        let headers = self.headers(r, at);
        if r.body.is_some() && r.body_file.is_some() {
            self.problem(
                &at.key("bodyFile"),
                "give either `body` or `bodyFile`, not both",
            );
        }
        let file_bytes = r.body_file.as_ref().and_then(|f| {
            let path = base.join(f);
            match std::fs::read(&path) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.problem(
                        &at.key("bodyFile"),
                        format!("cannot read body file {}: {e}", path.display()),
                    );
                    None
                }
            }
        });
        let out = if let Some(status) = r.status {
            self.raw_response(r, at, status, headers, file_bytes, delay)
        } else {
            self.gigya_response(r, at, headers, file_bytes, delay)
        };
        if self.problems.len() != before {
            return None;
        }
        out
    }

    fn headers(&mut self, r: &Response, at: &KeyPath) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        for (k, v) in &r.headers {
            let here = at.key("headers").key(k);
            match (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                (Ok(n), Ok(v)) => out.push((n, v)),
                (Err(_), _) => self.problem(&here, format!("{k:?} is not a valid header name")),
                (_, Err(_)) => self.problem(
                    &here,
                    "header value contains characters HTTP does not allow",
                ),
            }
        }
        out
    }

    fn raw_response(
        &mut self,
        r: &Response,
        at: &KeyPath,
        status: u16,
        mut headers: Vec<(HeaderName, HeaderValue)>,
        file_bytes: Option<Vec<u8>>,
        delay: Option<Duration>,
    ) -> Option<CompiledResponse> {
        for (set, key) in [
            (r.error_code.is_some(), "errorCode"),
            (r.error_message.is_some(), "errorMessage"),
            (r.error_details.is_some(), "errorDetails"),
            (r.status_code.is_some(), "statusCode"),
            (r.status_reason.is_some(), "statusReason"),
            (r.call_id.is_some(), "callId"),
            (r.time.is_some(), "time"),
            (!r.validation_errors.is_empty(), "validationErrors"),
        ] {
            if set {
                self.problem(&at.key(key), format!("`{key}` belongs to Gigya envelopes; this response is raw because `status` is set"));
            }
        }
        let Ok(status) = StatusCode::from_u16(status) else {
            self.problem(
                &at.key("status"),
                format!("{status} is not an HTTP status (100-999)"),
            );
            return None;
        };
        let (body, default_ct) = match (&r.body, file_bytes) {
            (_, Some(bytes)) => {
                let ct = content_type_for(r.body_file.as_deref().unwrap_or_default());
                (Bytes::from(bytes), ct)
            }
            (Some(Value::String(s)), None) => (Bytes::from(s.clone()), "text/plain; charset=utf-8"),
            (Some(v), None) => (Bytes::from(v.to_string()), "application/json"),
            (None, None) => (Bytes::new(), ""),
        };
        let has_ct = headers.iter().any(|(n, _)| n == http::header::CONTENT_TYPE);
        if !has_ct && !default_ct.is_empty() {
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(default_ct),
            ));
        }
        Some(CompiledResponse::Raw(RawResponse {
            status,
            headers,
            body,
            delay,
        }))
    }

    fn gigya_response(
        &mut self,
        r: &Response,
        at: &KeyPath,
        headers: Vec<(HeaderName, HeaderValue)>,
        file_bytes: Option<Vec<u8>>,
        delay: Option<Duration>,
    ) -> Option<CompiledResponse> {
        let code = r.error_code.unwrap_or(0);
        let mut info = catalog::describe(code);
        if !catalog::is_known(code) && r.error_message.is_none() {
            self.problem(
                &at.key("errorCode"),
                format!("error code {code} is not in the Gigya catalogue; give `errorMessage` (and `statusCode` if {} is wrong)", info.status_code),
            );
        }
        if let Some(sc) = r.status_code {
            if !(100..=999).contains(&sc) {
                self.problem(
                    &at.key("statusCode"),
                    format!("statusCode {sc} is outside 100-999"),
                );
            }
            info.status_code = sc;
            if r.status_reason.is_none() {
                info.status_reason = catalog::reason_phrase(sc);
            }
        }
        if code == 0 {
            for (set, key) in [
                (r.error_message.is_some(), "errorMessage"),
                (r.error_details.is_some(), "errorDetails"),
                (!r.validation_errors.is_empty(), "validationErrors"),
            ] {
                if set {
                    self.problem(
                        &at.key(key),
                        format!("`{key}` is only sent with an error; set `errorCode`"),
                    );
                }
            }
        }
        if let Some(id) = &r.call_id {
            if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                self.problem(
                    &at.key("callId"),
                    format!("callId {id:?} must be 32 lowercase hex characters, like Gigya's"),
                );
            }
        }
        let body = match (&r.body, file_bytes) {
            (_, Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => Some((v, at.key("bodyFile"))),
                Err(e) => {
                    self.problem(
                        &at.key("bodyFile"),
                        format!("body file is not valid JSON: {e}"),
                    );
                    None
                }
            },
            (Some(v), None) => Some((v.clone(), at.key("body"))),
            (None, None) => None,
        };
        let fields = match body {
            None => String::new(),
            Some((Value::Object(map), body_at)) => {
                for (k, _) in &map {
                    if crate::gigya::envelope::ENVELOPE_FIELDS.contains(&k.as_str()) {
                        // Every envelope field but these two has a response key of its own name.
                        let hint = match k.as_str() {
                            "apiVersion" => format!("`{k}` is generated"),
                            "context" => format!("`{k}` is echoed from the request"),
                            _ => format!("set it with `response.{k}`"),
                        };
                        self.problem(
                            &body_at.key(k),
                            format!("`{k}` is an envelope field; {hint}"),
                        );
                    }
                }
                let s = Value::Object(map).to_string();
                s.get(1..s.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_owned()
            }
            Some((other, body_at)) => {
                self.problem(
                    &body_at,
                    format!(
                        "a Gigya response body is an object of top-level fields, not {}",
                        json_type(&other)
                    ),
                );
                String::new()
            }
        };
        let validation_errors = (!r.validation_errors.is_empty()).then(|| {
            let items: Vec<Value> = r
                .validation_errors
                .iter()
                .map(|v| {
                    let message = v
                        .message
                        .clone()
                        .unwrap_or_else(|| catalog::describe(v.error_code).message.to_owned());
                    serde_json::json!({"errorCode": v.error_code, "message": message, "fieldName": v.field_name})
                })
                .collect();
            Value::Array(items).to_string()
        });
        Some(CompiledResponse::Gigya(GigyaResponse {
            info,
            message: r.error_message.clone(),
            status_reason: r.status_reason.clone(),
            details: r.error_details.clone(),
            call_id: r.call_id.clone(),
            time: r.time.clone().filter(|t| {
                let ok = valid_time(t);
                if !ok {
                    self.problem(
                        &at.key("time"),
                        format!("time {t:?} is not a UTC time such as 2024-05-01T10:00:00.123Z"),
                    );
                }
                ok
            }),
            validation_errors,
            fields,
            headers,
            delay,
            middle: std::sync::OnceLock::new(),
        }))
    }
}

/// A JSON value's kind for messages ("a list", "an object", ...).
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The regex crate's reason without its multi-line source excerpt.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        )
}

fn content_type_for(file: &str) -> &'static str {
    let ext = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "json" => "application/json",
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::{Format, Source, load_sources};

    fn regex_of(m: &RequestMatcher, param: &str) -> Arc<Regex> {
        match m
            .params
            .iter()
            .find(|f| f.name == param)
            .map(|f| &f.matcher)
        {
            Some(Matcher::Matches(re)) => re.clone(),
            other => panic!("not a regex matcher: {other:?}"),
        }
    }

    #[test]
    fn stubs_with_the_same_pattern_share_one_compiled_regex() {
        let set = load_sources(vec![Source {
            label: "s.yaml".into(),
            base_dir: ".".into(),
            format: Format::Yaml,
            text: r#"version: 1
stubs:
  - request: { method: m, params: { lang: { matches: "^(en|de)$" } } }
    response: {}
  - request: { method: m, params: { lang: { matches: "^(en|de)$" } } }
    response: {}
  - request: { method: m, params: { lang: { matches: "^fr$" } } }
    response: {}
"#
            .into(),
        }])
        .unwrap();
        let [a, b, c] = set.stubs() else {
            panic!("three stubs expected");
        };
        let (ra, rb, rc) = (
            regex_of(&a.matcher, "lang"),
            regex_of(&b.matcher, "lang"),
            regex_of(&c.matcher, "lang"),
        );
        assert!(Arc::ptr_eq(&ra, &rb), "the same pattern is compiled once");
        assert!(!Arc::ptr_eq(&ra, &rc));
        assert!(ra.is_match("de") && !rc.is_match("de") && rc.is_match("fr"));
    }
}
