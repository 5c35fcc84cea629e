//! Reading and editing a compiled set: stub lookups, the inputs it was compiled from, stubs
//! added or removed at run time, and the near misses reported for an unmatched request.

use std::path::PathBuf;

use super::{CompileProblem, CompiledStub, Input, ScenarioSet, compile, stub_name};
use crate::exchange::CapturedRequest;
use crate::scenario::model::{ScenarioFile, Stub};

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
    /// `stub "vip-user": param UID expected "u1", got "u2"`. At most [`NEAR_MISS_SCAN`] stubs
    /// are compared, the first in trying order.
    #[must_use]
    pub fn near_misses(&self, req: &CapturedRequest, limit: usize) -> NearMisses {
        let mut ids = Vec::new();
        self.index.related(req, &mut ids);
        let related = ids.len();
        ids.truncate(NEAR_MISS_SCAN);
        // Ranked by counts first (fewest failed criteria, then most passed, then trying
        // order); reasons are written only for the few reported.
        let mut ranked: Vec<(usize, usize, u32)> = ids
            .iter()
            .filter_map(|id| {
                let stub = self.stubs.get(*id as usize)?;
                let (failed, passed) = stub.matcher.score(req);
                // A stub none of whose criteria hold is not "near"; leave it out.
                (passed > 0 || failed == 0).then_some((failed, usize::MAX - passed, *id))
            })
            .collect();
        if ranked.len() > limit {
            ranked.select_nth_unstable(limit);
            ranked.truncate(limit);
        }
        ranked.sort_unstable();
        let nearest = ranked
            .into_iter()
            .filter_map(|(.., id)| {
                let stub = self.stubs.get(id as usize)?;
                let (reasons, _) = stub.matcher.explain(req);
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
                Some(format!("stub {:?}: {reason}", &*stub.name))
            })
            .collect();
        NearMisses {
            nearest,
            compared: related.min(NEAR_MISS_SCAN),
            related,
        }
    }
}

/// The most stubs an unmatched request is compared with for its near-miss report: with a very
/// large stub set, the first ones in trying order. It bounds what one unmatched call costs
/// (about 0.7 µs per stub compared).
pub const NEAR_MISS_SCAN: usize = 1_000;

/// The near-miss report of an unmatched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMisses {
    /// The nearest stubs, each with its first reason, nearest first.
    pub nearest: Vec<String>,
    /// How many stubs were compared.
    pub compared: usize,
    /// How many stubs could have answered the request (its method's, its path's, the generic
    /// ones).
    pub related: usize,
}
