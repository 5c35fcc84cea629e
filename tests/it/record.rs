//! Record and replay: a recorder (gigya-mock with an upstream and a recorder) in front of a
//! second, emulating gigya-mock; the written files replayed by a fresh server; SIGINT during a
//! recording; `--proxy-unmatched`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use gigya_mock::GigyaMock;
use gigya_mock::exchange::form_encode;
use gigya_mock::journal::AnsweredBy;
use gigya_mock::record::{Layout, RecordConfig, Recorder};
use gigya_mock::server::ServerConfig;
use gigya_mock::server::upstream::Upstream;
use http_body_util::Full;
use serde_json::Value;

use crate::support::gigya::{API_KEY, SECRET_S, SECRET_U, USER_KEY, site_yaml, user_signed_form};
use crate::support::{Resp, bin, send};

/// The upstream: an emulating gigya-mock with the test site and its two accounts.
async fn upstream() -> GigyaMock {
    GigyaMock::builder()
        .scenario_yaml(site_yaml("strict", ""))
        .start()
        .await
}

fn proxy_config(upstream: &GigyaMock, recorder: Option<Arc<Recorder>>) -> ServerConfig {
    ServerConfig {
        upstream: Some(Upstream::parse(&upstream.uri()).unwrap()),
        recorder,
        shutdown_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    }
}

