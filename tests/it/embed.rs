//! The library API: servers started inside tests, runtime stubs, expectations, real stop on drop.

use gigya_mock::matchers::{eq, json_includes, path};
use gigya_mock::{GigyaMock, GigyaStub};
use serde_json::json;

use crate::support::send;

async fn post(uri: &str, method: &str, form: &str) -> serde_json::Value {
    send(
        http::Request::post(format!("{uri}/{method}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(http_body_util::Full::new(bytes::Bytes::from(
                form.to_owned(),
            )))
            .unwrap(),
    )
    .await
    .json()
}

#[tokio::test]
async fn builder_stubs_answer_and_expectations_pass() {
    let mock = GigyaMock::builder()
        .stub(
            GigyaStub::method("accounts.setAccountInfo")
                .param("UID", eq("u-1"))
                .json_param("data", path("$.tier", eq("gold")))
                .responds_error(400006)
                .error_details("gold is sold out")
                .expect(1),
        )
        .start()
        .await;
    let body = post(
        &mock.uri(),
        "accounts.setAccountInfo",
        "UID=u-1&data=%7B%22tier%22%3A%22gold%22%7D",
    )
    .await;
    assert_eq!(body["errorCode"], 400006);
    assert_eq!(body["errorDetails"], "gold is sold out");
    mock.verify();
}

#[tokio::test]
#[should_panic(expected = r#"stub "welcome": expected exactly 1 call, got 0"#)]
async fn unmet_expectations_panic_on_drop_with_a_report() {
    let _mock = GigyaMock::builder()
        .stub(
            GigyaStub::method("accounts.getAccountInfo")
                .named("welcome")
                .expect(1),
        )
        .start()
        .await;
}

#[tokio::test]
#[should_panic(expected = "the test's own failure")]
async fn no_second_panic_while_already_panicking() {
    let _mock = GigyaMock::builder()
        .stub(
            GigyaStub::method("accounts.getAccountInfo")
                .named("never")
                .expect(1),
        )
        .start()
        .await;
    panic!("the test's own failure");
}

