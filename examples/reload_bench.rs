//! Benchmark: how long a hot reload of a large scenario set takes.
//!
//! Writes 10,000 stubs (100 files of 100 stubs, a realistic mix of exact parameters, JSON-path
//! matchers, response bodies, sequences, scenario states and a few templates and regexes) into
//! a temporary directory, then reloads them the way `serve --watch` does: read every file,
//! parse and decode the changed ones, compile and check the whole set, carry counters over from
//! the running set, swap. Times a reload after a one-file edit and one where every file changed.
//!
//!     cargo run --release --example reload_bench [-- <stubs> <rounds>]

// The same allocator as the `gigya-mock` binary.
#[path = "../src/allocator.rs"]
mod allocator;

#[global_allocator]
static GLOBAL: allocator::Allocator = allocator::Allocator;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::CapturedRequest;
use gigya_mock::scenario::load::{LoadCache, load_paths_cached};
use gigya_mock::scenario::load_paths;

const STUBS_PER_FILE: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let stubs: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let files = write_scenarios(&dir.path().join("scenarios"), stubs)?;
    let paths = vec![dir.path().join("scenarios")];
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "reload benchmark: {stubs} stubs in {} files ({:.1} MiB of YAML), {rounds} rounds",
        files.len(),
        bytes as f64 / (1024.0 * 1024.0)
    );

    let engine = Engine::new(load_paths(&paths)?, EngineConfig::default());
    // Some traffic, so the carry-over has counters and states to move.
    for i in 0..1000 {
        let uid = format!("u-{}", i % stubs.max(1));
        let _ = engine.dispatch(&CapturedRequest::gigya_call(
            &format!("bench.method{}", i % 50),
            [("UID", uid.as_str())],
        ));
    }

    // What `serve --watch` does after an edit: re-read every file, decode the changed ones,
    // compile and check the whole set, carry counters over, swap. Timed up to the swap; the
    // old set is freed afterwards (off the request threads).
    let edited = files[files.len() / 2].clone();
    let original = std::fs::read_to_string(&edited)?;
    let mut cache = LoadCache::default();
    let _ = load_paths_cached(&paths, &mut cache)?;
    let mut one_file = Vec::with_capacity(rounds);
    let mut every_file = Vec::with_capacity(rounds);
    let mut frees = Vec::with_capacity(rounds);
    for round in 0..rounds {
        std::fs::write(
            &edited,
            original.replace("tier: gold", &format!("tier: gold{round}")),
        )?;
        let (took, freed) = timed_reload(&engine, &paths, &mut cache, stubs)?;
        one_file.push(took);
        frees.push(freed);
        let (took, _) = timed_reload(&engine, &paths, &mut LoadCache::default(), stubs)?;
        every_file.push(took);
    }
    report("one file edited", &mut one_file);
    report("every file changed", &mut every_file);
    report("freeing the old set", &mut frees);
    Ok(())
}

fn timed_reload(
    engine: &Engine,
    paths: &[PathBuf],
    cache: &mut LoadCache,
    stubs: usize,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let set = load_paths_cached(paths, cache)?;
    assert_eq!(set.summary().stubs, stubs);
    let old = engine.swap_scenarios(set);
    let took = started.elapsed();
    let freeing = Instant::now();
    drop(old);
    Ok((took, freeing.elapsed()))
}

fn report(what: &str, samples: &mut [Duration]) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    if n == 0 {
        return;
    }
    println!(
        "  {what:<24} min {:>8.2} ms   median {:>8.2} ms   p90 {:>8.2} ms   max {:>8.2} ms",
        ms(samples[0]),
        ms(samples[n / 2]),
        ms(samples[(n * 9 / 10).min(n - 1)]),
        ms(samples[n - 1]),
    );
}

fn write_scenarios(dir: &std::path::Path, stubs: usize) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::new();
    for file in 0..stubs.div_ceil(STUBS_PER_FILE) {
        let mut text = String::from("version: 1\nstubs:\n");
        let first = file * STUBS_PER_FILE;
        for i in first..(first + STUBS_PER_FILE).min(stubs) {
            stub(&mut text, i);
        }
        let path = dir.join(format!("file-{file:03}.yaml"));
        std::fs::write(&path, text)?;
        files.push(path);
    }
    Ok(files)
}

fn stub(out: &mut String, i: usize) {
    let method = format!("bench.method{}", i % 50);
    let _ = writeln!(out, "  - name: stub-{i}");
    match i % 100 {
        // A sequence in a stateful scenario.
        0 => {
            let _ = writeln!(
                out,
                "    scenario: flow-{i}\n    requiredState: Started\n    newState: Done\n    request: {{ method: {method}, params: {{ UID: u-{i} }} }}\n    responses:\n      - {{ errorCode: 500001 }}\n      - {{ body: {{ UID: u-{i} }} }}"
            );
        }
        // A templated echo.
        1 => {
            let _ = writeln!(
                out,
                "    request: {{ method: {method}, params: {{ UID: u-{i} }} }}\n    response:\n      body: {{ UID: \"{{{{ params.UID }}}}\", email: \"{{{{ json.profile.email }}}}\", at: \"{{{{ now() }}}}\" }}"
            );
        }
        // A regular expression.
        2 => {
            let _ = writeln!(
                out,
                "    request: {{ method: {method}, params: {{ UID: {{ matches: \"^u-{i}-[a-z]+$\" }} }} }}\n    response: {{ errorCode: 403042 }}"
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "    request:\n      method: {method}\n      params:\n        UID: u-{i}\n        data: {{ json: {{ \"$.tier\": gold }} }}\n    response:\n      body:\n        UID: u-{i}\n        profile: {{ firstName: User{i}, email: user{i}@example.com }}\n        data: {{ tier: gold, points: {i} }}"
            );
        }
    }
}
