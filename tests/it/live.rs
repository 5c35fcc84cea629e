//! Live scenarios without sockets: sequences, scenario states, fault rules, random delays,
//! templates, and counters carried over a reload.

use std::sync::Arc;
use std::time::Duration;

use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{CapturedRequest, Outcome, TransportFault};
use gigya_mock::gigya::envelope::{CallIds, ManualClock};
use gigya_mock::scenario::compile::compile_fault_rules;
use gigya_mock::scenario::load::{Format, Source};
use gigya_mock::scenario::load_sources;
use gigya_mock::scenario::model::FaultRule;

use crate::support::{engine, repo, scenarios};

fn call(method: &str, params: &[(&str, &str)]) -> CapturedRequest {
    CapturedRequest::gigya_call(method, params.iter().copied())
}

fn code(e: &Engine, method: &str, params: &[(&str, &str)]) -> u64 {
    e.dispatch(&call(method, params)).json().unwrap()["errorCode"]
        .as_u64()
        .unwrap()
}

fn load_errors(yaml: &str) -> Vec<String> {
    load_sources(vec![Source {
        label: "live.yaml".into(),
        base_dir: repo(),
        format: Format::Yaml,
        text: yaml.into(),
    }])
    .unwrap_err()
    .problems
    .iter()
    .map(ToString::to_string)
    .collect()
}

const SEQUENCES: &str = r#"
version: 1
stubs:
  - name: repeat
    request: { method: a.repeat }
    responses: [{ errorCode: 500001 }, { errorCode: 403048 }, { body: { ok: true } }]
  - name: cycle
    request: { method: a.cycle }
    sequence: cycle
    responses: [{ body: { n: 1 } }, { body: { n: 2 } }]
  - name: exhaust
    request: { method: a.exhaust }
    sequence: exhaust
    responses: [{ body: { n: 1 } }, { body: { n: 2 } }]
"#;

