//! The engine's live-scenario state and answers: injected fault rules (from the files and the
//! admin API), sequence positions and templates of stub answers, random delays, and the
//! status of the last scenario reload (which the health endpoint reports).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::HeaderValue;
use serde::Serialize;

use super::{CallContext, Engine, EnvelopeSpec};
use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::catalog::codes;
use crate::scenario::compile::{
    AnswerExtras, CompiledFaultRule, FaultAction, ResponseTemplate, transport_fault,
};
use crate::scenario::model::Fault;
use crate::scenario::template::RenderInput;
use crate::scenario::{CompiledResponse, CompiledStub, ScenarioSet, Summary};

use crate::gigya::envelope::ENVELOPE_FIELDS;

/// The most fault rules the admin API keeps.
pub const MAX_ADMIN_FAULTS: usize = 1000;

/// Live state of the engine.
#[derive(Debug, Default)]
pub(super) struct LiveState {
    faults: FaultRegistry,
    reload: ReloadStatus,
}

/// Fault rules added through the admin API (the files' rules live in the scenario set).
#[derive(Debug, Default)]
pub struct FaultRegistry {
    rules: ArcSwap<Vec<Arc<CompiledFaultRule>>>,
    write: Mutex<()>,
    added: AtomicUsize,
}

impl FaultRegistry {
    /// The current rules, in the order they were added.
    #[must_use]
    pub fn rules(&self) -> Arc<Vec<Arc<CompiledFaultRule>>> {
        self.rules.load_full()
    }

    /// How many rules were ever added (for default names).
    #[must_use]
    pub fn added(&self) -> usize {
        self.added.load(Ordering::Acquire)
    }

    /// Appends rules; false (and nothing added) when that would exceed [`MAX_ADMIN_FAULTS`].
    pub fn add(&self, new: Vec<CompiledFaultRule>) -> bool {
        let Ok(_guard) = self.write.lock() else {
            return false;
        };
        let current = self.rules.load_full();
        if current.len() + new.len() > MAX_ADMIN_FAULTS {
            return false;
        }
        self.added.fetch_add(new.len(), Ordering::AcqRel);
        let mut next: Vec<Arc<CompiledFaultRule>> = current.iter().cloned().collect();
        next.extend(new.into_iter().map(Arc::new));
        self.rules.store(Arc::new(next));
        true
    }

    /// Removes every rule; returns how many there were.
    pub fn clear(&self) -> usize {
        let Ok(_guard) = self.write.lock() else {
            return 0;
        };
        let old = self.rules.swap(Arc::new(Vec::new()));
        old.len()
    }
}

/// The outcome of the latest scenario (re)load, for the health endpoint.
#[derive(Debug, Default)]
pub struct ReloadStatus {
    state: Mutex<ReloadState>,
}

/// A snapshot of [`ReloadStatus`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadState {
    /// Whether the scenario files are watched.
    pub watching: bool,
    /// Successful reloads since start.
    pub reloads: u64,
    /// Failed reloads since start.
    pub failures: u64,
    /// Problems of the latest attempt (`path:line:col: message`); empty when it succeeded.
    pub errors: Vec<String>,
    /// When the latest successful reload happened (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reload: Option<String>,
    /// How long it took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_reload_ms: Option<u64>,
    /// When the latest failed attempt happened (ISO 8601).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<String>,
}

