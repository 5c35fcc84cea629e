//! Pre-rendered answers: the Gigya envelope and raw HTTP response types, and compiling a
//! stub's `response` into one (error code and status, headers, `body` or `bodyFile`, `callId`,
//! `time`, `validationErrors`).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::Value;

use super::{Compiler, KeyPath};
use crate::gigya::catalog::{self, ErrorInfo};
use crate::scenario::model::Response;

/// A pre-rendered answer.
#[derive(Debug, Clone)]
pub enum CompiledResponse {
    /// A Gigya envelope.
    Gigya(GigyaResponse),
    /// A raw HTTP response.
    Raw(RawResponse),
}

/// The parts of a Gigya envelope that are fixed at load time.
#[derive(Debug, Clone)]
pub struct GigyaResponse {
    /// Code, message, status.
    pub info: ErrorInfo,
    /// `errorMessage` override.
    pub message: Option<String>,
    /// `statusReason` override.
    pub status_reason: Option<String>,
    /// `errorDetails`.
    pub details: Option<String>,
    /// A fixed `callId`.
    pub call_id: Option<String>,
    /// A fixed `time`.
    pub time: Option<String>,
    /// Rendered `validationErrors` array.
    pub validation_errors: Option<String>,
    /// Rendered method data (object members without braces).
    pub fields: String,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Delay before answering.
    pub delay: Option<Duration>,
    /// The envelope members from `errorCode` to `statusReason`, rendered on first use.
    pub middle: std::sync::OnceLock<Box<str>>,
}

/// A raw HTTP answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers (content type included).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Body.
    pub body: Bytes,
    /// Delay before answering.
    pub delay: Option<Duration>,
}

