//! The embedding API: start gigya-mock inside a test, on its own thread, on a free loopback port.
//!
//! [`GigyaMock::builder`] collects scenario files, in-memory scenario text and [`GigyaStub`]s,
//! then starts a server on a dedicated thread with its own runtime. The handle gives the URI,
//! adds and removes stubs at run time, and checks expectations with [`GigyaMock::verify`] — and
//! again on drop, panicking with a report unless the thread is already panicking. Dropping the
//! handle stops the server for real: the listener is closed and every task has ended when
//! `drop` returns. The CLI's `serve` runs on this same API.

pub mod stub;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::emulator::EmulatorConfig;
use crate::engine::{Engine, EngineConfig, StubError};
use crate::gigya::envelope::Clock;
use crate::journal::JournalConfig;
use crate::scenario::load::{Format, LoadError, Source};
use crate::scenario::model::{Account, ScenarioFile, Site, Stub};
use crate::scenario::{self, ScenarioSet};
use crate::server::{Server, ServerConfig};
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

/// Builds and starts a [`GigyaMock`].
#[derive(Debug)]
#[must_use = "call `start().await` to run the server"]
pub struct GigyaMockBuilder {
    paths: Vec<PathBuf>,
    sources: Vec<Source>,
    stubs: Vec<GigyaStub>,
    sites: Vec<Site>,
    accounts: Vec<Account>,
    engine: EngineConfig,
    server: Option<ServerConfig>,
    clock: Option<Arc<dyn Clock>>,
    emulator: Option<EmulatorConfig>,
    journal: JournalConfig,
    worker_threads: usize,
}

impl Default for GigyaMockBuilder {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            sources: Vec::new(),
            stubs: Vec::new(),
            sites: Vec::new(),
            accounts: Vec::new(),
            engine: EngineConfig::default(),
            server: None,
            clock: None,
            emulator: Some(EmulatorConfig::default()),
            journal: JournalConfig::default(),
            worker_threads: 0,
        }
    }
}

impl GigyaMockBuilder {
    /// Loads scenario files or directories, exactly as `gigya-mock serve --scenarios` does.
    pub fn scenarios(mut self, path: impl Into<PathBuf>) -> Self {
        self.paths.push(path.into());
        self
    }

    /// Adds scenario text in YAML.
    pub fn scenario_yaml(self, text: impl Into<String>) -> Self {
        self.scenario_text(Format::Yaml, text.into())
    }

    /// Adds scenario text in JSON.
    pub fn scenario_json(self, text: impl Into<String>) -> Self {
        self.scenario_text(Format::Json, text.into())
    }

    fn scenario_text(mut self, format: Format, text: String) -> Self {
        let label = format!("<scenario {}>", self.sources.len());
        self.sources.push(Source {
            label,
            base_dir: PathBuf::from("."),
            format,
            text,
        });
        self
    }

    /// Adds a stub.
    pub fn stub(mut self, stub: GigyaStub) -> Self {
        self.stubs.push(stub);
        self
    }

    /// Adds an emulated site.
    pub fn site(mut self, site: Site) -> Self {
        self.sites.push(site);
        self
    }

    /// Seeds an account.
    pub fn account(mut self, account: Account) -> Self {
        self.accounts.push(account);
        self
    }

    /// Replaces the engine settings.
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// Replaces the server settings. The default binds `127.0.0.1:0`.
    pub fn server_config(mut self, config: ServerConfig) -> Self {
        self.server = Some(config);
        self
    }

    /// Replaces the clock (for example a `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the emulator settings (the emulator answers Gigya methods it implements for
    /// the configured sites when no stub matches; it is on by default).
    pub fn emulator(mut self, config: EmulatorConfig) -> Self {
        self.emulator = Some(config);
        self
    }

    /// Replaces the journal settings (default: 10,000 entries, 64 KiB of each body).
    pub fn journal(mut self, config: JournalConfig) -> Self {
        self.journal = config;
        self
    }

    /// Turns the emulator off: calls no stub matches get the unmatched answer.
    pub fn without_emulator(mut self) -> Self {
        self.emulator = None;
        self
    }

