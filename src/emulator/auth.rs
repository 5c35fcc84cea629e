//! Credential checks for emulated calls: the partner secret or a userKey's secret in clear,
//! the OAuth1-style request signature (`timestamp`, `nonce`, `sig`), and the RS256 bearer JWT.
//!
//! The order follows the protocol notes (§3.8): the credential mode first (a clear secret over
//! plain HTTP, an unknown userKey, a wrong secret, a bad JWT), then for signed calls the
//! timestamp window, the signature and finally the nonce. In `strict` mode the signature is
//! accepted for every URL a real SDK produces against a local mock (either scheme, with or
//! without the port, the host the client addressed or the site's canonical Gigya host) and for
//! millisecond timestamps; `exact` accepts only the URL the request arrived at and seconds.
//! When a signature fails, the expected base strings are returned as a hint (with password-like
//! values masked) so the developer can compare them with their client's.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::exchange::CapturedRequest;
use crate::gigya::catalog::codes;
use crate::gigya::{jwt, signature};
use crate::scenario::model::AuthMode;

use super::site::SiteRuntime;

/// Parameters whose values never appear in a hint or a log line.
pub const SENSITIVE_PARAMS: &[&str] = &[
    "secret",
    "password",
    "newPassword",
    "oldPassword",
    "secretAnswer",
    "regToken",
    "oauth_token",
];

/// Timestamps above this are read as milliseconds in `strict` mode.
const MS_THRESHOLD: i64 = 100_000_000_000;

/// Settings of the credential checks.
#[derive(Debug, Clone, Copy)]
pub struct AuthConfig {
    /// Accepted distance between a request's timestamp (or a JWT's `iat`) and the clock.
    pub timestamp_window: Duration,
    /// Most nonces (and JWT ids) remembered at once.
    pub max_nonces: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            timestamp_window: Duration::from_secs(120),
            max_nonces: 100_000,
        }
    }
}

/// Who is calling, once the credentials are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Server credentials (secret, signature or bearer JWT), checked or — with `auth: off` —
    /// merely present. `user_key` is the application key used, if any.
    Server {
        /// The userKey, when the call used an application key.
        user_key: Option<String>,
    },
    /// No credentials: a client-side call (only the apiKey).
    Client,
}

/// A failed check: the Gigya error to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// The error code.
    pub code: u32,
    /// `errorDetails`.
    pub details: String,
    /// What the developer should know (sent as a response header and logged).
    pub hint: Option<String>,
    /// `baseString` and `expectedSignature` for the signature-debug option.
    pub debug: Option<(String, String)>,
}

impl AuthFailure {
    fn new(code: u32, details: impl Into<String>) -> Self {
        Self {
            code,
            details: details.into(),
            hint: None,
            debug: None,
        }
    }
}

/// Remembered nonces and JWT ids, each kept for twice the timestamp window and capped in
/// number (the oldest is forgotten first when the cap is reached).
#[derive(Debug, Default)]
pub struct NonceMemory {
    /// Hashed with foldhash: every signed call looks its nonce up and inserts it.
    seen: HashMap<String, i64, foldhash::fast::RandomState>,
    order: VecDeque<(i64, String)>,
}

/// Remembers a nonce (or JWT id) for twice the timestamp window; `false` when it was already
/// used within that time. A poisoned memory lets the call through rather than failing it.
fn first_use(
    nonces: &Mutex<NonceMemory>,
    key: String,
    now_ms: i64,
    window_ms: i64,
    config: &AuthConfig,
) -> bool {
    match nonces.lock() {
        Ok(mut mem) => mem.remember(key, now_ms, window_ms.saturating_mul(2), config.max_nonces),
        Err(_) => true,
    }
}

