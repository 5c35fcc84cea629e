//! Handing memory back after a large load. Loading a scenario set builds several temporary
//! forms of every stub (the positioned tree, the model, the compiled stub); the allocator keeps
//! the pages they freed for reuse, so without a nudge the process stays as large as the peak of
//! its last load. The binary installs its allocator's "return free pages" function here; the
//! library calls it once a load or reload has finished. Without a hook nothing happens.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

static HOOK: OnceLock<fn()> = OnceLock::new();
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Installs the function that returns free memory to the operating system (first call wins).
pub fn set_release_hook(hook: fn()) {
    let _ = HOOK.set(hook);
}

/// Calls the installed hook, if any: the end of a load or reload.
pub fn release_after_load() {
    if let Some(hook) = HOOK.get() {
        CALLS.fetch_add(1, Ordering::Relaxed);
        hook();
    }
}

/// How many times the hook ran (for tests and diagnostics).
#[must_use]
pub fn release_count() -> usize {
    CALLS.load(Ordering::Relaxed)
}
