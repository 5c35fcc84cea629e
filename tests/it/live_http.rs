//! Live scenarios over real sockets: transport faults seen by a client, delays and slow bodies
//! in paused time, the admin routes for scenarios and faults, and hot reload of real files.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::reload::{self, WatchConfig};
use gigya_mock::scenario::load_paths;
use gigya_mock::server::ServerConfig;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::support::{TestServer, send, temp_files};

/// Sends raw bytes and reads until EOF or an error; returns what arrived and the error kind.
async fn exchange(addr: SocketAddr, request: &[u8]) -> (Vec<u8>, Option<io::ErrorKind>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Err(_) => panic!("no answer and no close within 5 s"),
            Ok(Ok(0)) => return (out, None),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return (out, Some(e.kind())),
        }
    }
}

fn post(method: &str) -> Vec<u8> {
    format!(
        "POST /{method} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\nConnection: close\r\n\r\nUID=u"
    )
    .into_bytes()
}

/// Splits a raw HTTP/1.1 answer into its head and body.
fn split(raw: &[u8]) -> (String, Vec<u8>) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(raw)));
    (
        String::from_utf8_lossy(&raw[..at]).into_owned(),
        raw[at + 4..].to_vec(),
    )
}

fn content_length(head: &str) -> usize {
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap()
}

const FAULTS: &str = r#"
version: 1
stubs:
  - { request: { method: f.reset }, response: { fault: connection-reset, body: { UID: u } } }
  - { request: { method: f.close }, response: { fault: close } }
  - { request: { method: f.malformed }, response: { fault: malformed-body, body: { UID: u-1, profile: { email: a@b.c } } } }
  - { request: { method: f.truncated }, response: { fault: truncated-body, body: { UID: u-1, profile: { email: a@b.c } } } }
  - { request: { method: f.slow }, response: { fault: { slowBody: { chunkBytes: 50, pauseMs: 200 } } } }
  - { request: { method: f.delay }, response: { delay: 250 } }
  - { request: { method: f.ok }, response: { body: { ok: true } } }
"#;

