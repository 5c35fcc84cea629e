//! The `gigya-mock` binary: a thin shell over [`gigya_mock::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    gigya_mock::cli::main()
}
