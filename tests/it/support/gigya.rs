//! Test support for the emulator: a site with the protocol doc's test secrets, engines on a
//! manual clock, and requests signed the way the SDKs sign them.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use gigya_mock::emulator::EmulatorConfig;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::exchange::{CapturedRequest, RequestParts, Scheme, form_encode};
use gigya_mock::gigya::envelope::ManualClock;
use gigya_mock::gigya::params::ConflictPolicy;
use gigya_mock::gigya::signature;

use super::{repo, scenarios};

/// Partner secret `S` of the protocol doc.
pub const SECRET_S: &str = "bW9jay1naWd5YS1wYXJ0bmVyLXNlY3JldC0wMDAx";
/// User-key secret `U` of the protocol doc.
pub const SECRET_U: &str = "bW9jay1naWd5YS11c2VyLXNlY3JldC0wMDAy";
/// The API key of the test site.
pub const API_KEY: &str = "3_mockApiKey";
/// The userKey of the test application.
pub const USER_KEY: &str = "AMockUserKey1";
/// A fixed clock time (the doc's vector A timestamp).
pub const T0: u64 = 1_700_000_000;

/// A POST form signed with the user key's secret over `url`, as a server SDK sends it: `params`
/// plus `apiKey`, `userKey`, `timestamp`, `nonce` and `sig`. Returns the form and the `sig`.
pub fn user_signed_form(
    url: &str,
    params: &[(&str, &str)],
    timestamp: &str,
    nonce: &str,
) -> (String, String) {
    let mut p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    p.push(("apiKey".into(), API_KEY.into()));
    p.push(("userKey".into(), USER_KEY.into()));
    p.push(("timestamp".into(), timestamp.into()));
    p.push(("nonce".into(), nonce.into()));
    let sig = sign_params(SECRET_U, "POST", url, &p);
    p.push(("sig".into(), sig.clone()));
    (
        form_encode(p.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        sig,
    )
}

/// The test site in a given auth mode, with extra site keys, plus two accounts.
pub fn site_yaml(auth: &str, extra: &str) -> String {
    let pem =
        std::fs::read_to_string(repo().join("tests/fixtures/keys/test-rsa-a-public-pkcs8.pem"))
            .unwrap();
    let pem: String = pem.lines().map(|l| format!("          {l}\n")).collect();
    format!(
        r#"
version: 1
sites:
  - apiKey: {API_KEY}
    dataCenter: us1
    partnerSecret: {SECRET_S}
    auth: {auth}
    applications:
      - userKey: {USER_KEY}
        secret: {SECRET_U}
        publicKey: |
{pem}{extra}
accounts:
  - UID: u-1
    profile: {{ firstName: Ann, email: ann@example.com }}
    data: {{ car: Fiat, address: {{ city: Rome, zip: "00100" }}, tags: [a, b] }}
    loginEmails: [ann@example.com]
    password: old-pw
  - UID: u-2
    loginEmails: [bob@example.com]
    username: bob
"#
    )
}

/// An emulating engine over `yaml`, on a manual clock at [`T0`].
pub fn emu_engine(yaml: &str) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_unix(T0));
    let engine = Engine::new(scenarios(yaml), EngineConfig::default())
        .with_clock(clock.clone())
        .with_emulator(EmulatorConfig::default());
    (engine, clock)
}

/// A request as a client sends it.
#[derive(Clone)]
pub struct Call {
    pub http_method: http::Method,
    pub scheme: Scheme,
    /// The request target: a path, or an absolute URL (proxy form).
    pub target: String,
    /// The Host header.
    pub host: Option<String>,
    pub params: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// Put the parameters in the query string instead of the body.
    pub in_query: bool,
}

impl Call {
    /// `POST /<method>` over HTTP to `localhost:8080`, with the apiKey.
    pub fn new(method: &str) -> Self {
        Self {
            http_method: http::Method::POST,
            scheme: Scheme::Http,
            target: format!("/{method}"),
            host: Some("localhost:8080".into()),
            params: vec![("apiKey".into(), API_KEY.into())],
            headers: Vec::new(),
            in_query: false,
        }
    }

    pub fn p(mut self, k: &str, v: &str) -> Self {
        self.params.push((k.into(), v.into()));
        self
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }

    /// With the partner secret in clear.
    pub fn partner(self) -> Self {
        self.p("secret", SECRET_S)
    }

    /// Signs with `secret` over `url`, adding `timestamp` and `nonce` first.
    pub fn signed_over(mut self, secret: &str, url: &str, timestamp: &str, nonce: &str) -> Self {
        self.params.push(("timestamp".into(), timestamp.into()));
        self.params.push(("nonce".into(), nonce.into()));
        let sig = sign_params(secret, self.http_method.as_str(), url, &self.params);
        self.params.push(("sig".into(), sig));
        self
    }

    /// Signs with the userKey's secret over the URL the request really goes to.
    pub fn signed(self, nonce: &str) -> Self {
        let url = self.actual_url();
        self.p("userKey", USER_KEY)
            .signed_over(SECRET_U, &url, &T0.to_string(), nonce)
    }

    /// The normalized URL of this request as sent.
    pub fn actual_url(&self) -> String {
        if self.target.starts_with("http") {
            let u: http::Uri = self.target.parse().unwrap();
            return signature::normalized_url(
                u.scheme_str().unwrap(),
                u.host().unwrap(),
                u.port_u16(),
                u.path(),
            );
        }
        let host = self.host.clone().unwrap_or_default();
        let (h, port) = match host.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), p.parse().ok()),
            None => (host.clone(), None),
        };
        signature::normalized_url(self.scheme.as_str(), &h, port, &self.target)
    }

    pub fn build(&self) -> CapturedRequest {
        let mut headers = http::HeaderMap::new();
        if let Some(h) = &self.host {
            headers.insert(http::header::HOST, h.parse().unwrap());
        }
        for (k, v) in &self.headers {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let encoded = form_encode(self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (uri, body) = if self.in_query {
            (format!("{}?{encoded}", self.target), String::new())
        } else {
            headers.insert(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded".parse().unwrap(),
            );
            (self.target.clone(), encoded)
        };
        CapturedRequest::new(
            RequestParts {
                http_method: self.http_method.clone(),
                scheme: self.scheme,
                uri: uri.parse().unwrap(),
                headers,
                body: Bytes::from(body),
                remote: None,
                received_at: SystemTime::now(),
            },
            ConflictPolicy::default(),
        )
    }
}

/// `sig` for parameters (as decoded) over a normalized URL.
pub fn sign_params(secret: &str, method: &str, url: &str, params: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let base = signature::base_string(method, url, &pairs);
    signature::sign(&signature::decode_secret(secret).unwrap(), &base)
}

/// Dispatches and returns the body.
pub fn answer(engine: &Engine, call: &Call) -> serde_json::Value {
    engine.dispatch(&call.build()).json().unwrap()
}

/// Dispatches and returns the `errorCode`.
pub fn code(engine: &Engine, call: &Call) -> i64 {
    let body = answer(engine, call);
    body["errorCode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no errorCode: {body}"))
}
