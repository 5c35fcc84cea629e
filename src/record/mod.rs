//! Recording: every Gigya call forwarded to the upstream becomes a stub in a scenario file, so a
//! session with the real service can be replayed offline (`gigya-mock record`).
//!
//! A call is identified by its Gigya method and the parameters that say what is asked: secrets
//! (`redact::is_secret_name`) and volatile parameters (`redact::is_volatile_name`: `nonce`,
//! `timestamp`, `userKey`, `format`, ...) are neither written nor matched on. `apiKey` and the
//! other parameters match with `equals`; JSON-valued parameters (`profile`, `data`, ...) with
//! `jsonEquals`, or `jsonIncludes` of what is left when secrets or redacted fields were taken
//! out. Parameters that other recorded calls of the same method send and this one does not are
//! required `absent`, so a call never borrows the answer of a call with more parameters.
//!
//! The answer keeps its `callId`, `errorCode`, `errorDetails` and `validationErrors`;
//! `errorMessage`, `statusCode` and `statusReason` are written only where they differ from the
//! catalogue; `time`, `apiVersion` and `context` are produced again at replay; secrets in the
//! body become `[REDACTED]`. Answers that are not Gigya envelopes are recorded as raw responses
//! (status, `Content-Type`, body text).
//!
//! The same call answered differently later is recorded as a response sequence (`responses`)
//! that replays in order: each answer as often as it was seen, the last one repeating.
//!
//! `--redact <param>` or `--redact <param>.<json.path>` hides more values (e.g. emails): a
//! redacted parameter is matched with `present: true` (a redacted field inside a JSON parameter
//! is left out of its `jsonIncludes`), and the recorded values are replaced in answers by a
//! stable placeholder `redacted-<8 hex digits of their SHA-256>`, at the rule's path and
//! wherever else the same text appears.
//!
//! Every recorded call rewrites its whole file atomically ([`writer::write_atomic`]) before the
//! client gets its answer, so the files are complete and valid at every moment.

mod answers;
mod matchers;
mod redaction;
mod stubs;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indexmap::IndexMap;

use crate::exchange::CapturedRequest;
use crate::scenario::model::{Response, ValueMatch};
use crate::server::upstream::UpstreamAnswer;
use answers::same_answer;
use matchers::value_match_json;

pub use answers::envelope_head;
pub use redaction::placeholder;

/// How recorded stubs are spread over files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Layout {
    /// One file per Gigya method: `<out>/<method>.yaml` (default).
    #[default]
    PerMethod,
    /// One file for the whole recording: `<out>/session-<UTC time>.yaml`.
    PerSession,
}

/// What to record and where.
#[derive(Debug, Clone, Default)]
pub struct RecordConfig {
    /// The directory the files go to (created when missing).
    pub out: PathBuf,
    /// One file per method or per session.
    pub layout: Layout,
    /// Gigya methods to record (`accounts.*`, `socialize.getUserInfo`; `*` is a wildcard,
    /// case is ignored); empty records every method. Other calls are forwarded only.
    pub methods: Vec<String>,
    /// Extra values to hide: a parameter name, or `param.json.path`.
    pub redact: Vec<String>,
    /// Where the answers come from, for the files' header comment.
    pub upstream: String,
    /// Keep each answer's recorded `time` instead of letting replays write the current time.
    pub keep_time: bool,
}

