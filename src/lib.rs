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
//! - [`matching`] — compiled matchers, the stub index, near-miss explanations.
//! - [`scenario`] — the file format, loading with `file:line:col` diagnostics, compiling.
//! - [`engine`] — shared state and `dispatch`: stubs first, then the fallback, else unmatched.
//! - [`reload`] — hot reload: watching the scenario files and swapping in a valid new set.
//! - [`admin`] — the `/__admin` API.
//! - [`server`] — the hyper server: listener, limits, graceful shutdown.
//! - [`cli`] — the command line (the binary is a thin shell over it).
//!
//! Lower layers never import higher ones; everything below `engine` is synchronous.

pub mod admin;
pub mod cli;
pub mod engine;
pub mod exchange;
pub mod gigya;
pub mod matching;
pub mod reload;
pub mod scenario;
pub mod server;
