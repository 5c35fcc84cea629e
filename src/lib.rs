//! gigya-mock: a local stand-in for the Gigya (SAP Customer Data Cloud) REST API.
//!
//! It serves canned answers from scenario files (YAML or JSON) with the real service's URL
//! scheme, parameter encoding and response envelope, and answers every call it did not expect
//! with a Gigya error that names the nearest stubs.
//!
//! # Layout
//!
//! - [`gigya`] — the wire protocol: parameters, error catalogue, envelope, signatures, JWTs.
//! - [`exchange`] — a captured request (decoded once) and the reply to it.
//! - `matching` — compiled matchers, the stub index, near-miss explanations.
//! - [`scenario`] — the file format, loading with `file:line:col` diagnostics, compiling.
//! - [`emulator`] — stateful emulation of the seed methods: sites, credentials, accounts.
//! - [`engine`] — shared state and `dispatch`: stubs first, then the emulator, else unmatched.
//! - `redact` — what counts as a secret in recorded traffic, and replacing it.
//! - [`record`] — turning forwarded calls into scenario files (`gigya-mock record`).
//! - [`journal`] — the bounded traffic journal, its queries, HAR export, and `expect:` checks.
//! - [`admin`] — the `/__admin` API (journal, stubs, reset, verify, shutdown).
//! - [`reload`] — hot reload: watching the scenario files and swapping in a valid new set.
//! - [`server`] — the hyper server: listener, limits, graceful shutdown.
//! - [`embed`] — the test-facing API: [`GigyaMock`], [`GigyaStub`], [`matchers`].
//! - [`cli`] — the command line (the binary is a thin shell over [`embed`]).
//!
//! Lower layers never import higher ones; everything below `engine` is synchronous.

pub mod admin;
#[doc(hidden)]
pub mod cli;
pub mod embed;
pub mod emulator;
pub mod engine;
pub mod exchange;
pub mod gigya;
pub mod journal;
pub(crate) mod matching;
pub mod record;
pub(crate) mod redact;
pub mod reload;
pub mod scenario;
pub mod server;

pub use embed::{GigyaMock, GigyaMockBuilder, GigyaStub, StartError, Times, VerifyError};

/// Value matchers for [`GigyaStub`]: `eq("u-1")`, `path("$.tier", eq("gold"))`, ...
pub mod matchers {
    pub use crate::embed::stub::{
        absent, all_of, any_of, contains, eq, json_equals, json_includes, matches, not, path,
        present,
    };
}
