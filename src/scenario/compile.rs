//! Model → runtime: validating a scenario set as a whole and building the [`ScenarioSet`] the
//! engine serves from (compiled matchers, pre-rendered responses, the stub index).
//!
//! Every semantic problem (a bad regex, an unknown error code, a duplicate stub name, a secret
//! that is not base64) is collected with the key path of the offending value
//! (`stubs[2].request.params.UID.matches`); the loader turns key paths into `line:col`.
//! Nothing is half-compiled: either the whole set is valid, or the caller gets every problem.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use regex::Regex;

use super::expect::CompiledExpectation;
use super::model::{Account, ScenarioFile, Site, Stub};
use crate::matching::index::{IndexKey, ParamKey, StubIndex};
use crate::matching::jsonpath::JsonPath;
use crate::matching::{Matcher, RequestMatcher};

mod faults;
mod live;
mod matchers;
mod responses;
mod set;
mod sites;
mod source;
mod states;

pub use faults::{CompiledFaultRule, FaultAction, compile_fault_rules};
pub use live::{
    AnswerExtras, DelaySpec, ResponseTemplate, STARTED, StubLive, StubState, transport_fault,
};
pub(crate) use responses::json_type;
pub use responses::{CompiledResponse, GigyaResponse, RawResponse, valid_time};
pub use set::{NEAR_MISS_SCAN, NearMisses};
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
    let index = StubIndex::build(index_keys(&stubs));
    Ok(ScenarioSet {
        index,
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

/// A stub's name: as written, or `<file>#<index>`.
fn stub_name(stub: &Stub, input: &Input, i: usize) -> String {
    stub.name
        .clone()
        .unwrap_or_else(|| format!("{}#{i}", input.label))
}

/// Where each stub is filed in the index. A stub with an exact Gigya method goes under the
/// exact value that best tells its method's stubs apart — a parameter's text, or a string at a
/// JSON path of a parameter (`data: {json: {$.tier: {equals: gold}}}`): the one with the most
/// distinct values among them (`UID` rather than a `format: json` or `include: profile` they
/// all share), the first on a tie. Values are counted over the first stubs of each method
/// that have a choice to make (two exact values or more): enough to tell a `UID` from a
/// `format`, and a set keyed by one parameter costs nothing here.
fn index_keys(stubs: &[CompiledStub]) -> Vec<IndexKey<'_>> {
    /// Stubs counted per method.
    const SAMPLE: usize = 16;
    type Hasher = foldhash::fast::RandomState;
    let mut methods: HashMap<&str, KeyGroups<'_>, Hasher> = HashMap::default();
    // (group, value) pairs seen, and distinct values per group.
    let mut seen: HashSet<(usize, &str), Hasher> = HashSet::default();
    let mut distinct: Vec<usize> = Vec::new();
    for stub in stubs {
        let m = &stub.matcher;
        let Some(method) = m.method.as_ref().and_then(Matcher::equality_text) else {
            continue;
        };
        if exact_values(m).nth(1).is_none() {
            continue;
        }
        let groups = methods.entry(method).or_default();
        if groups.sampled == SAMPLE {
            continue;
        }
        groups.sampled += 1;
        for (name, path, value) in exact_values(m) {
            let group = groups.id(name, path, &mut distinct);
            if seen.insert((group, value)) {
                if let Some(n) = distinct.get_mut(group) {
                    *n += 1;
                }
            }
        }
    }
    stubs
        .iter()
        .map(|stub| {
            let m = &stub.matcher;
            if let Some(method) = m.method.as_ref().and_then(Matcher::equality_text) {
                let mut values = exact_values(m).peekable();
                let mut best = values.next();
                if let (Some(_), Some(groups)) = (values.peek(), methods.get(method)) {
                    let spread = |(name, path, _): (&str, Option<&JsonPath>, &str)| {
                        groups
                            .find(name, path)
                            .and_then(|g| distinct.get(g).copied())
                            .unwrap_or(0)
                    };
                    let mut most = best.map_or(0, spread);
                    for candidate in values {
                        let n = spread(candidate);
                        if n > most {
                            (best, most) = (Some(candidate), n);
                        }
                    }
                }
                return IndexKey::Method {
                    method,
                    param: best.map(|(name, path, value)| ParamKey { name, path, value }),
                };
            }
            if let Some(path) = m.path.as_deref().and_then(Matcher::equality_text) {
                return IndexKey::Path(path);
            }
            IndexKey::Generic
        })
        .collect()
}

/// The places (parameter, JSON path) a method's stubs have exact values at, numbered across
/// methods, and how many of its stubs were counted.
#[derive(Default)]
struct KeyGroups<'a> {
    places: Vec<(&'a str, Option<&'a JsonPath>, usize)>,
    sampled: usize,
}

