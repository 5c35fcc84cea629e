//! Redaction of credentials in recorded traffic: the one place that decides what is a secret.
//!
//! The journal (and anything else that keeps or exports traffic, such as recordings) passes
//! every parameter, query string, form body, header and body through here before storing it,
//! so a journal or HAR file can be attached to a CI run. Values are replaced by [`MARKER`];
//! names stay, so "was `sig` sent?" remains assertable while its value is gone.
//!
//! A name is secret when, ignoring ASCII case, it is `sig`, `secretAnswer` or `cookieValue`, or it
//! ends in `secret`, `password` or `token` (`secret`, `client_secret`, `newPassword`,
//! `oldPassword`, `regToken`, `oauth_token`, `access_token`, `id_token`, `sessionToken`, ...).
//! Headers: `Authorization` and `Proxy-Authorization` keep their scheme (`Bearer [REDACTED]`),
//! cookies keep their names, and any header whose name mentions a token, secret, password or
//! signature is replaced whole. JSON (bodies, JSON-valued parameters such as `data`) is walked
//! and the values of secret keys replaced, at any depth.
//!
//! Recordings (`gigya-mock record`) use the same rules: secrets are never written and never
//! matched on, and neither are the volatile parameters of [`is_volatile_name`].
//!
//! Everything here is cheap when there is nothing to redact: texts without a hint of a secret
//! word are returned borrowed without parsing.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

/// What a secret value is replaced with.
pub const MARKER: &str = "[REDACTED]";

/// Names that are secret whatever their ending.
const EXACT: &[&str] = &["sig", "secretanswer", "cookievalue"];

/// Endings that make a name secret.
const SUFFIXES: &[&str] = &["secret", "password", "token"];

/// Words whose absence proves a text holds no secret key (checked before parsing JSON).
const HINTS: &[&str] = &["secret", "password", "token", "sig", "cookievalue"];

/// Parameters that change from one call to the next without changing what is asked (signing
/// material, SDK and transport settings): recordings neither write nor match on them.
const VOLATILE: &[&str] = &[
    "nonce",
    "timestamp",
    "userKey",
    "format",
    "httpStatusCodes",
    "sdk",
    "sdkBuild",
    "callback",
    "context",
    "targetEnv",
    "pageURL",
    "gmid",
    "ucid",
    "authMode",
    "_host",
];

/// Whether a parameter is volatile: it varies between identical calls (`nonce`, `timestamp`,
/// `userKey`, `format`, `callback`, `context`, SDK details...), so a recording neither keeps
/// nor matches on it. Secrets ([`is_secret_name`]) are never kept either.
#[must_use]
pub fn is_volatile_name(name: &str) -> bool {
    VOLATILE.iter().any(|v| name.eq_ignore_ascii_case(v))
}

/// Removes the members with secret names from a JSON document, at any depth (recordings
/// match on what is left). Returns whether anything was removed.
pub fn strip_json(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !is_secret_name(k));
            let mut changed = map.len() != before;
            for item in map.values_mut() {
                changed |= strip_json(item);
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |acc, i| strip_json(i) | acc),
        _ => false,
    }
}

/// Whether a parameter or JSON key names a secret.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    EXACT.iter().any(|e| name.eq_ignore_ascii_case(e))
        || SUFFIXES.iter().any(|s| ends_with_ignore_case(name, s))
}