impl NonceMemory {
    /// Records `key` at `now_ms`; `false` when it was already seen and has not expired.
    pub fn remember(&mut self, key: String, now_ms: i64, retain_ms: i64, cap: usize) -> bool {
        while let Some((exp, _)) = self.order.front() {
            if *exp > now_ms {
                break;
            }
            if let Some((exp, k)) = self.order.pop_front() {
                if self.seen.get(&k) == Some(&exp) {
                    self.seen.remove(&k);
                }
            }
        }
        if self.seen.get(&key).is_some_and(|exp| *exp > now_ms) {
            return false;
        }
        while self.seen.len() >= cap.max(1) {
            match self.order.pop_front() {
                Some((exp, k)) => {
                    if self.seen.get(&k) == Some(&exp) {
                        self.seen.remove(&k);
                    }
                }
                None => break,
            }
        }
        let exp = now_ms.saturating_add(retain_ms);
        self.seen.insert(key.clone(), exp);
        self.order.push_back((exp, key));
        true
    }

    /// Number of remembered entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.seen.clear();
        self.order.clear();
    }
}

/// Checks the credentials of `req` against `site`.
///
/// # Errors
/// The Gigya error for the first failed check.
pub fn authenticate(
    req: &CapturedRequest,
    site: &SiteRuntime,
    now: SystemTime,
    config: &AuthConfig,
    nonces: &Mutex<NonceMemory>,
) -> Result<Caller, AuthFailure> {
    let p = req.params();
    let bearer = req
        .header("authorization")
        .and_then(|h| bearer_token(&h).map(str::to_owned));
    let has_server_creds =
        bearer.is_some() || p.value("secret").is_some() || p.value("sig").is_some();
    if site.auth == AuthMode::Off {
        return Ok(if has_server_creds {
            Caller::Server {
                user_key: p.value("userKey").map(str::to_owned),
            }
        } else {
            Caller::Client
        });
    }
    let now_ms = unix_ms(now);
    let window_ms = i64::try_from(config.timestamp_window.as_millis()).unwrap_or(i64::MAX);

    if let Some(token) = bearer {
        if token.split('.').count() != 3 {
            return Err(AuthFailure::new(
                codes::INVALID_TOKEN,
                "Invalid token: gigya-mock issues no OAuth access tokens; use a secret, a request signature or a JWT bearer",
            ));
        }
        return check_jwt(&token, site, now_ms, window_ms, config, nonces);
    }
    if p.value("oauth_token").is_some() {
        return Err(AuthFailure::new(
            codes::INVALID_TOKEN,
            "Invalid token: gigya-mock issues no OAuth access tokens; use a secret, a request signature or a JWT bearer",
        ));
    }
    if let Some(secret) = p.value("secret") {
        return check_clear_secret(req, site, secret);
    }
    if let Some(sig) = p.value("sig") {
        return check_signature(req, site, sig, now_ms, window_ms, config, nonces);
    }
    Ok(Caller::Client)
}

/// The token of an `Authorization: Bearer …` header.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

fn unknown_user_key(user_key: &str) -> AuthFailure {
    AuthFailure::new(
        codes::UNAUTHORIZED_USER,
        format!(
            "The supplied userkey was not found [gigya-mock: userKey {user_key:?} is not among this site's applications]"
        ),
    )
}

