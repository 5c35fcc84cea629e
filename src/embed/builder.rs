//! [`GigyaMockBuilder`]: the scenario files, scenario text, stubs, sites, accounts and settings
//! a server starts with, compiled into one scenario set and started on a server thread.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::mock::spawn_server;
use super::{GigyaMock, GigyaStub, StartError, Times};
use crate::emulator::EmulatorConfig;
use crate::engine::{Engine, EngineConfig};
use crate::gigya::envelope::Clock;
use crate::journal::JournalConfig;
use crate::scenario::load::{Format, LoadError, Source};
use crate::scenario::model::{Account, ScenarioFile, Site};
use crate::scenario::{self, ScenarioSet};
use crate::server::ServerConfig;

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
