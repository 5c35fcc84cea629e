//! The command-line interface: argument parsing (every flag has a `GIGYA_MOCK_*` variable),
//! logging set-up, and the `serve`, `validate` and `schema` commands.
//!
//! [`run`] is what `main` calls and what CLI tests can call in-process; it returns the exit
//! code instead of exiting. This module is the only place that prints to stdout and installs
//! the tracing subscriber.

mod args;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;

use crate::engine::{Engine, EngineConfig};
use crate::gigya::envelope::SystemClock;
use crate::scenario;
use crate::server::Server;
pub use args::{Cli, Command, LogFormat};

/// Runs the CLI with the process arguments; returns the exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line.
///
/// # Errors
/// Start-up failures (a port in use, a runtime that cannot start).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logging(&cli.log_level, cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Validate(args) => Ok(validate(&args.paths)),
        Command::Ca(args) => ca(&args),
        Command::Schema => {
            print!("{}", scenario::model::json_schema());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn validate(paths: &[std::path::PathBuf]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match scenario::load_paths(paths) {
        Ok(set) => {
            let _ = writeln!(out, "{}: ok", set.summary());
            ExitCode::SUCCESS
        }
        Err(e) => {
            for p in &e.problems {
                let _ = writeln!(out, "{p}");
            }
            let n = e.problems.len();
            let _ = writeln!(
                out,
                "{n} problem{}; fix them and run again",
                if n == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

fn ca(args: &args::CaArgs) -> anyhow::Result<ExitCode> {
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(crate::server::tls::default_data_dir);
    let ca = crate::server::tls::CertAuthority::load_or_create(&dir)
        .with_context(|| format!("cannot load or create the CA in {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    match &args.export {
        Some(path) if path.as_os_str() == "-" => write!(out, "{}", ca.cert_pem())?,
        Some(path) => {
            std::fs::write(path, ca.cert_pem())
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "{}", path.display())?;
        }
        None if args.print_path => writeln!(out, "{}", ca.cert_path().display())?,
        None => {
            writeln!(out, "CA certificate: {}", ca.cert_path().display())?;
            writeln!(
                out,
                "Trust it in your client, e.g. NODE_EXTRA_CA_CERTS, REQUESTS_CA_BUNDLE or a Java truststore (see the README)."
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(args: args::ServeArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let set = if args.scenarios.is_empty() {
        scenario::ScenarioSet::default()
    } else {
        match scenario::load_paths(&args.scenarios) {
            Ok(set) => set,
            Err(e) => {
                for p in &e.problems {
                    eprintln!("{p}");
                }
                eprintln!(
                    "error: {} problem(s) in the scenarios; not starting",
                    e.problems.len()
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    };
    let summary = set.summary();
    let config = EngineConfig {
        unmatched_code: args.unmatched_code,
        conflict: args.param_conflict.into(),
        json_content_type: args.content_type.clone(),
        x_callid: !args.no_x_callid,
        ..EngineConfig::default()
    };
    let engine = Engine::new(set, config)
        .with_clock(Arc::new(SystemClock::with_skew_ms(args.clock_skew_ms())));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let engine = Arc::new(engine);
        let server = Server::start(engine.clone(), args.server_config())
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
        if args.watch {
            let config = crate::reload::WatchConfig {
                paths: args.scenarios.clone(),
                debounce: args.watch_debounce,
            };
            crate::reload::watch(engine.clone(), config, server.shutdown_token())
                .context("cannot watch the scenario files")?;
            tracing::info!(
                "watching {} for changes",
                args.scenarios
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{}", server.local_addr())?;
            if let Some(tls) = server.tls_addr() {
                writeln!(out, "listening on https://{tls}")?;
                if args.tls_cert.is_none() {
                    match server.ca_cert_path() {
                        Ok(p) => writeln!(out, "CA certificate: {}", p.display())?,
                        Err(e) => tracing::warn!("no CA: {e}"),
                    }
                }
            }
            out.flush()?;
        }
        tracing::info!(
            "{summary} loaded in {} ms; serving on http://{}",
            started.elapsed().as_millis(),
            server.local_addr()
        );
        let token = server.shutdown_token();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            token.cancel();
        });
        server.wait().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
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
