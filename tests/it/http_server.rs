//! HTTP tests: a real server on a loopback port.

use std::time::Duration;

use gigya_mock::server::ServerConfig;

use crate::support::{TestServer, engine, raw_exchange};

const STUBS: &str = r#"
version: 1
stubs:
  - name: gold
    request: { method: accounts.setAccountInfo, params: { UID: u-100 } }
    response: { body: { UID: u-100 } }
  - name: slow
    request: { method: a.slow }
    response: { delay: 300 }
"#;

#[tokio::test]
async fn answers_a_form_post_with_the_envelope() {
    let s = TestServer::start(STUBS).await;
    let r = s
        .post_form(
            "/accounts.setAccountInfo",
            "UID=u-100&data=%7B%22a%22%3A1%7D",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert!(r.header("date").is_some());
    let body = r.json();
    assert_eq!(body["UID"], "u-100");
    assert!(
        r.body.starts_with(b"{"),
        "no BOM or whitespace before the JSON"
    );
}

#[tokio::test]
async fn any_host_and_absolute_form_targets_are_served() {
    let s = TestServer::start(STUBS).await;
    let text = raw_exchange(
        s.addr,
        b"POST http://accounts.us1.gigya.com/accounts.setAccountInfo HTTP/1.1\r\nHost: accounts.us1.gigya.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\nConnection: close\r\n\r\nUID=u-100",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""UID":"u-100""#), "{text}");
}

#[tokio::test]
async fn unmatched_calls_get_an_envelope_not_a_404() {
    let s = TestServer::start(STUBS).await;
    let r = s.get("/accounts.setAccountInfo?UID=u-2").await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["errorCode"], 403007);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains(r#"stub "gold": param UID expected "u-100", got "u-2""#)
    );
    let r = s.get("/favicon.ico").await;
    assert_eq!(r.json()["errorCode"], 403007);
}

#[tokio::test]
async fn oversized_bodies_get_413001_and_the_server_keeps_serving() {
    let s = TestServer::with(
        engine(STUBS),
        ServerConfig {
            max_body: 1024,
            ..ServerConfig::default()
        },
    )
    .await;
    let big = format!("UID=u-100&pad={}", "x".repeat(4096));
    let r = s.post_form("/accounts.setAccountInfo", &big).await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["errorCode"], 413001);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("1024-byte limit")
    );
    // Chunked bodies without a length are capped too.
    let chunk = "x".repeat(2000);
    let req = format!(
        "POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    let text = raw_exchange(s.addr, req.as_bytes()).await;
    assert!(text.contains("413001"), "{text}");
    // A declared length over the cap is refused from the head alone: no body is waited for.
    let req = "POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\nUID=u-1";
    let text = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        raw_exchange(s.addr, req.as_bytes()),
    )
    .await
    .expect("answered before the body arrived");
    assert!(text.contains("413001"), "{text}");
    let r = s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    assert_eq!(r.json()["UID"], "u-100");
}

#[tokio::test]
async fn invalid_utf8_and_bad_percent_encoding_get_400001() {
    let s = TestServer::start(STUBS).await;
    let r = s.post_form("/accounts.setAccountInfo", "UID=%ZZ").await;
    assert_eq!(r.json()["errorCode"], 400001);
    let text = raw_exchange(
        s.addr,
        b"POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 6\r\nConnection: close\r\n\r\nUID=\xff\xfe",
    )
    .await;
    assert!(
        text.contains("400001") && text.contains("not valid UTF-8"),
        "{text}"
    );
}

#[tokio::test]
async fn unsupported_http_methods_get_an_envelope() {
    let s = TestServer::start(STUBS).await;
    let text = raw_exchange(
        s.addr,
        b"PATCH /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("HTTP method PATCH is not supported"),
        "{text}"
    );
}

#[tokio::test]
async fn garbage_and_slow_clients_do_not_take_the_server_down() {
    let s = TestServer::with(
        engine(STUBS),
        ServerConfig {
            header_timeout: Duration::from_millis(200),
            ..ServerConfig::default()
        },
    )
    .await;
    let text = raw_exchange(s.addr, b"\x16\x03\x01\x00garbage that is not http\r\n\r\n").await;
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    // A client that sends half a header is cut off by the header timeout.
    let started = std::time::Instant::now();
    let text = raw_exchange(
        s.addr,
        b"POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\n",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "closed by the header timeout, not by the test"
    );
    assert!(!text.contains("200 OK"), "{text}");
    let r = s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    assert_eq!(r.json()["UID"], "u-100");
}

#[tokio::test]
async fn a_body_sent_in_pieces_is_joined_and_a_stalled_one_times_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::with(
        engine(STUBS),
        ServerConfig {
            body_timeout: Duration::from_millis(300),
            ..ServerConfig::default()
        },
    )
    .await;
    let body = "UID=u-100&profile=%7B%22a%22%3A1%7D";
    let (head, tail) = body.split_at(13);
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    conn.set_nodelay(true).unwrap();
    let request = format!(
        "POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    conn.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.contains("\"UID\":\"u-100\""), "{answer}");
    let (entries, _) = s.engine.journal().snapshot();
    assert_eq!(entries.last().unwrap().param("profile"), Some("{\"a\":1}"));

    // Half a body and then nothing: the body timeout answers.
    let text = raw_exchange(
        s.addr,
        b"POST /accounts.setAccountInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\nUID=u-1",
    )
    .await;
    assert!(text.contains("400001"), "{text}");
    assert!(text.contains("did not arrive within"), "{text}");
}

#[tokio::test]
async fn delays_are_applied() {
    let s = TestServer::start(STUBS).await;
    let started = std::time::Instant::now();
    let r = s.post_form("/a.slow", "").await;
    assert_eq!(r.json()["errorCode"], 0);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn shutdown_waits_for_in_flight_requests_then_closes_the_port() {
    let s = TestServer::start(STUBS).await;
    let url = s.url("/a.slow");
    let in_flight = tokio::spawn(async move {
        crate::support::send(
            http::Request::post(url)
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = s.addr;
    s.server.shutdown().await;
    let r = in_flight.await.unwrap();
    assert_eq!(r.json()["errorCode"], 0, "the in-flight request finished");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}

#[tokio::test]
async fn http2_prior_knowledge_is_served() {
    let s = TestServer::start(STUBS).await;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .http2_only(true)
            .build_http();
    let resp = client
        .request(
            http::Request::post(s.url("/accounts.setAccountInfo"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    b"UID=u-100",
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("u-100"));
}

#[tokio::test]
async fn admin_health_reports_the_loaded_set() {
    let s = TestServer::start(STUBS).await;
    let r = s.get("/__admin/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["stubs"], 2);
    let r = s.get("/__admin/nope").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("/__admin/nope")
    );
}