/// Whether a header's value is a credential (replaced whole or partly by [`header`]).
#[must_use]
pub fn is_secret_header(name: &str) -> bool {
    [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
        || ["token", "secret", "password", "signature", "-sig"]
            .iter()
            .any(|w| contains_ignore_case(name.as_bytes(), w.as_bytes()))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// `needle` must be lowercase ASCII.
fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    hay.iter().enumerate().any(|(i, b)| {
        b.to_ascii_lowercase() == first
            && hay
                .get(i..i + needle.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// Whether the text may mention a secret key: one pass, looking closer only at the letters
/// the hint words start with.
fn has_hint(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        let lower = b.to_ascii_lowercase();
        matches!(lower, b's' | b'p' | b't' | b'c')
            && HINTS.iter().any(|h| {
                h.as_bytes().first() == Some(&lower)
                    && bytes
                        .get(i..i + h.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(h.as_bytes()))
            })
    })
}

/// A decoded parameter value: the marker for a secret name; JSON text with secret keys
/// redacted inside; anything else unchanged.
#[must_use]
pub fn param<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_name(name) {
        return Cow::Borrowed(MARKER);
    }
    json_text(value)
}

/// JSON text with the values of secret keys replaced; other text unchanged. The result is
/// re-serialized only when something was replaced.
#[must_use]
pub fn json_text(text: &str) -> Cow<'_, str> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) || !has_hint(text) {
        return Cow::Borrowed(text);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            if json(&mut v) {
                Cow::Owned(v.to_string())
            } else {
                Cow::Borrowed(text)
            }
        }
        Err(_) => Cow::Borrowed(text),
    }
}

/// Replaces the values of secret keys in a JSON document, at any depth. Returns whether
/// anything was replaced.
pub fn json(v: &mut Value) -> bool {
    match v {
        Value::Object(map) => {
            let mut changed = false;
            for (k, item) in map.iter_mut() {
                if is_secret_name(k) {
                    if !matches!(item, Value::Null) && item.as_str() != Some(MARKER) {
                        *item = Value::String(MARKER.to_owned());
                        changed = true;
                    }
                } else {
                    changed |= json(item);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |acc, i| json(i) | acc),
        Value::String(s) => {
            // JSON sent as text inside JSON (Gigya does this with `data`, `profile`...).
            if let Cow::Owned(redacted) = json_text(s) {
                *s = redacted;
                true
            } else {
                false
            }
        }
        _ => false,
    }
}

/// A query string or `application/x-www-form-urlencoded` body: secret values become the
/// marker, JSON-valued fields are redacted inside (and re-encoded); the rest of the text is
/// kept byte for byte.
#[must_use]
pub fn form(text: &str) -> Cow<'_, str> {
    // Percent-encoded text may spell a secret name in escapes, so it is always examined.
    if !has_hint(text) && !text.contains('%') {
        return Cow::Borrowed(text);
    }
    enum Change {
        Marker,
        Json(String),
    }
    // Built only once the first piece changes: most bodies pass through without a copy.
    let mut out: Option<String> = None;
    let mut offset = 0;
    for piece in text.split('&') {
        let piece_start = offset;
        offset += piece.len() + 1;
        let change = piece.split_once('=').and_then(|(raw_name, raw_value)| {
            if is_secret_name(&lenient_decode(raw_name)) {
                return (raw_value != MARKER).then_some((raw_name, Change::Marker));
            }
            if !may_be_json(raw_value) {
                return None;
            }
            match json_text(&lenient_decode(raw_value)) {
                Cow::Owned(redacted) => Some((raw_name, Change::Json(redacted))),
                Cow::Borrowed(_) => None,
            }
        });
        let s = match (&mut out, &change) {
            (None, None) => continue,
            (None, Some(_)) => {
                let mut s = String::with_capacity(text.len() + MARKER.len());
                s.push_str(text.get(..piece_start).unwrap_or_default());
                out.insert(s)
            }
            (Some(s), _) => {
                if piece_start > 0 {
                    s.push('&');
                }
                s
            }
        };
        match change {
            None => s.push_str(piece),
            Some((name, Change::Marker)) => {
                s.push_str(name);
                s.push('=');
                s.push_str(MARKER);
            }
            Some((name, Change::Json(redacted))) => {
                s.push_str(name);
                s.push('=');
                s.push_str(&crate::gigya::percent_encode(&redacted));
            }
        }
    }
    out.map_or(Cow::Borrowed(text), Cow::Owned)
}

/// Whether a raw (encoded) form value may hold a JSON object or array.
fn may_be_json(raw: &str) -> bool {
    let mut rest = raw;
    loop {
        // Leading whitespace, encoded or not.
        if let Some(r) = rest.strip_prefix('+').or_else(|| rest.strip_prefix(' ')) {
            rest = r;
        } else if rest.len() >= 3
            && matches!(
                rest.get(..3),
                Some("%20" | "%0A" | "%0a" | "%09" | "%0D" | "%0d")
            )
        {
            rest = rest.get(3..).unwrap_or_default();
        } else {
            break;
        }
    }
    rest.starts_with(['{', '['])
        || rest
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("%7B") || p.eq_ignore_ascii_case("%5B"))
}

