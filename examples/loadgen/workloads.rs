//! The benchmark workloads: the scenario files each one serves and the requests each one sends,
//! written side by side so a request and the stub that must answer it cannot drift apart.
//!
//! Every request carries the markers its answer must contain (the answering stub's `stub` field,
//! or the account's `UID` for the emulator); the client counts an answer only when every marker
//! is in the body and the status is 200.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::Bytes;
use gigya_mock::exchange::form_encode;
use gigya_mock::gigya::signature;

/// How many UID stubs W2 serves.
pub const W2_STUBS: usize = 1_000;
/// The UID W2's single-UID run asks for.
pub const W2_ONE: usize = 500;
/// How many stubs W3 starts with.
pub const W3_STUBS: usize = 10_000;
/// How many files W3's stubs are spread over (one per Gigya method).
const W3_FILES: usize = 10;
/// How many accounts W5 seeds.
pub const W5_ACCOUNTS: usize = 1_000;

/// W5's site: API key, user key and its secret (base64 of a made-up text).
const W5_API_KEY: &str = "3_bench-emulator-site";
const W5_USER_KEY: &str = "ABenchUserKey";
const W5_SECRET: &str = "YmVuY2gtdXNlci1rZXktc2VjcmV0LTAwMDE=";
const W5_PARTNER_SECRET: &str = "YmVuY2gtcGFydG5lci1zZWNyZXQtMDAwMQ==";

/// The Gigya methods W3's files are filed under.
const W3_METHODS: [&str; W3_FILES] = [
    "accounts.setAccountInfo",
    "accounts.getAccountInfo",
    "accounts.login",
    "accounts.register",
    "accounts.search",
    "accounts.deleteAccount",
    "socialize.setUserInfo",
    "socialize.getUserInfo",
    "socialize.setUserSettings",
    "socialize.getUserSettings",
];

/// Writes every workload's scenario directory under `dir`: `w1/`, `w2/`, `w3/`, `w5/`.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_scenarios(dir: &Path) -> anyhow::Result<()> {
    write(&dir.join("w1"), "stubs.yaml", &w1_scenario())?;
    write(&dir.join("w2"), "stubs.yaml", &w2_scenario())?;
    for (i, text) in w3_scenarios().into_iter().enumerate() {
        write(&dir.join("w3"), &format!("stubs-{i:02}.yaml"), &text)?;
    }
    write(&dir.join("w5"), "emulator.yaml", &w5_scenario())?;
    Ok(())
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn w1_scenario() -> String {
    let mut out = String::from("version: 1\nstubs:\n");
    uid_stub(&mut out, "w1", "u-w1");
    out
}

fn w2_scenario() -> String {
    let mut out = String::from("version: 1\nstubs:\n");
    for i in 0..W2_STUBS {
        uid_stub(&mut out, &w2_name(i), &w2_uid(i));
    }
    out
}

/// The stub shape W1 and W2 share: one Gigya method, one exact UID, an envelope with the stub's
/// name and the UID.
fn uid_stub(out: &mut String, name: &str, uid: &str) {
    let _ = write!(
        out,
        "  - name: {name}\n    request:\n      method: accounts.setAccountInfo\n      params:\n        UID: {{ equals: \"{uid}\" }}\n    response:\n      errorCode: 0\n      body: {{ stub: {name}, UID: \"{uid}\" }}\n"
    );
}

fn w2_name(i: usize) -> String {
    format!("uid-{i:04}")
}

fn w2_uid(i: usize) -> String {
    format!("u-{i:04}")
}

