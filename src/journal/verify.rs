//! Checking `expect:` clauses against journal entries, and the report that comes out.
//!
//! A failed expectation says what was expected, what arrived (the ids of the calls that
//! counted), and the closest calls with one line per difference — the same near-miss reasons
//! the unmatched answer gives. When the journal has evicted entries, verdicts that evicted
//! calls could have changed are marked unreliable, and the report says so.
//!
//! The report is plain data (serializable both ways) so the server can compute it for
//! `POST /__admin/verify` and the CLI can render it; [`Report::to_text`] and
//! [`super::junit::render`] are its two renderings.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::entry::{AnsweredBy, Entry};
use crate::exchange::CapturedRequest;
use crate::scenario::ScenarioSet;
use crate::scenario::expect::{Check, CompiledExpectation, Target, count_text};

/// How many closest calls a failure lists.
pub const CLOSEST: usize = 3;

/// How many call ids an "arrived" line lists before eliding.
const MAX_IDS: usize = 10;

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Every expectation was met.
    pub passed: bool,
    /// Number of expectations.
    pub total: usize,
    /// Number not met.
    pub failed: usize,
    /// Entries examined.
    pub entries: usize,
    /// The journal filter that chose the entries examined (`header.x-test=a, since=42`), when
    /// not the whole journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Entries the journal had evicted before the check.
    pub dropped: u64,
    /// Set when evictions make some verdicts unreliable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// One verdict per expectation, in file order.
    pub results: Vec<Verdict>,
}

/// The verdict on one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The expectation's `name`, or its description.
    pub name: String,
    /// What it checks, in words.
    pub description: String,
    /// Where it is written (`file:line:col`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Whether it was met.
    pub passed: bool,
    /// False when evicted entries could change the verdict.
    pub reliable: bool,
    /// What was expected: "exactly 1 call".
    pub expected: String,
    /// What arrived: "2 calls (#3, #7)".
    pub actual: String,
    /// Ids of the calls that counted.
    pub matching: Vec<u64>,
    /// For too few calls: the nearest calls and how each differs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closest: Vec<CloseCall>,
    /// For too many calls: the calls beyond what was allowed (all matching calls, up to 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<CloseCall>,
}

/// A recorded call shown in a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseCall {
    /// The entry id.
    pub id: u64,
    /// One line about the call.
    pub call: String,
    /// How it differs from what was expected (empty for matching calls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
}

/// Entries prepared for matching: each with its rebuilt request.
struct Calls<'a> {
    entries: &'a [Arc<Entry>],
    requests: Vec<CapturedRequest>,
}

impl Calls<'_> {
    fn matches(&self, target: &Target, i: usize) -> bool {
        match target {
            Target::Stub(name) => self
                .entries
                .get(i)
                .is_some_and(|e| e.stub.as_deref() == Some(&**name)),
            Target::Request { matcher, .. } => {
                self.requests.get(i).is_some_and(|r| matcher.matches(r))
            }
        }
    }

    /// Why call `i` is not a call to `target` (empty when it is), and how many criteria held.
    fn explain(
        &self,
        target: &Target,
        i: usize,
        set: &ScenarioSet,
    ) -> Option<(Vec<String>, usize)> {
        let (entry, req) = (self.entries.get(i)?, self.requests.get(i)?);
        match target {
            Target::Request { matcher, .. } => Some(matcher.explain(req)),
            Target::Stub(name) => {
                let stub = set.stub(name)?;
                let (mut reasons, passed) = stub.matcher.explain(req);
                if reasons.is_empty() && entry.stub.as_deref() != Some(&**name) {
                    reasons.push(match entry.answered_by {
                        AnsweredBy::Stub => format!(
                            "matches stub {:?}'s pattern but {} answered first",
                            &**name,
                            entry.answered_text()
                        ),
                        AnsweredBy::Unmatched if stub.times.is_some() => format!(
                            "matches stub {:?}'s pattern but the stub was used up (times: {})",
                            &**name,
                            stub.times.unwrap_or_default()
                        ),
                        AnsweredBy::Proxied => format!(
                            "matches stub {:?}'s pattern but was {}",
                            &**name,
                            entry.answered_text()
                        ),
                        other => format!(
                            "matches stub {:?}'s pattern but was answered by the {}",
                            &**name,
                            other.as_str()
                        ),
                    });
                }
                Some((reasons, passed))
            }
        }
    }

    /// The nearest calls among `range` that are not calls to `target`.
    fn closest(
        &self,
        target: &Target,
        range: std::ops::Range<usize>,
        set: &ScenarioSet,
    ) -> Vec<CloseCall> {
        let mut scored: Vec<(usize, usize, usize, Vec<String>)> = range
            .filter_map(|i| {
                let (reasons, passed) = self.explain(target, i, set)?;
                // A call that meets no criterion at all is not close to anything.
                (!reasons.is_empty() && passed > 0)
                    .then(|| (reasons.len(), usize::MAX - passed, i, reasons))
            })
            .collect();
        scored.sort();
        scored
            .into_iter()
            .take(CLOSEST)
            .filter_map(|(.., i, reasons)| {
                self.entries.get(i).map(|e| CloseCall {
                    id: e.id,
                    call: e.summary(),
                    differences: reasons,
                })
            })
            .collect()
    }
}