#[test]
fn sequences_repeat_the_last_cycle_or_exhaust() {
    let e = engine(SEQUENCES);
    let codes: Vec<u64> = (0..5).map(|_| code(&e, "a.repeat", &[])).collect();
    assert_eq!(codes, vec![500001, 403048, 0, 0, 0]);
    let ns: Vec<u64> = (0..5)
        .map(|_| {
            e.dispatch(&call("a.cycle", &[])).json().unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ns, vec![1, 2, 1, 2, 1]);
    let first = e.dispatch(&call("a.exhaust", &[])).json().unwrap();
    let second = e.dispatch(&call("a.exhaust", &[])).json().unwrap();
    assert_eq!(
        (first["n"].as_u64(), second["n"].as_u64()),
        (Some(1), Some(2))
    );
    let third = e.dispatch(&call("a.exhaust", &[]));
    assert!(matches!(third.outcome, Outcome::Unmatched(_)));
    let details = third.json().unwrap()["errorDetails"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(details.contains(r#"stub "exhaust": used up"#), "{details}");
}

#[test]
fn sequence_positions_are_unique_under_concurrency() {
    let e = Arc::new(engine(SEQUENCES));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || {
                (0..250)
                    .map(|_| {
                        e.dispatch(&call("a.cycle", &[])).json().unwrap()["n"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(all.iter().filter(|n| **n == 1).count(), 500);
    assert_eq!(all.iter().filter(|n| **n == 2).count(), 500);
}

const REGISTRATION: &str = r#"
version: 1
stubs:
  - name: login-unknown
    scenario: registration
    requiredState: Started
    request: { method: accounts.login }
    response: { errorCode: 403042 }
  - name: register
    scenario: registration
    requiredState: Started
    newState: Registered
    request: { method: accounts.register }
    response: { body: { UID: u-1 } }
  - name: register-again
    scenario: registration
    requiredState: Registered
    request: { method: accounts.register }
    response: { errorCode: 400003 }
  - name: login
    scenario: registration
    requiredState: Registered
    request: { method: accounts.login }
    response: { body: { UID: u-1, sessionInfo: { cookieName: c, cookieValue: v } } }
"#;

#[test]
fn scenario_states_move_between_stubs() {
    let e = engine(REGISTRATION);
    assert_eq!(code(&e, "accounts.login", &[]), 403042);
    assert_eq!(code(&e, "accounts.register", &[]), 0);
    assert_eq!(code(&e, "accounts.register", &[]), 400003);
    let login = e.dispatch(&call("accounts.login", &[])).json().unwrap();
    assert_eq!(login["UID"], "u-1");
    let set = e.scenarios();
    let m = set.machine("registration").unwrap();
    assert_eq!(m.state(), "Registered");
    assert_eq!(
        m.states.iter().map(|s| &**s).collect::<Vec<_>>(),
        vec!["Started", "Registered"]
    );
    assert!(!m.set_state("Nope"));
    assert!(m.set_state("Started"));
    assert_eq!(code(&e, "accounts.login", &[]), 403042);
    m.set_state("Registered");
    set.reset_live();
    assert_eq!(m.state(), "Started");
    assert_eq!(code(&e, "accounts.login", &[]), 403042);
}

#[test]
fn a_transition_is_taken_by_exactly_one_concurrent_request() {
    let e = Arc::new(engine(REGISTRATION));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || code(&e, "accounts.register", &[]))
        })
        .collect();
    let codes: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 400003).count(),
        7,
        "{codes:?}"
    );
}

#[test]
fn near_misses_name_the_scenario_state() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: login
    scenario: registration
    requiredState: Registered
    request: { method: accounts.login }
    response: {}
  - name: register
    scenario: registration
    newState: Registered
    request: { method: accounts.register }
    response: {}
"#,
    );
    let details = e.dispatch(&call("accounts.login", &[])).json().unwrap()["errorDetails"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        details.contains(
            r#"stub "login": scenario "registration" is in state "Started", the stub requires "Registered""#
        ),
        "{details}"
    );
}

#[test]
fn fault_rules_fail_the_next_n_calls_then_behave() {
    let e = engine(
        r#"
version: 1
stubs:
  - request: { method: accounts.setAccountInfo }
    response: {}
faults:
  - { name: rate-limit, method: accounts.setAccountInfo, errorCode: 403048, next: 3 }
"#,
    );
    let replies: Vec<_> = (0..5)
        .map(|_| e.dispatch(&call("accounts.setAccountInfo", &[("UID", "u")])))
        .collect();
    let codes: Vec<u64> = replies
        .iter()
        .map(|r| r.json().unwrap()["errorCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, vec![403048, 403048, 403048, 0, 0]);
    let body = replies[0].json().unwrap();
    assert_eq!(body["errorMessage"], "Api rate limit exceeded");
    assert_eq!(body["statusCode"], 403);
    assert_eq!(replies[0].outcome, Outcome::Fault("rate-limit".into()));
    let report = e.fault_report();
    assert_eq!(report[0]["name"], "rate-limit");
    assert_eq!(report[0]["fired"], 3);
    assert_eq!(report[0]["seen"], 5);
    assert_eq!(report[0]["remaining"], 0);
    // Other methods are untouched.
    assert_eq!(code(&e, "accounts.getAccountInfo", &[]), 403007);
}

#[test]
fn probability_faults_repeat_with_their_seed() {
    let yaml = r#"
version: 1
stubs:
  - request: { method: { matches: "^accounts\\." } }
    response: {}
faults:
  - { method: "accounts.*", errorCode: 500001, probability: 0.3, seed: 7 }
"#;
    let pattern =
        |e: &Engine| -> Vec<u64> { (0..200).map(|_| code(e, "accounts.login", &[])).collect() };
    let a = pattern(&engine(yaml));
    let b = pattern(&engine(yaml));
    assert_eq!(a, b, "the same seed gives the same failures");
    let failures = a.iter().filter(|c| **c == 500001).count();
    assert!((35..=85).contains(&failures), "{failures} of 200 at p=0.3");
    assert!(a.iter().all(|c| *c == 0 || *c == 500001));
    let other = engine(&yaml.replace("seed: 7", "seed: 8"));
    assert_ne!(a, pattern(&other));
    assert_eq!(
        code(&other, "socialize.login", &[]),
        403007,
        "the glob needs `accounts.`"
    );
}

#[test]
fn admin_fault_rules_come_first_and_can_wrap_the_normal_answer() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: ok
    request: { method: accounts.login }
    response: { body: { UID: u } }
faults:
  - { name: file-rule, method: accounts.login, errorCode: 500001 }
"#,
    );
    let rules: Vec<FaultRule> = vec![
        FaultRule {
            method: Some("accounts.login".into()),
            fault: Some(gigya_mock::scenario::model::Fault::ConnectionReset),
            next: Some(1),
            ..FaultRule::default()
        },
        FaultRule {
            method: Some("accounts.login".into()),
            status: Some(503),
            next: Some(1),
            ..FaultRule::default()
        },
    ];
    let compiled = compile_fault_rules(&rules, "admin", e.faults().added(), &[]).unwrap();
    assert!(e.faults().add(compiled));
    // 1: the normal answer with a connection reset (the stub still answered).
    let r = e.dispatch(&call("accounts.login", &[]));
    assert_eq!(r.fault, Some(TransportFault::ConnectionReset));
    assert_eq!(r.outcome, Outcome::Stub("ok".into()));
    // 2: a raw 503.
    let r = e.dispatch(&call("accounts.login", &[]));
    assert_eq!(r.status, 503);
    assert!(r.body.is_empty());
    assert_eq!(r.outcome, Outcome::Fault("admin#1".into()));
    // 3: the file rule (always).
    assert_eq!(code(&e, "accounts.login", &[]), 500001);
    assert_eq!(e.faults().clear(), 2);
    assert_eq!(e.fault_report().len(), 1);
}

#[test]
fn admin_fault_rules_are_bounded() {
    let e = engine("version: 1\n");
    let rule = FaultRule {
        error_code: Some(500001),
        ..FaultRule::default()
    };
    let many = vec![rule; gigya_mock::engine::MAX_ADMIN_FAULTS];
    let compiled = compile_fault_rules(&many, "admin", 0, &[]).unwrap();
    assert!(e.faults().add(compiled));
    let one = compile_fault_rules(&many[..1], "admin", e.faults().added(), &[]).unwrap();
    assert!(!e.faults().add(one), "one more than the limit is refused");
    assert_eq!(
        e.faults().rules().len(),
        gigya_mock::engine::MAX_ADMIN_FAULTS
    );
}

#[test]
fn fault_rule_problems_are_load_errors_with_positions() {
    let e = load_errors(
        r#"version: 1
faults:
  - { method: a.b, errorCode: 403048, probability: 1.5 }
  - { method: a.b }
  - { method: a.b, errorCode: 999999, status: 503 }
  - { method: a.b, errorCode: 500001, next: 0 }
"#,
    );
    assert_eq!(
        e,
        vec![
            "live.yaml:3:52: probability 1.5 is outside 0 to 1",
            "live.yaml:4:5: a fault rule needs `errorCode`, `status`, `fault` or `delay`",
            "live.yaml:5:47: give either `errorCode` (a Gigya envelope) or `status` (a raw HTTP answer), not both",
            "live.yaml:6:45: next must be at least 1 (remove the rule to disable it)",
        ]
    );
}

#[test]
fn random_delays_stay_in_range_and_repeat_with_the_stub_seed() {
    let yaml = r#"
version: 1
stubs:
  - name: uniform
    seed: 42
    request: { method: a.uniform }
    response: { delay: { uniform: [100, 300] } }
  - name: lognormal
    seed: 42
    request: { method: a.lognormal }
    response: { delay: { lognormal: { median: 200, sigma: 0.5 } } }
  - name: fixed
    request: { method: a.fixed }
    response: { delay: 250 }
"#;
    let delays = |e: &Engine, m: &str| -> Vec<Duration> {
        (0..50)
            .map(|_| e.dispatch(&call(m, &[])).delay.unwrap())
            .collect()
    };
    let a = engine(yaml);
    let u = delays(&a, "a.uniform");
    assert!(
        u.iter()
            .all(|d| (100..=300).contains(&(d.as_millis() as u64)))
    );
    assert!(u.iter().any(|d| *d != u[0]), "not all the same");
    assert_eq!(u, delays(&engine(yaml), "a.uniform"));
    let l = delays(&a, "a.lognormal");
    assert_eq!(l, delays(&engine(yaml), "a.lognormal"));
    assert_eq!(delays(&a, "a.fixed")[0], Duration::from_millis(250));
    let e = load_errors(
        "version: 1\nstubs:\n  - request: {method: a}\n    response: {delay: {uniform: [300, 100]}}\n  - request: {method: b}\n    response: {delay: {lognormal: {median: 1, sigma: 9}}}\n",
    );
    assert_eq!(
        e,
        vec![
            "live.yaml:4:33: uniform: min 300 is larger than max 100",
            "live.yaml:6:54: sigma 9 is outside 0 to 5",
        ]
    );
}

#[test]
fn stub_faults_are_carried_by_the_reply() {
    let e = engine(
        r#"
version: 1
stubs:
  - request: { method: a.b }
    responses:
      - { fault: connection-reset }
      - { fault: { slowBody: { chunkBytes: 4, pauseMs: 50 } } }
      - { fault: malformed-body, body: { UID: u-1 } }
      - {}
"#,
    );
    let replies: Vec<_> = (0..4).map(|_| e.dispatch(&call("a.b", &[]))).collect();
    assert_eq!(replies[0].fault, Some(TransportFault::ConnectionReset));
    assert_eq!(
        replies[1].fault,
        Some(TransportFault::SlowBody {
            chunk_bytes: 4,
            pause: Duration::from_millis(50)
        })
    );
    assert_eq!(replies[2].fault, None);
    assert!(
        replies[2].json().is_none(),
        "malformed: {:?}",
        replies[2].body
    );
    assert!(replies[3].json().is_some());
}

#[test]
fn templates_echo_request_values() {
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let e = Engine::new(
        scenarios(
            r#"
version: 1
stubs:
  - name: echo
    seed: 1
    request: { method: accounts.setAccountInfo }
    response:
      headers: { X-Echo-Method: "{{ method }}", X-Static: plain }
      body:
        UID: "{{ params.UID }}"
        profile: "{{ json.profile }}"
        greeting: "Hi {{ json.profile.firstName | default('there') }}"
        agent: "{{ headers['host'] }}"
        id: "{{ call_id() }}"
        expires: "{{ now(offset='+1h', format='unix') }}"
  - name: raw-echo
    request: { path: /echo }
    response: { status: 200, body: "path={{ path }} via {{ http_method }}" }
"#,
        ),
        EngineConfig::default(),
    )
    .with_clock(clock)
    .with_call_ids(CallIds::seeded(3));
    let r = e.dispatch(&call(
        "accounts.setAccountInfo",
        &[
            ("uid", "u-9"),
            ("profile", r#"{"firstName":"Ann","age":30}"#),
        ],
    ));
    let body = r.json().unwrap();
    assert_eq!(body["UID"], "u-9");
    assert_eq!(
        body["profile"],
        serde_json::json!({"firstName": "Ann", "age": 30})
    );
    assert_eq!(body["greeting"], "Hi Ann");
    assert_eq!(body["agent"], "localhost");
    assert_eq!(body["expires"], 1_700_003_600);
    assert_eq!(body["errorCode"], 0);
    assert_eq!(r.header("x-echo-method"), Some("accounts.setAccountInfo"));
    assert_eq!(r.header("x-static"), Some("plain"));
    // call_id() is the answer's own callId.
    assert_eq!(body["id"], body["callId"]);
    assert_eq!(r.header("x-callid"), body["callId"].as_str());
    let raw = e.dispatch(&request_path("/echo"));
    assert_eq!(&raw.body[..], b"path=/echo via GET");
}

fn request_path(path: &str) -> CapturedRequest {
    CapturedRequest::new(
        gigya_mock::exchange::RequestParts {
            http_method: http::Method::GET,
            scheme: gigya_mock::exchange::Scheme::Http,
            uri: path.parse().unwrap(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::new(),
            remote: None,
            received_at: std::time::SystemTime::now(),
        },
        gigya_mock::gigya::params::ConflictPolicy::default(),
    )
}

#[test]
fn template_failures_at_request_time_answer_500001_naming_the_stub() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: bad-format
    request: { method: a.b }
    response: { body: { t: "{{ now(format='%Q') }}" } }
"#,
    );
    let body = e.dispatch(&call("a.b", &[])).json().unwrap();
    assert_eq!(body["errorCode"], 500001);
    let details = body["errorDetails"].as_str().unwrap();
    assert!(
        details.starts_with(r#"[gigya-mock] stub "bad-format": template error"#),
        "{details}"
    );
}

#[test]
fn template_errors_are_load_errors_at_the_template() {
    let e = load_errors(
        r#"version: 1
stubs:
  - request: { method: a.b }
    response:
      body:
        ok: "{{ params.UID }}"
        list: [1, "{{ parms.UID }}"]
        nested: { deep: "{% if %}" }
      headers: { X-A: "{{ uuid( }}" }
      errorCode: 500001
      errorDetails: "{{ headrs.host }}"
"#,
    );
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(
        e[0],
        "live.yaml:7:19: template uses unknown name `parms`; did you mean `params`?"
    );
    assert!(
        e[1].starts_with("live.yaml:8:25: template syntax error:"),
        "{}",
        e[1]
    );
    assert!(
        e[2].starts_with("live.yaml:9:23: template syntax error:"),
        "{}",
        e[2]
    );
    assert!(
        e[3].starts_with("live.yaml:11:21: template uses unknown name `headrs`"),
        "{}",
        e[3]
    );
}

#[test]
fn live_stub_keys_are_checked() {
    let e = load_errors(
        r#"version: 1
stubs:
  - request: { method: a.b }
    requiredState: Registered
    sequence: cycle
    response: {}
  - request: { method: a.c }
    response: { fault: { slowBody: { chunkBytes: 0 } } }
"#,
    );
    assert_eq!(
        e,
        vec![
            "live.yaml:4:20: `requiredState` needs `scenario`: the name of the scenario whose state it reads or sets",
            "live.yaml:5:15: `sequence` applies to `responses`; this stub has a single `response`",
            "live.yaml:8:50: chunkBytes must be 1 to 1048576",
        ]
    );
}

#[test]
fn a_reload_keeps_counters_and_states_of_what_survives() {
    let e = engine(
        r#"
version: 1
stubs:
  - name: seq
    request: { method: a.seq }
    responses: [{ body: { n: 1 } }, { body: { n: 2 } }, { body: { n: 3 } }]
  - name: gone
    request: { method: a.gone }
    response: {}
  - name: register
    scenario: registration
    newState: Registered
    request: { method: accounts.register }
    response: {}
"#,
    );
    assert_eq!(e.dispatch(&call("a.seq", &[])).json().unwrap()["n"], 1);
    assert_eq!(code(&e, "accounts.register", &[]), 0);
    e.reload_scenarios(scenarios(
        r#"
version: 1
stubs:
  - name: seq
    request: { method: a.seq }
    responses: [{ body: { n: 10 } }, { body: { n: 20 } }, { body: { n: 30 } }]
  - name: register
    scenario: registration
    newState: Registered
    request: { method: accounts.register }
    response: {}
  - name: login
    scenario: registration
    requiredState: Registered
    request: { method: accounts.login }
    response: { body: { UID: u } }
"#,
    ));
    assert_eq!(
        e.dispatch(&call("a.seq", &[])).json().unwrap()["n"],
        20,
        "position kept"
    );
    assert_eq!(
        e.dispatch(&call("accounts.login", &[])).json().unwrap()["UID"],
        "u",
        "state kept"
    );
    assert!(e.scenarios().stub("gone").is_none());
}

#[test]
fn large_sets_compile_on_several_threads_with_the_same_results() {
    // Enough stubs for the parallel compiler; templates and problems from every chunk.
    let build = |first: &str, last: &str| {
        let mut yaml = String::from("version: 1\nstubs:\n");
        for i in 0..3000 {
            let t = match i {
                0 => first.to_owned(),
                2999 => last.to_owned(),
                _ => "{{ params.UID }}".to_owned(),
            };
            yaml.push_str(&format!(
                "  - name: s{i}\n    request: {{ method: big.m, params: {{ UID: u-{i} }} }}\n    response: {{ body: {{ n: \"{t}-{i}\" }} }}\n"
            ));
        }
        yaml
    };
    let yaml = build("{{ params.UID }}", "{{ params.UID }}");
    let e = engine(&yaml);
    for i in [0, 1499, 2999] {
        let uid = format!("u-{i}");
        let body = e.dispatch(&call("big.m", &[("UID", &uid)])).json().unwrap();
        assert_eq!(body["n"], format!("u-{i}-{i}"));
    }
    let names: Vec<String> = e
        .scenarios()
        .stubs()
        .iter()
        .take(3)
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["s0", "s1", "s2"], "file order is kept");
    let errors = load_errors(&build("{{ parms.UID }}", "{{ params.UID"));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "live.yaml:5:28: template uses unknown name `parms`; did you mean `params`?"
    );
    assert!(
        errors[1].starts_with("live.yaml:9002:28: template syntax error"),
        "{}",
        errors[1]
    );
}
