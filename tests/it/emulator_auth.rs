//! Dispatch tests of the emulator's credential checks: every credential mode, every URL and
//! timestamp form real SDKs produce (accepted in `strict`, rejected in `exact`), and every
//! auth error code.

use std::time::Duration;

use gigya_mock::emulator::EmulatorConfig;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{Outcome, Scheme};
use gigya_mock::gigya::jwt;

use crate::support::gigya::{
    API_KEY, Call, SECRET_S, SECRET_U, T0, USER_KEY, answer, code, emu_engine, sign_params,
    site_yaml,
};
use crate::support::{repo, scenarios};

fn strict() -> Engine {
    emu_engine(&site_yaml("strict", "")).0
}

fn exact() -> Engine {
    emu_engine(&site_yaml("exact", "")).0
}

fn get_info() -> Call {
    Call::new("accounts.getAccountInfo").p("UID", "u-1")
}

#[test]
fn doc_vector_a_is_accepted_as_sent_in_both_modes() {
    // Vector A of the protocol doc: POST https://accounts.us1.gigya.com/accounts.setAccountInfo.
    for engine in [strict(), exact()] {
        let mut call = Call::new("accounts.setAccountInfo");
        call.scheme = Scheme::Https;
        call.host = Some("accounts.us1.gigya.com".into());
        call.params.clear();
        for (k, v) in [
            ("apiKey", "3_mockApiKey"),
            ("UID", "u-1"),
            ("data", r#"{"car":"Suzuki Alto","tags":["a","b"]}"#),
            ("profile", r#"{"firstName":"Zoë","lastName":"O'Brien"}"#),
            ("format", "json"),
            ("httpStatusCodes", "false"),
            ("sdk", "python_3.6.0"),
            ("timestamp", "1700000000"),
            ("nonce", "1700000000000123"),
        ] {
            call = call.p(k, v);
        }
        // The doc's UID is 8f1c0e3a9b2d4c6e; with u-1 the signature is recomputed the same way.
        let sig = sign_params(
            SECRET_S,
            "POST",
            "https://accounts.us1.gigya.com/accounts.setAccountInfo",
            &call.params,
        );
        let call = call.p("sig", &sig);
        assert_eq!(code(&engine, &call), 0, "{}", answer(&engine, &call));
    }
}

#[test]
fn doc_vector_b_signature_is_accepted_with_its_exact_sig() {
    // Vector B verbatim (userKey + secret U, plain HTTP, eu1), on a site in eu1.
    let yaml = site_yaml("exact", "")
        .replace("dataCenter: us1", "dataCenter: eu1")
        .replace("  - UID: u-2", "  - UID: \"_guid_ab+c/d=\"\n  - UID: u-2");
    let (engine, clock) = emu_engine(&yaml);
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_100));
    let mut call = Call::new("socialize.setUserSettings");
    call.host = Some("socialize.eu1.gigya.com".into());
    call = call
        .p("userKey", "AMockUserKey1")
        .p("UID", "_guid_ab+c/d=")
        .p(
            "settings",
            r#"{"Like":{"alwaysShare":true,"neverShare":false,"providers":"facebook,twitter"}}"#,
        )
        .p("group", "gigyaShareSettings")
        .p("format", "json")
        .p("httpStatusCodes", "false")
        .p("timestamp", "1700000100")
        .p("nonce", "1700000100000_7")
        .p("sig", "brL+ax/Mw7+H3kn+2mIwG0EmT0U=");
    assert_eq!(code(&engine, &call), 0, "{}", answer(&engine, &call));
}

#[test]
fn doc_vector_c_get_with_query_parameters_is_accepted() {
    let (engine, clock) = emu_engine(&site_yaml("exact", "").replace("UID: u-2", "UID: u-42"));
    clock.set(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_200));
    let mut call = Call::new("socialize.setUserInfo");
    call.http_method = http::Method::GET;
    call.scheme = Scheme::Https;
    call.host = Some("socialize.us1.gigya.com".into());
    call.in_query = true;
    call = call
        .p("UID", "u-42")
        .p("userInfo", r#"{"nickname":"Jo ~*! 😀","age":30}"#)
        .p("format", "json")
        .p("timestamp", "1700000200")
        .p("nonce", "n-1")
        .p("sig", "/qiw1jaCe0VYwW6i4G3NFITltDE=");
    assert_eq!(code(&engine, &call), 0, "{}", answer(&engine, &call));
}

