use super::*;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};

use crate::scenario::model::Stub;

fn recorder(dir: &Path, layout: Layout, redact: &[&str]) -> Recorder {
    Recorder::new(RecordConfig {
        out: dir.to_path_buf(),
        layout,
        methods: Vec::new(),
        redact: redact.iter().map(|s| (*s).to_owned()).collect(),
        upstream: "http://upstream.test".into(),
        keep_time: false,
    })
    .unwrap()
}

fn call(method: &str, params: &[(&str, &str)]) -> Call {
    Call {
        method: method.into(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn json_answer(body: Value) -> UpstreamAnswer {
    UpstreamAnswer {
        status: StatusCode::OK,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body: Bytes::from(body.to_string()),
    }
}

fn envelope(call_id: &str, extra: Value) -> Value {
    let mut v = json!({
        "callId": call_id, "errorCode": 0, "apiVersion": 2, "statusCode": 200,
        "statusReason": "OK", "time": "2024-05-01T10:00:00.000Z"
    });
    if let (Some(m), Value::Object(e)) = (v.as_object_mut(), extra) {
        m.extend(e);
    }
    v
}

const ID1: &str = "0123456789abcdef0123456789abcdef";
const ID2: &str = "fedcba9876543210fedcba9876543210";

/// Loads what the recorder wrote, as the server would.
fn load(dir: &Path) -> crate::scenario::ScenarioSet {
    crate::scenario::load_paths(&[dir.to_path_buf()]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn secrets_and_volatile_params_are_neither_written_nor_matched() {
    let dir = tempfile::tempdir().unwrap();
    let r = recorder(dir.path(), Layout::PerMethod, &[]);
    let path = r
        .record(
            &call(
                "accounts.getAccountInfo",
                &[
                    ("apiKey", "3_key"),
                    ("secret", "S3CRET"),
                    ("userKey", "UK1"),
                    ("nonce", "N0NCE"),
                    ("timestamp", "1700000000"),
                    ("sig", "SIGVALUE"),
                    ("UID", "u-1"),
                    ("format", "json"),
                ],
            ),
            &json_answer(envelope(
                ID1,
                json!({"UID": "u-1", "sessionInfo": {"sessionToken": "T0KEN"}}),
            )),
        )
        .unwrap();
    assert_eq!(path, dir.path().join("accounts.getAccountInfo.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [
        "S3CRET",
        "UK1",
        "N0NCE",
        "1700000000",
        "SIGVALUE",
        "T0KEN",
        "2024-05-01",
    ] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
    let set = load(dir.path());
    let stub = set.stub("accounts.getAccountInfo-1").unwrap();
    let source = stub.model();
    assert_eq!(
        source.request.api_key.as_ref().unwrap().equals,
        Some(json!("3_key"))
    );
    assert_eq!(
        source.request.params.keys().collect::<Vec<_>>(),
        ["UID"],
        "only identifying params"
    );
    assert_eq!(source.response.call_id.as_deref(), Some(ID1));
    assert_eq!(
        source.response.body,
        Some(json!({"UID": "u-1", "sessionInfo": {"sessionToken": "[REDACTED]"}}))
    );
    let order: Vec<&str> = source
        .response
        .body
        .as_ref()
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(order, ["UID", "sessionInfo"], "the upstream's order");
    // The stub answers the same call with other credentials.
    let req = CapturedRequest::gigya_call(
        "accounts.getAccountInfo",
        [
            ("apiKey", "3_key"),
            ("UID", "u-1"),
            ("nonce", "other"),
            ("sig", "x"),
        ],
    );
    assert_eq!(
        set.find_match(&req).map(|s| s.name.to_string()).as_deref(),
        Some("accounts.getAccountInfo-1")
    );
}

#[test]
fn written_files_round_trip_to_the_same_models() {
    let dir = tempfile::tempdir().unwrap();
    let r = recorder(dir.path(), Layout::PerSession, &[]);
    r.record(
        &call(
            "accounts.setAccountInfo",
            &[
                ("UID", "123"),
                (
                    "data",
                    r#"{ "tier": "gold", "n": [1, 2.5, true, null], "q": "yes: no # x" }"#,
                ),
                ("flag", "true"),
            ],
        ),
        &json_answer(json!({
            "callId": ID1, "errorCode": 400009, "errorDetails": "Schema validation failed",
            "errorMessage": "Validation error", "statusCode": 400, "statusReason": "Bad Request",
            "validationErrors": [{"errorCode": 400003, "message": "Unique identifier exists",
                                  "fieldName": "profile.email"}],
            "time": "2024-05-01T10:00:00.000Z"
        })),
    )
    .unwrap();
    let raw = UpstreamAnswer {
        status: StatusCode::BAD_GATEWAY,
        headers: vec![(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html"),
        )],
        body: Bytes::from_static(b"<html>\n  \"bad\" gateway: 'x'\n</html>"),
    };
    r.record(&call("accounts.getSchema", &[]), &raw).unwrap();
    let files = r.files();
    assert_eq!(files.len(), 1, "one file per session");
    let set = load(dir.path());
    let set_stub = set
        .stubs()
        .iter()
        .find(|s| s.name.ends_with("accounts.setAccountInfo-1"))
        .unwrap();
    let p = set_stub.model().request.params;
    assert_eq!(p["UID"].equals, Some(json!("123")));
    assert_eq!(p["flag"].equals, Some(json!("true")));
    assert_eq!(
        p["data"].json_equals,
        Some(json!({"tier": "gold", "n": [1, 2.5, true, null], "q": "yes: no # x"}))
    );
    let resp = set_stub.model().response;
    assert_eq!(resp.error_code, Some(400009));
    assert_eq!(resp.error_message, None, "the catalogue's message");
    assert_eq!(resp.status_code, None);
    assert_eq!(resp.validation_errors.len(), 1);
    assert_eq!(resp.validation_errors[0].message, None);
    assert_eq!(
        resp.error_details.as_deref(),
        Some("Schema validation failed")
    );
    let raw_stub = set
        .stubs()
        .iter()
        .find(|s| s.name.ends_with("accounts.getSchema-1"))
        .unwrap();
    assert_eq!(raw_stub.model().response.status, Some(502));
    assert_eq!(
        raw_stub.model().response.body,
        Some(json!("<html>\n  \"bad\" gateway: 'x'\n</html>"))
    );
    // The file holds exactly the stubs the recorder built.
    let built: Vec<Stub> = {
        let state = r.lock();
        r.stubs(&state.files[&files[0]])
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    };
    let loaded: Vec<Stub> = set.stubs().iter().map(|s| s.model()).collect();
    assert_eq!(built, loaded);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.starts_with("# Recorded by `gigya-mock record` from http://upstream.test."));
}

#[test]
fn different_answers_to_one_call_become_a_response_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let r = recorder(dir.path(), Layout::PerMethod, &[]);
    let get = call("accounts.getAccountInfo", &[("UID", "u-1")]);
    let fiat = |id| json_answer(envelope(id, json!({"data": {"car": "Fiat"}})));
    let alto = |id| json_answer(envelope(id, json!({"data": {"car": "Alto"}})));
    r.record(&get, &fiat(ID1)).unwrap();
    r.record(&get, &fiat(ID2)).unwrap();
    r.record(&get, &alto(ID2)).unwrap();
    assert_eq!(r.recorded(), 3);
    let set = load(dir.path());
    let names: Vec<&str> = set.stubs().iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["accounts.getAccountInfo-1"]);
    let stub = set.stubs()[0].model();
    assert_eq!(stub.responses.len(), 3, "fiat twice, then alto");
    assert_eq!(
        stub.responses[0].call_id.as_deref(),
        Some(ID1),
        "the first callId is kept"
    );
    assert_eq!(
        stub.responses[2].body.as_ref().unwrap()["data"]["car"],
        "Alto"
    );
    assert_eq!(stub.sequence, None, "the default repeats the last answer");
    let text = std::fs::read_to_string(dir.path().join("accounts.getAccountInfo.yaml")).unwrap();
    assert!(
        text.contains("# accounts.getAccountInfo call 1: 3 different answers")
            || text.contains("# accounts.getAccountInfo call 1: 2 different answers")
    );
}

#[test]
fn calls_with_fewer_params_require_the_others_absent() {
    let dir = tempfile::tempdir().unwrap();
    let r = recorder(dir.path(), Layout::PerMethod, &[]);
    r.record(
        &call("accounts.getAccountInfo", &[("UID", "u-1")]),
        &json_answer(envelope(ID1, json!({"a": 1}))),
    )
    .unwrap();
    r.record(
        &call(
            "accounts.getAccountInfo",
            &[("UID", "u-1"), ("include", "data")],
        ),
        &json_answer(envelope(ID2, json!({"a": 2}))),
    )
    .unwrap();
    let set = load(dir.path());
    let pick = |params: &[(&str, &str)]| {
        let req = CapturedRequest::gigya_call("accounts.getAccountInfo", params.iter().copied());
        set.find_match(&req).map(|s| s.name.to_string())
    };
    assert_eq!(
        pick(&[("UID", "u-1")]).as_deref(),
        Some("accounts.getAccountInfo-1")
    );
    assert_eq!(
        pick(&[("include", "data"), ("UID", "u-1")]).as_deref(),
        Some("accounts.getAccountInfo-2")
    );
    assert_eq!(pick(&[("UID", "u-2")]), None);
}

#[test]
fn redacted_values_become_stable_placeholders_and_still_match() {
    let dir = tempfile::tempdir().unwrap();
    let r = recorder(dir.path(), Layout::PerMethod, &["loginID", "profile.email"]);
    r.record(
        &call(
            "accounts.login",
            &[("loginID", "ann@example.com"), ("password", "pw-123")],
        ),
        &json_answer(envelope(
            ID1,
            json!({"UID": "u-1", "profile": {"email": "ann@example.com", "firstName": "Ann"},
                   "loginIDs": {"emails": ["ann@example.com"]}}),
        )),
    )
    .unwrap();
    r.record(
        &call(
            "accounts.setAccountInfo",
            &[
                ("UID", "u-1"),
                ("profile", r#"{"email":"bob@example.com","city":"Rome"}"#),
            ],
        ),
        &json_answer(envelope(ID2, json!({}))),
    )
    .unwrap();
    let mut all = String::new();
    for f in r.files() {
        all.push_str(&std::fs::read_to_string(f).unwrap());
    }
    for secret in ["ann@example.com", "bob@example.com", "pw-123"] {
        assert!(!all.contains(secret), "{secret} in\n{all}");
    }
    let ph = placeholder("ann@example.com");
    assert_eq!(ph, placeholder("ann@example.com"), "stable");
    assert!(ph.starts_with("redacted-") && ph.len() == 17);
    let set = load(dir.path());
    let login = set.stub("accounts.login-1").unwrap().model();
    assert_eq!(login.request.params["loginID"].present, Some(true));
    let body = login.response.body.as_ref().unwrap();
    assert_eq!(body["profile"]["email"], json!(ph));
    assert_eq!(
        body["loginIDs"]["emails"][0],
        json!(ph),
        "the same text elsewhere"
    );
    assert_eq!(body["profile"]["firstName"], "Ann");
    let set_info = set.stub("accounts.setAccountInfo-1").unwrap().model();
    assert_eq!(
        set_info.request.params["profile"].json_includes,
        Some(json!({"city": "Rome"}))
    );
    // Replays match whatever value the client sends for redacted fields.
    let req = CapturedRequest::gigya_call(
        "accounts.setAccountInfo",
        [
            ("UID", "u-1"),
            ("profile", r#"{"email":"x@y.z","city":"Rome"}"#),
        ],
    );
    assert!(set.find_match(&req).is_some());
    let req = CapturedRequest::gigya_call(
        "accounts.login",
        [("loginID", "someone@else"), ("password", "p")],
    );
    assert!(set.find_match(&req).is_some());
}

#[test]
fn method_filters_and_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let r = Recorder::new(RecordConfig {
        out: dir.path().join("new/dir"),
        methods: vec!["accounts.*".into(), "socialize.getUserInfo".into()],
        ..RecordConfig::default()
    })
    .unwrap();
    assert!(dir.path().join("new/dir").is_dir());
    assert!(r.wants("accounts.getAccountInfo"));
    assert!(r.wants("Socialize.GetUserInfo"));
    assert!(!r.wants("socialize.logout"));
    let e = Recorder::new(RecordConfig {
        out: dir.path().to_path_buf(),
        redact: vec!["profile..email".into()],
        ..RecordConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "--redact \"profile..email\": expected a parameter name or param.json.path, e.g. loginID or profile.email"
    );
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let e = Recorder::new(RecordConfig {
        out: file.join("sub"),
        ..RecordConfig::default()
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot create the output directory"),
        "{e}"
    );
    assert!(glob("a*c*", "abcd") && !glob("a*c", "abcd") && glob("*", ""));
}

#[test]
fn envelope_heads_and_jsonp() {
    assert_eq!(
        envelope_head(br#"{"callId":"abc","errorCode":403007}"#),
        (Some(403007), Some("abc".to_owned()))
    );
    assert_eq!(
        envelope_head(br#"cb({"callId":"abc","errorCode":0});"#),
        (Some(0), Some("abc".to_owned()))
    );
    assert_eq!(envelope_head(b"<html>"), (None, None));
}

#[test]
fn keep_time_writes_the_recorded_time_and_replays_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = Recorder::new(RecordConfig {
        out: dir.path().to_path_buf(),
        upstream: "http://upstream.test".into(),
        keep_time: true,
        ..RecordConfig::default()
    })
    .unwrap();
    let get = call("accounts.getAccountInfo", &[("UID", "u-1")]);
    r.record(&get, &json_answer(envelope(ID1, json!({"UID": "u-1"}))))
        .unwrap();
    let set = load(dir.path());
    let stub = set.stubs()[0].model();
    assert_eq!(
        stub.response.time.as_deref(),
        Some("2024-05-01T10:00:00.000Z")
    );
    let engine = crate::engine::Engine::new(set, crate::engine::EngineConfig::default());
    let reply = engine.dispatch(&crate::exchange::CapturedRequest::gigya_call(
        "accounts.getAccountInfo",
        [("UID", "u-1")],
    ));
    assert_eq!(reply.json().unwrap()["time"], "2024-05-01T10:00:00.000Z");
    // Without the option the stub has no time: replays write the current one.
    let plain = tempfile::tempdir().unwrap();
    let r = recorder(plain.path(), Layout::PerMethod, &[]);
    r.record(&get, &json_answer(envelope(ID1, json!({"UID": "u-1"}))))
        .unwrap();
    assert_eq!(load(plain.path()).stubs()[0].model().response.time, None);
}