async fn post(base: &str, method: &str, form: &str) -> Resp {
    send(
        http::Request::post(format!("{base}/{method}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form.to_owned())))
            .unwrap(),
    )
    .await
}

/// Parameters with the partner secret in clear.
fn with_secret(params: &[(&str, &str)]) -> String {
    let mut p: Vec<(&str, &str)> = vec![("apiKey", API_KEY), ("secret", SECRET_S)];
    p.extend_from_slice(params);
    form_encode(p)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Parameters signed with the userKey's secret over `url` (the upstream's URL: that is where
/// the recorder sends the call). Returns the form and the volatile values sent.
fn signed(url: &str, params: &[(&str, &str)], nonce: &str) -> (String, String, String) {
    let timestamp = (now() - 13).to_string();
    let (form, sig) = user_signed_form(url, params, &timestamp, nonce);
    (form, sig, timestamp)
}

fn without_time(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("time");
    }
    v
}

fn all_files(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    text
}

fn validate(dir: &Path) -> (bool, String) {
    let out = Command::new(bin())
        .arg("validate")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_sessions_hold_no_secret_and_replay_the_same_bodies_in_order() {
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(
        Recorder::new(RecordConfig {
            out: dir.path().to_path_buf(),
            upstream: upstream.uri(),
            ..RecordConfig::default()
        })
        .unwrap(),
    );
    let proxy = GigyaMock::builder()
        .without_emulator()
        .server_config(proxy_config(&upstream, Some(recorder.clone())))
        .start()
        .await;
    let base = proxy.uri();

    // get (Fiat) → set (signed) → get (Alto): the same get, answered differently.
    let get = with_secret(&[("UID", "u-1")]);
    let first = post(&base, "accounts.getAccountInfo", &get).await;
    assert_eq!(first.json()["data"]["car"], "Fiat", "{}", first.text());
    assert_eq!(
        first.header("x-callid"),
        first.json()["callId"].as_str(),
        "the upstream's answer, unchanged"
    );
    let url = format!("{}/accounts.setAccountInfo", upstream.uri());
    let (set_form, sig, timestamp) = signed(
        &url,
        &[("UID", "u-1"), ("data", r#"{"car": "Alto"}"#)],
        "nonce-rec-1",
    );
    let set = post(&base, "accounts.setAccountInfo", &set_form).await;
    assert_eq!(set.json()["errorCode"], 0, "{}", set.text());
    let second = post(&base, "accounts.getAccountInfo", &get).await;
    assert_eq!(second.json()["data"]["car"], "Alto");
    let error = post(
        &base,
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "nobody")]),
    )
    .await;
    assert_eq!(error.json()["errorCode"], 403005, "{}", error.text());
    assert_eq!(recorder.recorded(), 4);

    // Nothing secret or volatile was written.
    let text = all_files(dir.path());
    for secret in [
        SECRET_S,
        SECRET_U,
        USER_KEY,
        &sig,
        &timestamp,
        "nonce-rec-1",
    ] {
        assert!(!text.contains(secret), "{secret} written:\n{text}");
    }
    assert!(text.contains("callId: "), "{text}");
    let (ok, out) = validate(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("2 files, 3 stubs"), "{out}");

    // A fresh server replays the files: same bodies (callId included), in order, offline.
    drop(proxy);
    drop(upstream);
    let replay = GigyaMock::builder()
        .scenarios(dir.path())
        .without_emulator()
        .start()
        .await;
    let base = replay.uri();
    let again = post(
        &base,
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "u-1")]),
    )
    .await;
    assert_eq!(without_time(again.json()), without_time(first.json()));
    let (set_form, _, _) = signed(
        &url,
        &[("UID", "u-1"), ("data", r#"{ "car":"Alto" }"#)],
        "other-nonce",
    );
    let again = post(&base, "accounts.setAccountInfo", &set_form).await;
    assert_eq!(without_time(again.json()), without_time(set.json()));
    for _ in 0..2 {
        let again = post(&base, "accounts.getAccountInfo", &get).await;
        assert_eq!(without_time(again.json()), without_time(second.json()));
    }
    let again = post(
        &base,
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "nobody")]),
    )
    .await;
    assert_eq!(without_time(again.json()), without_time(error.json()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_filters_and_per_session_files() {
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(
        Recorder::new(RecordConfig {
            out: dir.path().to_path_buf(),
            layout: Layout::PerSession,
            methods: vec!["accounts.get*".into()],
            upstream: upstream.uri(),
            ..RecordConfig::default()
        })
        .unwrap(),
    );
    let proxy = GigyaMock::builder()
        .without_emulator()
        .server_config(proxy_config(&upstream, Some(recorder.clone())))
        .start()
        .await;
    let r = post(
        &proxy.uri(),
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "u-2")]),
    )
    .await;
    assert_eq!(r.json()["errorCode"], 0);
    let r = post(
        &proxy.uri(),
        "accounts.setAccountInfo",
        &with_secret(&[("UID", "u-2"), ("data", "{}")]),
    )
    .await;
    assert_eq!(r.json()["errorCode"], 0, "forwarded though not recorded");
    let files = recorder.files();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("session-") && name.ends_with(".yaml"),
        "{name}"
    );
    let text = all_files(dir.path());
    assert!(text.contains("accounts.getAccountInfo"));
    assert!(!text.contains("accounts.setAccountInfo"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_unmatched_forwards_what_no_stub_answers_and_journals_it() {
    let upstream = upstream().await;
    let mock = GigyaMock::builder()
        .scenario_yaml(
            r#"
version: 1
stubs:
  - name: local
    request: { method: accounts.getAccountInfo, params: { UID: u-1 } }
    response: { body: { UID: u-1, from: stub } }
"#,
        )
        .without_emulator()
        .server_config(proxy_config(&upstream, None))
        .start()
        .await;
    let local = post(
        &mock.uri(),
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "u-1")]),
    )
    .await;
    assert_eq!(local.json()["from"], "stub");
    let proxied = post(
        &mock.uri(),
        "accounts.getAccountInfo",
        &with_secret(&[("UID", "u-2")]),
    )
    .await;
    assert_eq!(proxied.json()["UID"], "u-2", "{}", proxied.text());
    assert_eq!(
        proxied.json()["profile"],
        serde_json::json!({}),
        "{}",
        proxied.text()
    );
    // The upstream saw the call (with its credentials); the proxy's journal marks it proxied.
    let (seen, _) = upstream.engine().journal().snapshot();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].param("UID"), Some("u-2"));
    assert_eq!(seen[0].param("secret"), Some("[REDACTED]"));
    let (entries, _) = mock.engine().journal().snapshot();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].answered_by, AnsweredBy::Stub);
    assert_eq!(entries[1].answered_by, AnsweredBy::Proxied);
    assert_eq!(
        entries[1].upstream.as_deref(),
        Some(upstream.uri().as_str())
    );
    assert_eq!(
        entries[1].answered_text(),
        format!("proxied to {}", upstream.uri())
    );
    assert_eq!(entries[1].response.error_code, Some(0));
    let json = serde_json::to_value(&*entries[1]).unwrap();
    assert_eq!(json["answeredBy"], "proxied");
    assert_eq!(json["upstream"], upstream.uri());

    // An upstream that cannot be reached gives a Gigya error, still journaled as proxied.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead = GigyaMock::builder()
        .without_emulator()
        .server_config(ServerConfig {
            upstream: Some(Upstream::parse(&format!("http://{closed}")).unwrap()),
            ..ServerConfig::default()
        })
        .start()
        .await;
    let r = post(
        &dead.uri(),
        "accounts.getAccountInfo",
        "UID=u-1&format=json",
    )
    .await;
    let body = r.json();
    assert_eq!(body["errorCode"], 500026, "{body}");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{body}"
    );
    let (entries, _) = dead.engine().journal().snapshot();
    assert_eq!(entries[0].answered_by, AnsweredBy::Proxied);
}