/// Checks expectations against entries (oldest first). `set` supplies the patterns of stubs
/// that expectations name, for the closest-call reasons; `dropped` is the journal's eviction
/// count.
#[must_use]
pub fn evaluate(
    expectations: &[CompiledExpectation],
    set: &ScenarioSet,
    entries: &[Arc<Entry>],
    dropped: u64,
) -> Report {
    let calls = Calls {
        entries,
        requests: entries.iter().map(|e| e.to_request()).collect(),
    };
    let results: Vec<Verdict> = expectations
        .iter()
        .map(|e| verdict(e, set, &calls, dropped))
        .collect();
    let failed = results.iter().filter(|v| !v.passed).count();
    let unreliable = results.iter().filter(|v| !v.reliable).count();
    let warning = (dropped > 0).then(|| {
        format!(
            "the journal evicted {dropped} older entr{} (it keeps the newest {}; see --journal-size): {unreliable} verdict{} may be wrong",
            if dropped == 1 { "y" } else { "ies" },
            entries.len(),
            if unreliable == 1 { "" } else { "s" },
        )
    });
    Report {
        passed: failed == 0,
        total: results.len(),
        failed,
        entries: entries.len(),
        scope: None,
        dropped,
        warning,
        results,
    }
}

fn ids_text(ids: &[u64]) -> String {
    let n = ids.len();
    let mut out = format!("{n} call{}", if n == 1 { "" } else { "s" });
    if n > 0 {
        let shown: Vec<String> = ids.iter().take(MAX_IDS).map(|i| format!("#{i}")).collect();
        let _ = write!(
            out,
            " ({}{})",
            shown.join(", "),
            if n > MAX_IDS { ", …" } else { "" }
        );
    }
    out
}

fn verdict(e: &CompiledExpectation, set: &ScenarioSet, calls: &Calls<'_>, dropped: u64) -> Verdict {
    let mut v = Verdict {
        name: e.label().to_owned(),
        description: e.description.clone(),
        location: e.location.clone(),
        passed: false,
        reliable: true,
        expected: String::new(),
        actual: String::new(),
        matching: Vec::new(),
        closest: Vec::new(),
        extra: Vec::new(),
    };
    let all = 0..calls.entries.len();
    match &e.check {
        Check::Count { target, min, max } => {
            let hits: Vec<usize> = all.clone().filter(|i| calls.matches(target, *i)).collect();
            v.matching = hits
                .iter()
                .filter_map(|i| calls.entries.get(*i).map(|e| e.id))
                .collect();
            let n = hits.len() as u64;
            let too_few = n < *min;
            let too_many = max.is_some_and(|m| n > m);
            v.passed = !too_few && !too_many;
            v.expected = count_text(*min, *max);
            v.actual = ids_text(&v.matching);
            // Evicted calls can only add to the count: a pass with no upper bound and a failure
            // for too many calls stand; anything else could change.
            v.reliable = dropped == 0 || (v.passed && max.is_none()) || too_many;
            if too_few {
                v.closest = calls.closest(target, all, set);
            } else if too_many {
                v.extra = hits
                    .iter()
                    .take(MAX_IDS)
                    .filter_map(|i| calls.entries.get(*i))
                    .map(|e| CloseCall {
                        id: e.id,
                        call: e.summary(),
                        differences: Vec::new(),
                    })
                    .collect();
            }
        }
        Check::InOrder(targets) => {
            let steps: Vec<String> = targets.iter().map(Target::describe).collect();
            v.expected = format!("{} steps, in order", steps.len());
            let mut next = 0;
            let mut positions: Vec<usize> = Vec::new();
            for i in all.clone() {
                if let Some(t) = targets.get(next) {
                    if calls.matches(t, i) {
                        positions.push(i);
                        next += 1;
                    }
                }
            }
            v.matching = positions
                .iter()
                .filter_map(|i| calls.entries.get(*i).map(|e| e.id))
                .collect();
            v.passed = next == targets.len();
            v.reliable = dropped == 0 || v.passed;
            if !v.passed {
                let mut actual = String::new();
                for (k, id) in v.matching.iter().enumerate() {
                    let _ = write!(
                        actual,
                        "{}{} at #{id}",
                        if k == 0 { "" } else { ", then " },
                        steps.get(k).map_or("", String::as_str)
                    );
                }
                let missing = targets.get(next);
                let from = positions.last().map_or(0, |p| p + 1);
                let step = steps.get(next).map_or("", String::as_str);
                if actual.is_empty() {
                    let _ = write!(actual, "no call to {step}");
                } else {
                    let _ = write!(actual, "; then no call to {step}");
                }
                if let Some(t) = missing {
                    // Calls before the last step found that would have done, but came too
                    // early (calls already used for an earlier step excepted).
                    let earlier: Vec<u64> = (0..from)
                        .filter(|i| !positions.contains(i) && calls.matches(t, *i))
                        .filter_map(|i| calls.entries.get(i).map(|e| e.id))
                        .collect();
                    if !earlier.is_empty() {
                        let _ = write!(actual, " (it came too early: {})", ids_text(&earlier));
                    }
                    v.closest = calls.closest(t, from..calls.entries.len(), set);
                }
                v.actual = actual;
            } else {
                v.actual = format!("in order ({})", ids_text(&v.matching));
            }
        }
    }
    v
}

