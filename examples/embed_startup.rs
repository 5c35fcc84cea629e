//! Measures how long `GigyaMock::builder()...start()` takes with 100 stubs (the library's
//! start-up goal is under 5 ms). Run: `cargo run --release --example embed_startup`.

use std::time::{Duration, Instant};

use gigya_mock::matchers::eq;
use gigya_mock::{GigyaMock, GigyaStub};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let runs = 50;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut builder = GigyaMock::builder();
        for i in 0..100 {
            builder = builder.stub(
                GigyaStub::method("accounts.setAccountInfo")
                    .param("UID", eq(format!("u-{i}")))
                    .responds_ok(),
            );
        }
        let mock = builder.start().await;
        times.push(started.elapsed());
        drop(mock);
    }
    times.sort();
    let median = times[runs / 2];
    let p90 = times[runs * 9 / 10];
    let max = times.last().copied().unwrap_or(Duration::ZERO);
    println!(
        "start-up with 100 stubs over {runs} runs: median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
}