/// Ten files of a thousand stubs, one Gigya method per file, shaped like a large real suite:
/// every stub pins a UID; a third also look inside `data` with a JSON path, one in ten needs
/// `regToken` absent, one in fifty has a regular expression, one in twenty answers a validation
/// error instead of success.
fn w3_scenarios() -> Vec<String> {
    let per_file = W3_STUBS / W3_FILES;
    W3_METHODS
        .iter()
        .enumerate()
        .map(|(f, method)| {
            let mut out = format!("# {per_file} stubs for {method}\nversion: 1\nstubs:\n");
            for i in f * per_file..(f + 1) * per_file {
                let _ = write!(
                    out,
                    "  - name: s-{i:05}\n    request:\n      method: {method}\n      params:\n        UID: u-{i:05}\n"
                );
                if i % 3 == 0 {
                    out.push_str("        data: { json: { \"$.tier\": { equals: gold } } }\n");
                }
                if i % 10 == 1 {
                    out.push_str("        regToken: { absent: true }\n");
                }
                if i % 50 == 7 {
                    out.push_str("        lang: { matches: \"^(en|de|fr)(-[A-Z]{2})?$\" }\n");
                }
                out.push_str("    response:\n");
                if i % 20 == 19 {
                    out.push_str(
                        "      errorCode: 400009\n      errorDetails: Validation failed\n      validationErrors:\n        - { errorCode: 400003, fieldName: profile.email, message: email already exists }\n",
                    );
                }
                let _ = writeln!(
                    out,
                    "      body: {{ stub: s-{i:05}, profile: {{ firstName: User, lastName: \"{i:05}\", email: u-{i:05}@example.com }} }}"
                );
            }
            out
        })
        .collect()
}

fn w5_scenario() -> String {
    let mut out = format!(
        "version: 1\nsites:\n  - apiKey: {W5_API_KEY}\n    dataCenter: us1\n    partnerSecret: {W5_PARTNER_SECRET}\n    auth: strict\n    applications:\n      - userKey: {W5_USER_KEY}\n        secret: {W5_SECRET}\naccounts:\n"
    );
    for i in 0..W5_ACCOUNTS {
        let uid = w5_uid(i);
        let _ = write!(
            out,
            "  - UID: {uid}\n    profile: {{ firstName: User, lastName: \"{i:04}\", email: {uid}@example.com }}\n    data: {{ tier: silver }}\n"
        );
    }
    out
}

fn w5_uid(i: usize) -> String {
    format!("acc-{i:04}")
}

/// The workloads the load generator can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// One stub (also what the bare hyper server is measured with).
    W1,
    /// 1,000 UID stubs, every request for the same UID.
    W2One,
    /// 1,000 UID stubs, UIDs drawn uniformly.
    W2Mix,
    /// 10,000 stubs; the start-up probe asks for the last one.
    W3,
    /// The emulator: signed `setAccountInfo` and `getAccountInfo` on 1,000 accounts.
    W5,
}

/// One request ready to send, and what its answer must contain.
pub struct Prepared {
    /// The whole HTTP/1.1 request.
    pub bytes: Bytes,
    /// Texts the answer body must contain.
    pub expect: Arc<[String]>,
}

/// Where requests come from for one run.
pub enum Requests {
    /// Pre-built requests; each one is drawn uniformly (one request = always that one).
    Fixed(Vec<Prepared>),
    /// Signed emulator calls, built (and signed) one by one: every call needs a fresh nonce.
    Signed(SignedCalls),
}

