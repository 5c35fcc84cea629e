//! Dispatch tests: decoded requests through the engine, no sockets.

use std::sync::Arc;
use std::time::Duration;

use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{CapturedRequest, Outcome, RequestParts, Scheme};
use gigya_mock::gigya::envelope::{CallIds, ManualClock};
use gigya_mock::gigya::params::ConflictPolicy;

use crate::support::{engine, scenarios};

const SEEDS: &str = r#"
version: 1
stubs:
  - name: gold-member-update
    request:
      method: accounts.setAccountInfo
      params:
        UID: { equals: "u-100" }
        data: { json: { "$.tier": { equals: "gold" } } }
    response:
      errorCode: 0
      callId: 0123456789abcdef0123456789abcdef
      body: { UID: "u-100" }
  - name: missing-uid
    request: { method: accounts.setAccountInfo, params: { UID: { absent: true } } }
    response: { errorCode: 400002, errorDetails: "Missing required parameter : UID" }
  - name: vip-user
    request: { method: socialize.setUserInfo, params: { UID: u1 } }
    response: {}
"#;

fn call(method: &str, params: &[(&str, &str)]) -> CapturedRequest {
    CapturedRequest::gigya_call(method, params.iter().copied())
}

fn request(
    method: http::Method,
    uri: &str,
    body: &str,
    content_type: Option<&str>,
) -> CapturedRequest {
    let mut headers = http::HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
    }
    CapturedRequest::new(
        RequestParts {
            http_method: method,
            scheme: Scheme::Http,
            uri: uri.parse().unwrap(),
            headers,
            body: bytes::Bytes::from(body.to_owned()),
            remote: None,
            received_at: std::time::SystemTime::now(),
        },
        ConflictPolicy::default(),
    )
}

