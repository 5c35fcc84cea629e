//! The `gigya-mock` binary: a thin shell over [`gigya_mock::cli`].

use std::process::ExitCode;

mod allocator;

#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

/// Returns the pages a finished load freed to the operating system.
#[allow(unsafe_code)]
fn release_free_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any thread at any time;
    // `force` also purges free memory held by the process-wide arenas.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

fn main() -> ExitCode {
    gigya_mock::scenario::memory::set_release_hook(release_free_memory);
    gigya_mock::cli::main()
}
