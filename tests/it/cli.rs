//! CLI tests: the built binary, its stdout, exit codes and `file:line:col` output.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{bin, repo, run_bin};

fn run(args: &[&str]) -> (i32, String, String) {
    run_bin(args)
}

#[test]
fn validate_reports_every_problem_with_its_position() {
    let (code, stdout, _) = run(&["validate", "tests/fixtures/scenarios/invalid"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("validate_invalid_dir", stdout);
}

#[test]
fn validate_accepts_the_bundled_scenarios() {
    let (code, stdout, stderr) = run(&["validate", "scenarios"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.trim_end().ends_with(": ok"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with(&format!(
            "{} files, ",
            std::fs::read_dir(repo().join("scenarios"))
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "json"))
                .count()
        )));
}

#[test]
fn validate_of_a_missing_path_fails() {
    let (code, stdout, _) = run(&["validate", "no/such/dir"]);
    assert_eq!(code, 1);
    assert!(
        stdout.starts_with("no/such/dir: cannot read scenarios:"),
        "{stdout}"
    );
}

#[test]
fn schema_prints_the_committed_json_schema() {
    let (code, stdout, _) = run(&["schema"]);
    assert_eq!(code, 0);
    let committed = std::fs::read_to_string(repo().join("schema/gigya-mock.schema.json")).unwrap();
    assert_eq!(
        stdout, committed,
        "regenerate with: cargo run -- schema > schema/gigya-mock.schema.json"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["properties"]["stubs"].is_object());
}

#[test]
fn help_and_version() {
    let (code, stdout, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout.trim(),
        format!("gigya-mock {}", env!("CARGO_PKG_VERSION"))
    );
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("help", stdout);
    let (code, stdout, _) = run(&["serve", "--help"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("serve_help", stdout);
    let (code, _, stderr) = run(&["serve", "--port", "notaport"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid value 'notaport'"), "{stderr}");
}

#[test]
fn serve_prints_the_listening_line_first_and_stops_on_sigterm() {
    let mut child = Command::new(bin())
        .args(["serve", "--scenarios", "scenarios", "--port", "0"])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let re = regex::Regex::new(r"^listening on http://127\.0\.0\.1:(\d+)$").unwrap();
    let port: u16 = re.captures(&first).unwrap_or_else(|| panic!("{first}"))[1]
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    assert!(resp.contains("\"status\":\"ok\""), "{resp}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            assert_eq!(s.code(), Some(0), "SIGTERM exits 0");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_refuses_to_start_half_loaded() {
    let (code, stdout, stderr) = run(&[
        "serve",
        "--scenarios",
        "tests/fixtures/scenarios/invalid",
        "--port",
        "0",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    assert!(stderr.contains("tests/fixtures/scenarios/invalid/several-problems.yaml:10:25: invalid regular expression"), "{stderr}");
    assert!(stderr.contains("not starting"));
}

#[test]
fn env_vars_set_flags() {
    let out = Command::new(bin())
        .args(["validate"])
        .env("GIGYA_MOCK_SCENARIOS", "scenarios")
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn ca_prints_and_exports_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (code, stdout, _) = run(&["ca", "--print-path", "--data-dir", data]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("{data}/ca.pem"));
    let (code, pem, _) = run(&["ca", "--export", "-", "--data-dir", data]);
    assert_eq!(code, 0);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        pem,
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap()
    );
}

#[test]
fn serve_with_tls_prints_both_urls_and_the_ca_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--scenarios",
            "scenarios",
            "--port",
            "0",
            "--tls",
            "--tls-port",
            "0",
            "--data-dir",
        ])
        .arg(dir.path())
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let third = lines.next().unwrap().unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(
        second.starts_with("listening on https://127.0.0.1:"),
        "{second}"
    );
    assert_eq!(
        third,
        format!("CA certificate: {}/ca.pem", dir.path().display())
    );
}

/// Starts `serve` on a free port with extra arguments and environment; returns the child and
/// its port.
fn serve(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, u16) {
    let mut child = Command::new(bin())
        .args(["serve", "--scenarios", "scenarios", "--port", "0"])
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = BufReader::new(stdout).lines().next().unwrap().unwrap();
    let port = first.rsplit(':').next().unwrap().parse().unwrap();
    (child, port)
}

fn post(port: u16, path: &str, form: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    let body = resp.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {resp}"))
}

#[test]
fn serve_emulates_the_bundled_site_and_takes_the_timestamp_window_from_the_environment() {
    use crate::support::gigya::{API_KEY, SECRET_S, sign_params};
    let (mut child, port) = serve(&[], &[("GIGYA_MOCK_TIMESTAMP_WINDOW", "5s")]);
    // The --help example.
    let body = post(
        port,
        "/accounts.getAccountInfo",
        &format!("apiKey={API_KEY}&secret={SECRET_S}&UID=u-100"),
    );
    assert_eq!(body["errorCode"], 0, "{body}");
    assert_eq!(body["profile"]["firstName"], "Ann");
    // A signature 60 s old is outside the 5 s window.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut params = vec![
        ("apiKey".to_owned(), API_KEY.to_owned()),
        ("UID".to_owned(), "u-100".to_owned()),
        ("timestamp".to_owned(), (now - 60).to_string()),
        ("nonce".to_owned(), "cli-1".to_owned()),
    ];
    let url = format!("http://127.0.0.1:{port}/accounts.getAccountInfo");
    let sig = sign_params(SECRET_S, "POST", &url, &params);
    params.push(("sig".to_owned(), sig));
    let form =
        gigya_mock::exchange::form_encode(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let body = post(port, "/accounts.getAccountInfo", &form);
    assert_eq!(body["errorCode"], 403002, "{body}");
    assert!(
        body["errorDetails"].as_str().unwrap().contains("±5 s"),
        "{body}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn serve_watch_logs_each_problem_of_an_invalid_edit_and_keeps_serving() {
    let dir = crate::support::temp_files(&[(
        "a.yaml",
        "version: 1\nstubs:\n  - request: { method: a.b }\n    response: {}\n",
    )]);
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--port",
            "0",
            "--watch",
            "--watch-debounce",
            "50ms",
        ])
        .env("GIGYA_MOCK_SCENARIOS", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = BufReader::new(stdout).lines().next().unwrap().unwrap();
    let port: u16 = first.rsplit(':').next().unwrap().parse().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for_line = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line containing {needle:?}"),
            }
        }
    };
    wait_for_line("watching");
    std::fs::write(
        dir.path().join("a.yaml"),
        "version: 1\nstubs:\n  - request: { method: a.b }\n    response: { delay: soon, stauts: 1 }\n",
    )
    .unwrap();
    let line = wait_for_line("a.yaml:4:24: delay: expected an integer, found a string");
    assert!(line.contains("ERROR"), "{line}");
    wait_for_line("a.yaml:4:30: unknown key `stauts` in response; did you mean `status`?");
    wait_for_line("reload failed with 2 problem(s); still serving the last good scenarios");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /a.b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    assert!(resp.contains("\"errorCode\":0"), "{resp}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
}