impl Compiler {
    pub(super) fn response(
        &mut self,
        r: &Response,
        at: &KeyPath,
        base: &Path,
    ) -> Option<CompiledResponse> {
        let before = self.problems.len();
        let delay = self.fixed_delay(r.delay.as_ref(), at);
        let headers = self.headers(r, at);
        if r.body.is_some() && r.body_file.is_some() {
            self.problem(
                &at.key("bodyFile"),
                "give either `body` or `bodyFile`, not both",
            );
        }
        let file_bytes = r.body_file.as_ref().and_then(|f| {
            let path = base.join(f);
            match std::fs::read(&path) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.problem(
                        &at.key("bodyFile"),
                        format!("cannot read body file {}: {e}", path.display()),
                    );
                    None
                }
            }
        });
        let out = if let Some(status) = r.status {
            self.raw_response(r, at, status, headers, file_bytes, delay)
        } else {
            self.gigya_response(r, at, headers, file_bytes, delay)
        };
        if self.problems.len() != before {
            return None;
        }
        out
    }

    fn headers(&mut self, r: &Response, at: &KeyPath) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::new();
        for (k, v) in &r.headers {
            let here = at.key("headers").key(k);
            match (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                (Ok(n), Ok(v)) => out.push((n, v)),
                (Err(_), _) => self.problem(&here, format!("{k:?} is not a valid header name")),
                (_, Err(_)) => self.problem(
                    &here,
                    "header value contains characters HTTP does not allow",
                ),
            }
        }
        out
    }

    fn raw_response(
        &mut self,
        r: &Response,
        at: &KeyPath,
        status: u16,
        mut headers: Vec<(HeaderName, HeaderValue)>,
        file_bytes: Option<Vec<u8>>,
        delay: Option<Duration>,
    ) -> Option<CompiledResponse> {
        for (set, key) in [
            (r.error_code.is_some(), "errorCode"),
            (r.error_message.is_some(), "errorMessage"),
            (r.error_details.is_some(), "errorDetails"),
            (r.status_code.is_some(), "statusCode"),
            (r.status_reason.is_some(), "statusReason"),
            (r.call_id.is_some(), "callId"),
            (r.time.is_some(), "time"),
            (!r.validation_errors.is_empty(), "validationErrors"),
        ] {
            if set {
                self.problem(&at.key(key), format!("`{key}` belongs to Gigya envelopes; this response is raw because `status` is set"));
            }
        }
        let Ok(status) = StatusCode::from_u16(status) else {
            self.problem(
                &at.key("status"),
                format!("{status} is not an HTTP status (100-999)"),
            );
            return None;
        };
        let (body, default_ct) = match (&r.body, file_bytes) {
            (_, Some(bytes)) => {
                let ct = content_type_for(r.body_file.as_deref().unwrap_or_default());
                (Bytes::from(bytes), ct)
            }
            (Some(Value::String(s)), None) => (Bytes::from(s.clone()), "text/plain; charset=utf-8"),
            (Some(v), None) => (Bytes::from(v.to_string()), "application/json"),
            (None, None) => (Bytes::new(), ""),
        };
        let has_ct = headers.iter().any(|(n, _)| n == http::header::CONTENT_TYPE);
        if !has_ct && !default_ct.is_empty() {
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(default_ct),
            ));
        }
        Some(CompiledResponse::Raw(RawResponse {
            status,
            headers,
            body,
            delay,
        }))
    }

    fn gigya_response(
        &mut self,
        r: &Response,
        at: &KeyPath,
        headers: Vec<(HeaderName, HeaderValue)>,
        file_bytes: Option<Vec<u8>>,
        delay: Option<Duration>,
    ) -> Option<CompiledResponse> {
        let code = r.error_code.unwrap_or(0);
        let mut info = catalog::describe(code);
        if !catalog::is_known(code) && r.error_message.is_none() {
            self.problem(
                &at.key("errorCode"),
                format!("error code {code} is not in the Gigya catalogue; give `errorMessage` (and `statusCode` if {} is wrong)", info.status_code),
            );
        }
        if let Some(sc) = r.status_code {
            if !(100..=999).contains(&sc) {
                self.problem(
                    &at.key("statusCode"),
                    format!("statusCode {sc} is outside 100-999"),
                );
            }
            info.status_code = sc;
            if r.status_reason.is_none() {
                info.status_reason = catalog::reason_phrase(sc);
            }
        }
        if code == 0 {
            for (set, key) in [
                (r.error_message.is_some(), "errorMessage"),
                (r.error_details.is_some(), "errorDetails"),
                (!r.validation_errors.is_empty(), "validationErrors"),
            ] {
                if set {
                    self.problem(
                        &at.key(key),
                        format!("`{key}` is only sent with an error; set `errorCode`"),
                    );
                }
            }
        }
        if let Some(id) = &r.call_id {
            if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                self.problem(
                    &at.key("callId"),
                    format!("callId {id:?} must be 32 lowercase hex characters, like Gigya's"),
                );
            }
        }
        let body = match (&r.body, file_bytes) {
            (_, Some(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => Some((v, at.key("bodyFile"))),
                Err(e) => {
                    self.problem(
                        &at.key("bodyFile"),
                        format!("body file is not valid JSON: {e}"),
                    );
                    None
                }
            },
            (Some(v), None) => Some((v.clone(), at.key("body"))),
            (None, None) => None,
        };
        let fields = match body {
            None => String::new(),
            Some((Value::Object(map), body_at)) => {
                for (k, _) in &map {
                    if crate::gigya::envelope::ENVELOPE_FIELDS.contains(&k.as_str()) {
                        // Every envelope field but these two has a response key of its own name.
                        let hint = match k.as_str() {
                            "apiVersion" => format!("`{k}` is generated"),
                            "context" => format!("`{k}` is echoed from the request"),
                            _ => format!("set it with `response.{k}`"),
                        };
                        self.problem(
                            &body_at.key(k),
                            format!("`{k}` is an envelope field; {hint}"),
                        );
                    }
                }
                let s = Value::Object(map).to_string();
                s.get(1..s.len().saturating_sub(1))
                    .unwrap_or_default()
                    .to_owned()
            }
            Some((other, body_at)) => {
                self.problem(
                    &body_at,
                    format!(
                        "a Gigya response body is an object of top-level fields, not {}",
                        json_type(&other)
                    ),
                );
                String::new()
            }
        };
        let validation_errors = (!r.validation_errors.is_empty()).then(|| {
            let items: Vec<Value> = r
                .validation_errors
                .iter()
                .map(|v| {
                    let message = v
                        .message
                        .clone()
                        .unwrap_or_else(|| catalog::describe(v.error_code).message.to_owned());
                    serde_json::json!({"errorCode": v.error_code, "message": message, "fieldName": v.field_name})
                })
                .collect();
            Value::Array(items).to_string()
        });
        Some(CompiledResponse::Gigya(GigyaResponse {
            info,
            message: r.error_message.clone(),
            status_reason: r.status_reason.clone(),
            details: r.error_details.clone(),
            call_id: r.call_id.clone(),
            time: r.time.clone().filter(|t| {
                let ok = valid_time(t);
                if !ok {
                    self.problem(
                        &at.key("time"),
                        format!("time {t:?} is not a UTC time such as 2024-05-01T10:00:00.123Z"),
                    );
                }
                ok
            }),
            validation_errors,
            fields,
            headers,
            delay,
            middle: std::sync::OnceLock::new(),
        }))
    }
}

/// Whether `t` is a UTC ISO-8601 time as Gigya writes `time` (`2024-05-01T10:00:00.123Z`);
/// only such text is written into answers as is.
pub fn valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let head = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    let tail = match b.get(19..) {
        Some(b"Z") => true,
        Some([b'.', rest @ ..]) => {
            rest.len() >= 2
                && rest.len() <= 10
                && rest.last() == Some(&b'Z')
                && rest[..rest.len() - 1].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    };
    head && tail
}

/// A JSON value's kind for messages ("a list", "an object", ...).
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn content_type_for(file: &str) -> &'static str {
    let ext = Path::new(file)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "json" => "application/json",
        "html" | "htm" => "text/html; charset=utf-8",
        "xml" => "application/xml",
        "txt" => "text/plain; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        _ => "application/octet-stream",
    }
}
