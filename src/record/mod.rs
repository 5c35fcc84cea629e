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

pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indexmap::IndexMap;
use serde_json::Value;
use sha2::Digest as _;

use crate::exchange::CapturedRequest;
use crate::gigya::catalog;
use crate::gigya::params::JSON_PARAMS;
use crate::redact;
use crate::scenario::model::{RequestPattern, Response, Stub, ValidationError, ValueMatch};
use crate::server::upstream::UpstreamAnswer;

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

/// The `errorCode` and `callId` of a JSON (or JSONP) envelope body.
#[must_use]
pub fn envelope_head(body: &[u8]) -> (Option<u32>, Option<String>) {
    let Some(Value::Object(map)) = parse_body(body) else {
        return (None, None);
    };
    let code = map
        .get("errorCode")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    let call_id = map.get("callId").and_then(Value::as_str).map(str::to_owned);
    (code, call_id)
}

/// A body as JSON, unwrapping JSONP (`cb({...});`).
fn parse_body(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('{') || text.starts_with('[') {
        return serde_json::from_str(text).ok();
    }
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(..open)?;
    if !crate::gigya::envelope::valid_callback(name.trim()) {
        return None;
    }
    serde_json::from_str(text.get(open + 1..close)?).ok()
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

    /// The request pattern of a call: `apiKey` and the other identifying parameters.
    fn identity(
        &self,
        call: &Call,
        hidden: &mut Vec<String>,
    ) -> (Option<ValueMatch>, Vec<(String, ValueMatch)>) {
        let mut api_key = None;
        let mut params: Vec<(String, ValueMatch)> = Vec::new();
        for (name, value) in &call.params {
            if redact::is_secret_name(name)
                || redact::is_volatile_name(name)
                || params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let rules: Vec<&Rule> = self
                .rules
                .iter()
                .filter(|r| {
                    r.segments
                        .first()
                        .is_some_and(|s| s.eq_ignore_ascii_case(name))
                })
                .collect();
            let matcher = if rules.iter().any(|r| r.segments.len() == 1) {
                hidden.push(value.clone());
                present()
            } else {
                param_matcher(name, value, &rules, hidden)
            };
            if name.eq_ignore_ascii_case("apiKey") && api_key.is_none() {
                api_key = Some(matcher);
            } else {
                params.push((name.clone(), matcher));
            }
        }
        params.sort_by_key(|(n, _)| n.to_ascii_lowercase());
        (api_key, params)
    }

    /// The stub answer for an upstream answer, redacted.
    fn response(&self, answer: &UpstreamAnswer, hidden: &mut Vec<String>) -> Response {
        let parsed = parse_body(&answer.body);
        let envelope = match parsed {
            Some(Value::Object(map)) if map.get("errorCode").is_some_and(Value::is_u64) => {
                Some(map)
            }
            _ => None,
        };
        let Some(mut map) = envelope else {
            return self.raw_response(answer, &hidden[..]);
        };
        for rule in &self.rules {
            let mut v = Value::Object(std::mem::take(&mut map));
            hide_at(&mut v, &rule.segments, hidden);
            if let Value::Object(m) = v {
                map = m;
            }
        }
        let mut body = Value::Object(map);
        replace_hidden(&mut body, hidden);
        redact::json(&mut body);
        let Value::Object(mut map) = body else {
            return Response::default();
        };
        let code = map
            .get("errorCode")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0);
        let info = catalog::describe(code);
        let mut r = Response {
            error_code: Some(code),
            ..Response::default()
        };
        r.call_id = map
            .get("callId")
            .and_then(Value::as_str)
            .filter(|id| {
                id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .map(str::to_owned);
        if code != 0 {
            r.error_details = map
                .get("errorDetails")
                .and_then(Value::as_str)
                .map(str::to_owned);
            r.error_message = map
                .get("errorMessage")
                .and_then(Value::as_str)
                .filter(|m| *m != info.message || !catalog::is_known(code))
                .map(str::to_owned);
            if r.error_message.is_none() && !catalog::is_known(code) {
                r.error_message = Some(String::new());
            }
            r.validation_errors = map
                .get("validationErrors")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(validation_error).collect())
                .unwrap_or_default();
        }
        r.status_code = map
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| *s != info.status_code && (100..=999).contains(s));
        let expected_reason = r
            .status_code
            .map_or(info.status_reason, catalog::reason_phrase);
        r.status_reason = map
            .get("statusReason")
            .and_then(Value::as_str)
            .filter(|s| *s != expected_reason)
            .map(str::to_owned);
        if self.config.keep_time {
            r.time = map
                .get("time")
                .and_then(Value::as_str)
                .filter(|t| crate::scenario::compile::valid_time(t))
                .map(str::to_owned);
        }
        for key in crate::gigya::envelope::ENVELOPE_FIELDS {
            map.shift_remove(*key);
        }
        if !map.is_empty() {
            r.body = Some(Value::Object(map));
        }
        r
    }

    fn raw_response(&self, answer: &UpstreamAnswer, hidden: &[String]) -> Response {
        let content_type = answer.header("content-type");
        let kind = redact::BodyKind::of_response(content_type, &answer.body);
        let body = redact::body(kind, &answer.body);
        let mut text = String::from_utf8_lossy(&body).into_owned();
        for value in hidden.iter().filter(|v| !v.is_empty()) {
            text = text.replace(value.as_str(), &placeholder(value));
        }
        let mut headers = IndexMap::new();
        if let Some(ct) = content_type {
            headers.insert("Content-Type".to_owned(), ct.to_owned());
        }
        Response {
            status: Some(answer.status.as_u16()),
            body: (!text.is_empty()).then_some(Value::String(text)),
            headers,
            ..Response::default()
        }
    }

    /// The stubs of the calls recorded into one file, each with the comment that goes above
    /// it.
    fn stubs(&self, calls: &[Recorded]) -> Vec<(Option<String>, Stub)> {
        let mut stubs = Vec::new();
        let mut numbers: IndexMap<&str, usize> = IndexMap::new();
        for r in calls {
            let n = {
                let count = numbers.entry(r.method.as_str()).or_default();
                *count += 1;
                *count
            };
            let base = match self.config.layout {
                Layout::PerMethod => format!("{}-{n}", r.method),
                Layout::PerSession => format!("{}-{}-{n}", self.session, r.method),
            };
            let siblings: Vec<&Recorded> = calls.iter().filter(|o| o.method == r.method).collect();
            let request = pattern(r, &siblings);
            let total = r.answers.len();
            let stub = if total == 1 {
                Stub {
                    name: Some(base),
                    request,
                    response: r
                        .answers
                        .first()
                        .map(|(resp, _)| resp.clone())
                        .unwrap_or_default(),
                    ..Stub::default()
                }
            } else {
                // Each answer as often as it was seen, in order; the last one repeats.
                let mut responses = Vec::new();
                for (i, (response, seen)) in r.answers.iter().enumerate() {
                    let copies = if i + 1 == total { 1 } else { (*seen).max(1) };
                    for _ in 0..copies {
                        responses.push(response.clone());
                    }
                }
                Stub {
                    name: Some(base),
                    request,
                    responses,
                    ..Stub::default()
                }
            };
            let comment = (total > 1).then(|| {
                format!(
                    "{} call {n}: {total} different answers, in the order they came; the last repeats",
                    r.method
                )
            });
            stubs.push((comment, stub));
        }
        stubs
    }

    /// The whole file for the calls recorded into it.
    fn render(&self, calls: &[Recorded]) -> String {
        let mut out = format!(
            "# Recorded by `gigya-mock record` from {}.\n\
             # Secrets and volatile parameters (sig, nonce, timestamp, userKey, ...) are not\n\
             # recorded; `time` is generated at replay. Rewritten whole after every call.\n\
             version: 1\nstubs:\n",
            self.config.upstream
        );
        for (comment, stub) in self.stubs(calls) {
            out.push('\n');
            if let Some(c) = comment {
                out.push_str("  # ");
                out.push_str(&c);
                out.push('\n');
            }
            let mut v = serde_json::to_value(&stub).unwrap_or(Value::Null);
            if !stub.responses.is_empty() {
                // A sequence replaces the single answer; the model's default one is not written.
                if let Some(obj) = v.as_object_mut() {
                    obj.shift_remove("response");
                }
            }
            shorten_matchers(&mut v);
            writer::item(&v, 2, &mut out);
        }
        out
    }
}