impl Report {
    /// The report for people: one line per expectation, details under each failure.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for v in &self.results {
            let mark = match (v.passed, v.reliable) {
                (true, true) => "ok",
                (true, false) => "ok?",
                (false, true) => "FAIL",
                (false, false) => "FAIL?",
            };
            let _ = write!(out, "{mark:<5} {}", v.name);
            if let Some(loc) = &v.location {
                let _ = write!(out, "  ({loc})");
            }
            out.push('\n');
            if v.passed {
                continue;
            }
            if v.name != v.description {
                let _ = writeln!(out, "      check:    {}", v.description);
            }
            let _ = writeln!(out, "      expected: {}", v.expected);
            let _ = writeln!(out, "      arrived:  {}", v.actual);
            if !v.closest.is_empty() {
                let _ = writeln!(out, "      closest calls:");
                for c in &v.closest {
                    let _ = writeln!(out, "        #{} {}", c.id, c.call);
                    for d in &c.differences {
                        let _ = writeln!(out, "          - {d}");
                    }
                }
            } else if self.entries == 0 {
                let why = match self.scope {
                    Some(_) => "the filter selected no calls",
                    None => "no calls were recorded",
                };
                let _ = writeln!(out, "      closest calls: none ({why})");
            } else if v.extra.is_empty() {
                let _ = writeln!(
                    out,
                    "      closest calls: none (no recorded call meets any part of it)"
                );
            }
            if !v.extra.is_empty() {
                let _ = writeln!(out, "      calls that counted:");
                for c in &v.extra {
                    let _ = writeln!(out, "        + #{} {}", c.id, c.call);
                }
            }
        }
        out.push('\n');
        if self.total == 0 {
            out.push_str("no expectations to verify\n");
        } else {
            let calls = format!(
                "{} call{} {}",
                self.entries,
                if self.entries == 1 { "" } else { "s" },
                match &self.scope {
                    Some(filter) => format!("selected by {filter}"),
                    None => "recorded".to_owned(),
                }
            );
            let plural = if self.total == 1 { "" } else { "s" };
            if self.passed {
                let _ = writeln!(out, "all {} expectation{plural} met ({calls})", self.total);
            } else {
                let _ = writeln!(
                    out,
                    "{} of {} expectation{plural} not met ({calls})",
                    self.failed, self.total
                );
            }
        }
        if let Some(w) = &self.warning {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Engine, EngineConfig};
    use crate::scenario::load::{Format, Source};
    use crate::scenario::load_sources;

    const SET: &str = r#"
version: 1
stubs:
  - name: gold
    request: { method: accounts.setAccountInfo, params: { UID: u-100 } }
    response: {}
  - name: first
    priority: 1
    request: { method: accounts.setAccountInfo, params: { UID: u-100, tier: vip } }
    response: {}
  - name: login
    request: { method: accounts.login }
    response: {}
expect:
  - { stub: gold, times: 1 }
  - { request: { method: accounts.login }, atMost: 1 }
  - { never: { method: accounts.deleteAccount } }
  - inOrder: [login, { request: { method: accounts.setAccountInfo } }]