#[tokio::test]
async fn connection_reset_is_a_tcp_reset_without_an_answer() {
    let s = TestServer::start(FAULTS).await;
    let (bytes, err) = exchange(s.addr, &post("f.reset")).await;
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    assert_eq!(err, Some(io::ErrorKind::ConnectionReset));
    // The server keeps serving.
    let (bytes, _) = exchange(s.addr, &post("f.ok")).await;
    assert!(bytes.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn close_ends_the_connection_without_an_answer() {
    let s = TestServer::start(FAULTS).await;
    let (bytes, err) = exchange(s.addr, &post("f.close")).await;
    assert!(bytes.is_empty(), "{:?}", String::from_utf8_lossy(&bytes));
    assert_eq!(err, None, "a clean close, not a reset");
}

#[tokio::test]
async fn malformed_body_is_a_complete_answer_that_is_not_json() {
    let s = TestServer::start(FAULTS).await;
    let (raw, err) = exchange(s.addr, &post("f.malformed")).await;
    assert_eq!(err, None);
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(content_length(&head), body.len());
    assert!(body.starts_with(b"{\"callId\":"));
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
}

#[tokio::test]
async fn truncated_body_announces_more_than_it_sends() {
    let s = TestServer::start(FAULTS).await;
    let (raw, _) = exchange(s.addr, &post("f.truncated")).await;
    let (head, body) = split(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let promised = content_length(&head);
    assert!(!body.is_empty(), "half the body arrives");
    assert!(body.len() < promised, "{} of {promised}", body.len());
    assert_eq!(body.len(), promised / 2);
}

#[tokio::test(start_paused = true)]
async fn slow_bodies_arrive_in_chunks_with_pauses() {
    let s = TestServer::start(FAULTS).await;
    let started = tokio::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    stream.write_all(&post("f.slow")).await.unwrap();
    let mut raw = Vec::new();
    let mut arrivals = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        arrivals.push(started.elapsed());
    }
    let (head, body) = split(&raw);
    assert_eq!(content_length(&head), body.len());
    serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    let chunks = body.len().div_ceil(50);
    assert!(chunks >= 3, "{chunks}");
    let total = started.elapsed();
    let expected = Duration::from_millis(200 * (chunks as u64 - 1));
    assert!(total >= expected, "{total:?} < {expected:?}");
    assert!(total < expected + Duration::from_millis(200), "{total:?}");
    assert!(arrivals.len() >= chunks, "{arrivals:?}");
}

#[tokio::test(start_paused = true)]
async fn delays_are_applied_by_the_server() {
    let s = TestServer::start(FAULTS).await;
    let started = tokio::time::Instant::now();
    let r = s.post_form("/f.delay", "UID=u").await;
    assert_eq!(r.json()["errorCode"], 0);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_millis(350), "{waited:?}");
}

#[tokio::test]
async fn fault_rules_from_the_admin_api() {
    let s = TestServer::start(FAULTS).await;
    let r = s
        .call_json(
            "POST",
            "/__admin/faults",
            r#"{"method": "f.ok", "errorCode": 403048, "next": 2}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["added"], serde_json::json!(["admin#0"]));
    let r = s
        .call_json(
            "POST",
            "/__admin/faults",
            r#"[{"name": "down", "method": "f.d*", "status": 503, "next": 1}]"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let codes: Vec<serde_json::Value> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(s.post_form("/f.ok", "UID=u").await.json()["errorCode"].clone());
        }
        v
    };
    assert_eq!(codes, vec![403048, 403048, 0]);
    let r = s.post_form("/f.delay", "UID=u").await;
    assert_eq!(r.status, 503);
    let report = s.call_json("GET", "/__admin/faults", "").await.json();
    assert_eq!(report["faults"][0]["fired"], 2);
    assert_eq!(report["faults"][0]["seen"], 3);
    assert_eq!(report["faults"][0]["remaining"], 0);
    assert_eq!(report["faults"][1]["name"], "down");
    assert_eq!(report["faults"][1]["fired"], 1);
    // A bad rule: every problem with its position in the body.
    let r = s
        .call_json(
            "POST",
            "/__admin/faults",
            "{\"method\": \"f.ok\",\n \"errorCode\": 403048, \"probability\": 3, \"nxt\": 1}",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["problems"],
        serde_json::json!(["2:41: unknown key `nxt` in a fault rule; did you mean `next`?"])
    );
    let r = s
        .call_json(
            "POST",
            "/__admin/faults",
            r#"{"errorCode": 403048, "probability": 3}"#,
        )
        .await;
    assert_eq!(
        r.json()["problems"],
        serde_json::json!(["1:38: probability 3 is outside 0 to 1"])
    );
    let r = s.call_json("DELETE", "/__admin/faults", "").await;
    assert_eq!(r.json()["removed"], 2);
    assert_eq!(s.post_form("/f.ok", "UID=u").await.json()["errorCode"], 0);
}

#[tokio::test]
async fn scenario_states_from_the_admin_api() {
    let s = TestServer::start(
        r#"
version: 1
stubs:
  - name: register
    scenario: sign up
    newState: Registered
    request: { method: accounts.register }
    response: {}
  - name: login
    scenario: sign up
    requiredState: Registered
    request: { method: accounts.login }
    response: { body: { UID: u } }
"#,
    )
    .await;
    let list = s.call_json("GET", "/__admin/scenarios", "").await.json();
    assert_eq!(
        list,
        serde_json::json!({"scenarios": [{"name": "sign up", "state": "Started", "states": ["Started", "Registered"], "stubs": ["register", "login"]}]})
    );
    assert_eq!(
        s.post_form("/accounts.login", "").await.json()["errorCode"],
        403007
    );
    let r = s
        .call_json(
            "PUT",
            "/__admin/scenarios/sign%20up",
            r#"{"state": "Registered"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.post_form("/accounts.login", "").await.json()["UID"], "u");
    let r = s
        .call_json(
            "PUT",
            "/__admin/scenarios/sign%20up",
            r#"{"state": "Nope"}"#,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"],
        "scenario \"sign up\" has no state \"Nope\"; its states are: Started, Registered"
    );
    let r = s
        .call_json("PUT", "/__admin/scenarios/other", r#"{"state": "x"}"#)
        .await;
    assert_eq!(r.status, 404);
    let r = s.call_json("POST", "/__admin/scenarios/reset", "").await;
    assert_eq!(r.json()["scenarios"][0]["state"], "Started");
    assert_eq!(
        s.post_form("/accounts.login", "").await.json()["errorCode"],
        403007
    );
}

// ---- hot reload ------------------------------------------------------------------------

fn stub_file(generation: u64) -> String {
    format!(
        "version: 1\nstubs:\n  - name: gen\n    request: {{ method: r.gen }}\n    response: {{ body: {{ gen: {generation} }} }}\n"
    )
}

/// A server over real scenario files with a fast watcher.
async fn watched(dir: &Path, paths: &[&str]) -> (TestServer, CancellationToken) {
    let paths: Vec<_> = paths.iter().map(|p| dir.join(p)).collect();
    let set = load_paths(&paths).unwrap();
    let s = TestServer::with(
        Engine::new(set, EngineConfig::default()),
        ServerConfig::default(),
    )
    .await;
    let token = CancellationToken::new();
    reload::watch(
        s.engine.clone(),
        WatchConfig {
            paths,
            debounce: Duration::from_millis(50),
        },
        token.clone(),
    )
    .unwrap();
    (s, token)
}

/// Waits (up to 10 s, polling) until the reload counters pass `reloads`/`failures`.
async fn wait_for(engine: &Engine, what: impl Fn(&gigya_mock::engine::ReloadState) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if what(&engine.reload_status().snapshot()) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload within 10 s: {:?}",
            engine.reload_status().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn current_gen(s: &TestServer) -> serde_json::Value {
    s.post_form("/r.gen", "").await.json()["gen"].clone()
}

#[tokio::test]
async fn an_edit_is_served_and_an_invalid_edit_keeps_the_last_good_set() {
    let dir = temp_files(&[("stubs/a.yaml", &stub_file(1))]);
    let (s, token) = watched(dir.path(), &["stubs"]).await;
    assert_eq!(current_gen(&s).await, 1);
    let health = s.get("/__admin/health").await.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["reload"]["watching"], true);

    std::fs::write(dir.path().join("stubs/a.yaml"), stub_file(2)).unwrap();
    wait_for(&s.engine, |st| st.reloads >= 1).await;
    assert_eq!(current_gen(&s).await, 2);

    std::fs::write(
        dir.path().join("stubs/a.yaml"),
        "version: 1\nstubs:\n  - name: gen\n    request: { method: r.gen }\n    response: { errorCode: abc }\n",
    )
    .unwrap();
    wait_for(&s.engine, |st| st.failures >= 1).await;
    assert_eq!(current_gen(&s).await, 2, "the last good set keeps serving");
    let health = s.get("/__admin/health").await.json();
    assert_eq!(health["status"], "degraded");
    let errors = health["reload"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    let e = errors[0].as_str().unwrap();
    assert!(
        e.ends_with("stubs/a.yaml:5:28: errorCode: expected an integer, found a string"),
        "{e}"
    );

    std::fs::write(dir.path().join("stubs/a.yaml"), stub_file(3)).unwrap();
    wait_for(&s.engine, |st| st.reloads >= 2).await;
    assert_eq!(current_gen(&s).await, 3);
    assert_eq!(s.get("/__admin/health").await.json()["status"], "ok");
    token.cancel();
}

#[tokio::test]
async fn rename_over_saves_new_directories_and_deletions_are_seen() {
    let dir = temp_files(&[
        ("stubs/a.yaml", &stub_file(1)),
        ("single.yaml", "version: 1\n"),
    ]);
    let (s, token) = watched(dir.path(), &["stubs", "single.yaml"]).await;
    // An editor that writes a temporary file and renames it over the original.
    let tmp = dir.path().join("stubs/.a.yaml.tmp");
    std::fs::write(&tmp, stub_file(2)).unwrap();
    std::fs::rename(&tmp, dir.path().join("stubs/a.yaml")).unwrap();
    wait_for(&s.engine, |st| st.reloads >= 1).await;
    assert_eq!(current_gen(&s).await, 2);

    // A directory created after start, with a file in it.
    std::fs::create_dir_all(dir.path().join("stubs/later/deeper")).unwrap();
    std::fs::write(
        dir.path().join("stubs/later/deeper/b.yaml"),
        "version: 1\nstubs:\n  - name: later\n    request: { method: r.later }\n    response: {}\n",
    )
    .unwrap();
    wait_for(&s.engine, |_| s.engine.scenarios().stub("later").is_some()).await;
    assert_eq!(s.post_form("/r.later", "").await.json()["errorCode"], 0);

    // A file given directly, replaced by rename.
    let tmp = dir.path().join("single.yaml.new");
    std::fs::write(
        &tmp,
        "version: 1\nstubs:\n  - name: single\n    request: { method: r.single }\n    response: {}\n",
    )
    .unwrap();
    std::fs::rename(&tmp, dir.path().join("single.yaml")).unwrap();
    wait_for(&s.engine, |_| s.engine.scenarios().stub("single").is_some()).await;

    // Deleting a file removes its stubs.
    std::fs::remove_file(dir.path().join("stubs/later/deeper/b.yaml")).unwrap();
    wait_for(&s.engine, |_| s.engine.scenarios().stub("later").is_none()).await;
    assert_eq!(
        s.post_form("/r.later", "").await.json()["errorCode"],
        403007
    );
    token.cancel();
}

fn single_file(generation: u64) -> String {
    format!(
        "version: 1\nstubs:\n  - name: single\n    request: {{ method: r.single }}\n    response: {{ body: {{ gen: {generation} }} }}\n"
    )
}

async fn single_gen(s: &TestServer) -> serde_json::Value {
    s.post_form("/r.single", "").await.json()["gen"].clone()
}

/// Waits until `probe` answers `want`.
async fn wait_for_gen<'a, F, Fut>(s: &'a TestServer, probe: F, want: u64)
where
    F: Fn(&'a TestServer) -> Fut,
    Fut: std::future::Future<Output = serde_json::Value>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while probe(s).await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "generation {want} not served within 10 s: {:?}",
            s.engine.reload_status().snapshot()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_watched_directory_deleted_and_created_again_is_watched_again() {
    let dir = temp_files(&[
        ("stubs/a.yaml", &stub_file(1)),
        ("conf/single.yaml", &single_file(1)),
    ]);
    let (s, token) = watched(dir.path(), &["stubs", "conf/single.yaml"]).await;
    let stubs = dir.path().join("stubs");
    let conf = dir.path().join("conf");

    // Deleted: the reload fails and the last good set keeps serving.
    std::fs::remove_dir_all(&stubs).unwrap();
    wait_for(&s.engine, |st| st.failures >= 1).await;
    assert_eq!(current_gen(&s).await, 1);

    // Created again: seen through the parent's watch...
    std::fs::create_dir(&stubs).unwrap();
    std::fs::write(stubs.join("a.yaml"), stub_file(2)).unwrap();
    wait_for_gen(&s, current_gen, 2).await;
    // ...and watched again, so an edit inside it reloads.
    std::fs::write(stubs.join("a.yaml"), stub_file(3)).unwrap();
    wait_for_gen(&s, current_gen, 3).await;

    // Replaced at once, the way a branch switch does it: a new directory at the same path.
    let staged = dir.path().join("stubs.new");
    std::fs::create_dir(&staged).unwrap();
    std::fs::write(staged.join("a.yaml"), stub_file(4)).unwrap();
    std::fs::remove_dir_all(&stubs).unwrap();
    std::fs::rename(&staged, &stubs).unwrap();
    wait_for_gen(&s, current_gen, 4).await;
    std::fs::write(stubs.join("a.yaml"), stub_file(5)).unwrap();
    wait_for_gen(&s, current_gen, 5).await;

    // The directory of a file given directly, the same way.
    std::fs::remove_dir_all(&conf).unwrap();
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(conf.join("single.yaml"), single_file(2)).unwrap();
    wait_for_gen(&s, single_gen, 2).await;
    std::fs::write(conf.join("single.yaml"), single_file(3)).unwrap();
    wait_for_gen(&s, single_gen, 3).await;
    token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_never_mix_sets_or_fail_requests() {
    // Two files; every generation rewrites both, atomically (write + rename).
    let pair = |generation: u64| {
        (
            stub_file(generation),
            format!(
                "version: 1\nstubs:\n  - name: other\n    request: {{ method: r.other }}\n    response: {{ body: {{ gen: {generation} }} }}\n"
            ),
        )
    };
    let (a, b) = pair(0);
    let dir = temp_files(&[("stubs/a.yaml", &a), ("stubs/b.yaml", &b)]);
    let (s, token) = watched(dir.path(), &["stubs"]).await;
    let s = Arc::new(s);
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (s, stop, served) = (s.clone(), stop.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            let (mut last_a, mut last_b) = (0, 0);
            while !stop.load(Ordering::Acquire) {
                // Per client, generations only move forward: each request is answered from one
                // whole set, and a newer set never gives way to an older one.
                let a = s.post_form("/r.gen", "").await.json();
                let b = s.post_form("/r.other", "").await.json();
                assert_eq!(a["errorCode"], 0, "{a}");
                assert_eq!(b["errorCode"], 0, "{b}");
                let (ga, gb) = (a["gen"].as_u64().unwrap(), b["gen"].as_u64().unwrap());
                assert!(
                    ga >= last_a && gb >= last_b,
                    "went back: {last_a}->{ga}, {last_b}->{gb}"
                );
                (last_a, last_b) = (ga, gb);
                served.fetch_add(2, Ordering::Relaxed);
            }
        }));
    }
    let generations = 8;
    for generation in 1..=generations {
        let (a, b) = pair(generation);
        for (name, text) in [("a.yaml", a), ("b.yaml", b)] {
            let tmp = dir.path().join(format!("stubs/.{name}.tmp"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, dir.path().join("stubs").join(name)).unwrap();
        }
        let engine = s.engine.clone();
        wait_for(&engine, |_| {
            engine.scenarios().stub("gen").is_some_and(|st| {
                st.model().response.body == Some(serde_json::json!({"gen": generation}))
            }) && engine.scenarios().stub("other").is_some_and(|st| {
                st.model().response.body == Some(serde_json::json!({"gen": generation}))
            })
        })
        .await;
    }
    stop.store(true, Ordering::Release);
    for c in clients {
        c.await.unwrap();
    }
    assert!(served.load(Ordering::Relaxed) > 0);
    assert_eq!(current_gen(&s).await, generations);
    assert_eq!(s.engine.reload_status().snapshot().failures, 0);
    token.cancel();
}

#[tokio::test(start_paused = true)]
async fn in_flight_requests_finish_on_the_set_they_started_with() {
    let dir = temp_files(&[(
        "a.yaml",
        "version: 1\nstubs:\n  - name: gen\n    request: { method: r.gen }\n    response: { delay: 1000, body: { gen: 1 } }\n",
    )]);
    let path = dir.path().join("a.yaml");
    let s = TestServer::with(
        Engine::new(
            load_paths(std::slice::from_ref(&path)).unwrap(),
            EngineConfig::default(),
        ),
        ServerConfig::default(),
    )
    .await;
    let url = s.url("/r.gen");
    let pending = tokio::spawn(async move {
        send(
            http::Request::post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
    });
    // Wait until the request has been dispatched (its stub counted the hit).
    while s
        .engine
        .scenarios()
        .stub("gen")
        .unwrap()
        .hits
        .load(Ordering::Acquire)
        == 0
    {
        tokio::task::yield_now().await;
    }
    std::fs::write(&path, stub_file(2)).unwrap();
    reload::reload(&s.engine, std::slice::from_ref(&path))
        .await
        .unwrap();
    assert_eq!(current_gen(&s).await, 2, "new requests see the new set");
    assert_eq!(
        pending.await.unwrap().json()["gen"],
        1,
        "the delayed one finishes on the old"
    );
}