impl Requests {
    /// The requests of a workload, addressed to `host` (`127.0.0.1:port`, the `Host` header).
    ///
    /// # Errors
    /// The workload's secret cannot be decoded.
    pub fn for_workload(workload: Workload, host: &str) -> anyhow::Result<Self> {
        Ok(match workload {
            Workload::W1 => Self::Fixed(vec![uid_call(host, "w1", "u-w1")]),
            Workload::W2One => Self::Fixed(vec![uid_call(host, &w2_name(W2_ONE), &w2_uid(W2_ONE))]),
            Workload::W2Mix => Self::Fixed(
                (0..W2_STUBS)
                    .map(|i| uid_call(host, &w2_name(i), &w2_uid(i)))
                    .collect(),
            ),
            Workload::W3 => {
                let i = W3_STUBS - 1;
                let method = W3_METHODS[i * W3_FILES / W3_STUBS];
                let uid = format!("u-{i:05}");
                let body = form_encode([
                    ("UID", uid.as_str()),
                    ("apiKey", "3_bench-api-key"),
                    ("data", r#"{"tier":"gold"}"#),
                    ("format", "json"),
                ]);
                Self::Fixed(vec![Prepared {
                    bytes: post(host, method, &body),
                    expect: Arc::from([format!("\"stub\":\"s-{i:05}\"")]),
                }])
            }
            Workload::W5 => Self::Signed(SignedCalls::new(host)?),
        })
    }

    /// The next request for a connection; `seq` numbers that connection's requests.
    pub fn next(&self, rng: &mut fastrand::Rng, conn: usize, seq: u64) -> Prepared {
        match self {
            Self::Fixed(list) => {
                let i = if list.len() == 1 {
                    0
                } else {
                    rng.usize(..list.len())
                };
                match list.get(i) {
                    Some(p) => Prepared {
                        bytes: p.bytes.clone(),
                        expect: p.expect.clone(),
                    },
                    None => Prepared {
                        bytes: Bytes::new(),
                        expect: Arc::from([]),
                    },
                }
            }
            Self::Signed(calls) => calls.next(rng.usize(..W5_ACCOUNTS), conn, seq),
        }
    }

    /// One request of every kind this workload sends (for the probe before a run).
    pub fn samples(&self) -> Vec<Prepared> {
        match self {
            Self::Fixed(list) => list
                .iter()
                .take(3)
                .map(|p| Prepared {
                    bytes: p.bytes.clone(),
                    expect: p.expect.clone(),
                })
                .collect(),
            Self::Signed(calls) => vec![calls.next(7, 0, 0), calls.next(7, 0, 1)],
        }
    }
}

/// The form body W1 and W2 send (about 300 bytes): the UID the stub pins plus the object
/// parameters and common parameters a real `setAccountInfo` call carries.
fn uid_call(host: &str, name: &str, uid: &str) -> Prepared {
    let body = form_encode([
        ("UID", uid),
        ("apiKey", "3_bench-api-key"),
        (
            "profile",
            r#"{"firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","locale":"en"}"#,
        ),
        ("data", r#"{"tier":"gold","newsletter":true,"points":1200}"#),
        ("conflictHandling", "fail"),
        ("format", "json"),
        ("httpStatusCodes", "false"),
        ("sdk", "node_1.5.0"),
    ]);
    Prepared {
        bytes: post(host, "accounts.setAccountInfo", &body),
        expect: Arc::from([format!("\"stub\":\"{name}\"")]),
    }
}

/// A form POST to `/<method>`.
fn post(host: &str, method: &str, body: &str) -> Bytes {
    Bytes::from(format!(
        "POST /{method} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// Signed emulator calls (request signature with a user key, as the server-side SDKs send).
pub struct SignedCalls {
    host: String,
    key: Vec<u8>,
    /// Per account: what `getAccountInfo` must answer.
    get_expect: Vec<Arc<[String]>>,
    set_expect: Arc<[String]>,
    run_id: u32,
}

impl SignedCalls {
    fn new(host: &str) -> anyhow::Result<Self> {
        let key = signature::decode_secret(W5_SECRET).context("the W5 secret is not base64")?;
        Ok(Self {
            host: host.to_owned(),
            key,
            get_expect: (0..W5_ACCOUNTS)
                .map(|i| Arc::from([ok_marker(), format!("\"UID\":\"{}\"", w5_uid(i))]))
                .collect(),
            set_expect: Arc::from([ok_marker()]),
            run_id: std::process::id(),
        })
    }

    /// Even `seq`: `setAccountInfo` (a data update); odd: `getAccountInfo` of the same account.
    fn next(&self, account: usize, conn: usize, seq: u64) -> Prepared {
        let uid = w5_uid(account);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let nonce = format!("{}-{conn}-{seq}", self.run_id);
        let data = format!(r#"{{"tier":"gold","visits":{seq}}}"#);
        let (method, expect) = if seq % 2 == 0 {
            ("accounts.setAccountInfo", self.set_expect.clone())
        } else {
            let expect = self
                .get_expect
                .get(account)
                .cloned()
                .unwrap_or_else(|| Arc::from([ok_marker()]));
            ("accounts.getAccountInfo", expect)
        };
        let mut params: Vec<(&str, &str)> = vec![
            ("apiKey", W5_API_KEY),
            ("userKey", W5_USER_KEY),
            ("timestamp", &timestamp),
            ("nonce", &nonce),
            ("UID", &uid),
            ("format", "json"),
        ];
        if seq % 2 == 0 {
            params.push(("data", &data));
        }
        let url = format!("http://{}/{method}", self.host);
        let sig = signature::sign(&self.key, &signature::base_string("POST", &url, &params));
        params.push(("sig", &sig));
        Prepared {
            bytes: post(&self.host, method, &form_encode(params)),
            expect,
        }
    }
}

fn ok_marker() -> String {
    "\"errorCode\":0".to_owned()
}