#[test]
fn an_interrupted_recording_leaves_valid_files() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let upstream = runtime.block_on(upstream());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args([
            "record",
            "--port",
            "0",
            "--upstream",
            &upstream.uri(),
            "--out",
        ])
        .arg(dir.path())
        .args(["--redact", "profile.email"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.strip_prefix("listening on ").unwrap().to_owned();
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.starts_with("recording calls to http://127.0.0.1:"),
        "{second}"
    );

    let pid = child.id().to_string();
    runtime.block_on(async {
        // A first answer for sure, then a burst of calls with SIGINT in the middle of it.
        let r = post(
            &base,
            "accounts.getAccountInfo",
            &with_secret(&[("UID", "u-1")]),
        )
        .await;
        assert_eq!(r.json()["profile"]["email"], "ann@example.com");
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..40 {
            let base = base.clone();
            calls.spawn(async move {
                let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
                    hyper_util::client::legacy::Client::builder(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .build_http();
                let form = with_secret(&[
                    ("UID", if i % 2 == 0 { "u-1" } else { "u-2" }),
                    ("n", &i.to_string()),
                ]);
                let req = http::Request::post(format!("{base}/accounts.getAccountInfo"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from(form)))
                    .unwrap();
                let _ = client.request(req).await;
            });
            if i == 20 {
                let status = Command::new("kill").args(["-INT", &pid]).status().unwrap();
                assert!(status.success());
            }
        }
        while calls.join_next().await.is_some() {}
    });
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let summary: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("recorded ") && l.contains("accounts.getAccountInfo.yaml")),
        "{summary:?}"
    );
    let (ok, out) = validate(dir.path());
    assert!(ok, "{out}");
    let text = all_files(dir.path());
    assert!(
        !text.contains(SECRET_S) && !text.contains("ann@example.com"),
        "{text}"
    );
    assert!(text.contains("email: redacted-"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".yaml"))
        .collect();
    assert!(
        leftovers.is_empty() || leftovers.iter().all(|n| n.ends_with(".tmp")),
        "{leftovers:?}"
    );
    drop(upstream);
}

#[test]
fn record_refuses_bad_upstreams_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["record", "--upstream", "ftp://example.com", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "\"ftp://example.com\" is not an upstream: give an http:// or https:// base URL"
        ),
        "{stderr}"
    );
    let out = Command::new(bin())
        .args([
            "record",
            "--upstream",
            "gigya:us1",
            "--port",
            "0",
            "--redact",
            "profile.",
        ])
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: --redact \"profile.\": expected a parameter name"),
        "{stderr}"
    );
    let out = Command::new(bin())
        .args(["record", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!("record_help", String::from_utf8_lossy(&out.stdout));
}