#[tokio::test]
async fn try_verify_reports_ranges() {
    let mock = GigyaMock::builder()
        .stub(GigyaStub::method("a.b").named("twice").expect(2..=3))
        .start()
        .await;
    post(&mock.uri(), "a.b", "").await;
    let err = mock.try_verify().unwrap_err();
    assert!(
        err.report
            .contains(r#"stub "twice": expected between 2 and 3 calls, got 1"#),
        "{}",
        err.report
    );
    post(&mock.uri(), "a.b", "").await;
    mock.verify();
}

#[tokio::test]
async fn dropping_the_mock_releases_the_port() {
    let mock = GigyaMock::start().await;
    let addr = mock.address();
    drop(mock);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
    std::net::TcpListener::bind(addr).expect("the port is free again");
}

#[tokio::test]
async fn stubs_can_be_mounted_and_removed_at_run_time() {
    let mock = GigyaMock::start().await;
    let body = post(&mock.uri(), "socialize.setUserInfo", "UID=u-9").await;
    assert_eq!(body["errorCode"], 403007);
    mock.mount(
        GigyaStub::method("socialize.setUserInfo")
            .named("ok")
            .responds_ok()
            .expect(1),
    );
    assert_eq!(
        post(&mock.uri(), "socialize.setUserInfo", "UID=u-9").await["errorCode"],
        0
    );
    assert_eq!(mock.hits("ok"), Some(1));
    let err = mock
        .try_mount(GigyaStub::method("a.b").named("ok"))
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = mock
        .try_mount(GigyaStub::method("a.b").param("UID", gigya_mock::matchers::matches("(")))
        .unwrap_err();
    assert!(
        err.to_string().contains("invalid regular expression"),
        "{err}"
    );
    mock.verify();
    assert!(mock.remove("ok"));
    assert!(!mock.remove("ok"));
    assert_eq!(
        post(&mock.uri(), "socialize.setUserInfo", "UID=u-9").await["errorCode"],
        403007
    );
}

#[tokio::test]
async fn reset_removes_runtime_stubs_and_counts() {
    let mock = GigyaMock::builder()
        .stub(GigyaStub::method("a.file").named("base"))
        .start()
        .await;
    mock.mount(GigyaStub::method("a.runtime").named("extra"));
    post(&mock.uri(), "a.file", "").await;
    mock.reset();
    assert_eq!(mock.hits("base"), Some(0));
    assert_eq!(mock.hits("extra"), None);
}

#[tokio::test]
async fn file_loaded_and_builder_made_stubs_behave_the_same() {
    let from_file = GigyaMock::builder()
        .scenario_yaml(
            r#"
version: 1
stubs:
  - name: same
    request:
      method: accounts.setAccountInfo
      params:
        UID: u-1
        profile: { jsonIncludes: { firstName: Zoë } }
    response:
      errorCode: 400009
      callId: 0123456789abcdef0123456789abcdef
      validationErrors: [{ errorCode: 400003, fieldName: email }]
"#,
        )
        .start()
        .await;
    let from_builder = GigyaMock::builder()
        .stub(
            GigyaStub::method("accounts.setAccountInfo")
                .named("same")
                .param("UID", "u-1")
                .json_param("profile", json_includes(json!({"firstName": "Zoë"})))
                .responds_error(400009)
                .call_id("0123456789abcdef0123456789abcdef")
                .validation_error(400003, "email", None),
        )
        .start()
        .await;
    assert_eq!(
        from_file.engine().scenarios().stubs()[0].model(),
        from_builder.engine().scenarios().stubs()[0].model(),
        "one model, two front ends"
    );
    for form in [
        "UID=u-1&profile=%7B%22firstName%22%3A%22Zo%C3%AB%22%7D",
        "UID=u-2",
    ] {
        let mut a = post(&from_file.uri(), "accounts.setAccountInfo", form).await;
        let mut b = post(&from_builder.uri(), "accounts.setAccountInfo", form).await;
        for v in [&mut a, &mut b] {
            v["time"] = json!("T");
            if v["errorCode"] == 403007 {
                v["callId"] = json!("C");
            }
        }
        assert_eq!(a, b, "{form}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_servers_run_in_parallel() {
    let mut mocks = Vec::new();
    for i in 0..50 {
        mocks.push(
            GigyaMock::builder()
                .stub(GigyaStub::method("a.who").responds_with(json!({ "server": i })))
                .start()
                .await,
        );
    }
    let answers = futures_join(mocks.iter().map(|m| post_owned(m.uri()))).await;
    for (i, body) in answers.into_iter().enumerate() {
        assert_eq!(body["server"], i);
    }
}

async fn post_owned(uri: String) -> serde_json::Value {
    post(&uri, "a.who", "").await
}

async fn futures_join<F: std::future::Future<Output = serde_json::Value> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<serde_json::Value> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[test]
fn invalid_scenarios_list_every_problem() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(
            GigyaMock::builder()
                .scenario_yaml("version: 1\nstubs:\n  - request: {method: a.b, params: {UID: {matches: \"(\"}}}\n    response: {errorCode: 999999}\n")
                .try_start(),
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("<scenario 0>:3:") && text.contains("invalid regular expression"),
        "{text}"
    );
    assert!(
        text.contains("<scenario 0>:4:") && text.contains("999999"),
        "{text}"
    );
}

#[test]
fn synchronous_tests_can_start_a_mock_too() {
    let mock = GigyaMock::builder()
        .stub(
            GigyaStub::path("/health")
                .http_method("GET")
                .responds_raw(200, "up"),
        )
        .try_start_blocking()
        .unwrap();
    let mut s = std::net::TcpStream::connect(mock.address()).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("up"),
        "{out}"
    );
}
