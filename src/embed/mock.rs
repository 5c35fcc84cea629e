//! [`GigyaMock`], the handle of a running server, and the thread with its own runtime that
//! the server runs on.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::{GigyaMockBuilder, GigyaStub, StartError, Times, VerifyError, wait_for_signal};
use crate::engine::{Engine, StubError};
use crate::server::{Server, ServerConfig};

pub(super) struct Ready {
    ca_path: Option<PathBuf>,
    admin_addr: Option<SocketAddr>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    handle: tokio::runtime::Handle,
}

pub(super) struct Spawned {
    engine: Arc<Engine>,
    thread: std::thread::JoinHandle<()>,
}

impl Spawned {
    pub(super) fn finish(
        self,
        ready: Ready,
        expectations: Vec<(Arc<str>, Times)>,
    ) -> Result<GigyaMock, StartError> {
        Ok(GigyaMock {
            engine: self.engine,
            addr: ready.addr,
            tls_addr: ready.tls_addr,
            ca_path: ready.ca_path,
            admin_addr: ready.admin_addr,
            shutdown: ready.shutdown,
            handle: ready.handle,
            thread: Some(self.thread),
            expectations: Mutex::new(expectations),
        })
    }
}

pub(super) fn spawn_server(
    engine: Engine,
    config: ServerConfig,
    threads: usize,
    tx: tokio::sync::oneshot::Sender<std::io::Result<Ready>>,
) -> Result<Spawned, StartError> {
    let engine = Arc::new(engine);
    let thread_engine = engine.clone();
    let uses_ca = matches!(
        config.tls,
        Some(crate::server::TlsListener {
            certificate: crate::server::TlsCertificate::LocalCa,
            ..
        })
    );
    let thread = std::thread::Builder::new()
        .name("gigya-mock".into())
        .spawn(move || {
            let runtime = if threads == 0 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .enable_all()
                    .build()
            };
            let runtime = match runtime {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            let handle = runtime.handle().clone();
            runtime.block_on(async move {
                match Server::start(thread_engine, config).await {
                    Ok(server) => {
                        let ready = Ready {
                            ca_path: uses_ca.then(|| server.ca_cert_path().ok()).flatten(),
                            admin_addr: server.admin_addr(),
                            addr: server.local_addr(),
                            tls_addr: server.tls_addr(),
                            shutdown: server.shutdown_token(),
                            handle,
                        };
                        if tx.send(Ok(ready)).is_ok() {
                            server.wait().await;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
            // Dropping the runtime ends every task still running (idle keep-alive connections).
            drop(runtime);
        })?;
    Ok(Spawned { engine, thread })
}

/// A running gigya-mock. Dropping it verifies expectations and stops the server.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use gigya_mock::{GigyaMock, GigyaStub};
/// use gigya_mock::matchers::eq;
///
/// let mock = GigyaMock::builder()
///     .stub(GigyaStub::method("accounts.getAccountInfo").param("UID", eq("u-1")).expect(0))
///     .start()
///     .await;
/// assert!(mock.uri().starts_with("http://127.0.0.1:"));
/// # }
/// ```
#[derive(Debug)]
#[must_use = "dropping the mock stops the server at once"]
pub struct GigyaMock {
    engine: Arc<Engine>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    ca_path: Option<PathBuf>,
    admin_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    handle: tokio::runtime::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
    expectations: Mutex<Vec<(Arc<str>, Times)>>,
}

impl GigyaMock {
    /// A builder.
    pub fn builder() -> GigyaMockBuilder {
        GigyaMockBuilder::default()
    }

    /// Starts a server with no stubs: every call gets the unmatched answer.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// The base URI, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// The HTTPS listener's address, when TLS was configured.
    #[must_use]
    pub fn tls_address(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The admin listener's address, when the admin API has its own port.
    #[must_use]
    pub fn admin_address(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The local CA certificate used by the HTTPS listener, when it uses one.
    #[must_use]
    pub fn ca_cert_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// The engine (scenario set, configuration).
    #[must_use]
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// A token that stops the server when cancelled.
    #[must_use]
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// A handle to the server's runtime.
    #[must_use]
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Adds a stub at run time.
    ///
    /// # Panics
    /// When the stub does not compile; use [`GigyaMock::try_mount`] to handle that.
    pub fn mount(&self, stub: GigyaStub) {
        if let Err(e) = self.try_mount(stub) {
            panic!("gigya-mock: cannot mount stub:\n{e}");
        }
    }

    /// Adds a stub at run time.
    ///
    /// # Errors
    /// The stub does not compile or its name is taken.
    pub fn try_mount(&self, stub: GigyaStub) -> Result<(), StubError> {
        let expect = stub.expect;
        let names = self.engine.add_stub_models(vec![stub.stub])?;
        if let (Some(times), Some(name)) = (expect, names.first()) {
            if let Ok(mut e) = self.expectations.lock() {
                e.push((Arc::from(name.as_str()), times));
            }
        }
        Ok(())
    }

    /// Removes a stub by name; false when there is none.
    pub fn remove(&self, name: &str) -> bool {
        let removed = self.engine.remove_stub(name);
        if removed {
            if let Ok(mut e) = self.expectations.lock() {
                e.retain(|(n, _)| &**n != name);
            }
        }
        removed
    }

    /// Expects a stub (for example one from a file) to be called `times` times.
    pub fn expect(&self, stub_name: &str, times: impl Into<Times>) {
        if let Ok(mut e) = self.expectations.lock() {
            e.push((Arc::from(stub_name), times.into()));
        }
    }

    /// Every request in the journal, oldest first, as typed entries (secrets already
    /// redacted): method, path, decoded parameters, which stub answered, the answer, latency.
    #[must_use]
    pub fn received_requests(&self) -> Vec<Arc<crate::journal::Entry>> {
        self.engine.journal().snapshot().0
    }

    /// How many times a stub has answered.
    #[must_use]
    pub fn hits(&self, stub_name: &str) -> Option<u64> {
        self.engine
            .scenarios()
            .stub(stub_name)
            .map(|s| s.hits.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Checks every expectation.
    ///
    /// # Errors
    /// The report of what was expected and what arrived.
    pub fn try_verify(&self) -> Result<(), VerifyError> {
        let expectations = self
            .expectations
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        let set = self.engine.scenarios();
        let mut failures = Vec::new();
        for (name, times) in &expectations {
            let hits = set
                .stub(name)
                .map(|s| s.hits.load(std::sync::atomic::Ordering::Acquire));
            match hits {
                Some(n) if times.contains(n) => {}
                Some(n) => failures.push(format!("stub {name:?}: expected {times}, got {n}")),
                None => failures.push(format!(
                    "stub {name:?}: expected {times}, but no stub has that name"
                )),
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        let mut report = format!(
            "gigya-mock: {} expectation{} not met\n",
            failures.len(),
            if failures.len() == 1 { "" } else { "s" }
        );
        for f in &failures {
            report.push_str(&format!("  - {f}\n"));
        }
        Err(VerifyError { report })
    }

    /// Checks every expectation.
    ///
    /// # Panics
    /// With the report when an expectation is not met.
    pub fn verify(&self) {
        if let Err(e) = self.try_verify() {
            panic!("{}", e.report);
        }
    }

    /// Back to the state after start-up: run-time stubs (and their expectations) removed,
    /// removed stubs restored, hit counters zeroed, the journal emptied, and the emulator's
    /// seeded accounts back.
    pub fn reset(&self) {
        self.engine.reset();
        let set = self.engine.scenarios();
        if let Ok(mut e) = self.expectations.lock() {
            e.retain(|(name, _)| set.stub(name).is_some());
        }
    }

    /// Stops the server after in-flight requests finish, and checks expectations.
    ///
    /// # Panics
    /// When an expectation is not met.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Blocks until SIGINT or SIGTERM, or until the server is stopped another way
    /// (`POST /__admin/shutdown`) — the CLI's `serve`.
    pub fn wait_for_signal(&self) {
        let stopped = self.shutdown.clone();
        self.handle.block_on(async move {
            tokio::select! {
                () = wait_for_signal() => {}
                () = stopped.cancelled() => {}
            }
        });
    }

    fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for GigyaMock {
    fn drop(&mut self) {
        let verdict = if std::thread::panicking() {
            Ok(())
        } else {
            self.try_verify()
        };
        self.stop();
        if let Err(e) = verdict {
            panic!("{}", e.report);
        }
    }
}
