//! Fault rules: "the next N calls to method M fail with error E", probability-based failures
//! with a seed, raw statuses and transport faults; compiled from files and the admin API, with
//! the counters that make up the fault report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;

use super::{CompileProblem, Compiler, DelaySpec, KeyPath};
use crate::gigya::catalog::{self, ErrorInfo};
use crate::scenario::model::{Fault, FaultRule};

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

    /// Continues the counters of the rule this one replaces (a reload).
    pub(super) fn take_counters_from(&self, old: &CompiledFaultRule) {
        self.seen.store(old.seen(), Ordering::Release);
        self.fired.store(old.fired(), Ordering::Release);
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

impl Compiler {
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
}