fn validation_error(item: &Value) -> Option<ValidationError> {
    let code = u32::try_from(item.get("errorCode")?.as_u64()?).ok()?;
    let field_name = item.get("fieldName")?.as_str()?.to_owned();
    let message = item
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| *m != catalog::describe(code).message)
        .map(str::to_owned);
    Some(ValidationError {
        error_code: code,
        message,
        field_name,
    })
}

/// Two answers are the same when only their `callId` (and a kept `time`) differ.
fn same_answer(a: &Response, b: &Response) -> bool {
    let strip = |r: &Response| Response {
        call_id: None,
        time: None,
        ..r.clone()
    };
    strip(a) == strip(b)
}

/// The request pattern of a call, with `absent` for parameters its siblings (same method, same
/// file) send and it does not.
fn pattern(r: &Recorded, siblings: &[&Recorded]) -> RequestPattern {
    let mut params: IndexMap<String, ValueMatch> = r.params.iter().cloned().collect();
    let mut missing: Vec<String> = Vec::new();
    for s in siblings {
        for (name, _) in &s.params {
            let known = params
                .keys()
                .chain(missing.iter())
                .any(|n| n.eq_ignore_ascii_case(name));
            if !known {
                missing.push(name.clone());
            }
        }
    }
    missing.sort_by_key(|n| n.to_ascii_lowercase());
    for name in missing {
        params.insert(
            name,
            ValueMatch {
                absent: Some(true),
                ..ValueMatch::default()
            },
        );
    }
    let api_key = r.api_key.clone().or_else(|| {
        siblings
            .iter()
            .any(|s| s.api_key.is_some())
            .then(|| ValueMatch {
                absent: Some(true),
                ..ValueMatch::default()
            })
    });
    RequestPattern {
        method: Some(Box::new(equals(Value::String(r.method.clone())))),
        api_key: api_key.map(Box::new),
        params,
        ..RequestPattern::default()
    }
}