/// Why recording could not start or a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A `--redact` rule is malformed.
    #[error("--redact {0:?}: {1}")]
    Rule(String, &'static str),
    /// A `--methods` pattern is malformed.
    #[error("--methods {0:?}: {1}")]
    Methods(String, &'static str),
    /// The output directory cannot be created.
    #[error("cannot create the output directory {}: {source}", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The request half of a recorded call: method and decoded parameters, in arrival order.
#[derive(Debug, Clone)]
pub struct Call {
    /// The Gigya method.
    pub method: String,
    /// Parameters (query and body merged).
    pub params: Vec<(String, String)>,
}

impl Call {
    /// The call a request makes; `None` when its path names no Gigya method or its parameters
    /// could not be decoded (nothing would identify it).
    #[must_use]
    pub fn of(req: &CapturedRequest) -> Option<Self> {
        let method = req.gigya_method.clone()?;
        let params = req.params.as_ref().ok()?;
        Some(Self {
            method,
            params: params
                .iter()
                .map(|p| (p.name().to_owned(), p.value().to_owned()))
                .collect(),
        })
    }
}

/// A parsed `--redact` rule: a parameter name and a path inside its JSON value.
#[derive(Debug, Clone)]
struct Rule {
    segments: Vec<String>,
}

/// One identified call and the answers it got, in order (each with how many times in a row).
#[derive(Debug)]
struct Recorded {
    method: String,
    key: String,
    api_key: Option<ValueMatch>,
    params: Vec<(String, ValueMatch)>,
    answers: Vec<(Response, u64)>,
}

#[derive(Debug, Default)]
struct State {
    files: IndexMap<PathBuf, Vec<Recorded>>,
}

/// Turns forwarded calls into stubs and keeps the files up to date.
#[derive(Debug)]
pub struct Recorder {
    config: RecordConfig,
    rules: Vec<Rule>,
    session: String,
    state: Mutex<State>,
}

impl Recorder {
    /// Checks the rules and creates the output directory.
    ///
    /// # Errors
    /// A malformed `--redact` or `--methods` value; a directory that cannot be created.
    pub fn new(config: RecordConfig) -> Result<Self, RecordError> {
        let mut rules = Vec::new();
        for r in &config.redact {
            let segments: Vec<String> = r.trim().split('.').map(str::to_owned).collect();
            if segments.iter().any(String::is_empty) {
                return Err(RecordError::Rule(
                    r.clone(),
                    "expected a parameter name or param.json.path, e.g. loginID or profile.email",
                ));
            }
            rules.push(Rule { segments });
        }
        for m in &config.methods {
            if m.trim().is_empty() || m.contains(char::is_whitespace) {
                return Err(RecordError::Methods(
                    m.clone(),
                    "expected method names or patterns such as accounts.* or socialize.getUserInfo",
                ));
            }
        }
        std::fs::create_dir_all(&config.out).map_err(|source| RecordError::Directory {
            path: config.out.clone(),
            source,
        })?;
        let session = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
        Ok(Self {
            config,
            rules,
            session,
            state: Mutex::new(State::default()),
        })
    }

    /// Whether calls to `method` are recorded (`--methods`).
    #[must_use]
    pub fn wants(&self, method: &str) -> bool {
        self.config.methods.is_empty()
            || self
                .config
                .methods
                .iter()
                .any(|p| glob(&p.trim().to_ascii_lowercase(), &method.to_ascii_lowercase()))
    }

    /// The files written so far.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        self.lock().files.keys().cloned().collect()
    }

    /// How many answers were recorded so far.
    #[must_use]
    pub fn recorded(&self) -> u64 {
        self.lock()
            .files
            .values()
            .flatten()
            .flat_map(|r| r.answers.iter().map(|(_, n)| *n))
            .sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update leaves the state consistent before anything can panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records one call and its answer, rewriting the call's file. Returns the file's path.
    ///
    /// # Errors
    /// The file cannot be written (the call stays recorded and is written with the next one).
    pub fn record(&self, call: &Call, answer: &UpstreamAnswer) -> Result<PathBuf, RecordError> {
        let mut hidden = Vec::new();
        let (api_key, params) = self.identity(call, &mut hidden);
        let response = self.response(answer, &mut hidden);
        let key = serde_json::to_string(&(
            &call.method,
            api_key.as_ref().map(value_match_json),
            params
                .iter()
                .map(|(n, m)| (n.to_ascii_lowercase(), value_match_json(m)))
                .collect::<Vec<_>>(),
        ))
        .unwrap_or_default();
        let path = match self.config.layout {
            Layout::PerMethod => self.config.out.join(format!("{}.yaml", call.method)),
            Layout::PerSession => self
                .config
                .out
                .join(format!("session-{}.yaml", self.session)),
        };
        let mut state = self.lock();
        let calls = state.files.entry(path.clone()).or_default();
        match calls.iter_mut().find(|r| r.key == key) {
            Some(r) => match r.answers.last_mut() {
                Some((last, n)) if same_answer(last, &response) => *n += 1,
                _ => r.answers.push((response, 1)),
            },
            None => calls.push(Recorded {
                method: call.method.clone(),
                key,
                api_key,
                params,
                answers: vec![(response, 1)],
            }),
        }
        let text = self.render(calls);
        writer::write_atomic(&path, &text).map_err(|source| RecordError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| glob(tail, rest.get(i..).unwrap_or_default()))
        }
    }
}

/// The files a recording wrote, for messages: `a.yaml, b.yaml`.
#[must_use]
pub fn describe_files(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| {
            p.file_name()
                .map(Path::new)
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