/// Percent-decoding that never fails (bad escapes and bad UTF-8 are kept as they are): good
/// enough to recognise a name.
fn lenient_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// A header value: credentials keep only their scheme, cookies only their names.
#[must_use]
pub fn header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if !is_secret_header(name) {
        return Cow::Borrowed(value);
    }
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "authorization" | "proxy-authorization" => match value.trim().split_once(' ') {
            Some((scheme, _)) => Cow::Owned(format!("{scheme} {MARKER}")),
            None => Cow::Borrowed(MARKER),
        },
        "cookie" => Cow::Owned(
            value
                .split(';')
                .map(|c| match c.trim().split_once('=') {
                    Some((n, _)) => format!("{n}={MARKER}"),
                    None => c.trim().to_owned(),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        "set-cookie" => {
            let (pair, attrs) = value.split_once(';').unwrap_or((value, ""));
            let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
            let mut out = format!("{name}={MARKER}");
            if !attrs.is_empty() {
                out.push(';');
                out.push_str(attrs);
            }
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(MARKER),
    }
}

/// What kind of text a body is, for [`body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Form-encoded parameters.
    Form,
    /// JSON, or JSONP (`callback({...});`).
    Json,
    /// Anything else: kept as is.
    Opaque,
}

impl BodyKind {
    /// Classifies a request body by its content type (form when absent, as Gigya SDKs send).
    #[must_use]
    pub fn of_request(content_type: Option<&str>, body: &[u8]) -> Self {
        let ct = content_type.unwrap_or_default().trim().to_ascii_lowercase();
        if ct.is_empty()
            || ct.starts_with("application/x-www-form-urlencoded")
            || ct.starts_with("text/plain")
        {
            if looks_like_json(body) {
                Self::Json
            } else {
                Self::Form
            }
        } else if ct.contains("json") || ct.contains("javascript") || looks_like_json(body) {
            Self::Json
        } else {
            Self::Opaque
        }
    }

    /// Classifies a response body (JSON and JSONP are recognised by content).
    #[must_use]
    pub fn of_response(content_type: Option<&str>, body: &[u8]) -> Self {
        let ct = content_type.unwrap_or_default().to_ascii_lowercase();
        if ct.contains("json") || ct.contains("javascript") || looks_like_json(body) {
            Self::Json
        } else if ct.starts_with("application/x-www-form-urlencoded") {
            Self::Form
        } else {
            Self::Opaque
        }
    }
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// [`body`] for a request whose form parameters are already decoded: when no parameter has a
/// secret name and no JSON-valued parameter could hold one, the body is returned as is without
/// being decoded again (the common case, and the journal's hot path).
#[must_use]
pub fn request_body(
    kind: BodyKind,
    bytes: &Bytes,
    params: Option<&crate::gigya::params::Params>,
) -> Bytes {
    if let (BodyKind::Form, Some(params)) = (kind, params) {
        let may_hide = |p: crate::gigya::params::Param<'_>| {
            is_secret_name(p.name())
                || (p.value().trim_start().starts_with(['{', '[']) && has_hint(p.value()))
        };
        let clean = !params.iter().any(may_hide);
        if clean {
            return bytes.clone();
        }
    }
    body(kind, bytes)
}

/// A body with its secrets redacted. Returns the same bytes (no copy) when nothing needed it.
#[must_use]
pub fn body(kind: BodyKind, bytes: &Bytes) -> Bytes {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return bytes.clone();
    };
    let redacted = match kind {
        BodyKind::Form => form(text),
        BodyKind::Json => jsonp_or_json(text),
        BodyKind::Opaque => Cow::Borrowed(text),
    };
    match redacted {
        Cow::Borrowed(_) => bytes.clone(),
        Cow::Owned(s) => Bytes::from(s),
    }
}