fn equals(v: Value) -> ValueMatch {
    ValueMatch {
        equals: Some(v),
        ..ValueMatch::default()
    }
}

fn present() -> ValueMatch {
    ValueMatch {
        present: Some(true),
        ..ValueMatch::default()
    }
}

fn value_match_json(m: &ValueMatch) -> Value {
    serde_json::to_value(m).unwrap_or(Value::Null)
}

/// The matcher for one identifying parameter.
fn param_matcher(name: &str, value: &str, rules: &[&Rule], hidden: &mut Vec<String>) -> ValueMatch {
    let is_json_param = JSON_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name));
    let parsed = if is_json_param || !rules.is_empty() {
        serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    } else {
        None
    };
    let Some(mut json) = parsed else {
        if redact::is_secret_name(name) || redact::json_text(value) != value {
            return present();
        }
        return equals(Value::String(value.to_owned()));
    };
    let mut partial = redact::strip_json(&mut json);
    for rule in rules {
        partial |= remove_at(
            &mut json,
            rule.segments.get(1..).unwrap_or_default(),
            hidden,
        );
    }
    let mut check = json.clone();
    if redact::json(&mut check) {
        // Secrets in JSON text nested inside the value: nothing safe to compare.
        return present();
    }
    if partial {
        ValueMatch {
            json_includes: Some(json),
            ..ValueMatch::default()
        }
    } else {
        ValueMatch {
            json_equals: Some(json),
            ..ValueMatch::default()
        }
    }
}

/// Removes the members at `path` (arrays are searched element by element), keeping their text
/// in `hidden`. Returns whether anything was removed.
fn remove_at(v: &mut Value, path: &[String], hidden: &mut Vec<String>) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match v {
        Value::Object(map) => {
            let Some(key) = map.keys().find(|k| *k == first).cloned() else {
                return false;
            };
            if rest.is_empty() {
                if let Some(removed) = map.shift_remove(&key) {
                    collect_scalars(&removed, hidden);
                }
                true
            } else {
                map.get_mut(&key)
                    .is_some_and(|inner| remove_at(inner, rest, hidden))
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, i| remove_at(i, path, hidden) | acc),
        _ => false,
    }
}

/// Replaces the scalars at `path` with placeholders, keeping their text in `hidden`.
fn hide_at(v: &mut Value, path: &[String], hidden: &mut Vec<String>) {
    match (v, path.split_first()) {
        (Value::Object(map), Some((first, rest))) => {
            if let Some(inner) = map.get_mut(first.as_str()) {
                hide_at(inner, rest, hidden);
            }
        }
        (Value::Array(items), _) => {
            for i in items {
                hide_at(i, path, hidden);
            }
        }
        (leaf, None) => {
            if let Some(text) = scalar_text(leaf) {
                *leaf = Value::String(placeholder(&text));
                hidden.push(text);
            }
        }
        _ => {}
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn collect_scalars(v: &Value, hidden: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_scalars(i, hidden)),
        Value::Object(map) => map.values().for_each(|i| collect_scalars(i, hidden)),
        other => hidden.extend(scalar_text(other)),
    }
}

/// Replaces every string equal to a hidden value (and hidden values inside `errorDetails`)
/// with its placeholder.
fn replace_hidden(v: &mut Value, hidden: &[String]) {
    if hidden.is_empty() {
        return;
    }
    match v {
        Value::String(s) if hidden.iter().any(|h| h == s) => *s = placeholder(s),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_hidden(i, hidden)),
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if k == "errorDetails" || k == "errorMessage" {
                    if let Value::String(s) = item {
                        for h in hidden.iter().filter(|h| !h.is_empty()) {
                            *s = s.replace(h.as_str(), &placeholder(h));
                        }
                    }
                } else {
                    replace_hidden(item, hidden);
                }
            }
        }
        _ => {}
    }
}

/// The stable stand-in for a redacted value.
#[must_use]
pub fn placeholder(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("redacted-{hex}")
}

/// `{equals: scalar}` matchers written as the bare scalar (the file format's shorthand).
fn shorten_matchers(stub: &mut Value) {
    let Some(request) = stub.get_mut("request").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["method", "apiKey"] {
        if let Some(m) = request.get_mut(key) {
            shorten(m);
        }
    }
    if let Some(Value::Object(params)) = request.get_mut("params") {
        params.values_mut().for_each(shorten);
    }
}

fn shorten(m: &mut Value) {
    if let Value::Object(map) = m {
        if map.len() == 1 {
            if let Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) =
                map.get("equals")
            {
                *m = v.clone();
            }
        }
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