fn check_clear_secret(
    req: &CapturedRequest,
    site: &SiteRuntime,
    secret: &str,
) -> Result<Caller, AuthFailure> {
    if req.scheme == crate::exchange::Scheme::Http && site.https_enforced() {
        return Err(AuthFailure::new(
            codes::SECRET_OVER_HTTP,
            "Secret Sent Over Http",
        ));
    }
    let p = req.params();
    let (expected, user_key) = match p.value("userKey") {
        Some(uk) => {
            let app = site.app(uk).ok_or_else(|| unknown_user_key(uk))?;
            (app.key.as_deref(), Some(uk.to_owned()))
        }
        None => (site.partner_key.as_deref(), None),
    };
    let Some(expected) = expected else {
        let which = match &user_key {
            Some(uk) => format!("userKey {uk:?} has no secret configured"),
            None => "the site has no partnerSecret configured".to_owned(),
        };
        return Err(AuthFailure::new(
            codes::INVALID_SECRET,
            format!("Invalid parameter: secret [gigya-mock: {which}]"),
        ));
    };
    let given = signature::decode_secret(secret).unwrap_or_default();
    if !constant_time_eq(&given, expected) {
        return Err(AuthFailure::new(
            codes::INVALID_SECRET,
            "Invalid parameter: secret",
        ));
    }
    Ok(Caller::Server { user_key })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn check_signature(
    req: &CapturedRequest,
    site: &SiteRuntime,
    sig: &str,
    now_ms: i64,
    window_ms: i64,
    config: &AuthConfig,
    nonces: &Mutex<NonceMemory>,
) -> Result<Caller, AuthFailure> {
    let p = req.params();
    let user_key = p.value("userKey").map(str::to_owned);
    let (key, key_name) = match &user_key {
        Some(uk) => {
            let app = site.app(uk).ok_or_else(|| unknown_user_key(uk))?;
            match &app.key {
                Some(k) => (k.as_slice(), format!("the secret of userKey {uk}")),
                None => {
                    return Err(AuthFailure::new(
                        codes::INVALID_SECRET,
                        format!(
                            "Invalid parameter: secret [gigya-mock: userKey {uk:?} has no secret configured to check signatures with]"
                        ),
                    ));
                }
            }
        }
        None => match &site.partner_key {
            Some(k) => (k.as_slice(), "the partner secret".to_owned()),
            None => {
                return Err(AuthFailure::new(
                    codes::INVALID_SIGNATURE,
                    "Invalid request signature [gigya-mock: the site has no partnerSecret; sign with a userKey's secret and send userKey]",
                ));
            }
        },
    };
    let Some(ts_text) = p.value("timestamp") else {
        return Err(AuthFailure::new(
            codes::MISSING_PARAMETER,
            "Missing required parameter : timestamp",
        ));
    };
    let Some(nonce) = p.value("nonce") else {
        return Err(AuthFailure::new(
            codes::MISSING_PARAMETER,
            "Missing required parameter : nonce",
        ));
    };
    let strict = site.auth == AuthMode::Strict;
    let Ok(ts) = ts_text.trim().parse::<i64>() else {
        return Err(AuthFailure::new(
            codes::REQUEST_EXPIRED,
            format!(
                "Request has expired [gigya-mock: timestamp {ts_text:?} is not a Unix time in seconds]"
            ),
        ));
    };
    let ts_ms = if strict && ts.abs() > MS_THRESHOLD {
        ts
    } else {
        ts.saturating_mul(1000)
    };
    let drift_ms = ts_ms.saturating_sub(now_ms);
    if drift_ms.abs() > window_ms {
        let unit = if strict && ts.abs() > MS_THRESHOLD {
            " (read as milliseconds)"
        } else if !strict && ts.abs() > MS_THRESHOLD {
            " (this site's auth mode is exact: timestamps are seconds)"
        } else {
            ""
        };
        return Err(AuthFailure::new(
            codes::REQUEST_EXPIRED,
            format!(
                "Request has expired [gigya-mock: timestamp {ts}{unit} is {} s {} the server clock; the window is ±{} s]",
                drift_ms.abs() / 1000,
                if drift_ms < 0 { "behind" } else { "ahead of" },
                window_ms / 1000
            ),
        ));
    }

    // The URL the request arrived at usually is the one signed; the others are built only when
    // it is not.
    let own_url = candidate_urls(req, site, strict, true);
    let all_urls = std::cell::OnceCell::new();
    let urls = || all_urls.get_or_init(|| candidate_urls(req, site, strict, false));
    let params: Vec<(&str, &str)> = p.iter().map(|q| (q.name(), q.value())).collect();
    // The Node SDK signs `false` and `0` as empty strings but sends them as written.
    let js_falsy: Option<Vec<(&str, &str)>> =
        (strict && params.iter().any(|(n, v)| *n != "sig" && is_js_falsy(v))).then(|| {
            params
                .iter()
                .map(|(n, v)| (*n, if is_js_falsy(v) { "" } else { *v }))
                .collect()
        });
    let method = req.http_method.as_str();
    let verified = signature::decode_sig(sig).is_some_and(|sig| {
        std::iter::once(&params).chain(&js_falsy).any(|vp| {
            let parts = signature::BaseParts::new(method, vp);
            own_url.iter().any(|url| parts.verify(key, url, &sig))
                || urls()
                    .iter()
                    .skip(1)
                    .any(|url| parts.verify(key, url, &sig))
        })
    });
    if !verified {
        let urls = urls();
        let masked: Vec<(&str, &str)> = params
            .iter()
            .map(|(n, v)| {
                if SENSITIVE_PARAMS.iter().any(|s| s.eq_ignore_ascii_case(n)) {
                    (*n, "***")
                } else {
                    (*n, *v)
                }
            })
            .collect();
        let first_url = urls.first().map(String::as_str).unwrap_or_default();
        let shown_base = signature::base_string(method, first_url, &masked);
        let mut hint = format!(
            "sig does not match HMAC-SHA1 with {key_name} over the base string {shown_base}"
        );
        if urls.len() > 1 {
            hint.push_str(" ; the same parameters with these URLs are accepted too: ");
            hint.push_str(&urls[1..].join(", "));
        }
        if masked.iter().any(|(_, v)| *v == "***") {
            hint.push_str(" ; values of secret-like parameters are shown as ***");
        }
        tracing::info!(target: "gigya_mock::auth", api_key = %site.api_key, "{hint}");
        let debug = site.options.signature_debug.then(|| {
            let real_base = signature::base_string(method, first_url, &params);
            (shown_base.clone(), signature::sign(key, &real_base))
        });
        return Err(AuthFailure {
            code: codes::INVALID_SIGNATURE,
            details: "Invalid request signature".to_owned(),
            hint: Some(hint),
            debug,
        });
    }
    let nonce_key = format!(
        "{}\u{0}{}\u{0}{nonce}",
        site.api_key,
        user_key.as_deref().unwrap_or("")
    );
    let fresh = first_use(nonces, nonce_key, now_ms, window_ms, config);
    if !fresh {
        return Err(AuthFailure::new(
            codes::DUPLICATE_NONCE,
            format!(
                "Duplicate nonce [gigya-mock: nonce {nonce:?} was already used within the last {} s]",
                window_ms.saturating_mul(2) / 1000
            ),
        ));
    }
    Ok(Caller::Server { user_key })
}

fn is_js_falsy(v: &str) -> bool {
    v == "false" || v == "0"
}

/// The normalized URLs a signature may have been computed over, the request's own first (only
/// that one with `first_only`).
fn candidate_urls(
    req: &CapturedRequest,
    site: &SiteRuntime,
    strict: bool,
    first_only: bool,
) -> Vec<String> {
    let path = req.path.as_str();
    let authority = req.host.as_deref().unwrap_or("");
    let (host, port) = split_authority(authority);
    if !strict {
        return vec![signature::normalized_url(
            req.scheme.as_str(),
            host,
            port,
            path,
        )];
    }
    let namespace = req
        .gigya_method
        .as_deref()
        .and_then(|m| m.split_once('.'))
        .map_or("socialize", |(ns, _)| ns);
    let mut hosts: Vec<(String, Option<u16>)> = Vec::new();
    if !host.is_empty() {
        hosts.push((host.to_owned(), port));
        if port.is_some() {
            hosts.push((host.to_owned(), None));
        }
    }
    hosts.push((format!("{namespace}.{}", site.domain), None));
    if namespace != "accounts" {
        hosts.push((format!("accounts.{}", site.domain), None));
    }
    let mut schemes = vec![req.scheme.as_str()];
    schemes.push(match req.scheme {
        crate::exchange::Scheme::Http => "https",
        crate::exchange::Scheme::Https => "http",
    });
    let mut out: Vec<String> = Vec::new();
    for (h, p) in &hosts {
        for s in &schemes {
            let url = signature::normalized_url(s, h, *p, path);
            if !out.contains(&url) {
                out.push(url);
            }
            if first_only {
                return out;
            }
        }
    }
    out
}

/// Splits `host[:port]` (IPv6 literals in brackets).
fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(rest) = authority.strip_prefix('[') {
        if let Some((h, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (authority.get(..h.len() + 2).unwrap_or(authority), port);
        }
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (authority, None),
        },
        _ => (authority, None),
    }
}

