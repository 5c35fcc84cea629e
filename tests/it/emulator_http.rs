//! The emulator over real HTTP: signed round trips, proxy-form requests, the admin endpoints
//! for state, and 64 concurrent writers.

use gigya_mock::exchange::form_encode;
use gigya_mock::server::ServerConfig;

use crate::support::gigya::{API_KEY, SECRET_S, T0, emu_engine, site_yaml, user_signed_form};
use crate::support::{TestServer, raw_exchange};

async fn server() -> TestServer {
    let (engine, _) = emu_engine(&site_yaml("strict", ""));
    TestServer::with(engine, ServerConfig::default()).await
}

fn signed_form(url: &str, params: &[(&str, &str)], nonce: &str) -> String {
    user_signed_form(url, params, &T0.to_string(), nonce).0
}

#[tokio::test]
async fn signed_round_trip_over_http() {
    let s = server().await;
    let url = format!("http://{}/accounts.setAccountInfo", s.addr);
    let form = signed_form(
        &url,
        &[("UID", "u-1"), ("data", r#"{"car": "Suzuki Alto"}"#)],
        "h1",
    );
    let r = s.post_form("/accounts.setAccountInfo", &form).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["errorCode"], 0, "{}", r.text());
    assert!(r.header("date").is_some() && r.body.starts_with(b"{"));

    let url = format!("http://{}/accounts.getAccountInfo", s.addr);
    let r = s
        .post_form(
            "/accounts.getAccountInfo",
            &signed_form(&url, &[("UID", "u-1")], "h2"),
        )
        .await;
    let body = r.json();
    assert_eq!(body["data"]["car"], "Suzuki Alto");
    assert_eq!(body["data"]["address"]["city"], "Rome");

    // Replaying the same request is a duplicate nonce, until a reset.
    let r = s
        .post_form(
            "/accounts.getAccountInfo",
            &signed_form(&url, &[("UID", "u-1")], "h2"),
        )
        .await;
    assert_eq!(r.json()["errorCode"], 403004);
    let emulator = s.engine.emulator().unwrap();
    assert_eq!(emulator.remembered_nonces(), 2);
    let r = s.call_json("POST", "/__admin/reset", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(emulator.remembered_nonces(), 0);
    let r = s
        .post_form(
            "/accounts.getAccountInfo",
            &signed_form(&url, &[("UID", "u-1")], "h2"),
        )
        .await;
    assert_eq!(r.json()["errorCode"], 0);

    // A wrong signature explains itself in a header.
    let form = signed_form(
        "http://elsewhere/accounts.getAccountInfo",
        &[("UID", "u-1")],
        "h3",
    );
    let r = s.post_form("/accounts.getAccountInfo", &form).await;
    assert_eq!(r.json()["errorCode"], 403003);
    let hint = r.header("x-gigya-mock-hint").unwrap();
    let expected = format!(
        "POST&http%3A%2F%2F127.0.0.1%3A{}%2Faccounts.getAccountInfo&UID%3Du-1",
        s.addr.port()
    );
    assert!(hint.contains(&expected), "{hint}");
}

#[tokio::test]
async fn proxy_form_requests_are_verified_against_their_authority() {
    let s = server().await;
    let url = "http://accounts.us1.gigya.com/accounts.getAccountInfo";
    let form = signed_form(url, &[("UID", "u-1")], "p1");
    let request = format!(
        "POST {url} HTTP/1.1\r\nHost: accounts.us1.gigya.com\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: text/html, image/gif, */*; q=.2\r\nAccept-Encoding: gzip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    let text = raw_exchange(s.addr, request.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(r#""errorCode":0"#) && text.contains(r#""UID":"u-1""#),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{text}"
    );
}

#[tokio::test]
async fn admin_endpoints_inspect_seed_and_reset_accounts() {
    let s = server().await;
    let r = s.call_json("GET", "/__admin/accounts/u-1", "").await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["UID"], "u-1");
    assert_eq!(body["apiKey"], API_KEY);
    assert_eq!(body["profile"]["firstName"], "Ann");
    assert!(body.get("password").is_none(), "passwords are never shown");

    let r = s.call_json("GET", "/__admin/accounts/nobody", "").await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"].as_str().unwrap().contains("nobody"));
    let r = s
        .call_json("GET", "/__admin/accounts/u-1?apiKey=3_other", "")
        .await;
    assert_eq!(r.status, 404);

    // Seed one account, then use it through the API.
    let r = s
        .call_json(
            "PUT",
            "/__admin/accounts/u-9",
            r#"{"profile":{"firstName":"Nine"},"data":{"n":9},"password":"pw"}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["profile"]["firstName"], "Nine");
    let form = form_encode([("apiKey", API_KEY), ("secret", SECRET_S), ("UID", "u-9")]);
    let r = s.post_form("/accounts.getAccountInfo", &form).await;
    assert_eq!(r.json()["data"]["n"], 9);
    let r = s
        .call_json("PUT", "/__admin/accounts/u-9", r#"{"data":{"n":10}}"#)
        .await;
    assert_eq!(r.status, 200, "replacing answers 200");

    // Bad input names the problem.
    let r = s
        .call_json("PUT", "/__admin/accounts/u-9", r#"{"UID":"u-8"}"#)
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"].as_str().unwrap().contains("differs"),
        "{}",
        r.text()
    );
    let r = s
        .call_json("PUT", "/__admin/accounts/u-9", r#"{"profil":{}}"#)
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("did you mean `profile`"), "{}", r.text());
    let r = s.call_json("PUT", "/__admin/accounts/u-9", "{nope").await;
    assert_eq!(r.status, 400);
    let r = s.call_json("DELETE", "/__admin/accounts/u-9", "").await;
    assert_eq!(r.status, 405);

    // Reset: the seeded state is back and the runtime account is gone.
    let r = s
        .post_form(
            "/accounts.setAccountInfo",
            &form_encode([
                ("apiKey", API_KEY),
                ("secret", SECRET_S),
                ("UID", "u-1"),
                ("data", r#"{"car":"Tesla"}"#),
            ]),
        )
        .await;
    assert_eq!(r.json()["errorCode"], 0);
    let r = s.call_json("POST", "/__admin/reset", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "reset");
    let r = s.call_json("GET", "/__admin/accounts/u-1", "").await;
    assert_eq!(r.json()["data"]["car"], "Fiat");
    assert_eq!(
        s.call_json("GET", "/__admin/accounts/u-9", "").await.status,
        404
    );
}

#[tokio::test]
async fn sixty_four_concurrent_http_writers_lose_no_update() {
    let s = std::sync::Arc::new(server().await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let data = format!(r#"{{"f{i}":{i}}}"#);
            let form = form_encode([
                ("apiKey", API_KEY),
                ("secret", SECRET_S),
                ("UID", "u-1"),
                ("data", data.as_str()),
            ]);
            let r = s.post_form("/accounts.setAccountInfo", &form).await;
            assert_eq!(r.json()["errorCode"], 0);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = s.call_json("GET", "/__admin/accounts/u-1", "").await;
    let data = r.json()["data"].clone();
    for i in 0..64 {
        assert_eq!(data[format!("f{i}")], i, "f{i} lost");
    }
}