/// Every URL form an SDK may sign when pointed at `localhost:8080` over plain HTTP.
fn url_variants() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "https scheme (Node SDK)",
            "https://localhost:8080/accounts.getAccountInfo",
        ),
        (
            "no port (.NET SDK)",
            "http://localhost/accounts.getAccountInfo",
        ),
        (
            "https without port",
            "https://localhost/accounts.getAccountInfo",
        ),
        (
            "canonical host",
            "https://accounts.us1.gigya.com/accounts.getAccountInfo",
        ),
        (
            "canonical host over http",
            "http://accounts.us1.gigya.com/accounts.getAccountInfo",
        ),
    ]
}

#[test]
fn strict_accepts_every_url_form_real_sdks_sign() {
    let engine = strict();
    for (i, (what, url)) in url_variants().into_iter().enumerate() {
        let call = get_info().p("userKey", USER_KEY).signed_over(
            SECRET_U,
            url,
            &T0.to_string(),
            &format!("n{i}"),
        );
        assert_eq!(
            code(&engine, &call),
            0,
            "{what}: {}",
            answer(&engine, &call)
        );
    }
    // The URL as sent is accepted in both modes.
    let call = get_info().signed("as-sent");
    assert_eq!(code(&engine, &call), 0);
    assert_eq!(code(&exact(), &get_info().signed("as-sent")), 0);
}

#[test]
fn exact_rejects_every_url_form_but_the_one_used() {
    let engine = exact();
    for (i, (what, url)) in url_variants().into_iter().enumerate() {
        let call = get_info().p("userKey", USER_KEY).signed_over(
            SECRET_U,
            url,
            &T0.to_string(),
            &format!("n{i}"),
        );
        assert_eq!(code(&engine, &call), 403003, "{what}");
    }
}

#[test]
fn proxy_requests_sign_the_absolute_form_authority() {
    // The Python SDK with an HTTP proxy: absolute-form target, Host = the Gigya host.
    for engine in [strict(), exact()] {
        let mut call = get_info();
        call.target = "http://accounts.us1.gigya.com/accounts.getAccountInfo".into();
        call.host = Some("accounts.us1.gigya.com".into());
        let call = call.signed("proxy");
        assert_eq!(code(&engine, &call), 0, "{}", answer(&engine, &call));
    }
}

#[test]
fn millisecond_timestamps_are_strict_only() {
    let ms = (T0 * 1000 + 123).to_string();
    let url = "http://localhost:8080/accounts.getAccountInfo";
    let call = get_info()
        .p("userKey", USER_KEY)
        .signed_over(SECRET_U, url, &ms, "ms");
    assert_eq!(code(&strict(), &call), 0);
    let body = answer(&exact(), &call);
    assert_eq!(body["errorCode"], 403002);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("timestamps are seconds"),
        "{body}"
    );
}

#[test]
fn timestamps_outside_the_window_expire() {
    let url = "http://localhost:8080/accounts.getAccountInfo";
    let engine = strict();
    let at = |offset: i64, nonce: &str| {
        get_info().p("userKey", USER_KEY).signed_over(
            SECRET_U,
            url,
            &(T0 as i64 + offset).to_string(),
            nonce,
        )
    };
    assert_eq!(code(&engine, &at(-120, "a")), 0);
    assert_eq!(code(&engine, &at(120, "b")), 0);
    let body = answer(&engine, &at(-121, "c"));
    assert_eq!(body["errorCode"], 403002);
    assert_eq!(body["errorMessage"], "Request has expired");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("121 s behind"),
        "{body}"
    );
    assert_eq!(code(&engine, &at(121, "d")), 403002);
    assert_eq!(
        code(
            &engine,
            &get_info()
                .p("userKey", USER_KEY)
                .signed_over(SECRET_U, url, "soon", "e")
        ),
        403002
    );

    // The window is configurable.
    let clock = std::sync::Arc::new(gigya_mock::gigya::envelope::ManualClock::at_unix(T0));
    let narrow = Engine::new(scenarios(&site_yaml("strict", "")), EngineConfig::default())
        .with_clock(clock)
        .with_emulator(EmulatorConfig::default().with_timestamp_window(Duration::from_secs(10)));
    assert_eq!(code(&narrow, &at(-11, "f")), 403002);
    assert_eq!(code(&narrow, &at(-10, "g")), 0);
}

