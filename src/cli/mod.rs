//! The command-line interface: argument parsing (every flag has a `GIGYA_MOCK_*` variable),
//! logging set-up, and the `serve`, `record`, `validate`, `schema`, `verify` and `journal` commands
//! (the last two talk HTTP to a running server's admin API).
//!
//! [`run`] is what `main` calls and what CLI tests can call in-process; it returns the exit
//! code instead of exiting. This module is the only place that prints to stdout and installs
//! the tracing subscriber.

mod args;
mod client;
mod journal;
mod verify;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;

use crate::embed::{GigyaMock, StartError};
use crate::engine::EngineConfig;
use crate::gigya::envelope::SystemClock;
use crate::scenario;
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
    let level = match &cli.command {
        // Every call a recording forwards is "unmatched": that is not news there.
        Command::Record(_) if cli.log_level == "info" => "info,gigya_mock::unmatched=warn",
        _ => cli.log_level.as_str(),
    };
    init_logging(level, cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Validate(args) => Ok(validate(&args.paths)),
        Command::Ca(args) => ca(&args),
        Command::Schema => {
            print!("{}", scenario::model::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify(args) => verify::run(&args),
        Command::Journal(args) => journal::run(&args),
        Command::Record(args) => record(*args),
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
    let config = EngineConfig {
        unmatched_code: args.unmatched_code,
        conflict: args.param_conflict.into(),
        json_content_type: args.content_type.clone(),
        x_callid: !args.no_x_callid,
        ..EngineConfig::default()
    };
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let mut builder = GigyaMock::builder()
        .engine_config(config)
        .server_config(args.server_config())
        .clock(Arc::new(SystemClock::with_skew_ms(args.clock_skew_ms())))
        .emulator(args.emulator_config())
        .journal(args.journal_config())
        .worker_threads(threads);
    for path in &args.scenarios {
        builder = builder.scenarios(path);
    }
    let mock = match builder.try_start_blocking() {
        Ok(m) => {
            scenario::memory::release_after_load();
            m
        }
        Err(StartError::Scenarios(e)) => {
            for p in &e.problems {
                eprintln!("{p}");
            }
            eprintln!(
                "error: {} problem(s) in the scenarios; not starting",
                e.problems.len()
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot listen on {}:{}", args.bind, args.port));
        }
    };
    if args.watch {
        let config = crate::reload::WatchConfig {
            paths: args.scenarios.clone(),
            debounce: args.watch_debounce,
        };
        let _runtime = mock.runtime().enter();
        crate::reload::watch(mock.engine().clone(), config, mock.shutdown_token())
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
        writeln!(out, "listening on {}", mock.uri())?;
        if let Some(admin) = mock.admin_address() {
            writeln!(out, "admin API on http://{admin}/__admin")?;
        }
        if let Some(tls) = mock.tls_address() {
            writeln!(out, "listening on https://{tls}")?;
            if let Some(ca) = mock.ca_cert_path() {
                writeln!(out, "CA certificate: {}", ca.display())?;
            }
        }
        out.flush()?;
    }
    tracing::info!(
        "{} loaded in {} ms; serving on {}",
        mock.engine().scenarios().summary(),
        started.elapsed().as_millis(),
        mock.uri()
    );
    mock.wait_for_signal();
    tracing::info!("shutting down");
    drop(mock);
    Ok(ExitCode::SUCCESS)
}

fn record(args: args::RecordArgs) -> anyhow::Result<ExitCode> {
    let upstream = args.upstream.clone().with_timeout(args.upstream_timeout);
    let recorder = Arc::new(crate::record::Recorder::new(crate::record::RecordConfig {
        out: args.out.clone(),
        layout: args.layout.into(),
        methods: args.methods.clone(),
        redact: args.redact.clone(),
        upstream: upstream.to_string(),
        keep_time: args.keep_time,
    })?);
    let server = crate::server::ServerConfig {
        bind: args.bind,
        port: args.port,
        max_body: args.max_body,
        upstream: Some(upstream.clone()),
        recorder: Some(recorder.clone()),
        ..crate::server::ServerConfig::default()
    };
    let threads = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let mock = GigyaMock::builder()
        .server_config(server)
        .without_emulator()
        .worker_threads(threads)
        .try_start_blocking()
        .with_context(|| format!("cannot listen on {}:{}", args.bind, args.port))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", mock.uri())?;
        writeln!(
            out,
            "recording calls to {upstream} into {}; stop with Ctrl-C",
            args.out.display()
        )?;
        out.flush()?;
    }
    mock.wait_for_signal();
    drop(mock);
    let files = recorder.files();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "recorded {} call{} into {} file{} in {}{}{}",
        recorder.recorded(),
        if recorder.recorded() == 1 { "" } else { "s" },
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        args.out.display(),
        if files.is_empty() { "" } else { ": " },
        crate::record::describe_files(&files)
    )?;
    Ok(ExitCode::SUCCESS)
}