"#;

    /// Runs calls through an engine over `SET` and checks its expectations.
    fn check(calls: &[(&str, &[(&str, &str)])], dropped: u64) -> Report {
        let set = load_sources(vec![Source {
            label: "t.yaml".into(),
            base_dir: ".".into(),
            format: Format::Yaml,
            text: SET.into(),
        }])
        .unwrap();
        let engine = Engine::new(set, EngineConfig::default());
        for (method, params) in calls {
            let req = CapturedRequest::gigya_call(method, params.iter().copied());
            let reply = engine.dispatch(&req);
            engine.journal().record_exchange(
                &req,
                &reply,
                http::Version::HTTP_11,
                std::time::Duration::ZERO,
                crate::gigya::params::ConflictPolicy::default(),
            );
        }
        let set = engine.scenarios();
        let (entries, _) = engine.journal().snapshot();
        evaluate(&set.expectations, &set, &entries, dropped)
    }

    #[test]
    fn all_met() {
        let r = check(
            &[
                ("accounts.login", &[]),
                ("accounts.setAccountInfo", &[("UID", "u-100")]),
            ],
            0,
        );
        assert!(r.passed, "{}", r.to_text());
        assert_eq!((r.total, r.failed), (4, 0));
        assert_eq!(r.results[3].matching, vec![1, 2]);
        assert!(
            r.to_text()
                .ends_with("all 4 expectations met (2 calls recorded)\n")
        );
    }

    #[test]
    fn too_few_calls_name_the_closest_with_differences() {
        let r = check(
            &[
                ("accounts.setAccountInfo", &[("UID", "u-200")]),
                (
                    "accounts.setAccountInfo",
                    &[("UID", "u-100"), ("tier", "vip")],
                ),
                ("accounts.getAccountInfo", &[]),
            ],
            0,
        );
        let gold = &r.results[0];
        assert!(!gold.passed);
        assert_eq!(gold.expected, "exactly 1 call");
        assert_eq!(gold.actual, "0 calls");
        assert_eq!(
            gold.closest.len(),
            2,
            "getAccountInfo meets no criterion: not close"
        );
        // A call that fits the stub's pattern but went to a stub tried earlier ranks first.
        assert_eq!(gold.closest[0].id, 2);
        assert_eq!(
            gold.closest[0].differences,
            vec![r#"matches stub "gold"'s pattern but stub "first" answered first"#]
        );
        assert_eq!(gold.closest[1].id, 1);
        assert_eq!(
            gold.closest[1].differences,
            vec![r#"param UID expected "u-100", got "u-200""#]
        );
        assert!(gold.reliable);
    }

    #[test]
    fn too_many_calls_list_the_calls_that_counted() {
        let r = check(
            &[
                ("accounts.login", &[]),
                ("accounts.login", &[]),
                ("accounts.deleteAccount", &[("UID", "u-1")]),
            ],
            0,
        );
        let login = &r.results[1];
        assert!(!login.passed);
        assert_eq!(login.actual, "2 calls (#1, #2)");
        assert_eq!(login.extra.len(), 2);
        let never = &r.results[2];
        assert_eq!(
            never.name,
            "no calls matching {method: accounts.deleteAccount}"
        );
        assert_eq!(never.matching, vec![3]);
        assert!(never.closest.is_empty());
    }

    #[test]
    fn order_failures_say_which_step_is_missing() {
        let r = check(
            &[
                ("accounts.setAccountInfo", &[("UID", "u-1")]),
                ("accounts.login", &[]),
            ],
            0,
        );
        let order = &r.results[3];
        assert!(!order.passed);
        assert_eq!(
            order.actual,
            r#"stub "login" at #2; then no call to {method: accounts.setAccountInfo} (it came too early: 1 call (#1))"#
        );
        let r = check(&[], 0);
        assert_eq!(r.results[3].actual, r#"no call to stub "login""#);
        assert!(
            r.to_text()
                .contains("closest calls: none (no calls were recorded)")
        );
    }

    #[test]
    fn evictions_make_some_verdicts_unreliable() {
        let r = check(
            &[
                ("accounts.login", &[]),
                ("accounts.login", &[]),
                ("accounts.setAccountInfo", &[("UID", "u-100")]),
            ],
            5,
        );
        let reliable: Vec<bool> = r.results.iter().map(|v| v.reliable).collect();
        // gold exactly 1 (met, could be more): unreliable; login at most 1 (already 2): stands;
        // never (met): unreliable; inOrder (met): stands.
        assert_eq!(reliable, vec![false, true, false, true]);
        let w = r.warning.as_deref().unwrap();
        assert!(
            w.contains("evicted 5 older entries") && w.contains("2 verdicts may be wrong"),
            "{w}"
        );
        let text = r.to_text();
        assert!(
            text.contains("ok?   exactly 1 call answered by stub \"gold\""),
            "{text}"
        );
        assert!(
            text.contains("FAIL  at most 1 call matching {method: accounts.login}"),
            "{text}"
        );
    }

    #[test]
    fn reports_round_trip_through_json() {
        let r = check(&[("accounts.login", &[])], 0);
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