#[test]
fn reused_nonces_are_rejected_until_they_expire() {
    let (engine, clock) = emu_engine(&site_yaml("strict", ""));
    let url = "http://localhost:8080/accounts.getAccountInfo";
    let call = |ts: u64| {
        get_info()
            .p("userKey", USER_KEY)
            .signed_over(SECRET_U, url, &ts.to_string(), "same")
    };
    assert_eq!(code(&engine, &call(T0)), 0);
    let body = answer(&engine, &call(T0));
    assert_eq!(body["errorCode"], 403004);
    assert_eq!(body["errorMessage"], "Duplicate nonce");
    // A nonce is remembered for twice the window, then forgotten.
    clock.advance(Duration::from_secs(241));
    assert_eq!(code(&engine, &call(T0 + 241)), 0);
    // A reset forgets nonces.
    assert_eq!(code(&engine, &call(T0 + 241)), 403004);
    engine.reset();
    assert_eq!(code(&engine, &call(T0 + 241)), 0);
}

#[test]
fn a_failed_signature_does_not_burn_the_nonce() {
    let engine = strict();
    let good = get_info().signed("n1");
    let mut bad = good.clone();
    if let Some(sig) = bad.params.iter_mut().find(|(k, _)| k == "sig") {
        sig.1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    }
    assert_eq!(code(&engine, &bad), 403003);
    assert_eq!(code(&engine, &good), 0);
}

#[test]
fn signature_failures_explain_the_expected_base_string_without_secrets() {
    let engine = strict();
    let call = Call::new("accounts.setAccountInfo")
        .p("UID", "u-1")
        .p("newPassword", "hunter2")
        .p("password", "old-pw")
        .p("userKey", USER_KEY)
        .signed_over(
            SECRET_S,
            "http://localhost:8080/accounts.setAccountInfo",
            &T0.to_string(),
            "x",
        );
    let reply = engine.dispatch(&call.build());
    let body = reply.json().unwrap();
    assert_eq!(body["errorCode"], 403003);
    assert_eq!(body["errorMessage"], "Invalid request signature");
    assert!(
        body.get("baseString").is_none(),
        "debug fields are off by default"
    );
    let hint = reply.header("x-gigya-mock-hint").unwrap();
    assert!(
        hint.contains("the secret of userKey AMockUserKey1"),
        "{hint}"
    );
    assert!(
        hint.contains("POST&http%3A%2F%2Flocalhost%3A8080%2Faccounts.setAccountInfo&UID%3Du-1"),
        "{hint}"
    );
    assert!(
        hint.contains("https://accounts.us1.gigya.com/accounts.setAccountInfo"),
        "{hint}"
    );
    assert!(
        !hint.contains("hunter2") && !hint.contains("old-pw"),
        "{hint}"
    );
    assert!(hint.contains("newPassword%3D%252A%252A%252A"), "{hint}");
    assert!(!hint.contains(SECRET_U) && !hint.contains(SECRET_S));
    assert_eq!(reply.outcome, Outcome::Emulator);
}

#[test]
fn signature_debug_adds_base_string_and_expected_signature() {
    let (engine, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { signatureDebug: true }\n",
    ));
    let call = get_info()
        .p("userKey", USER_KEY)
        .p("timestamp", &T0.to_string())
        .p("nonce", "d")
        .p("sig", "bad");
    let body = answer(&engine, &call);
    assert_eq!(body["errorCode"], 403003);
    let base = body["baseString"].as_str().unwrap();
    assert!(
        base.starts_with("POST&http%3A%2F%2Flocalhost%3A8080"),
        "{base}"
    );
    let expected = body["expectedSignature"].as_str().unwrap();
    let with_expected = get_info()
        .p("userKey", USER_KEY)
        .p("timestamp", &T0.to_string())
        .p("nonce", "d")
        .p("sig", expected);
    assert_eq!(code(&engine, &with_expected), 0);
}

