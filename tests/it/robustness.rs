//! Dispatch tests with random and hostile requests: the bundled example scenarios and the
//! emulator answer every one of them with a well-formed Gigya envelope, and never panic.

use std::time::SystemTime;

use bytes::Bytes;
use gigya_mock::emulator::EmulatorConfig;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{CapturedRequest, Outcome, Reply, RequestParts, Scheme};
use gigya_mock::gigya::params::ConflictPolicy;
use gigya_mock::scenario::load_paths;

use crate::support::gigya::{API_KEY, Call, SECRET_S};
use crate::support::repo;

const METHODS: &[&str] = &[
    "accounts.setAccountInfo",
    "accounts.getAccountInfo",
    "socialize.setUserInfo",
    "socialize.getUserInfo",
    "socialize.setUserSettings",
    "socialize.getUserSettings",
    "socialize.delUserSettings",
    "accounts.login",
    "accounts.getJWT",
    "accounts.noSuchMethod",
    "ACCOUNTS.SETACCOUNTINFO",
    "accounts.",
    ".setAccountInfo",
    "a.b.c",
    "x",
    "",
];

const NAMES: &[&str] = &[
    "UID",
    "uid",
    "apiKey",
    "APIKey",
    "secret",
    "userKey",
    "sig",
    "timestamp",
    "nonce",
    "data",
    "profile",
    "settings",
    "format",
    "callback",
    "context",
    "httpStatusCodes",
    "conflictHandling",
    "include",
    "extraProfileFields",
    "regToken",
    "lang",
    "",
    "a[b]",
    "é",
];

/// The bundled example accounts' UID, so that some calls reach real emulated state.
const KNOWN_UID: &str = "8f1c0e3a9b2d4c6e";

fn values() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "u1",
        "u-100",
        KNOWN_UID,
        API_KEY,
        SECRET_S,
        "json",
        "jsonp",
        "xml",
        "true",
        "false",
        "null",
        "0",
        "-1",
        "1e999",
        "99999999999999999999999",
        "{}",
        "[]",
        r#"{"tier":"gold"}"#,
        r#"{"firstName":"Ada","email":"not-an-email","birthYear":"x"}"#,
        r#"{"firstName":123,"locale":{"a":1}}"#,
        r#"{"email":"ada@example.com","zip":null,"phones":[{"number":1}]}"#,
        r#"{"a":"#,
        r#"{"a":1,"a":2}"#,
        r#"{"terms":true,"subscriptions":{"news":{"email":{"isSubscribed":"yes"}}}}"#,
        "a,b,c",
        "cb",
        "window.alert",
        "%",
        "%ZZ",
        "a=b&c=d",
        "+ +",
        "é€😀",
        "\u{0}\u{1}\u{7f}",
        "<script>",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push(format!("{}{}", "[".repeat(300), "]".repeat(300)));
    v.push(format!(
        "{{\"d\":{}}}",
        "{\"d\":".repeat(200) + "1" + &"}".repeat(200)
    ));
    v.push("a".repeat(20_000));
    v.push(format!("{{\"k\":\"{}\"}}", "\\u00e9".repeat(2_000)));
    v
}

/// Form-encodes most of the time; sometimes sends the text as it is (bad escapes included).
fn encode(rng: &mut fastrand::Rng, s: &str) -> String {
    if rng.u8(..10) == 0 {
        s.to_owned()
    } else {
        gigya_mock::exchange::form_encode([("", s)])
            .trim_start_matches('=')
            .to_owned()
    }
}