fn jsonp_or_json(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return json_text(text);
    }
    // JSONP: `name({...});`
    let (Some(open), Some(close)) = (text.find('('), text.rfind(')')) else {
        return Cow::Borrowed(text);
    };
    match text.get(open + 1..close).map(json_text) {
        Some(Cow::Owned(inner)) => Cow::Owned(format!(
            "{}{inner}{}",
            text.get(..=open).unwrap_or_default(),
            text.get(close..).unwrap_or_default()
        )),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_bodies_with_decoded_params() {
        use crate::gigya::params::{ConflictPolicy, Params};
        let clean = Bytes::from_static(b"UID=u-1&data=%7B%22tier%22%3A%22gold%22%7D");
        let p = Params::decode(None, Some(&clean), ConflictPolicy::BodyWins).unwrap();
        let out = request_body(BodyKind::Form, &clean, Some(&p));
        assert_eq!(out.as_ptr(), clean.as_ptr(), "nothing to hide: no copy");
        for secret in [
            &b"UID=u-1&s%65cret=hunter2"[..],
            b"UID=u-1&data=%7B%22password%22%3A%22hunter2%22%7D",
        ] {
            let body = Bytes::copy_from_slice(secret);
            let p = Params::decode(None, Some(&body), ConflictPolicy::BodyWins).unwrap();
            let out = request_body(BodyKind::Form, &body, Some(&p));
            assert!(
                !String::from_utf8_lossy(&out).contains("hunter2"),
                "{out:?}"
            );
        }
    }

    #[test]
    fn secret_names() {
        for n in [
            "secret",
            "SECRET",
            "sig",
            "password",
            "newPassword",
            "oldPassword",
            "secretAnswer",
            "regToken",
            "oauth_token",
            "access_token",
            "id_token",
            "sessionToken",
            "sessionSecret",
            "client_secret",
            "cookieValue",
            "login_token",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "UID",
            "apiKey",
            "userKey",
            "nonce",
            "timestamp",
            "signatureTimestamp",
            "secretQuestion",
            "loginID",
            "data",
            "tokenExpiration",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn volatile_names_and_stripping() {
        for n in [
            "nonce",
            "Timestamp",
            "userKey",
            "format",
            "callback",
            "context",
            "sdk",
        ] {
            assert!(is_volatile_name(n), "{n}");
        }
        for n in ["UID", "apiKey", "loginID", "data", "include"] {
            assert!(!is_volatile_name(n), "{n}");
        }
        let mut v = json!({"a": 1, "password": "p", "n": [{"regToken": "t", "b": 2}]});
        assert!(strip_json(&mut v));
        assert_eq!(v, json!({"a": 1, "n": [{"b": 2}]}));
        assert!(!strip_json(&mut v));
    }

    #[test]
    fn params_and_json_params() {
        assert_eq!(param("sig", "abc="), MARKER);
        assert_eq!(param("UID", "u-1"), "u-1");
        assert_eq!(
            param("data", r#"{"tier":"gold","nested":{"password":"p"}}"#),
            r#"{"tier":"gold","nested":{"password":"[REDACTED]"}}"#
        );
        // No hint word: returned borrowed, untouched.
        assert!(matches!(
            param("data", r#"{"tier":"gold"}"#),
            Cow::Borrowed(_)
        ));
        assert!(matches!(param("data", "not json sig"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_documents_at_any_depth() {
        let mut v = json!({
            "UID": "u1",
            "sessionInfo": {"sessionToken": "st2.x", "sessionSecret": "s", "cookieValue": "c"},
            "regToken": "rt",
            "list": [{"id_token": "j"}, {"ok": 1}],
            "empty": {"access_token": null},
            "text": "{\"oauth_token\":\"t\"}"
        });
        assert!(json(&mut v));
        assert_eq!(
            v,
            json!({
                "UID": "u1",
                "sessionInfo": {"sessionToken": MARKER, "sessionSecret": MARKER, "cookieValue": MARKER},
                "regToken": MARKER,
                "list": [{"id_token": MARKER}, {"ok": 1}],
                "empty": {"access_token": null},
                "text": "{\"oauth_token\":\"[REDACTED]\"}"
            })
        );
        assert!(!json(&mut v), "redacting twice changes nothing");
    }

    #[test]
    fn form_bodies_and_query_strings() {
        assert_eq!(
            form("apiKey=k&UID=u+1&sig=abc%3D&secret=s&nonce=1"),
            "apiKey=k&UID=u+1&sig=[REDACTED]&secret=[REDACTED]&nonce=1"
        );
        // Encoded names are recognised.
        assert_eq!(form("new%50assword=x"), "new%50assword=[REDACTED]");
        // JSON-valued fields are redacted inside and re-encoded.
        let body = format!(
            "UID=u1&data={}",
            crate::gigya::percent_encode(r#"{"password":"p","a":1}"#)
        );
        let out = form(&body);
        let params = crate::gigya::params::Params::decode(
            None,
            Some(out.as_bytes()),
            crate::gigya::params::ConflictPolicy::default(),
        )
        .unwrap();
        assert_eq!(
            params.value("data"),
            Some(r#"{"password":"[REDACTED]","a":1}"#)
        );
        // Nothing to do: borrowed.
        assert!(matches!(form("UID=u1&x=2"), Cow::Borrowed(_)));
        assert!(matches!(form("UID=u1&design=2"), Cow::Borrowed(_)));
        // Pieces without `=` and empty pieces survive.
        assert_eq!(form("flag&&sig=1"), "flag&&sig=[REDACTED]");
    }

    #[test]
    fn headers() {
        assert_eq!(
            header("Authorization", "Bearer eyJhbGciOi.x.y"),
            "Bearer [REDACTED]"
        );
        assert_eq!(header("authorization", "opaque"), MARKER);
        assert_eq!(
            header("Cookie", "glt_3_k=abc; gmid=xyz"),
            "glt_3_k=[REDACTED]; gmid=[REDACTED]"
        );
        assert_eq!(
            header("set-cookie", "gac=abc; Path=/; HttpOnly"),
            "gac=[REDACTED]; Path=/; HttpOnly"
        );
        assert_eq!(header("X-Gigya-Sig-Hmac-Sha1", "qfdH43Vp"), MARKER);
        assert_eq!(header("x-session-token", "t"), MARKER);
        assert_eq!(
            header("content-type", "application/json"),
            "application/json"
        );
    }

    #[test]
    fn bodies_by_kind() {
        let b = Bytes::from_static(b"UID=u1&password=p");
        assert_eq!(
            body(BodyKind::Form, &b),
            Bytes::from_static(b"UID=u1&password=[REDACTED]")
        );
        let j = Bytes::from_static(br#"{"errorCode":0,"regToken":"r"}"#);
        assert_eq!(
            body(BodyKind::Json, &j),
            Bytes::from_static(br#"{"errorCode":0,"regToken":"[REDACTED]"}"#)
        );
        let p = Bytes::from_static(br#"cb({"access_token":"t"});"#);
        assert_eq!(
            body(BodyKind::Json, &p),
            Bytes::from_static(br#"cb({"access_token":"[REDACTED]"});"#)
        );
        let untouched = Bytes::from_static(b"<html>token</html>");
        assert_eq!(body(BodyKind::Opaque, &untouched), untouched);
        let binary = Bytes::from_static(b"\xff\xfesig=1");
        assert_eq!(body(BodyKind::Form, &binary), binary);
        assert_eq!(
            BodyKind::of_request(None, b"a=b"),
            BodyKind::Form,
            "SDKs omit the content type"
        );
        assert_eq!(
            BodyKind::of_request(Some("application/json"), b"{}"),
            BodyKind::Json
        );
        assert_eq!(
            BodyKind::of_response(Some("text/javascript"), b"cb({})"),
            BodyKind::Json
        );
        assert_eq!(
            BodyKind::of_response(Some("text/html"), b"<p>"),
            BodyKind::Opaque
        );
    }
}