#[test]
fn node_sdk_signs_false_and_zero_as_empty_strings() {
    // The Node SDK sends `isActive=false` but signs `isActive=`; strict accepts that.
    let url = "https://accounts.us1.gigya.com/accounts.setAccountInfo";
    let mut signed_params = vec![
        ("apiKey".to_owned(), API_KEY.to_owned()),
        ("UID".to_owned(), "u-1".to_owned()),
        ("isVerified".to_owned(), String::new()),
        ("format".to_owned(), "json".to_owned()),
        ("userKey".to_owned(), USER_KEY.to_owned()),
        ("timestamp".to_owned(), T0.to_string()),
        ("nonce".to_owned(), "42".to_owned()),
    ];
    let sig = sign_params(SECRET_U, "POST", url, &signed_params);
    signed_params[2].1 = "false".into();
    let mut call = Call::new("accounts.setAccountInfo");
    call.params = signed_params;
    let call = call.p("sig", &sig);
    assert_eq!(code(&strict(), &call), 0, "{}", answer(&strict(), &call));
    assert_eq!(code(&exact(), &call), 403003);
}

#[test]
fn python_sdk_requests_verify_over_the_text_received() {
    // `_host` signed and sent, booleans as True/False, JSON with spaces and \u escapes,
    // lowercase uid, through the proxy (absolute form).
    let engine = strict();
    let mut call = Call::new("accounts.setAccountInfo");
    call.target = "http://accounts.us1.gigya.com/accounts.setAccountInfo".into();
    call.host = Some("accounts.us1.gigya.com".into());
    let call = call
        .p("uid", "u-1")
        .p("_host", "accounts.us1.gigya.com")
        .p("isVerified", "True")
        .p(
            "profile",
            "{\"firstName\": \"Zo\\u00eb\", \"lastName\": \"O'Brien\"}",
        )
        .p("format", "json")
        .p("httpStatusCodes", "False")
        .p("sdk", "python_3.6.0")
        .signed("py");
    let body = answer(&engine, &call);
    assert_eq!(body["errorCode"], 0, "{body}");
    assert!(body.get("ignoredParams").is_none(), "{body}");
    let info = answer(&engine, &get_info().partner().p("include", "profile"));
    assert_eq!(info["profile"]["firstName"], "Zoë");
    assert_eq!(info["isVerified"], true);
}

#[test]
fn java_sdk_nonces_and_dotnet_unsigned_ports_are_fine() {
    let engine = strict();
    let call = get_info().p("userKey", USER_KEY).signed_over(
        SECRET_U,
        "http://localhost/accounts.getAccountInfo",
        &T0.to_string(),
        "1700000000000_-12345",
    );
    assert_eq!(code(&engine, &call), 0);
}

#[test]
fn partner_secret_signatures_work_without_a_user_key() {
    let engine = strict();
    let call = get_info().signed_over(
        SECRET_S,
        "http://localhost:8080/accounts.getAccountInfo",
        &T0.to_string(),
        "p1",
    );
    assert_eq!(code(&engine, &call), 0);
    let wrong = get_info().signed_over(
        SECRET_U,
        "http://localhost:8080/accounts.getAccountInfo",
        &T0.to_string(),
        "p2",
    );
    assert_eq!(code(&engine, &wrong), 403003);
}

#[test]
fn signed_calls_need_timestamp_and_nonce() {
    let engine = strict();
    let body = answer(&engine, &get_info().p("sig", "x").p("nonce", "1"));
    assert_eq!(body["errorCode"], 400002);
    assert_eq!(
        body["errorDetails"],
        "Missing required parameter : timestamp"
    );
    let body = answer(
        &engine,
        &get_info().p("sig", "x").p("timestamp", &T0.to_string()),
    );
    assert_eq!(body["errorDetails"], "Missing required parameter : nonce");
}

#[test]
fn clear_secrets_are_checked() {
    let engine = strict();
    assert_eq!(code(&engine, &get_info().partner()), 0);
    assert_eq!(
        code(
            &engine,
            &get_info().p("userKey", USER_KEY).p("secret", SECRET_U)
        ),
        0
    );

    let body = answer(&engine, &get_info().p("secret", SECRET_U));
    assert_eq!(body["errorCode"], 403010);
    assert_eq!(body["errorMessage"], "Invalid Secret");
    assert_eq!(body["errorDetails"], "Invalid parameter: secret");
    assert_eq!(
        code(
            &engine,
            &get_info().p("userKey", USER_KEY).p("secret", SECRET_S)
        ),
        403010
    );

    let body = answer(
        &engine,
        &get_info().p("userKey", "ANope").p("secret", SECRET_U),
    );
    assert_eq!(body["errorCode"], 403005);
    assert_eq!(body["errorMessage"], "Unauthorized user");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .starts_with("The supplied userkey was not found")
    );
    let signed_unknown = get_info().p("userKey", "ANope").signed_over(
        SECRET_U,
        "http://localhost:8080/accounts.getAccountInfo",
        &T0.to_string(),
        "u",
    );
    assert_eq!(code(&engine, &signed_unknown), 403005);
}

