//! Stateful scenarios (a stub requires state X and moves its scenario to Y) and the runtime
//! side of a compiled set: claiming a match together with its state transition, and carrying
//! hit counters, states and fault counters over a reload.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{CompiledFaultRule, CompiledStub, STARTED, ScenarioSet, StubState};
use crate::exchange::CapturedRequest;

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

/// Links stubs to their scenarios: collects each scenario's states (`Started` first) and gives
/// every stub with a `scenario` its [`StubState`].
pub(super) fn link_scenarios(stubs: &mut [CompiledStub]) -> Vec<ScenarioMachine> {
    let mut machines: Vec<ScenarioMachine> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for stub in stubs.iter_mut() {
        let Some(keys) = stub.scenario.take() else {
            continue;
        };
        let name = keys.name;
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
        let required = state_index(&keys.required);
        let new = state_index(&keys.new);
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
                r.take_counters_from(o);
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
