//! Decoding the live-scenario keys: response sequences, scenario states, delays, transport
//! faults and fault rules (`faults:` at the top of a file and the admin API's body).

use super::super::model::{
    Delay, Fault, FaultRule, LogNormalDelay, RandomDelay, SequenceMode, SlowBody, Stub,
};
use super::super::tree::{Kind, Node, Scalar};
use super::{Decoder, Fields, ShapeProblem};

const FAULT_RULE_KEYS: &[&str] = &[
    "name",
    "method",
    "errorCode",
    "errorMessage",
    "errorDetails",
    "status",
    "fault",
    "delay",
    "next",
    "probability",
    "seed",
];
const FAULT_NAMES: &[&str] = &[
    "connection-reset",
    "close",
    "malformed-body",
    "truncated-body",
    "slowBody",
];
const SLOW_BODY_KEYS: &[&str] = &["chunkBytes", "pauseMs"];
const DELAY_KINDS: &[&str] = &["uniform", "lognormal"];
const LOGNORMAL_KEYS: &[&str] = &["median", "sigma"];

/// Decodes fault rules: one mapping or a list of them (the admin API's `POST /__admin/faults`).
pub fn fault_rules(node: &Node, problems: &mut Vec<ShapeProblem>) -> Vec<FaultRule> {
    let mut d = Decoder { problems };
    match &node.kind {
        Kind::Map(_) => d.fault_rule(node).into_iter().collect(),
        _ => d.fault_rules(node),
    }
}