#[test]
fn a_clear_secret_over_plain_http_depends_on_the_mode() {
    // strict accepts it; exact and requireHttps answer 403006.
    assert_eq!(code(&strict(), &get_info().partner()), 0);
    let body = answer(&exact(), &get_info().partner());
    assert_eq!(body["errorCode"], 403006);
    assert_eq!(body["errorMessage"], "Secret Sent Over Http");
    assert_eq!(body["errorDetails"], "Secret Sent Over Http");
    let (https_only, _) = emu_engine(&site_yaml("strict", "    requireHttps: true\n"));
    assert_eq!(code(&https_only, &get_info().partner()), 403006);
    // Over HTTPS it is fine everywhere.
    let mut tls = get_info().partner();
    tls.scheme = Scheme::Https;
    assert_eq!(code(&exact(), &tls), 0);
    assert_eq!(code(&https_only, &tls), 0);
}

#[test]
fn calls_without_credentials_are_client_side() {
    let body = answer(&strict(), &get_info());
    assert_eq!(body["errorCode"], 403007);
    assert_eq!(body["errorMessage"], "Permission denied");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("needs server credentials")
    );
    // auth: off checks nothing.
    let (off, _) = emu_engine(&site_yaml("off", ""));
    assert_eq!(code(&off, &get_info()), 0);
    assert_eq!(
        code(&off, &get_info().p("secret", "wrong").p("sig", "x")),
        0
    );
}

#[test]
fn api_keys_select_the_site() {
    let engine = strict();
    let mut no_key = get_info().partner();
    no_key.params.retain(|(k, _)| k != "apiKey");
    let body = answer(&engine, &no_key);
    assert_eq!(body["errorCode"], 400093);
    assert_eq!(body["errorMessage"], "Invalid ApiKey parameter");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .starts_with("Missing required parameter: ApiKey")
    );
    let wrong = no_key.clone().p("apiKey", "3_other");
    let body = answer(&engine, &wrong);
    assert_eq!(body["errorCode"], 400093);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("3_mockApiKey"),
        "{body}"
    );
    // The JS SDK's spelling.
    assert_eq!(code(&engine, &no_key.clone().p("APIKey", API_KEY)), 0);
    let (off, _) = emu_engine(&site_yaml("off", ""));
    assert_eq!(code(&off, &wrong), 400093, "off still needs the apiKey");
}

#[test]
fn without_sites_the_emulator_stays_silent() {
    let clock = std::sync::Arc::new(gigya_mock::gigya::envelope::ManualClock::at_unix(T0));
    let engine = Engine::new(
        scenarios("version: 1\nstubs: [{ request: { method: a.b }, response: {} }]\n"),
        EngineConfig::default(),
    )
    .with_clock(clock)
    .with_emulator(EmulatorConfig::default());
    let reply = engine.dispatch(&get_info().partner().build());
    assert!(
        matches!(reply.outcome, Outcome::Unmatched(_)),
        "{:?}",
        reply.outcome
    );
    assert_eq!(reply.json().unwrap()["errorCode"], 403007);
}

#[test]
fn stubs_win_over_the_emulator() {
    let yaml = site_yaml("strict", "")
        + "stubs:\n  - name: forced\n    request: { method: accounts.getAccountInfo, params: { UID: u-1 } }\n    response: { errorCode: 500001 }\n";
    let (engine, _) = emu_engine(&yaml);
    let reply = engine.dispatch(&get_info().partner().build());
    assert_eq!(reply.outcome, Outcome::Stub("forced".into()));
    assert_eq!(reply.json().unwrap()["errorCode"], 500001);
    // Methods the emulator does not implement can be stubbed too, and otherwise are unmatched.
    assert_eq!(
        code(&engine, &Call::new("accounts.login").partner()),
        403007
    );
}

