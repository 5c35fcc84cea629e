//! The embedding API: start gigya-mock inside a test, on its own thread, on a free loopback port.
//!
//! [`GigyaMock::builder`] collects scenario files, in-memory scenario text and [`GigyaStub`]s,
//! then starts a server on a dedicated thread with its own runtime. The handle gives the URI,
//! adds and removes stubs at run time, and checks expectations with [`GigyaMock::verify`] — and
//! again on drop, panicking with a report unless the thread is already panicking. Dropping the
//! handle stops the server for real: the listener is closed and every task has ended when
//! `drop` returns. The CLI's `serve` runs on this same API.

pub mod stub;

use crate::scenario::load::LoadError;
use crate::scenario::model::Stub;

mod builder;
mod mock;

pub use builder::GigyaMockBuilder;
pub use mock::GigyaMock;
pub use stub::{GigyaStub, Times};

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenarios are invalid; every problem is listed.
    #[error("invalid scenarios:\n{0}")]
    Scenarios(#[from] LoadError),
    /// The listener could not be bound, or the runtime could not start.
    #[error("cannot start the server: {0}")]
    Io(#[from] std::io::Error),
}

/// Expectations that were not met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{report}")]
pub struct VerifyError {
    /// The human-readable report (the same text the panic on drop shows).
    pub report: String,
}

/// Waits for SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Seeds for the builder: a [`Stub`] model converts into a [`GigyaStub`].
impl From<Stub> for GigyaStub {
    fn from(stub: Stub) -> Self {
        GigyaStub::from_model(stub)
    }
}