fn check_jwt(
    token: &str,
    site: &SiteRuntime,
    now_ms: i64,
    window_ms: i64,
    config: &AuthConfig,
    nonces: &Mutex<NonceMemory>,
) -> Result<Caller, AuthFailure> {
    let parsed = jwt::parse_bearer(token).map_err(|e| {
        AuthFailure::new(
            codes::INVALID_AUTH_HEADER,
            format!("Invalid authentication header [gigya-mock: {e}]"),
        )
    })?;
    let app = site
        .app(&parsed.kid)
        .ok_or_else(|| unknown_user_key(&parsed.kid))?;
    let Some(key) = &app.public_key else {
        return Err(AuthFailure::new(
            codes::INVALID_AUTH_HEADER,
            format!(
                "Invalid authentication header [gigya-mock: userKey {:?} has no publicKey configured]",
                parsed.kid
            ),
        ));
    };
    jwt::verify_rs256(&parsed, key).map_err(|e| {
        AuthFailure::new(
            codes::INVALID_AUTH_HEADER,
            format!(
                "Invalid authentication header [gigya-mock: {e} of userKey {}]",
                parsed.kid
            ),
        )
    })?;
    let drift_ms = parsed.iat.saturating_mul(1000).saturating_sub(now_ms);
    if drift_ms.abs() > window_ms {
        return Err(AuthFailure::new(
            codes::REQUEST_EXPIRED,
            format!(
                "Request has expired [gigya-mock: JWT iat {} is {} s {} the server clock; the window is ±{} s]",
                parsed.iat,
                drift_ms.abs() / 1000,
                if drift_ms < 0 { "behind" } else { "ahead of" },
                window_ms / 1000
            ),
        ));
    }
    let jti_key = format!(
        "{}\u{0}jwt\u{0}{}\u{0}{}",
        site.api_key, parsed.kid, parsed.jti
    );
    let fresh = first_use(nonces, jti_key, now_ms, window_ms, config);
    if !fresh {
        return Err(AuthFailure::new(
            codes::DUPLICATE_NONCE,
            format!(
                "Duplicate nonce [gigya-mock: JWT jti {:?} was already used]",
                parsed.jti
            ),
        ));
    }
    Ok(Caller::Server {
        user_key: Some(parsed.kid),
    })
}