    /// Worker threads of the server's runtime; 0 (the default) runs it on one thread.
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = n;
        self
    }

    /// Compiles everything into one scenario set.
    ///
    /// # Errors
    /// Every problem in every file, text and stub.
    pub fn build_scenarios(&self) -> Result<ScenarioSet, LoadError> {
        let builder_parts =
            !self.stubs.is_empty() || !self.sites.is_empty() || !self.accounts.is_empty();
        if !builder_parts && self.sources.is_empty() && !self.paths.is_empty() {
            // The common case (files only, as in `serve`): compile once.
            return scenario::load_paths(&self.paths);
        }
        let mut problems = Vec::new();
        let mut inputs = Vec::new();
        if !self.paths.is_empty() {
            match scenario::load_paths(&self.paths) {
                Ok(set) => inputs.extend(set.inputs()),
                Err(e) => problems.extend(e.problems),
            }
        }
        if !self.sources.is_empty() {
            match scenario::load_sources(self.sources.clone()) {
                Ok(set) => inputs.extend(set.inputs()),
                Err(e) => problems.extend(e.problems),
            }
        }
        if !problems.is_empty() {
            return Err(LoadError { problems });
        }
        if builder_parts {
            inputs.push(scenario::compile::Input {
                label: "<builder>".into(),
                base_dir: PathBuf::from("."),
                file: ScenarioFile {
                    version: 1,
                    sites: self.sites.clone(),
                    accounts: self.accounts.clone(),
                    stubs: self.stubs.iter().map(|s| s.stub.clone()).collect(),
                    ..ScenarioFile::default()
                },
            });
        }
        scenario::compile::compile(inputs).map_err(|problems| LoadError {
            problems: problems
                .into_iter()
                .map(|p| scenario::Problem {
                    file: "<builder>".into(),
                    pos: None,
                    message: format!("{}: {}", p.path, p.message),
                })
                .collect(),
        })
    }

    fn prepare(self) -> Result<Prepared, StartError> {
        let set = self.build_scenarios()?;
        let expectations = expectations_of(&self.stubs, &set);
        let mut engine = Engine::new(set, self.engine);
        if let Some(clock) = self.clock {
            engine = engine.with_clock(clock);
        }
        if let Some(config) = self.emulator {
            engine = engine.with_emulator(config);
        }
        engine = engine.with_journal(self.journal);
        let server = self.server.unwrap_or_else(|| ServerConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            shutdown_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        });
        Ok((engine, server, self.worker_threads, expectations))
    }

    /// Starts the server; panics with every problem if the scenarios are invalid.
    pub async fn start(self) -> GigyaMock {
        match self.try_start().await {
            Ok(m) => m,
            Err(e) => panic!("gigya-mock did not start: {e}"),
        }
    }

    /// Starts the server.
    ///
    /// # Errors
    /// Invalid scenarios, or the port cannot be bound.
    pub async fn try_start(self) -> Result<GigyaMock, StartError> {
        let (engine, server, threads, expectations) = self.prepare()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let running = spawn_server(engine, server, threads, tx)?;
        let ready = rx
            .await
            .map_err(|_| std::io::Error::other("the server thread ended before it was ready"))?;
        running.finish(ready?, expectations)
    }

    /// Starts the server from synchronous code (not from inside an async runtime).
    ///
    /// # Errors
    /// Invalid scenarios, or the port cannot be bound.
    pub fn try_start_blocking(self) -> Result<GigyaMock, StartError> {
        let (engine, server, threads, expectations) = self.prepare()?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let running = spawn_server(engine, server, threads, tx)?;
        let ready = rx
            .blocking_recv()
            .map_err(|_| std::io::Error::other("the server thread ended before it was ready"))?;
        running.finish(ready?, expectations)
    }
}

/// What `start` needs once the scenarios compiled: engine, server settings, worker threads and
/// the builder stubs' expectations.
type Prepared = (Engine, ServerConfig, usize, Vec<(Arc<str>, Times)>);

fn expectations_of(stubs: &[GigyaStub], set: &ScenarioSet) -> Vec<(Arc<str>, Times)> {
    stubs
        .iter()
        .filter_map(|s| {
            let times = s.expect?;
            let name = s.stub.name.clone().or_else(|| {
                // Unnamed builder stubs get `<builder>#i`; find it by its model.
                set.stubs()
                    .iter()
                    .find(|c| c.origin == "<builder>" && c.model() == s.stub)
                    .map(|c| c.name.to_string())
            })?;
            Some((Arc::from(name), times))
        })
        .collect()
}

struct Ready {
    ca_path: Option<PathBuf>,
    admin_addr: Option<SocketAddr>,
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    handle: tokio::runtime::Handle,
}

struct Spawned {
    engine: Arc<Engine>,
    thread: std::thread::JoinHandle<()>,
}

impl Spawned {
    fn finish(
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

fn spawn_server(
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
