//! Edits of the served stub set: swapping in a set loaded from files, stubs added and
//! removed at run time (the admin API and the library's builders), and the reset to the
//! files' set.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::Engine;
use crate::scenario::load::{self, LoadError};
use crate::scenario::model::Stub;
use crate::scenario::{ScenarioSet, fragment};

/// The most stubs the admin API may add at run time (they live until a reset).
pub const MAX_RUNTIME_STUBS: usize = 10_000;

/// Why run-time stubs were not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct StubError {
    /// One line per problem: `stubs[0].request.params.UID.matches: invalid regular expression ...`.
    pub problems: Vec<String>,
}

impl Engine {
    /// Swaps in a new set loaded from files, atomically. It becomes what a reset returns to;
    /// stubs added at run time are dropped with the old set, while hit counters, scenario
    /// states and fault-rule counters of what survives carry over.
    pub fn replace_scenarios(&self, set: ScenarioSet) {
        drop(self.swap_scenarios(set));
    }

    /// [`Engine::replace_scenarios`], returning the replaced set so the caller decides where
    /// the (possibly large) old set is freed.
    pub fn swap_scenarios(&self, set: ScenarioSet) -> Arc<ScenarioSet> {
        let _guard = self.edit_lock();
        if let Some(emulator) = &self.emulator {
            emulator.apply_scenarios(&set, self.clock.now());
        }
        let old = self.scenarios.load_full();
        set.carry_over_from(&old);
        let set = Arc::new(set);
        self.files.store(set.clone());
        self.scenarios.store(set);
        old
    }

    fn edit_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is `()`: a poisoned lock carries no broken state.
        self.edits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds stubs posted as YAML or JSON text (one stub, a list, or `{stubs: [...]}`) to the
    /// served set; unnamed stubs are called `runtime-<n>`. Returns the new stubs' names.
    /// Each is tried before the existing stubs of the same priority.
    ///
    /// # Errors
    /// Every problem in the text, positioned as `label:line:col`; nothing is added then.
    pub fn add_stubs(
        &self,
        text: &str,
        format: load::Format,
        label: &str,
    ) -> Result<Vec<String>, LoadError> {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        let held = current.stubs().iter().filter(|s| s.runtime).count();
        let room = MAX_RUNTIME_STUBS.saturating_sub(held);
        let added = fragment::runtime_stubs(text, format, label, &current, room, || {
            let n = self.runtime_names.fetch_add(1, Ordering::Relaxed) + 1;
            format!("runtime-{n}")
        })?;
        let names: Vec<String> = added.iter().filter_map(|s| s.name.clone()).collect();
        match current.with_runtime_stubs(added) {
            Ok(next) => {
                self.scenarios.store(Arc::new(next));
                Ok(names)
            }
            Err(problems) => Err(LoadError {
                problems: problems
                    .into_iter()
                    .map(|p| crate::scenario::Problem {
                        file: label.to_owned(),
                        pos: None,
                        message: format!("{}: {}", p.path, p.message),
                    })
                    .collect(),
            }),
        }
    }

    /// Removes a stub (from files or added at run time) from the served set until the next
    /// reset. Returns false when no stub has that name.
    pub fn remove_stub(&self, name: &str) -> bool {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        match current.without_stub(name) {
            Some(next) => {
                self.scenarios.store(Arc::new(next));
                true
            }
            None => false,
        }
    }

    /// Back to the state after start-up: the files' stubs (run-time stubs removed, removed
    /// stubs restored) with zeroed hit counters and scenarios in `Started`, an empty journal,
    /// and the emulator's seeded accounts with no remembered nonces. Returns how many journal
    /// entries were cleared.
    pub fn reset(&self) -> usize {
        let _guard = self.edit_lock();
        let files = self.files.load_full();
        files.reset_live();
        self.scenarios.store(files.clone());
        if let Some(emulator) = &self.emulator {
            emulator.reset(&files, self.clock.now());
        }
        self.journal.clear()
    }

    /// Adds stubs given as models (the library's builders) to the served set; unnamed stubs
    /// are called `runtime-<n>`. Returns the new stubs' names. `bodyFile` paths are relative to
    /// the working directory.
    ///
    /// # Errors
    /// The stubs do not compile, or a name is taken; nothing is added then.
    pub fn add_stub_models(&self, mut stubs: Vec<Stub>) -> Result<Vec<String>, StubError> {
        let _guard = self.edit_lock();
        let current = self.scenarios.load_full();
        let held = current.stubs().iter().filter(|s| s.runtime).count();
        let mut problems = Vec::new();
        if held + stubs.len() > MAX_RUNTIME_STUBS {
            problems.push(format!(
                "{} more run-time stubs would exceed the limit of {MAX_RUNTIME_STUBS} ({held} held now)",
                stubs.len()
            ));
        }
        for (i, stub) in stubs.iter_mut().enumerate() {
            match &stub.name {
                Some(name) if current.stub(name).is_some() => problems.push(format!(
                    "stubs[{i}].name: a stub named {name:?} already exists"
                )),
                Some(_) => {}
                None => {
                    let n = self.runtime_names.fetch_add(1, Ordering::Relaxed) + 1;
                    stub.name = Some(format!("runtime-{n}"));
                }
            }
        }
        if !problems.is_empty() {
            return Err(StubError { problems });
        }
        let names: Vec<String> = stubs.iter().filter_map(|s| s.name.clone()).collect();
        let next = current
            .with_runtime_stubs(stubs)
            .map_err(|problems| StubError {
                problems: problems
                    .into_iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect(),
            })?;
        self.scenarios.store(Arc::new(next));
        Ok(names)
    }
}