/// Unix milliseconds of a time (0 before the epoch).
#[must_use]
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(split_authority("localhost:8080"), ("localhost", Some(8080)));
        assert_eq!(
            split_authority("accounts.us1.gigya.com"),
            ("accounts.us1.gigya.com", None)
        );
        assert_eq!(split_authority("[::1]:9000"), ("[::1]", Some(9000)));
        assert_eq!(split_authority("[::1]"), ("[::1]", None));
        assert_eq!(split_authority("u:p@h:81"), ("h", Some(81)));
        assert_eq!(split_authority("h:notaport"), ("h:notaport", None));
    }

    #[test]
    fn nonces_expire_and_are_capped() {
        let mut m = NonceMemory::default();
        assert!(m.remember("a".into(), 0, 100, 3));
        assert!(
            !m.remember("a".into(), 50, 100, 3),
            "reuse within retention"
        );
        assert!(
            m.remember("a".into(), 100, 100, 3),
            "forgotten after retention"
        );
        assert!(m.remember("b".into(), 101, 100, 3));
        assert!(m.remember("c".into(), 102, 100, 3));
        assert!(m.remember("d".into(), 103, 100, 3));
        assert_eq!(m.len(), 3, "the cap holds");
        assert!(
            m.remember("a".into(), 104, 100, 3),
            "the oldest was forgotten first"
        );
        m.clear();
        assert!(m.is_empty());
    }

    #[test]
    fn bearer_and_oauth_headers_are_recognised() {
        assert_eq!(bearer_token("Bearer a.b.c"), Some("a.b.c"));
        assert_eq!(bearer_token("OAuth tok"), Some("tok"));
        assert_eq!(bearer_token("Basic x"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