impl ReloadState {
    /// Whether the server is serving an older set than the files describe.
    #[must_use]
    pub fn degraded(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl ReloadStatus {
    fn update(&self, f: impl FnOnce(&mut ReloadState)) {
        if let Ok(mut s) = self.state.lock() {
            f(&mut s);
        }
    }

    /// Marks the files as watched.
    pub fn set_watching(&self, watching: bool) {
        self.update(|s| s.watching = watching);
    }

    /// Records a successful reload.
    pub fn record_success(&self, at: SystemTime, took: Duration) {
        self.update(|s| {
            s.reloads += 1;
            s.errors.clear();
            s.last_reload = Some(crate::gigya::envelope::format_time(at));
            s.last_reload_ms = Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
        });
    }

    /// Records a failed reload and its problems.
    pub fn record_failure(&self, at: SystemTime, errors: Vec<String>) {
        self.update(|s| {
            s.failures += 1;
            s.errors = errors;
            s.last_failure = Some(crate::gigya::envelope::format_time(at));
        });
    }

    /// The current status.
    #[must_use]
    pub fn snapshot(&self) -> ReloadState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Engine {
    /// Fault rules added through the admin API.
    #[must_use]
    pub fn faults(&self) -> &FaultRegistry {
        &self.live.faults
    }

    /// The status of the latest scenario reload.
    #[must_use]
    pub fn reload_status(&self) -> &ReloadStatus {
        &self.live.reload
    }

    /// Swaps in a reloaded scenario set atomically, keeping the counters of what survives
    /// (see [`ScenarioSet::carry_over_from`]). Requests already dispatched finish on the set
    /// they started with.
    pub fn reload_scenarios(&self, set: ScenarioSet) -> Summary {
        let summary = set.summary();
        drop(self.swap_scenarios(set));
        summary
    }

    /// Every fault rule in the order they are checked (admin rules first), each with its
    /// counters.
    #[must_use]
    pub fn fault_report(&self) -> Vec<serde_json::Value> {
        let set = self.scenarios.load();
        self.live
            .faults
            .rules()
            .iter()
            .chain(set.fault_rules())
            .map(|r| r.report())
            .collect()
    }

    /// The first fault rule that fires for this call.
    pub(super) fn fire_fault(
        &self,
        set: &ScenarioSet,
        req: &CapturedRequest,
    ) -> Option<Arc<CompiledFaultRule>> {
        let admin = self.live.faults.rules.load();
        if admin.is_empty() && set.fault_rules().is_empty() {
            return None;
        }
        let method = req.gigya_method.as_deref();
        let rule = admin
            .iter()
            .chain(set.fault_rules())
            .find(|r| r.try_fire(method))?
            .clone();
        tracing::info!(
            target: "gigya_mock::fault",
            rule = %rule.name,
            call = method.unwrap_or(&req.path),
            fired = rule.fired(),
            "fault rule fired"
        );
        Some(rule)
    }

    /// The answer of a rule that replaces the normal one; `None` for rules that only change
    /// how the normal answer is sent.
    pub(super) fn fault_reply(&self, rule: &CompiledFaultRule, ctx: &CallContext) -> Option<Reply> {
        let outcome = Outcome::Fault(rule.name.clone());
        let reply = match &rule.action {
            FaultAction::Wrap => return None,
            FaultAction::Error {
                info,
                message,
                details,
            } => {
                let mut spec = EnvelopeSpec::code(info.code, outcome);
                spec.info = *info;
                spec.message = message.clone();
                spec.details = details.clone();
                self.envelope(ctx, spec)
            }
            FaultAction::Status(status) => Reply {
                status: *status,
                headers: Vec::new(),
                body: Bytes::new(),
                delay: None,
                outcome,
                error_code: None,
                call_id: None,
                fault: None,
            },
        };
        Some(self.wrap_with_fault(reply, rule))
    }

    /// Applies a rule's delay and transport fault to a reply.
    pub(super) fn wrap_with_fault(&self, mut reply: Reply, rule: &CompiledFaultRule) -> Reply {
        if let Some(d) = rule.sample_delay() {
            reply.delay = Some(d);
        }
        if let Some(f) = &rule.fault {
            apply_fault(&mut reply, f);
        }
        reply
    }

    /// A stub's answer for its `ordinal`-th match: the sequence position picks the response;
    /// templates are rendered; random delays and faults are applied.
    pub(super) fn live_stub_reply(
        &self,
        set: &ScenarioSet,
        stub: &CompiledStub,
        ordinal: u64,
        req: &CapturedRequest,
        ctx: &CallContext,
    ) -> Reply {
        let (response, extras) = stub.answer(ordinal);
        let mut reply = match &extras.template {
            None => self.stub_reply(stub, response, ctx),
            Some(t) => match self.templated_reply(set, stub, response, t, req, ctx) {
                Ok(r) => r,
                Err(e) => return self.template_failure(stub, &e, ctx),
            },
        };
        apply_extras(&mut reply, extras, stub);
        reply
    }

    fn templated_reply(
        &self,
        set: &ScenarioSet,
        stub: &CompiledStub,
        response: &CompiledResponse,
        t: &ResponseTemplate,
        req: &CapturedRequest,
        ctx: &CallContext,
    ) -> Result<Reply, String> {
        let templates = set.templates();
        let fixed_call_id = match response {
            CompiledResponse::Gigya(g) => g.call_id.clone(),
            CompiledResponse::Raw(_) => None,
        };
        let call_id = fixed_call_id.unwrap_or_else(|| self.new_call_id());
        let input = RenderInput {
            req,
            call_id: &call_id,
            now: self.clock().now(),
            rng: &stub.live.rng,
        };
        let mut headers = Vec::with_capacity(t.headers.len());
        for (name, text) in &t.headers {
            let v = templates.render_text(text, &input).map_err(|e| e.0)?;
            let v = HeaderValue::from_str(&v).map_err(|_| {
                format!("header {name} rendered to a value HTTP does not allow: {v:?}")
            })?;
            headers.push((name.clone(), v));
        }
        let mut reply = match response {
            CompiledResponse::Gigya(g) => {
                let render = |t: &Option<_>, fixed: &Option<String>| match t {
                    Some(t) => templates.render_text(t, &input).map(Some).map_err(|e| e.0),
                    None => Ok(fixed.clone()),
                };
                let message = render(&t.message, &g.message)?;
                let details = render(&t.details, &g.details)?;
                let (fields, dynamic_fields) = match &t.body {
                    None => (Some(g.fields.clone()), None),
                    Some(body) => match templates.render_value(body, &input).map_err(|e| e.0)? {
                        serde_json::Value::Object(mut map) => {
                            map.retain(|k, _| !ENVELOPE_FIELDS.contains(&k.as_str()));
                            (None, Some(map))
                        }
                        other => {
                            return Err(format!(
                                "the body rendered to {}, not an object of top-level fields",
                                crate::scenario::compile::json_type(&other)
                            ));
                        }
                    },
                };
                let mut all_headers = g.headers.clone();
                all_headers.extend(headers);
                self.envelope(
                    ctx,
                    EnvelopeSpec {
                        info: g.info,
                        message,
                        status_reason: g.status_reason.clone(),
                        details,
                        validation_errors: g.validation_errors.clone(),
                        fields,
                        dynamic_fields,
                        call_id: Some(call_id.clone()),
                        time: g.time.clone(),
                        headers: all_headers,
                        delay: g.delay,
                        outcome: Outcome::Stub(stub.name.clone()),
                    },
                )
            }
            CompiledResponse::Raw(r) => {
                let body = match &t.body {
                    None => r.body.clone(),
                    Some(b) => match templates.render_value(b, &input).map_err(|e| e.0)? {
                        serde_json::Value::String(s) => Bytes::from(s),
                        other => Bytes::from(other.to_string()),
                    },
                };
                let mut all_headers = r.headers.clone();
                all_headers.extend(headers);
                Reply {
                    status: r.status,
                    headers: all_headers,
                    body,
                    delay: r.delay,
                    outcome: Outcome::Stub(stub.name.clone()),
                    error_code: None,
                    call_id: None,
                    fault: None,
                }
            }
        };
        reply.call_id = reply.call_id.or(Some(call_id));
        Ok(reply)
    }

    /// A template that fails at request time answers 500001 naming the stub and the problem.
    fn template_failure(&self, stub: &CompiledStub, error: &str, ctx: &CallContext) -> Reply {
        tracing::warn!(target: "gigya_mock::template", stub = %stub.name, "template failed: {error}");
        let spec = EnvelopeSpec::code(
            codes::GENERAL_SERVER_ERROR,
            Outcome::Stub(stub.name.clone()),
        )
        .details(format!("[gigya-mock] stub {:?}: {error}", &*stub.name));
        self.envelope(ctx, spec)
    }
}

fn apply_extras(reply: &mut Reply, extras: &AnswerExtras, stub: &CompiledStub) {
    if let Some(d) = &extras.delay {
        reply.delay = Some(d.sample_shared(&stub.live.rng));
    }
    if let Some(f) = &extras.fault {
        apply_fault(reply, f);
    }
}

/// Applies a fault: the engine cuts a malformed body itself; the server does the rest.
fn apply_fault(reply: &mut Reply, fault: &Fault) {
    match transport_fault(fault) {
        Some(t) => reply.fault = Some(t),
        None => {
            // Half the body (at least one byte short of the whole): valid HTTP, broken JSON.
            let cut = (reply.body.len() / 2).min(reply.body.len().saturating_sub(1));
            reply.body = if reply.body.is_empty() {
                Bytes::from_static(b"{")
            } else {
                reply.body.slice(..cut)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_cut() {
        let mut r = Reply {
            status: http::StatusCode::OK,
            headers: Vec::new(),
            body: Bytes::from_static(b"{\"a\":1}"),
            delay: None,
            outcome: Outcome::Rejected,
            error_code: None,
            call_id: None,
            fault: None,
        };
        apply_fault(&mut r, &Fault::MalformedBody);
        assert_eq!(&r.body[..], b"{\"a");
        assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
        r.body = Bytes::new();
        apply_fault(&mut r, &Fault::MalformedBody);
        assert_eq!(&r.body[..], b"{");
    }

    #[test]
    fn reload_status_reports_degraded_until_a_good_reload() {
        let s = ReloadStatus::default();
        assert!(!s.snapshot().degraded());
        s.record_failure(SystemTime::UNIX_EPOCH, vec!["a.yaml:1:1: bad".into()]);
        let snap = s.snapshot();
        assert!(snap.degraded());
        assert_eq!(snap.failures, 1);
        s.record_success(SystemTime::UNIX_EPOCH, Duration::from_millis(3));
        let snap = s.snapshot();
        assert!(!snap.degraded());
        assert_eq!(snap.reloads, 1);
        assert_eq!(snap.last_reload_ms, Some(3));
    }
}
