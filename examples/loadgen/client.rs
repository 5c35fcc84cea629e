//! A closed-loop HTTP/1.1 client: a fixed number of keep-alive connections, each sending its
//! next request as soon as the previous answer is in, every answer parsed and checked before it
//! counts. It writes pre-built request bytes and parses answers with `httparse`, so it spends
//! far less CPU per request than the servers it measures.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::workloads::Requests;

/// What one run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Server address.
    pub addr: SocketAddr,
    /// Open connections.
    pub connections: usize,
    /// Answers in this period are not counted.
    pub warmup: Duration,
    /// The measured period (ignored when `total` is set).
    pub duration: Duration,
    /// Send exactly this many requests instead of running for a duration.
    pub total: Option<u64>,
}

/// What one run measured.
#[derive(Debug)]
pub struct Report {
    /// Correct answers counted.
    pub ok: u64,
    /// Correct answers received, warm-up included (to relate to the server's CPU time).
    pub answered: u64,
    /// Wrong answers, failed connections and unparseable answers.
    pub errors: u64,
    /// Latency of the counted answers, in microseconds.
    pub latency: Histogram<u64>,
    /// The measured period.
    pub elapsed: Duration,
    /// The first problem seen, for the error message.
    pub first_error: Option<String>,
}

impl Report {
    /// Correct answers per second.
    pub fn rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    /// A latency percentile in milliseconds.
    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

struct Shared {
    requests: Requests,
    plan: Plan,
    measure_from: Instant,
    until: Instant,
    claimed: AtomicU64,
}

/// Runs a plan to completion.
pub async fn run(plan: Plan, requests: Requests) -> anyhow::Result<Report> {
    let start = Instant::now();
    let measure_from = if plan.total.is_some() {
        start
    } else {
        start + plan.warmup
    };
    let shared = Arc::new(Shared {
        requests,
        until: measure_from + plan.duration,
        measure_from,
        claimed: AtomicU64::new(0),
        plan,
    });
    let tasks: Vec<_> = (0..shared.plan.connections)
        .map(|id| tokio::spawn(connection(id, shared.clone())))
        .collect();
    let mut report = Report {
        ok: 0,
        answered: 0,
        errors: 0,
        latency: histogram()?,
        elapsed: Duration::ZERO,
        first_error: None,
    };
    for task in tasks {
        let part = task.await??;
        report.ok += part.ok;
        report.answered += part.answered;
        report.errors += part.errors;
        report.latency.add(&part.latency)?;
        if report.first_error.is_none() {
            report.first_error = part.first_error;
        }
    }
    let end = Instant::now();
    report.elapsed = if shared.plan.total.is_some() {
        end - start
    } else {
        shared.until.min(end) - shared.measure_from
    };
    Ok(report)
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs to 60 s, three significant digits.
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

async fn connection(id: usize, shared: Arc<Shared>) -> anyhow::Result<Report> {
    let mut report = Report {
        ok: 0,
        answered: 0,
        errors: 0,
        latency: histogram()?,
        elapsed: Duration::ZERO,
        first_error: None,
    };
    let mut rng = fastrand::Rng::with_seed(id as u64 + 1);
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut stream: Option<TcpStream> = None;
    let mut seq = 0u64;
    loop {
        if let Some(total) = shared.plan.total {
            if shared.claimed.fetch_add(1, Ordering::Relaxed) >= total {
                break;
            }
        } else if Instant::now() >= shared.until {
            break;
        }
        let conn = match &mut stream {
            Some(s) => s,
            None => match TcpStream::connect(shared.plan.addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream.insert(s)
                }
                Err(e) => {
                    report.fail(format!("cannot connect to {}: {e}", shared.plan.addr));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let req = shared.requests.next(&mut rng, id, seq);
        seq += 1;
        let sent = Instant::now();
        match exchange(conn, &req.bytes, &mut buf).await {
            Ok(answer) => {
                let done = Instant::now();
                match check(&answer, &req.expect) {
                    Ok(()) => {
                        report.answered += 1;
                        let counted = shared.plan.total.is_some()
                            || (sent >= shared.measure_from && done <= shared.until);
                        if counted {
                            report.ok += 1;
                            let us = u64::try_from((done - sent).as_micros()).unwrap_or(u64::MAX);
                            report.latency.saturating_record(us.max(1));
                        }
                    }
                    Err(why) => report.fail(why),
                }
                if !answer.keep_alive {
                    stream = None;
                }
            }
            Err(why) => {
                report.fail(why);
                stream = None;
            }
        }
    }
    Ok(report)
}

impl Report {
    fn fail(&mut self, why: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why);
        }
    }
}

/// A parsed answer.
pub struct Answer<'a> {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: &'a [u8],
    /// Whether the server keeps the connection open.
    pub keep_alive: bool,
}

/// Checks status 200 and every marker in the body.
pub fn check(answer: &Answer<'_>, expect: &[String]) -> Result<(), String> {
    let body = std::str::from_utf8(answer.body).unwrap_or("");
    if answer.status == 200 && expect.iter().all(|m| body.contains(m.as_str())) {
        return Ok(());
    }
    let shown: String = body.chars().take(400).collect();
    Err(format!(
        "wrong answer (status {}, expected {}): {shown}",
        answer.status,
        expect.join(" and ")
    ))
}

/// Sends one request and reads its answer (Content-Length bodies only: both servers send them).
pub async fn exchange<'a>(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &'a mut Vec<u8>,
) -> Result<Answer<'a>, String> {
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        let n = stream
            .read_buf(buf)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            return Err("the server closed the connection".to_owned());
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        let head_len = match resp.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(format!("unparseable answer: {e}")),
        };
        let status = resp.code.unwrap_or(0);
        let mut length = None;
        let mut keep_alive = true;
        for h in resp.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                length = std::str::from_utf8(h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
            } else if h.name.eq_ignore_ascii_case("connection") {
                keep_alive = !h.value.eq_ignore_ascii_case(b"close");
            }
        }
        let Some(length) = length else {
            return Err("the answer has no Content-Length".to_owned());
        };
        while buf.len() < head_len + length {
            buf.reserve(head_len + length - buf.len());
            let n = stream
                .read_buf(buf)
                .await
                .map_err(|e| format!("cannot read the answer body: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection mid-answer".to_owned());
            }
        }
        let body = buf.get(head_len..head_len + length).unwrap_or_default();
        return Ok(Answer {
            status,
            body,
            keep_alive,
        });
    }
}