impl Decoder<'_> {
    /// The keys of a stub that belong to live scenarios; `has_response` says whether
    /// `response` was given.
    pub(super) fn stub_live(
        &mut self,
        f: &mut Fields<'_>,
        node: &Node,
        s: &mut Stub,
        has_response: bool,
    ) {
        match f.take("responses") {
            Some(n) => {
                if has_response {
                    self.problem(
                        n.pos,
                        "give either `response` or `responses` (a sequence), not both",
                    );
                }
                let items = self.seq(n, "responses");
                if items.is_empty() && matches!(n.kind, Kind::Seq(_)) {
                    self.problem(n.pos, "responses: give at least one response");
                }
                for item in items {
                    s.responses.push(self.response(item).unwrap_or_default());
                }
            }
            None if !has_response => {
                self.problem(node.pos, "stub is missing `response` (or `responses`)");
            }
            None => {}
        }
        if let Some(n) = f.take("sequence") {
            s.sequence = match self.string(n, "sequence").as_deref() {
                Some("repeat-last") => Some(SequenceMode::RepeatLast),
                Some("cycle") => Some(SequenceMode::Cycle),
                Some("exhaust") => Some(SequenceMode::Exhaust),
                Some(other) => {
                    self.problem(
                        n.pos,
                        format!(
                            "sequence: unknown mode `{other}`; expected repeat-last, cycle or exhaust"
                        ),
                    );
                    None
                }
                None => None,
            };
        }
        for (key, slot) in [
            ("scenario", &mut s.scenario),
            ("requiredState", &mut s.required_state),
            ("newState", &mut s.new_state),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.string(n, key);
            }
        }
        if let Some(n) = f.take("seed") {
            s.seed = self.ranged(n, "seed", "0 or more");
        }
    }

    /// `delay: 250`, `{uniform: [100, 300]}` or `{lognormal: {median: 200, sigma: 0.5}}`.
    pub(super) fn delay(&mut self, node: &Node) -> Option<Delay> {
        if node.scalar().is_some() {
            return self
                .ranged(node, "delay", "0 or more milliseconds")
                .map(Delay::Fixed);
        }
        let Kind::Map(entries) = &node.kind else {
            self.wrong_type(
                node,
                "milliseconds, {uniform: [min, max]} or {lognormal: {median, sigma}}",
                "delay",
            );
            return None;
        };
        if entries.len() != 1 {
            self.problem(
                node.pos,
                "delay: give exactly one of `uniform: [min, max]` or `lognormal: {median, sigma}`",
            );
            return None;
        }
        let mut f = self.fields(node, "delay")?;
        let mut out = None;
        if let Some(n) = f.take("uniform") {
            let items = self.seq(n, "uniform");
            if items.len() == 2 {
                let min = self.ranged(&items[0], "uniform min", "0 or more milliseconds");
                let max = self.ranged(&items[1], "uniform max", "0 or more milliseconds");
                if let (Some(min), Some(max)) = (min, max) {
                    out = Some(Delay::Random(RandomDelay::Uniform([min, max])));
                }
            } else if matches!(n.kind, Kind::Seq(_)) {
                self.problem(
                    n.pos,
                    "uniform: expected two numbers, [min, max] milliseconds",
                );
            }
        }
        if let Some(n) = f.take("lognormal") {
            if let Some(mut g) = self.fields(n, "lognormal") {
                let median = match g.take("median") {
                    Some(m) => self.ranged(m, "median", "0 or more milliseconds"),
                    None => {
                        self.problem(n.pos, "lognormal is missing `median` (milliseconds)");
                        None
                    }
                };
                let sigma = match g.take("sigma") {
                    Some(m) => self.float(m, "sigma"),
                    None => {
                        self.problem(n.pos, "lognormal is missing `sigma` (e.g. 0.5)");
                        None
                    }
                };
                g.finish(self, LOGNORMAL_KEYS);
                if let (Some(median), Some(sigma)) = (median, sigma) {
                    out = Some(Delay::Random(RandomDelay::Lognormal(LogNormalDelay {
                        median,
                        sigma,
                    })));
                }
            }
        }
        f.finish(self, DELAY_KINDS);
        out
    }

    /// A number (integers too).
    pub(super) fn float(&mut self, node: &Node, what: &str) -> Option<f64> {
        match node.scalar() {
            Some(Scalar::Float(x)) if x.is_finite() => Some(x),
            Some(Scalar::Int(i)) => Some(i as f64),
            Some(Scalar::Str(s)) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                s.trim().parse().ok()
            }
            _ => {
                self.wrong_type(node, "a number", what);
                None
            }
        }
    }

    /// `fault: connection-reset` or `fault: {slowBody: {chunkBytes, pauseMs}}`.
    pub(super) fn fault(&mut self, node: &Node) -> Option<Fault> {
        if let Some(s) = node.scalar() {
            let Scalar::Str(name) = s else {
                self.wrong_type(node, "a fault name", "fault");
                return None;
            };
            return match name {
                "connection-reset" => Some(Fault::ConnectionReset),
                "close" => Some(Fault::Close),
                "malformed-body" => Some(Fault::MalformedBody),
                "truncated-body" => Some(Fault::TruncatedBody),
                "slowBody" | "slow-body" => Some(Fault::SlowBody(SlowBody::default())),
                other => {
                    let mut msg = format!("fault: unknown fault `{other}`");
                    match super::suggest(other, FAULT_NAMES) {
                        Some(s) => msg.push_str(&format!("; did you mean `{s}`?")),
                        None => {
                            msg.push_str(&format!("; expected one of: {}", FAULT_NAMES.join(", ")))
                        }
                    }
                    self.problem(node.pos, msg);
                    None
                }
            };
        }
        let mut f = self.fields(node, "fault")?;
        let mut out = None;
        if let Some(n) = f.take("slowBody") {
            let mut body = SlowBody::default();
            if n.scalar() != Some(Scalar::Null) {
                if let Some(mut g) = self.fields(n, "slowBody") {
                    if let Some(m) = g.take("chunkBytes") {
                        body.chunk_bytes = self.ranged(m, "chunkBytes", "1 or more");
                    }
                    if let Some(m) = g.take("pauseMs") {
                        body.pause_ms = self.ranged(m, "pauseMs", "0 or more milliseconds");
                    }
                    g.finish(self, SLOW_BODY_KEYS);
                }
            }
            out = Some(Fault::SlowBody(body));
        }
        f.finish(self, &["slowBody"]);
        if out.is_none() {
            self.problem(
                node.pos,
                format!("fault: expected one of: {}", FAULT_NAMES.join(", ")),
            );
        }
        out
    }

    pub(super) fn fault_rules(&mut self, node: &Node) -> Vec<FaultRule> {
        let mut out = Vec::new();
        for item in self.seq(node, "faults") {
            // Kept even when broken so later indices (and default names) stay stable.
            out.push(self.fault_rule(item).unwrap_or_default());
        }
        out
    }

    fn fault_rule(&mut self, node: &Node) -> Option<FaultRule> {
        let mut f = self.fields(node, "a fault rule")?;
        let mut r = FaultRule::default();
        for (key, slot) in [
            ("name", &mut r.name),
            ("method", &mut r.method),
            ("errorMessage", &mut r.error_message),
            ("errorDetails", &mut r.error_details),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.string(n, key);
            }
        }
        if let Some(n) = f.take("errorCode") {
            r.error_code = self.ranged(n, "errorCode", "0 to 4294967295");
        }
        if let Some(n) = f.take("status") {
            r.status = self.ranged(n, "status", "100 to 999");
        }
        if let Some(n) = f.take("fault") {
            r.fault = self.fault(n);
        }
        if let Some(n) = f.take("delay") {
            r.delay = self.delay(n);
        }
        if let Some(n) = f.take("next") {
            r.next = self.ranged(n, "next", "1 or more");
        }
        if let Some(n) = f.take("probability") {
            r.probability = self.float(n, "probability");
        }
        if let Some(n) = f.take("seed") {
            r.seed = self.ranged(n, "seed", "0 or more");
        }
        f.finish(self, FAULT_RULE_KEYS);
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::super::scenario_file;
    use super::*;
    use crate::scenario::tree::parse_yaml;

    fn decode(text: &str) -> (crate::scenario::model::ScenarioFile, Vec<String>) {
        let root = parse_yaml(text).unwrap().unwrap();
        let mut problems = Vec::new();
        let f = scenario_file(&root, &mut problems);
        let p = problems
            .iter()
            .map(|p| format!("{}: {}", p.pos, p.message))
            .collect();
        (f, p)
    }

    #[test]
    fn sequences_states_delays_and_faults() {
        let (f, p) = decode(
            r#"version: 1
stubs:
  - name: seq
    scenario: registration
    requiredState: Started
    newState: Registered
    seed: 7
    sequence: cycle
    request: {method: a.b}
    responses:
      - {errorCode: 403048}
      - {delay: {uniform: [100, 300]}, fault: connection-reset}
      - {delay: {lognormal: {median: 200, sigma: 0.5}}, fault: {slowBody: {chunkBytes: 4, pauseMs: 50}}}
faults:
  - {method: "accounts.*", errorCode: 500001, probability: 0.2, seed: 7}
  - {name: three, method: accounts.setAccountInfo, errorCode: 403048, next: 3}
"#,
        );
        assert!(p.is_empty(), "{p:?}");
        let s = &f.stubs[0];
        assert_eq!(s.sequence, Some(SequenceMode::Cycle));
        assert_eq!(s.scenario.as_deref(), Some("registration"));
        assert_eq!(s.new_state.as_deref(), Some("Registered"));
        assert_eq!(s.seed, Some(7));
        assert_eq!(s.responses.len(), 3);
        assert_eq!(
            s.responses[1].delay,
            Some(Delay::Random(RandomDelay::Uniform([100, 300])))
        );
        assert_eq!(s.responses[1].fault, Some(Fault::ConnectionReset));
        assert_eq!(
            s.responses[2].fault,
            Some(Fault::SlowBody(SlowBody {
                chunk_bytes: Some(4),
                pause_ms: Some(50)
            }))
        );
        assert_eq!(f.faults.len(), 2);
        assert_eq!(f.faults[0].probability, Some(0.2));
        assert_eq!(f.faults[1].next, Some(3));
    }

    #[test]
    fn live_keys_report_problems_at_their_positions() {
        let (_, p) = decode(
            r#"version: 1
stubs:
  - request: {method: a.b}
    response: {fault: conection-reset, delay: {uniform: [1]}}
    responses: []
    sequence: loop
  - request: {method: a.c}
faults:
  - {method: x, probabilty: 2}
"#,
        );
        assert_eq!(
            p,
            vec![
                "4:57: uniform: expected two numbers, [min, max] milliseconds",
                "4:23: fault: unknown fault `conection-reset`; did you mean `connection-reset`?",
                "5:16: give either `response` or `responses` (a sequence), not both",
                "5:16: responses: give at least one response",
                "6:15: sequence: unknown mode `loop`; expected repeat-last, cycle or exhaust",
                "7:5: stub is missing `response` (or `responses`)",
                "9:17: unknown key `probabilty` in a fault rule; did you mean `probability`?",
            ]
        );
    }
}
