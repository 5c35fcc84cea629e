//! CLI tests of the commands that talk to a running server: `verify` and `journal`, against a
//! server started on a loopback port by the test (or by the binary itself).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{TestServer, bin, repo, run_bin, temp_files};

const STUBS: &str = r#"
version: 1
stubs:
  - name: gold
    request: { method: accounts.setAccountInfo, params: { UID: u-100 } }
    response: { body: { UID: u-100 } }
  - name: login
    request: { method: accounts.login }
    response: {}
expect:
  - stub: gold
    times: 1
  - name: logins stay rare
    request: { method: accounts.login }
    atMost: 1
  - never: { method: accounts.deleteAccount }
  - inOrder: [login, gold]
"#;

/// Runs the binary without blocking the test's runtime.
async fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        run_bin(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

fn redact(text: &str, s: &TestServer) -> String {
    let times = regex::Regex::new(r"\d\d:\d\d:\d\d\.\d\d\d").unwrap();
    let latency = regex::Regex::new(r"(?m)\d+\.\d$").unwrap();
    let text = text.replace(&s.addr.to_string(), "[ADDR]");
    let text = times.replace_all(&text, "[TIME]      ");
    latency.replace_all(&text, "0.0").into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_the_servers_expectations() {
    let s = TestServer::start(STUBS).await;
    let url = s.url("");
    s.post_form("/accounts.setAccountInfo", "UID=u-200").await;
    s.post_form("/accounts.login", "loginID=a&password=secret-pw")
        .await;
    s.post_form("/accounts.login", "loginID=b").await;
    s.post_form("/accounts.deleteAccount", "UID=u-9").await;
    let dir = temp_files(&[]);
    let junit = dir.path().join("report.xml");
    let (code, stdout, stderr) =
        run(&["verify", "--url", &url, "--junit", junit.to_str().unwrap()]).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    insta::assert_snapshot!("verify_failures", stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    insta::assert_snapshot!("verify_failures_junit", xml);
    assert!(!stdout.contains("secret-pw") && !xml.contains("secret-pw"));

    s.call("POST", "/__admin/reset", "").await;
    s.post_form("/accounts.login", "loginID=a").await;
    s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    let (code, stdout, _) =
        run(&["verify", "--url", &url, "--junit", junit.to_str().unwrap()]).await;
    assert_eq!(code, 0, "{stdout}");
    insta::assert_snapshot!("verify_success", stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"4\" failures=\"0\""), "{xml}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_reads_expectations_from_local_files() {
    let s = TestServer::start(STUBS).await;
    let url = s.url("");
    s.post_form("/accounts.login", "loginID=a").await;
    let dir = temp_files(&[(
        "expect.yaml",
        "version: 1\nexpect:\n  - request: {method: accounts.login, params: {loginID: a}}\n    times: 1\n  - request: {method: accounts.login, params: {loginID: b}}\n",
    )]);
    let path = dir.path().to_str().unwrap().to_owned();
    let (code, stdout, stderr) = run(&["verify", "--url", &url, "--scenarios", &path]).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    let stdout = crate::support::redact_dir(&stdout, dir.path());
    assert!(
        stdout.starts_with("ok    exactly 1 call matching {method: accounts.login, params: {loginID: a}}  ([DIR]/expect.yaml:3:5)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL  at least 1 call matching {method: accounts.login, params: {loginID: b}}  ([DIR]/expect.yaml:5:5)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("        #1 POST accounts.login loginID=a → stub \"login\", errorCode 0\n          - param loginID expected \"b\", got \"a\"\n"),
        "{stdout}"
    );

    let bad = temp_files(&[("bad.yaml", "version: 1\nexpect:\n  - stub: nowhere\n")]);
    let (code, stdout, stderr) = run(&[
        "verify",
        "--url",
        &url,
        "--scenarios",
        bad.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    let stderr = crate::support::redact_dir(&stderr, bad.path());
    assert!(
        stderr.starts_with("[DIR]/bad.yaml:3:11: no stub is named \"nowhere\""),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_cannot_run_without_a_server_or_expectations() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{free}");
    let (code, stdout, stderr) = run(&["verify", "--url", &url]).await;
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "error: cannot reach gigya-mock at {url} (POST /__admin/verify)"
        )),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["verify", "--url", "https://example.com"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("the https:// scheme is not supported"),
        "{stderr}"
    );

    let s = TestServer::start("version: 1\n").await;
    let (code, stdout, stderr) = run(&["verify", "--url", &s.url("")]).await;
    assert_eq!(code, 2);
    assert_eq!(stdout, "\nno expectations to verify\n");
    assert!(
        stderr.contains("no `expect:` clauses to verify"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_prints_a_table_json_lines_and_har() {
    let s = TestServer::start(STUBS).await;
    let url = s.url("");
    s.post_form("/accounts.setAccountInfo", "UID=u-100&apiKey=3_k&sig=abc")
        .await;
    s.post_form("/accounts.login", "loginID=someone@example.com&password=pw")
        .await;
    s.get("/accounts.getAccountInfo?UID=u-404").await;
    s.get("/favicon.ico").await;
    let (code, stdout, stderr) = run(&["journal", "--url", &url]).await;
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("journal_table", redact(&stdout, &s));

    let (code, stdout, _) = run(&["journal", "--url", &url, "--format", "json"]).await;
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1]["params"]["password"], "[REDACTED]");
    assert_eq!(lines[3]["answeredBy"], "unmatched");

    let (code, stdout, _) = run(&["journal", "--url", &url, "--format", "har"]).await;
    assert_eq!(code, 0);
    let har: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(har["log"]["entries"].as_array().unwrap().len(), 4);

    let (code, _, stderr) = run(&["journal", "--url", &url, "--format", "har", "--follow"]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("--follow works with --format table or json"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_journal_read_only_what_their_filters_select() {
    let s = TestServer::start(STUBS).await;
    let url = s.url("");
    // Two tests share the server: "a" logs in once and updates u-100, "b" logs in twice.
    s.post_form_as("a", "/accounts.login", "loginID=a").await;
    s.post_form_as("b", "/accounts.login", "loginID=b").await;
    s.post_form_as("a", "/accounts.setAccountInfo", "UID=u-100")
        .await;
    s.post_form_as("b", "/accounts.login", "loginID=b2").await;
    let (code, stdout, _) = run(&["verify", "--url", &url]).await;
    assert_eq!(
        code, 1,
        "logins stay rare fails on the whole journal: {stdout}"
    );
    let (code, stdout, stderr) =
        run(&["verify", "--url", &url, "--filter", "header.x-test-id=a"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    insta::assert_snapshot!("verify_filtered", stdout);

    // Expectations from local files are checked against the selected entries too; filters
    // can be joined with `&`.
    let dir = temp_files(&[(
        "expect.yaml",
        "version: 1\nexpect:\n  - request: {method: accounts.login}\n    times: 2\n",
    )]);
    let path = dir.path().to_str().unwrap().to_owned();
    let (code, stdout, stderr) = run(&[
        "verify",
        "--url",
        &url,
        "--scenarios",
        &path,
        "--filter",
        "header.x-test-id=b&since=2",
    ])
    .await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.ends_with(
            "1 of 1 expectation not met (1 call selected by header.x-test-id=b, since=2)\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("arrived:  1 call (#4)"), "{stdout}");

    let (code, stdout, stderr) =
        run(&["journal", "--url", &url, "--filter", "header.x-test-id=b"]).await;
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("journal_filtered", redact(&stdout, &s));

    for (filter, message) in [
        ("nope", "--filter \"nope\": expected KEY=VALUE"),
        (
            "limit=3",
            "--filter limit: every entry the filters select is read",
        ),
        ("uid=u-1", "--filter \"uid=u-1\": unknown filter `uid`"),
        (
            "since=soon",
            "--filter: since=\"soon\": expected an entry id",
        ),
    ] {
        let (code, stdout, stderr) = run(&["verify", "--url", &url, "--filter", filter]).await;
        assert_eq!(code, 2, "{filter}: {stdout}{stderr}");
        assert!(stderr.contains(message), "{filter}: {stderr}");
        let (code, _, stderr) = run(&["journal", "--url", &url, "--filter", filter]).await;
        assert_ne!(code, 0, "{filter}");
        assert!(stderr.contains(message), "{filter}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_follow_prints_new_requests_as_they_arrive() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/accounts.login", "loginID=first").await;
    let mut child = Command::new(bin())
        .args([
            "journal",
            "--url",
            &s.url(""),
            "--follow",
            "--format",
            "json",
        ])
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    async fn next(rx: &mut tokio::sync::mpsc::Receiver<String>) -> serde_json::Value {
        let line = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a line within 10 s")
            .expect("the child is running");
        serde_json::from_str(&line).unwrap()
    }
    assert_eq!(next(&mut rx).await["params"]["loginID"], "first");
    s.post_form("/accounts.login", "loginID=second").await;
    let e = next(&mut rx).await;
    assert_eq!(e["params"]["loginID"], "second");
    assert_eq!(e["id"], 2);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn serve_with_an_admin_port_a_small_journal_and_shutdown_over_http() {
    let mut child = Command::new(bin())
        .args([
            "serve",
            "--port",
            "0",
            "--admin-port",
            "0",
            "--journal-size",
            "2",
        ])
        .current_dir(repo())
        .env_remove("GIGYA_MOCK_SCENARIOS")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let main = first
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    let admin = regex::Regex::new(r"^admin API on http://(127\.0\.0\.1:\d+)/__admin$")
        .unwrap()
        .captures(&second)
        .unwrap_or_else(|| panic!("{second}"))[1]
        .to_owned();
    let exchange = |addr: &str, req: &str| -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(req.as_bytes()).unwrap();
        let mut resp = String::new();
        stream.read_to_string(&mut resp).unwrap();
        resp
    };
    for uid in ["a", "b", "c"] {
        let resp = exchange(
            &main,
            &format!(
                "POST /accounts.getAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nUID={uid}"
            ),
        );
        assert!(resp.contains("403007"), "{resp}");
    }
    let resp = exchange(
        &admin,
        "GET /__admin/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        resp.contains("\"dropped\":1") && resp.contains("\"capacity\":2"),
        "{resp}"
    );
    assert!(
        !resp.contains("\"UID\":\"a\"") && resp.contains("\"UID\":\"c\""),
        "{resp}"
    );
    let resp = exchange(
        &admin,
        "POST /__admin/shutdown HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(resp.starts_with("HTTP/1.1 202"), "{resp}");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(0));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}