fn private_key() -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/keys/test-rsa-a-private-pkcs1.pem"))
        .unwrap()
}

fn bearer(kid: &str, iat: i64, jti: &str, key: &str) -> String {
    format!("Bearer {}", jwt::sign_rs256(key, kid, iat, jti).unwrap())
}

/// A token as the .NET SDK builds it: standard Base64 with `=` padding in every segment.
fn dotnet_jwt(private_pem: &str, jti: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{USER_KEY}"}}"#);
    let claims = format!(r#"{{"iat":{T0},"jti":"{jti}"}}"#);
    let input = format!("{}.{}", STANDARD.encode(header), STANDARD.encode(claims));
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(private_pem).unwrap();
    let sig = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key).sign(input.as_bytes());
    format!("{input}.{}", STANDARD.encode(sig.to_bytes()))
}

#[test]
fn jwt_bearer_tokens_are_verified() {
    let engine = strict();
    let key = private_key();
    let ok = get_info().header("authorization", &bearer(USER_KEY, T0 as i64, "j1", &key));
    assert_eq!(code(&engine, &ok), 0, "{}", answer(&engine, &ok));
    // Reused jti.
    assert_eq!(code(&engine, &ok), 403004);
    // .NET: standard Base64 with padding, signed over the padded segments.
    let dotnet = get_info().header(
        "authorization",
        &format!("Bearer {}", dotnet_jwt(&key, "j2")),
    );
    assert_eq!(code(&engine, &dotnet), 0);
    // Someone else's key pair.
    let other =
        std::fs::read_to_string(repo().join("tests/fixtures/keys/test-rsa-b-private-pkcs1.pem"))
            .unwrap();
    let body = answer(
        &engine,
        &get_info().header("authorization", &bearer(USER_KEY, T0 as i64, "j3", &other)),
    );
    assert_eq!(body["errorCode"], 400008);
    assert_eq!(body["errorMessage"], "Invalid authentication header");
    // Unknown kid.
    assert_eq!(
        code(
            &engine,
            &get_info().header("authorization", &bearer("ANope", T0 as i64, "j4", &key))
        ),
        403005
    );
    // iat outside the window.
    assert_eq!(
        code(
            &engine,
            &get_info().header(
                "authorization",
                &bearer(USER_KEY, T0 as i64 - 500, "j5", &key)
            )
        ),
        403002
    );
    // Not a JWT at all: an OAuth access token, which the mock never issued.
    assert_eq!(
        code(
            &engine,
            &get_info().header("authorization", "Bearer opaque-token")
        ),
        403025
    );
    assert_eq!(code(&engine, &get_info().p("oauth_token", "t")), 403025);
    // A malformed JWT.
    assert_eq!(
        code(&engine, &get_info().header("authorization", "Bearer a.b.c")),
        400008
    );
}

#[test]
fn a_user_key_without_a_public_key_cannot_use_jwts() {
    let yaml = site_yaml("strict", "").replacen(
        "applications:\n",
        "applications:\n      - { userKey: ANoRsa, secret: c2VjcmV0 }\n",
        1,
    );
    let (engine, _) = emu_engine(&yaml);
    let body = answer(
        &engine,
        &get_info().header(
            "authorization",
            &bearer("ANoRsa", T0 as i64, "k", &private_key()),
        ),
    );
    assert_eq!(body["errorCode"], 400008);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("no publicKey"),
        "{body}"
    );
}

#[test]
fn emulated_errors_honour_http_status_codes_jsonp_and_context() {
    let engine = strict();
    let reply = engine.dispatch(
        &get_info()
            .p("httpStatusCodes", "true")
            .p("context", "c1")
            .build(),
    );
    assert_eq!(reply.status, http::StatusCode::FORBIDDEN);
    assert_eq!(reply.json().unwrap()["context"], "c1");
    let reply = engine.dispatch(
        &get_info()
            .partner()
            .p("format", "jsonp")
            .p("callback", "cb")
            .build(),
    );
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(
        text.starts_with("cb({") && text.contains(r#""UID":"u-1""#),
        "{text}"
    );
    let reply = engine.dispatch(&get_info().build());
    assert_eq!(
        reply.status,
        http::StatusCode::OK,
        "errors are HTTP 200 by default"
    );
}