impl<'a> KeyGroups<'a> {
    /// The number of a place (a method has few: they are searched, not hashed).
    fn find(&self, name: &str, path: Option<&JsonPath>) -> Option<usize> {
        self.places
            .iter()
            .find(|(n, p, _)| *n == name && *p == path)
            .map(|(.., id)| *id)
    }

    /// The number of a place, numbering it (with a zero count) when it is new.
    fn id(&mut self, name: &'a str, path: Option<&'a JsonPath>, counts: &mut Vec<usize>) -> usize {
        self.find(name, path).unwrap_or_else(|| {
            counts.push(0);
            let id = counts.len() - 1;
            self.places.push((name, path, id));
            id
        })
    }
}

/// The exact values a request must have for the pattern to match, that the index can file it
/// under: (parameter, JSON path into it, value). Plain parameters first.
fn exact_values(m: &RequestMatcher) -> impl Iterator<Item = (&str, Option<&JsonPath>, &str)> {
    let plain = m
        .params
        .iter()
        .filter_map(|f| Some((f.name.as_str(), None, f.matcher.equality_text()?)));
    let json = m.params.iter().flat_map(|f| {
        let paths = match &f.matcher {
            Matcher::Json(paths) => paths.as_slice(),
            _ => &[],
        };
        paths.iter().filter_map(move |(path, inner)| {
            let value = inner.json_equality_string().filter(|_| path.is_single())?;
            Some((f.name.as_str(), Some(path), value))
        })
    });
    plain.chain(json)
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

    pub(super) fn problem(&mut self, at: &KeyPath, message: impl Into<String>) {
        self.problems.push(CompileProblem {
            input: self.input,
            path: at.clone(),
            message: message.into(),
        });
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
}

#[cfg(test)]
mod tests {
    use crate::exchange::CapturedRequest;
    use crate::scenario::load::{Format, Source};
    use crate::scenario::load_sources;

    #[test]
    fn stubs_are_filed_under_the_parameter_that_tells_them_apart() {
        let mut yaml = String::from("version: 1\nstubs:\n");
        // Every stub sends the same `include` and `format`; only `UID` differs.
        for i in 0..50 {
            yaml.push_str(&format!(
                "  - request: {{ method: accounts.getAccountInfo, params: {{ include: profile, format: json, UID: u-{i} }} }}\n    response: {{}}\n"
            ));
        }
        // One stub with `include` as its only exact parameter is filed under it.
        yaml.push_str(
            "  - request: { method: accounts.getAccountInfo, params: { include: profile } }\n    response: {}\n",
        );
        let set = load_sources(vec![Source {
            label: "t.yaml".into(),
            base_dir: ".".into(),
            format: Format::Yaml,
            text: yaml,
        }])
        .unwrap();
        let mut ids = Vec::new();
        let req = CapturedRequest::gigya_call(
            "accounts.getAccountInfo",
            [("include", "profile"), ("format", "json"), ("UID", "u-7")],
        );
        set.index.candidates(&req, &mut ids);
        assert_eq!(ids, vec![7, 50]);
        let req = CapturedRequest::gigya_call("accounts.getAccountInfo", [("UID", "u-9")]);
        set.index.candidates(&req, &mut ids);
        assert_eq!(ids, vec![9]);
    }

    /// Random stub sets and requests: the first stub that matches among the index's candidates
    /// is the first that matches in the whole list.
    #[test]
    fn the_index_never_changes_which_stub_answers() {
        const PARAMS: [&str; 7] = [
            "UID: u1",
            "UID: u2",
            "uid: u2",
            "format: json",
            "include: profile",
            "UID: { matches: '^u[12]$' }",
            "UID: { absent: true }",
        ];
        const JSON: [(&str, &str); 8] = [
            ("$.tier", "gold"),
            ("$.tier", "silver"),
            ("tier", "gold"),
            ("$.points", "'30'"),
            ("$.flag", "'true'"),
            ("$.tags[*]", "x"),
            ("$.tags[0]", "x"),
            ("$.a.b", "gold"),
        ];
        const DATA: [&str; 9] = [
            r#"{"tier":"gold"}"#,
            r#"{"tier":"silver","points":30}"#,
            r#"{"points":"30","flag":true}"#,
            r#"{"flag":"true","tags":["y","x"]}"#,
            r#"{"tags":["x"],"a":{"b":"gold"}}"#,
            r#"{"tier":5}"#,
            "[1]",
            "gold",
            "{}",
        ];
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..200 {
            let mut yaml = String::from("version: 1\nstubs:\n");
            for _ in 0..rng.usize(1..12) {
                let method = ["a.b", "a.c"][rng.usize(..2)];
                let mut params: Vec<String> = (0..rng.usize(0..3))
                    .map(|_| PARAMS[rng.usize(..PARAMS.len())].to_owned())
                    .collect();
                if rng.bool() {
                    let mut paths: Vec<String> = Vec::new();
                    for _ in 0..rng.usize(1..3) {
                        let (path, value) = JSON[rng.usize(..JSON.len())];
                        if !paths.iter().any(|p| p.starts_with(&format!("'{path}'"))) {
                            paths.push(format!("'{path}': {value}"));
                        }
                    }
                    params.push(format!("data: {{ json: {{ {} }} }}", paths.join(", ")));
                }
                // Repeated names are not valid YAML mappings: keep the first of each.
                let mut names = Vec::new();
                params.retain(|p| {
                    let name = p.split(':').next().unwrap_or_default().to_owned();
                    let new = !names.contains(&name);
                    names.push(name);
                    new
                });
                yaml.push_str(&format!(
                    "  - request: {{ method: {method}, params: {{ {} }} }}\n    response: {{}}\n",
                    params.join(", ")
                ));
            }
            let set = load_sources(vec![Source {
                label: "t.yaml".into(),
                base_dir: ".".into(),
                format: Format::Yaml,
                text: yaml.clone(),
            }])
            .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            let mut ids = Vec::new();
            for _ in 0..30 {
                let method = ["a.b", "a.c"][rng.usize(..2)];
                let mut params = Vec::new();
                for (name, values) in [
                    ("UID", &["u1", "u2", "u3"][..]),
                    ("format", &["json", "xml"][..]),
                    ("include", &["profile"][..]),
                    ("data", &DATA[..]),
                ] {
                    if rng.bool() {
                        params.push((name, values[rng.usize(..values.len())]));
                    }
                }
                let req = CapturedRequest::gigya_call(method, params.iter().copied());
                set.index.candidates(&req, &mut ids);
                let indexed = ids
                    .iter()
                    .copied()
                    .find(|id| set.stubs[*id as usize].matcher.matches(&req));
                let listed = (0..set.stubs.len())
                    .find(|id| set.stubs[*id].matcher.matches(&req))
                    .map(|id| id as u32);
                assert_eq!(indexed, listed, "{yaml}\n{method} {params:?}");
            }
        }
    }
}
