//! The benchmark load generator (driven by `bench/run.sh`).
//!
//! - `loadgen scenarios <dir>` writes the scenario files of every workload.
//! - `loadgen probe --url U --workload W` sends one request of each kind and checks the answers
//!   (exit 3 when the server answers "no stub matched": the feature under test is missing).
//! - `loadgen run --url U --workload W -c 64 -d 5 -w 1` (or `--requests N`) measures req/s and
//!   latency over keep-alive connections, counting only answers whose body is the right stub's.
//! - `loadgen startup --workload w3 --runs 5 -- <command…>` starts a server command (which must
//!   print `listening on http://…` first), times process start → first correct answer, reads the
//!   resident memory, and stops it.
//!
//! Results go to stdout as one `key=value` line starting with `result`, for the script.

mod client;
mod workloads;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::io::AsyncBufReadExt as _;
use tokio::net::TcpStream;

use workloads::{Requests, Workload};

/// Load generator for gigya-mock's benchmark suite.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every workload's scenario files into a directory.
    Scenarios {
        /// Target directory (created if missing).
        dir: PathBuf,
    },
    /// Send one request of each kind and check the answers.
    Probe {
        /// Server URL, `http://127.0.0.1:PORT`.
        #[arg(long)]
        url: String,
        /// What to send.
        #[arg(long, value_enum)]
        workload: Workload,
    },
    /// Measure throughput and latency.
    Run {
        /// Server URL, `http://127.0.0.1:PORT`.
        #[arg(long)]
        url: String,
        /// What to send.
        #[arg(long, value_enum)]
        workload: Workload,
        /// Keep-alive connections.
        #[arg(short, long, default_value_t = 64)]
        connections: usize,
        /// Measured seconds.
        #[arg(short, long, default_value_t = 5.0)]
        duration: f64,
        /// Warm-up seconds before measuring.
        #[arg(short, long, default_value_t = 1.0)]
        warmup: f64,
        /// Send exactly this many requests (no warm-up) instead of running for a duration.
        #[arg(long)]
        requests: Option<u64>,
    },
    /// Time a server's start-up: process start → first correct answer.
    Startup {
        /// What the first request asks for.
        #[arg(long, value_enum)]
        workload: Workload,
        /// How many times to start the server (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The server command; it must print `listening on http://…` as its first line.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Scenarios { dir } => {
            workloads::write_scenarios(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Probe { url, workload } => probe(&url, workload).await,
        Command::Run {
            url,
            workload,
            connections,
            duration,
            warmup,
            requests,
        } => {
            let (addr, host) = parse_url(&url)?;
            let plan = client::Plan {
                addr,
                connections: connections.max(1),
                warmup: seconds(warmup)?,
                duration: seconds(duration)?,
                total: requests,
            };
            let report = client::run(plan, Requests::for_workload(workload, &host)?).await?;
            println!(
                "result ok={} answered={} errors={} seconds={:.2} rps={:.0} p50_ms={:.3} p99_ms={:.3} max_ms={:.3}",
                report.ok,
                report.answered,
                report.errors,
                report.elapsed.as_secs_f64(),
                report.rps(),
                report.ms(0.50),
                report.ms(0.99),
                report.latency.max() as f64 / 1000.0,
            );
            if let Some(why) = &report.first_error {
                eprintln!("loadgen: {} failed request(s); first: {why}", report.errors);
            }
            Ok(if report.errors == 0 && report.ok > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Startup {
            workload,
            runs,
            command,
        } => startup(workload, runs.max(1), &command).await,
    }
}

fn seconds(s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{s} is not a number of seconds"))
}

/// `http://127.0.0.1:8080` → the socket address and the `Host` header value.
fn parse_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let host = url
        .trim()
        .strip_prefix("http://")
        .with_context(|| format!("{url:?} is not an http:// URL"))?
        .trim_end_matches('/');
    let addr = host
        .parse()
        .with_context(|| format!("{url:?} does not name an ip:port"))?;
    Ok((addr, host.to_owned()))
}

/// The answer that means "nothing here answers this call".
fn is_unmatched(body: &str) -> bool {
    body.contains("[gigya-mock] no stub matched")
}

async fn probe(url: &str, workload: Workload) -> anyhow::Result<ExitCode> {
    let (addr, host) = parse_url(url)?;
    let requests = Requests::for_workload(workload, &host)?;
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    let mut buf = Vec::new();
    for req in requests.samples() {
        let answer = client::exchange(&mut stream, &req.bytes, &mut buf)
            .await
            .map_err(anyhow::Error::msg)?;
        if let Err(why) = client::check(&answer, &req.expect) {
            let unmatched = is_unmatched(std::str::from_utf8(answer.body).unwrap_or(""));
            eprintln!("loadgen: probe failed: {why}");
            return Ok(ExitCode::from(if unmatched { 3 } else { 1 }));
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct StartupSample {
    listening: Duration,
    answered: Duration,
    rss_kib: u64,
    hwm_kib: u64,
}

async fn startup(workload: Workload, runs: usize, command: &[String]) -> anyhow::Result<ExitCode> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(start_once(workload, command).await?);
    }
    samples.sort_by_key(|s| s.answered);
    let median = &samples[samples.len() / 2];
    println!(
        "result runs={} listening_ms={:.1} first_answer_ms={:.1} min_ms={:.1} max_ms={:.1} rss_kib={} hwm_kib={}",
        samples.len(),
        median.listening.as_secs_f64() * 1000.0,
        median.answered.as_secs_f64() * 1000.0,
        samples
            .first()
            .map_or(0.0, |s| s.answered.as_secs_f64() * 1000.0),
        samples
            .last()
            .map_or(0.0, |s| s.answered.as_secs_f64() * 1000.0),
        median.rss_kib,
        median.hwm_kib,
    );
    Ok(ExitCode::SUCCESS)
}

async fn start_once(workload: Workload, command: &[String]) -> anyhow::Result<StartupSample> {
    let (program, args) = command.split_first().context("no server command given")?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .context("no `listening on` line within 30 s")??
        .context("the server exited before listening")?;
    let listening = started.elapsed();
    let url = line
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected first line {line:?}"))?;
    let (addr, host) = parse_url(url)?;
    let requests = Requests::for_workload(workload, &host)?;
    let req = requests
        .samples()
        .into_iter()
        .next()
        .context("no request")?;
    let mut buf = Vec::new();
    // The listener is bound before the line is printed, but retry briefly in case a server
    // prints first.
    let answered = loop {
        match TcpStream::connect(addr).await {
            Ok(mut stream) => {
                let _ = stream.set_nodelay(true);
                let answer = client::exchange(&mut stream, &req.bytes, &mut buf)
                    .await
                    .map_err(anyhow::Error::msg)?;
                client::check(&answer, &req.expect).map_err(anyhow::Error::msg)?;
                break started.elapsed();
            }
            Err(_) if started.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Err(e) => return Err(e).context("cannot connect to the server"),
        }
    };
    let (rss_kib, hwm_kib) = memory_kib(pid);
    // Our own child, stopped by its handle.
    let _ = child.start_kill();
    let _ = child.wait().await;
    Ok(StartupSample {
        listening,
        answered,
        rss_kib,
        hwm_kib,
    })
}

/// `VmRSS` and `VmHWM` (peak) of a process, in KiB (0 where /proc is unavailable).
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
