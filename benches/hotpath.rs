//! Hot-path micro-benchmark: what gigya-mock itself spends per request, without sockets.
//!
//! For the W1/W2 requests of the benchmark suite it times decoding a request
//! (`CapturedRequest::new`) and answering it (`Engine::dispatch`), and it times loading the
//! 10,000-stub W3 scenario set. It then times answering against large stub sets that W2 does
//! not cover: stubs told apart by a JSON field, stubs that all share a parameter besides their
//! `UID`, stubs with only a regex, and a call no stub answers (its near-miss report). The HTTP layer is left out on purpose: `bench/run.sh` measures
//! the whole server; this shows where gigya-mock's own microseconds go.
//!
//! ```text
//! cargo bench --bench hotpath
//! ```

#[path = "../examples/loadgen/workloads.rs"]
#[allow(dead_code)]
mod workloads;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use bytes::Bytes;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{CapturedRequest, RequestParts, Scheme};
use gigya_mock::gigya::params::ConflictPolicy;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use workloads::{Requests, Workload};

/// Requests per timed batch (their parts are built before the clock starts).
const BATCH: usize = 10_000;
/// Timed batches per workload (`HOTPATH_BATCHES` overrides it); the fastest is reported.
const BATCHES: usize = 20;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    workloads::write_scenarios(dir.path())?;
    println!(
        "{:<14} {:>12} {:>12} {:>12}",
        "workload", "decode ns", "dispatch ns", "total ns"
    );
    for (label, scenarios, workload) in [
        ("W1 one stub", "w1", Workload::W1),
        ("W2 one UID", "w2", Workload::W2One),
        ("W2 UID mix", "w2", Workload::W2Mix),
    ] {
        let engine = Engine::new(load(&dir.path().join(scenarios))?, EngineConfig::default());
        let (decode, dispatch) = time_requests(&engine, workload)?;
        println!(
            "{label:<14} {:>12.0} {:>12.0} {:>12.0}",
            decode,
            dispatch,
            decode + dispatch
        );
    }
    let w3 = dir.path().join("w3");
    let mut best = Duration::MAX;
    for _ in 0..if std::env::var_os("HOTPATH_BATCHES").is_some() {
        1
    } else {
        5
    } {
        let started = Instant::now();
        let engine = Engine::new(load(&w3)?, EngineConfig::default());
        best = best.min(started.elapsed());
        drop(black_box(engine));
    }
    println!(
        "W3 load + compile of 10,000 stubs: {:.1} ms (best of 5)",
        best.as_secs_f64() * 1e3
    );
    large_sets()
}

/// Dispatch time per call against sets of 1 and of `LARGE` stubs for
/// `accounts.setAccountInfo`, each stub written by `criteria(i)`; the call is for the last
/// stub (`Some`), or for none of them.
fn large_sets() -> anyhow::Result<()> {
    const LARGE: usize = 10_000;
    type Criteria = fn(usize) -> String;
    let cases: [(&str, Criteria, bool); 4] = [
        (
            "JSON field",
            |i| format!("data: {{ json: {{ $.member: {{ equals: m-{i} }} }} }}"),
            true,
        ),
        (
            "UID + shared include",
            |i| format!("include: profile, UID: u-{i}"),
            true,
        ),
        (
            "regex UID only",
            |i| format!("UID: {{ matches: '^u-{i}$' }}"),
            true,
        ),
        ("unmatched (near misses)", |i| format!("UID: u-{i}"), false),
    ];
    println!();
    println!(
        "{:<26} {:>12} {:>14}",
        "dispatch ns per call", "1 stub", "10,000 stubs"
    );
    for (label, criteria, hit) in cases {
        let mut row = Vec::new();
        for n in [1, LARGE] {
            let mut yaml = String::from("version: 1\nstubs:\n");
            for i in 0..n {
                yaml.push_str(&format!(
                    "  - name: s{i}\n    request: {{ method: accounts.setAccountInfo, params: {{ {} }} }}\n    response: {{ body: {{ n: {i} }} }}\n",
                    criteria(i)
                ));
            }
            let set =
                gigya_mock::scenario::load_sources(vec![gigya_mock::scenario::load::Source {
                    label: "large.yaml".into(),
                    base_dir: PathBuf::from("."),
                    format: gigya_mock::scenario::load::Format::Yaml,
                    text: yaml,
                }])
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let engine = Engine::new(set, EngineConfig::default());
            let last = if hit { n - 1 } else { n };
            let (uid, data) = (
                format!("u-{last}"),
                format!("{{\"member\":\"m-{last}\",\"tier\":\"gold\"}}"),
            );
            let call = || {
                CapturedRequest::gigya_call(
                    "accounts.setAccountInfo",
                    [
                        ("UID", uid.as_str()),
                        ("include", "profile"),
                        ("data", data.as_str()),
                    ],
                )
            };
            let body = engine.dispatch(&call()).body;
            let answered = std::str::from_utf8(&body)
                .unwrap_or("")
                .contains(&format!("\"n\":{last}"));
            anyhow::ensure!(answered == hit, "{label}: wrong answer");
            let calls = if n == 1 { 20_000 } else { 200 };
            let mut fastest = f64::MAX;
            for _ in 0..5 {
                let started = Instant::now();
                for _ in 0..calls {
                    drop(black_box(engine.dispatch(&call())));
                }
                fastest = fastest.min(started.elapsed().as_secs_f64() * 1e9 / calls as f64);
            }
            row.push(fastest);
        }
        println!("{label:<26} {:>12.0} {:>14.0}", row[0], row[1]);
    }
    Ok(())
}