#[test]
fn the_issue_example_answers_from_its_stubs() {
    let e = engine(SEEDS);
    let reply = e.dispatch(&call(
        "accounts.setAccountInfo",
        &[("UID", "u-100"), ("data", r#"{"tier": "gold", "x": 1}"#)],
    ));
    let body = reply.json().unwrap();
    assert_eq!(body["errorCode"], 0);
    assert_eq!(body["callId"], "0123456789abcdef0123456789abcdef");
    assert_eq!(body["UID"], "u-100");
    assert_eq!(body["statusReason"], "OK");
    assert!(body.get("errorMessage").is_none());
    assert_eq!(reply.outcome, Outcome::Stub("gold-member-update".into()));

    let reply = e.dispatch(&call("accounts.setAccountInfo", &[("data", "{}")]));
    let body = reply.json().unwrap();
    assert_eq!(body["errorCode"], 400002);
    assert_eq!(body["errorMessage"], "Missing required parameter");
    assert_eq!(body["errorDetails"], "Missing required parameter : UID");
    assert_eq!(body["statusCode"], 400);
    assert_eq!(
        reply.status,
        http::StatusCode::OK,
        "errors are HTTP 200 by default"
    );
}

#[test]
fn unmatched_calls_name_the_nearest_stub_and_its_reason() {
    let e = engine(SEEDS);
    let reply = e.dispatch(&call("socialize.setUserInfo", &[("UID", "u2")]));
    let body = reply.json().unwrap();
    assert_eq!(body["errorCode"], 403007);
    assert_eq!(body["errorMessage"], "Permission denied");
    let details = body["errorDetails"].as_str().unwrap();
    assert!(
        details.contains(r#"stub "vip-user": param UID expected "u1", got "u2""#),
        "{details}"
    );
    assert!(
        details
            .starts_with("Invalid namespace &#39;socialize&#39; or method &#39;setUserInfo&#39;"),
        "{details}"
    );
    assert_eq!(
        reply.header("x-gigya-mock-near-miss"),
        Some(r#"stub "vip-user": param UID expected "u1", got "u2""#)
    );
    match reply.outcome {
        Outcome::Unmatched(near) => assert_eq!(near.len(), 1),
        other => panic!("{other:?}"),
    }
}

/// `count` stubs for `accounts.setAccountInfo`, each with its own UID and `data` tier "gold",
/// except stub `odd`, whose tier is "silver".
fn tier_stubs(count: usize, odd: usize) -> String {
    let mut yaml = String::from("version: 1\nstubs:\n");
    for i in 0..count {
        let tier = if i == odd { "silver" } else { "gold" };
        yaml.push_str(&format!(
            "  - name: s{i}\n    request: {{ method: accounts.setAccountInfo, params: {{ UID: u-{i}, data: {{ json: {{ $.tier: {{ equals: {tier} }} }} }} }} }}\n    response: {{}}\n"
        ));
    }
    yaml
}

#[test]
fn the_nearest_stubs_come_first_however_many_there_are() {
    // Every stub misses on UID; all but s20 also miss on the tier.
    let e = engine(&tier_stubs(40, 20));
    let req = call(
        "accounts.setAccountInfo",
        &[("UID", "u-none"), ("data", r#"{"tier":"silver"}"#)],
    );
    let Outcome::Unmatched(near) = e.dispatch(&req).outcome else {
        panic!("not unmatched");
    };
    assert_eq!(near.len(), 3);
    assert_eq!(
        near[0],
        r#"stub "s20": param UID expected "u-20", got "u-none""#
    );
    assert!(near[1].starts_with(r#"stub "s0": param UID"#), "{near:?}");
    assert!(near[2].starts_with(r#"stub "s1": param UID"#), "{near:?}");
}

#[test]
fn near_misses_compare_a_bounded_number_of_stubs_and_say_so() {
    let limit = gigya_mock::scenario::compile::NEAR_MISS_SCAN;
    // The one stub that is nearest comes after the first `limit` stubs: it is not compared.
    let e = engine(&tier_stubs(limit + 5, limit + 2));
    let req = call(
        "accounts.setAccountInfo",
        &[("UID", "u-none"), ("data", r#"{"tier":"silver"}"#)],
    );
    let reply = e.dispatch(&req);
    let details = reply.json().unwrap()["errorDetails"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        details.ends_with(&format!(
            " (compared with the first {limit} of the {} stubs that could answer it)",
            limit + 5
        )),
        "{details}"
    );
    assert!(details.contains(r#"nearest: stub "s0""#), "{details}");
    // Within the bound, no note.
    let e = engine(&tier_stubs(limit, 3));
    let details = e.dispatch(&req).json().unwrap()["errorDetails"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(details.contains(r#"nearest: stub "s3""#), "{details}");
    assert!(!details.contains("compared with"), "{details}");
}

#[test]
fn unmatched_code_is_configurable() {
    let e = Engine::new(
        scenarios(SEEDS),
        EngineConfig {
            unmatched_code: 500001,
            ..EngineConfig::default()
        },
    );
    let body = e
        .dispatch(&call("accounts.unknownThing", &[]))
        .json()
        .unwrap();
    assert_eq!(body["errorCode"], 500001);
    assert_eq!(body["errorMessage"], "General Server Error");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("no stub is defined")
    );
}

#[test]
fn parameter_names_are_case_insensitive_and_get_merges_query() {
    let e = engine(SEEDS);
    let reply = e.dispatch(&call("socialize.setUserInfo", &[("uid", "u1")]));
    assert_eq!(reply.json().unwrap()["errorCode"], 0);
    let reply = e.dispatch(&request(
        http::Method::GET,
        "/socialize.setUserInfo?UID=u1",
        "",
        None,
    ));
    assert_eq!(reply.json().unwrap()["errorCode"], 0);
    let reply = e.dispatch(&request(
        http::Method::POST,
        "/setUserInfo?UID=u1",
        "",
        Some("application/x-www-form-urlencoded"),
    ));
    assert_eq!(
        reply.json().unwrap()["errorCode"],
        0,
        "no namespace means socialize"
    );
}

#[test]
fn priority_then_declaration_order_then_times() {
    let e = engine(
        r#"
version: 1
stubs:
  - { name: general, request: { method: a.b }, response: { body: { who: general } } }
  - { name: twice, priority: 1, times: 2, request: { method: a.b }, response: { body: { who: twice } } }
  - { name: later-same-priority, request: { method: a.b }, response: { body: { who: later } } }
"#,
    );
    let who = || e.dispatch(&call("a.b", &[])).json().unwrap()["who"].clone();
    assert_eq!(who(), "twice");
    assert_eq!(who(), "twice");
    assert_eq!(who(), "general", "times: 2 retired the stub");
    assert_eq!(
        e.scenarios()
            .stub("twice")
            .unwrap()
            .hits
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
}

#[test]
fn regex_contains_presence_headers_and_combinators() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: regex-method
    request: { method: { matches: "^ds\\." } }
    response: { body: { who: ds } }
  - name: ua
    request: { method: a.ua, headers: { User-Agent: { contains: python } } }
    response: { body: { who: python } }
  - name: either
    request:
      method: a.any
      anyOf:
        - params: { UID: u1 }
        - params: { UID: { matches: "^vip-" } }
    response: { body: { who: either } }
  - name: not-test
    request: { method: a.not, not: { params: { env: test } } }
    response: { body: { who: not-test } }
  - name: api-key
    request: { method: a.key, apiKey: 3_abc, params: { flag: { present: true } } }
    response: { body: { who: key } }
"#,
    );
    let who = |r: CapturedRequest| e.dispatch(&r).json().unwrap()["who"].clone();
    assert_eq!(who(call("ds.store", &[])), "ds");
    let mut py = call("a.ua", &[]);
    py.headers
        .insert("user-agent", "python-requests/2".parse().unwrap());
    assert_eq!(who(py), "python");
    assert_eq!(who(call("a.any", &[("UID", "vip-7")])), "either");
    assert_eq!(who(call("a.any", &[("UID", "u1")])), "either");
    assert_eq!(
        who(call("a.any", &[("UID", "u2")])),
        serde_json::Value::Null
    );
    assert_eq!(who(call("a.not", &[("env", "prod")])), "not-test");
    assert_eq!(
        who(call("a.not", &[("env", "test")])),
        serde_json::Value::Null
    );
    assert_eq!(
        who(call("a.key", &[("APIKey", "3_abc"), ("flag", "")])),
        "key"
    );
    assert_eq!(
        who(call("a.key", &[("apiKey", "3_abc")])),
        serde_json::Value::Null
    );
}

#[test]
fn json_params_partial_objects_and_paths() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: partial
    request:
      method: accounts.setAccountInfo
      params:
        profile: { jsonIncludes: { address: { city: Oslo } } }
    response: { body: { who: partial } }
  - name: path
    request:
      method: socialize.setUserSettings
      params:
        settings: { json: { "$.Like.providers": { contains: facebook } } }
    response: { body: { who: path } }
"#,
    );
    let who = |r: CapturedRequest| e.dispatch(&r).json().unwrap()["who"].clone();
    assert_eq!(
        who(call(
            "accounts.setAccountInfo",
            &[(
                "profile",
                r#"{"firstName": "Zoë", "address": {"city": "Oslo", "zip": "1"}}"#
            )]
        )),
        "partial"
    );
    assert_eq!(
        who(call(
            "socialize.setUserSettings",
            &[(
                "settings",
                r#"{"Like":{"alwaysShare":true,"providers":"facebook,twitter"}}"#
            )]
        )),
        "path"
    );
    let miss = e.dispatch(&call(
        "accounts.setAccountInfo",
        &[("profile", r#"{"address": {"city": "Bergen"}}"#)],
    ));
    let details = miss.json().unwrap()["errorDetails"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        details.contains(r#"param profile $.address.city expected "Oslo", got "Bergen""#),
        "{details}"
    );
}

#[test]
fn invalid_json_in_an_object_parameter_names_it() {
    let e = engine(SEEDS);
    let body = e
        .dispatch(&call(
            "accounts.setAccountInfo",
            &[("UID", "u-100"), ("data", "{tier: gold")],
        ))
        .json()
        .unwrap();
    assert_eq!(body["errorCode"], 400006);
    assert_eq!(body["errorMessage"], "Invalid parameter value");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("data is not valid JSON")
    );
}

#[test]
fn jsonp_context_and_http_status_codes() {
    let e = engine(SEEDS);
    let reply = e.dispatch(&call(
        "accounts.setAccountInfo",
        &[
            ("format", "jsonp"),
            ("callback", "gigya.cb"),
            ("context", "R123"),
            ("httpStatusCodes", "true"),
        ],
    ));
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    assert!(text.starts_with("gigya.cb({"), "{text}");
    assert!(text.ends_with("});"));
    assert!(text.contains(r#""context":"R123""#));
    assert_eq!(
        reply.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        reply.status,
        http::StatusCode::BAD_REQUEST,
        "httpStatusCodes=true mirrors statusCode"
    );

    let bad = e.dispatch(&call(
        "a.b",
        &[("format", "jsonp"), ("callback", "alert(1)")],
    ));
    assert_eq!(bad.json().unwrap()["errorCode"], 400006);
    let missing = e.dispatch(&call("a.b", &[("format", "jsonp")]));
    assert_eq!(missing.json().unwrap()["errorCode"], 400002);
}

#[test]
fn envelope_headers_time_and_generated_call_ids() {
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let e = engine(SEEDS)
        .with_clock(clock.clone())
        .with_call_ids(CallIds::seeded(1));
    let reply = e.dispatch(&call("socialize.setUserInfo", &[("UID", "u1")]));
    let body = reply.json().unwrap();
    assert_eq!(body["time"], "2023-11-14T22:13:20.000Z");
    assert_eq!(reply.header("date"), Some("Tue, 14 Nov 2023 22:13:20 GMT"));
    assert_eq!(
        reply.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let id = body["callId"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(reply.header("x-callid"), Some(id));
    assert_eq!(body["apiVersion"], 2);
    clock.advance(Duration::from_millis(1500));
    let later = e
        .dispatch(&call("socialize.setUserInfo", &[("UID", "u1")]))
        .json()
        .unwrap();
    assert_eq!(later["time"], "2023-11-14T22:13:21.500Z");
    assert_ne!(later["callId"], body["callId"]);
}

#[test]
fn overrides_validation_errors_and_raw_stubs() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: validation
    request: { method: accounts.setAccountInfo }
    response:
      errorCode: 400009
      errorDetails: Validation failed
      validationErrors:
        - { errorCode: 400003, fieldName: email, message: email already exists }
        - { errorCode: 400027, fieldName: profile.firstName }
  - name: custom
    request: { method: a.custom }
    response: { errorCode: 403048, errorMessage: Slow down, statusReason: Too Many Requests, statusCode: 429 }
  - name: health
    request: { path: /health, httpMethod: GET }
    response: { status: 200, body: "ok", headers: { X-Mock: yes } }
  - name: raw-json
    request: { path: { matches: "^/v1/" }, body: { jsonIncludes: { a: 1 } } }
    response: { status: 201, body: { created: true } }
"#,
    );
    let body = e
        .dispatch(&call("accounts.setAccountInfo", &[]))
        .json()
        .unwrap();
    assert_eq!(body["errorCode"], 400009);
    assert_eq!(body["errorMessage"], "Validation error");
    assert_eq!(
        body["validationErrors"][0]["message"],
        "email already exists"
    );
    assert_eq!(
        body["validationErrors"][1]["message"],
        "Required value validation"
    );
    assert_eq!(
        body["validationErrors"][1]["fieldName"],
        "profile.firstName"
    );
    let body = e.dispatch(&call("a.custom", &[])).json().unwrap();
    assert_eq!(body["errorMessage"], "Slow down");
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["statusReason"], "Too Many Requests");

    let reply = e.dispatch(&request(http::Method::GET, "/health", "", None));
    assert_eq!(reply.status, http::StatusCode::OK);
    assert_eq!(&reply.body[..], b"ok");
    assert_eq!(reply.header("x-mock"), Some("yes"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let reply = e.dispatch(&request(
        http::Method::POST,
        "/v1/things",
        r#"{"a": 1, "b": 2}"#,
        Some("application/json"),
    ));
    assert_eq!(reply.status, http::StatusCode::CREATED);
    assert_eq!(reply.json().unwrap()["created"], true);
    let reply = e.dispatch(&request(http::Method::DELETE, "/health", "", None));
    assert_eq!(
        reply.json().unwrap()["errorCode"],
        400001,
        "unsupported method on an unmatched call"
    );
}

#[test]
fn bad_encoding_is_a_gigya_error_naming_the_problem() {
    let e = engine(SEEDS);
    let ct = Some("application/x-www-form-urlencoded");
    let body = e
        .dispatch(&request(
            http::Method::POST,
            "/accounts.setAccountInfo",
            "UID=%G1",
            ct,
        ))
        .json()
        .unwrap();
    assert_eq!(body["errorCode"], 400001);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("bad percent-encoding in the request body at byte 4")
    );
    let body = e
        .dispatch(&request(
            http::Method::POST,
            "/accounts.setAccountInfo",
            "UID=%C3%28",
            ct,
        ))
        .json()
        .unwrap();
    assert!(body["errorDetails"].as_str().unwrap().contains("'UID'"));
}

#[test]
fn stubs_load_bodies_from_files_next_to_the_scenario() {
    let dir = crate::support::temp_files(&[
        (
            "s.yaml",
            "version: 1\nstubs:\n  - request: {method: accounts.getAccountInfo}\n    response: {bodyFile: bodies/account.json}\n",
        ),
        (
            "bodies/account.json",
            r#"{"UID": "u-9", "profile": {"firstName": "Ann"}}"#,
        ),
    ]);
    let set = gigya_mock::scenario::load_paths(&[dir.path().to_path_buf()]).unwrap();
    let e = Engine::new(set, EngineConfig::default());
    let body = e
        .dispatch(&call("accounts.getAccountInfo", &[]))
        .json()
        .unwrap();
    assert_eq!(body["profile"]["firstName"], "Ann");
}

#[test]
fn run_time_stubs_and_reset_through_the_engine() {
    use gigya_mock::scenario::load::Format;
    let e = Engine::new(scenarios(SEEDS), EngineConfig::default());
    let gold = || {
        call(
            "accounts.setAccountInfo",
            &[("UID", "u-100"), ("data", r#"{"tier": "gold"}"#)],
        )
    };
    let _ = e.dispatch(&gold());
    let added = e
        .add_stubs(
            "name: vip-2\nrequest: {method: socialize.setUserInfo, params: {UID: u2}}\nresponse: {}\n",
            Format::Yaml,
            "body",
        )
        .unwrap();
    assert_eq!(added, vec!["vip-2"]);
    assert_eq!(
        e.dispatch(&call("socialize.setUserInfo", &[("UID", "u2")]))
            .outcome,
        Outcome::Stub("vip-2".into())
    );
    // Hit counters survive the swap to the derived set.
    let set = e.scenarios();
    assert_eq!(set.stub("gold-member-update").unwrap().hit_count(), 1);
    assert!(set.stub("vip-2").unwrap().runtime);
    let _ = e.dispatch(&gold());
    assert_eq!(
        e.scenarios()
            .stub("gold-member-update")
            .unwrap()
            .hit_count(),
        2
    );
    assert!(e.remove_stub("gold-member-update"));
    assert!(!e.remove_stub("gold-member-update"));
    assert!(matches!(e.dispatch(&gold()).outcome, Outcome::Unmatched(_)));

    e.reset();
    let set = e.scenarios();
    assert!(set.stub("vip-2").is_none(), "run-time stubs are removed");
    assert_eq!(
        set.stub("gold-member-update").unwrap().hit_count(),
        0,
        "deleted file stubs come back with fresh counters"
    );
    assert_eq!(
        e.dispatch(&gold()).outcome,
        Outcome::Stub("gold-member-update".into())
    );
    // Replacing the file set (a reload) is what the next reset returns to.
    e.replace_scenarios(scenarios(
        "version: 1\nstubs:\n  - {name: only, request: {method: a.b}, response: {}}\n",
    ));
    e.reset();
    let names: Vec<String> = e
        .scenarios()
        .stubs()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, vec!["only"]);
}

#[test]
fn run_time_stubs_are_capped() {
    use gigya_mock::engine::MAX_RUNTIME_STUBS;
    use gigya_mock::scenario::load::Format;
    let e = engine(SEEDS);
    let many: String = (0..=MAX_RUNTIME_STUBS)
        .map(|_| "- {request: {method: a.b}, response: {}}\n")
        .collect();
    let err = e.add_stubs(&many, Format::Yaml, "body").unwrap_err();
    assert_eq!(
        err.problems[0].to_string(),
        format!(
            "body: {} more run-time stubs would exceed the limit of {MAX_RUNTIME_STUBS} (0 held now); delete some or reset",
            MAX_RUNTIME_STUBS + 1
        )
    );
    assert_eq!(e.scenarios().stubs().len(), 3, "nothing was added");
    let fewer: String = many.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        e.add_stubs(&fewer, Format::Yaml, "body").unwrap().len(),
        MAX_RUNTIME_STUBS
    );
}

#[test]
fn a_fixed_time_is_answered_as_written_and_checked_at_load() {
    let e = engine(
        "version: 1\nstubs:\n  - request: {method: a.b}\n    response: {time: \"2024-05-01T10:00:00.123Z\"}\n",
    );
    let body = e.dispatch(&call("a.b", &[])).json().unwrap();
    assert_eq!(body["time"], "2024-05-01T10:00:00.123Z");
    let err = gigya_mock::scenario::load_sources(vec![gigya_mock::scenario::load::Source {
        label: "t.yaml".into(),
        base_dir: ".".into(),
        format: gigya_mock::scenario::load::Format::Yaml,
        text: "version: 1\nstubs:\n  - request: {method: a.b}\n    response: {time: yesterday}\n"
            .into(),
    }])
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.yaml:4:22: time \"yesterday\" is not a UTC time such as 2024-05-01T10:00:00.123Z"
    );
}
