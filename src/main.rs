//! The `gigya-mock` binary: a thin shell over [`gigya_mock::cli`].

use std::process::ExitCode;

// mimalloc: reloading a large scenario set allocates and frees hundreds of thousands of small
// objects; it is about twice as fast there as the system allocator (`examples/reload_bench.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    gigya_mock::cli::main()
}