fn load(dir: &Path) -> anyhow::Result<gigya_mock::scenario::ScenarioSet> {
    gigya_mock::scenario::load_paths(&[PathBuf::from(dir)]).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Parts as hyper hands them over: method, target, headers, body.
struct Raw {
    uri: http::Uri,
    headers: HeaderMap,
    body: Bytes,
    expect: std::sync::Arc<[String]>,
}

/// The average decode and dispatch time per request, in nanoseconds (fastest batches). Each
/// request is decoded, answered and dropped before the next, as the server does.
fn time_requests(engine: &Engine, workload: Workload) -> anyhow::Result<(f64, f64)> {
    let requests = Requests::for_workload(workload, "127.0.0.1:8080")?;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut best = (f64::MAX, f64::MAX);
    let batches = std::env::var("HOTPATH_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(BATCHES);
    for batch in 0..batches {
        let raws = (0..BATCH)
            .map(|i| parse(requests.next(&mut rng, 0, i as u64)))
            .collect::<anyhow::Result<Vec<Raw>>>()?;
        if batch == 0 {
            for raw in &raws {
                let reply = engine.dispatch(&capture(raw));
                let body = std::str::from_utf8(&reply.body).unwrap_or("");
                anyhow::ensure!(
                    raw.expect.iter().all(|m| body.contains(m.as_str())),
                    "wrong answer {body}"
                );
            }
        }
        let started = Instant::now();
        for raw in &raws {
            drop(black_box(capture(raw)));
        }
        let decoded = started.elapsed();
        let started = Instant::now();
        for raw in &raws {
            let captured = capture(raw);
            drop(black_box(engine.dispatch(&captured)));
        }
        let answered = started.elapsed();
        let per = |d: Duration| d.as_secs_f64() * 1e9 / BATCH as f64;
        let (decode, total) = (per(decoded), per(answered));
        best = (best.0.min(decode), best.1.min(total));
    }
    Ok((best.0, (best.1 - best.0).max(0.0)))
}

/// Decodes a request from its parts (cloning them costs a few reference-count increments and
/// one header-map copy, as hyper's own parsing would).
fn capture(raw: &Raw) -> CapturedRequest {
    CapturedRequest::new(
        RequestParts {
            http_method: Method::POST,
            scheme: Scheme::Http,
            uri: raw.uri.clone(),
            headers: raw.headers.clone(),
            body: raw.body.clone(),
            remote: None,
            received_at: SystemTime::now(),
        },
        ConflictPolicy::default(),
    )
}

/// Splits a prepared HTTP/1.1 request into the parts hyper would produce.
fn parse(prepared: workloads::Prepared) -> anyhow::Result<Raw> {
    let bytes = prepared.bytes;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(&bytes)? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => anyhow::bail!("incomplete request"),
    };
    let uri: http::Uri = req.path.context("no path")?.parse()?;
    let mut map = HeaderMap::new();
    for h in req.headers.iter() {
        map.append(
            HeaderName::from_bytes(h.name.as_bytes())?,
            HeaderValue::from_bytes(h.value)?,
        );
    }
    Ok(Raw {
        uri,
        headers: map,
        body: bytes.slice(head..),
        expect: prepared.expect,
    })
}