/// A call an SDK could send: an emulated method, working credentials, the known account, and
/// well-formed values.
fn plausible_request(rng: &mut fastrand::Rng) -> CapturedRequest {
    const OPTIONAL: &[(&str, &str)] = &[
        ("data", r#"{"tier":"gold","points":12}"#),
        (
            "profile",
            r#"{"firstName":"Ada","email":"ada@example.com"}"#,
        ),
        ("settings", r#"{"theme":"dark"}"#),
        ("format", "json"),
        ("context", "ctx-1"),
        ("include", "profile,data"),
    ];
    let mut call = Call::new(METHODS[rng.usize(..7)])
        .partner()
        .p("UID", KNOWN_UID);
    for _ in 0..rng.usize(0..4) {
        let (name, value) = OPTIONAL[rng.usize(..OPTIONAL.len())];
        call = call.p(name, value);
    }
    call.in_query = rng.u8(..4) == 0;
    call.build()
}

fn random_request(rng: &mut fastrand::Rng, values: &[String]) -> Option<CapturedRequest> {
    if rng.u8(..3) == 0 {
        return Some(plausible_request(rng));
    }
    let method = METHODS[rng.usize(..METHODS.len())];
    let mut pairs = Vec::new();
    for _ in 0..rng.usize(0..8) {
        let name = NAMES[rng.usize(..NAMES.len())];
        let value = &values[rng.usize(..values.len())];
        pairs.push(format!("{}={}", encode(rng, name), encode(rng, value)));
    }
    // Some calls carry working credentials, so that they get past authentication.
    if rng.bool() {
        pairs.push(format!("apiKey={API_KEY}"));
        pairs.push(format!("secret={}", encode(rng, SECRET_S)));
    }
    let form = pairs.join("&");
    let (query, body) = match rng.u8(..4) {
        0 => (form, String::new()),
        1 => (String::new(), form),
        _ => {
            let at = rng.usize(..=pairs.len());
            (pairs[..at].join("&"), pairs[at..].join("&"))
        }
    };
    let path = match rng.u8(..10) {
        0 => format!("//{method}"),
        1 => format!("/{method}/extra"),
        2 => "/".to_owned(),
        _ => format!("/{method}"),
    };
    let uri = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let uri: http::Uri = uri.parse().ok()?;
    let http_method = match rng.u8(..10) {
        0 => http::Method::GET,
        1 => http::Method::PUT,
        2 => http::Method::DELETE,
        3 => http::Method::OPTIONS,
        4 => http::Method::HEAD,
        5 => http::Method::from_bytes(b"BREW").ok()?,
        _ => http::Method::POST,
    };
    let mut headers = http::HeaderMap::new();
    let content_type = match rng.u8(..8) {
        0 => None,
        1 => Some("application/json"),
        2 => Some("multipart/form-data"),
        3 => Some("text/plain; charset=latin1"),
        4 => Some("application/x-www-form-urlencoded; charset=utf-8"),
        _ => Some("application/x-www-form-urlencoded"),
    };
    if let Some(ct) = content_type {
        headers.insert(http::header::CONTENT_TYPE, ct.parse().ok()?);
    }
    if rng.u8(..8) == 0 {
        headers.insert(http::header::AUTHORIZATION, "Bearer a.b.c".parse().ok()?);
    }
    let mut body = body.into_bytes();
    match rng.u8(..12) {
        // Not UTF-8.
        0 => body.extend_from_slice(&[b'&', b'x', b'=', 0xC3, 0x28, 0xFF]),
        // A JSON body instead of a form.
        1 => body = br#"{"UID":"u1","data":{"tier":"gold"}}"#.to_vec(),
        _ => {}
    }
    Some(CapturedRequest::new(
        RequestParts {
            http_method,
            scheme: Scheme::Http,
            uri,
            headers,
            body: Bytes::from(body),
            remote: None,
            received_at: SystemTime::now(),
        },
        ConflictPolicy::default(),
    ))
}

/// The JSON object of an envelope answer, unwrapping JSONP (`callback({...});`).
fn envelope_of(reply: &Reply) -> Option<serde_json::Value> {
    let text = std::str::from_utf8(&reply.body).ok()?;
    let json = if text.starts_with('{') {
        text
    } else {
        let open = text.find('(')?;
        text.get(open + 1..text.strip_suffix(");")?.len())?
    };
    serde_json::from_str(json).ok()
}

#[test]
fn random_and_hostile_requests_always_get_a_well_formed_envelope() {
    let set = load_paths(&[repo().join("scenarios")]).expect("the bundled scenarios load");
    let engine = Engine::new(set, EngineConfig::default()).with_emulator(EmulatorConfig::default());
    let values = values();
    let mut rng = fastrand::Rng::with_seed(11);
    let (mut sent, mut emulated, mut succeeded) = (0, 0, 0);
    while sent < 4_000 {
        let Some(req) = random_request(&mut rng, &values) else {
            continue;
        };
        sent += 1;
        let reply = engine.dispatch(&req);
        let what = format!(
            "{} {}?{} body {:?}",
            req.http_method,
            req.path,
            req.query.as_deref().unwrap_or_default(),
            String::from_utf8_lossy(&req.body)
        );
        if reply.fault.is_some() {
            continue;
        }
        let Some(body) = envelope_of(&reply) else {
            panic!(
                "{what}: not an envelope: {:?}",
                String::from_utf8_lossy(&reply.body)
            );
        };
        let code = body["errorCode"].as_u64();
        assert!(code.is_some(), "{what}: no errorCode in {body}");
        assert!(body["statusCode"].is_u64(), "{what}: {body}");
        assert!(body["callId"].is_string(), "{what}: {body}");
        assert!(body["time"].is_string(), "{what}: {body}");
        assert_eq!(reply.error_code.map(u64::from), code, "{what}");
        if code != Some(0) {
            assert!(body["errorMessage"].is_string(), "{what}: {body}");
        }
        emulated += usize::from(reply.outcome == Outcome::Emulator);
        succeeded += usize::from(code == Some(0));
    }
    // The mix reaches the emulator and also gets past validation, not only errors.
    assert!(
        emulated > 1_000,
        "only {emulated} calls reached the emulator"
    );
    assert!(succeeded > 500, "only {succeeded} calls succeeded");
}
