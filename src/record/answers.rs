//! The answer side of a recorded call: the `errorCode` and `callId` of a JSON or JSONP
//! envelope, envelopes turned into stub responses (only what differs from the catalogue,
//! secrets and redacted values hidden), raw responses for anything else, and when two answers
//! count as the same.

use indexmap::IndexMap;
use serde_json::Value;

use super::Recorder;
use super::redaction::{hide_at, placeholder, replace_hidden};
use crate::gigya::catalog;
use crate::redact;
use crate::scenario::model::{Response, ValidationError};
use crate::server::upstream::UpstreamAnswer;

/// The `errorCode` and `callId` of a JSON (or JSONP) envelope body.
#[must_use]
pub fn envelope_head(body: &[u8]) -> (Option<u32>, Option<String>) {
    let Some(Value::Object(map)) = parse_body(body) else {
        return (None, None);
    };
    let code = map
        .get("errorCode")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok());
    let call_id = map.get("callId").and_then(Value::as_str).map(str::to_owned);
    (code, call_id)
}

/// A body as JSON, unwrapping JSONP (`cb({...});`).
fn parse_body(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('{') || text.starts_with('[') {
        return serde_json::from_str(text).ok();
    }
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(..open)?;
    if !crate::gigya::envelope::valid_callback(name.trim()) {
        return None;
    }
    serde_json::from_str(text.get(open + 1..close)?).ok()
}

impl Recorder {
    /// The stub answer for an upstream answer, redacted.
    pub(super) fn response(&self, answer: &UpstreamAnswer, hidden: &mut Vec<String>) -> Response {
        let parsed = parse_body(&answer.body);
        let envelope = match parsed {
            Some(Value::Object(map)) if map.get("errorCode").is_some_and(Value::is_u64) => {
                Some(map)
            }
            _ => None,
        };
        let Some(mut map) = envelope else {
            return self.raw_response(answer, &hidden[..]);
        };
        for rule in &self.rules {
            let mut v = Value::Object(std::mem::take(&mut map));
            hide_at(&mut v, &rule.segments, hidden);
            if let Value::Object(m) = v {
                map = m;
            }
        }
        let mut body = Value::Object(map);
        replace_hidden(&mut body, hidden);
        redact::json(&mut body);
        let Value::Object(mut map) = body else {
            return Response::default();
        };
        let code = map
            .get("errorCode")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(0);
        let info = catalog::describe(code);
        let mut r = Response {
            error_code: Some(code),
            ..Response::default()
        };
        r.call_id = map
            .get("callId")
            .and_then(Value::as_str)
            .filter(|id| {
                id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            })
            .map(str::to_owned);
        if code != 0 {
            r.error_details = map
                .get("errorDetails")
                .and_then(Value::as_str)
                .map(str::to_owned);
            r.error_message = map
                .get("errorMessage")
                .and_then(Value::as_str)
                .filter(|m| *m != info.message || !catalog::is_known(code))
                .map(str::to_owned);
            if r.error_message.is_none() && !catalog::is_known(code) {
                r.error_message = Some(String::new());
            }
            r.validation_errors = map
                .get("validationErrors")
                .and_then(Value::as_array)
                .map(|items| items.iter().filter_map(validation_error).collect())
                .unwrap_or_default();
        }
        r.status_code = map
            .get("statusCode")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| *s != info.status_code && (100..=999).contains(s));
        let expected_reason = r
            .status_code
            .map_or(info.status_reason, catalog::reason_phrase);
        r.status_reason = map
            .get("statusReason")
            .and_then(Value::as_str)
            .filter(|s| *s != expected_reason)
            .map(str::to_owned);
        if self.config.keep_time {
            r.time = map
                .get("time")
                .and_then(Value::as_str)
                .filter(|t| crate::scenario::compile::valid_time(t))
                .map(str::to_owned);
        }
        for key in crate::gigya::envelope::ENVELOPE_FIELDS {
            map.shift_remove(*key);
        }
        if !map.is_empty() {
            r.body = Some(Value::Object(map));
        }
        r
    }

    fn raw_response(&self, answer: &UpstreamAnswer, hidden: &[String]) -> Response {
        let content_type = answer.header("content-type");
        let kind = redact::BodyKind::of_response(content_type, &answer.body);
        let body = redact::body(kind, &answer.body);
        let mut text = String::from_utf8_lossy(&body).into_owned();
        for value in hidden.iter().filter(|v| !v.is_empty()) {
            text = text.replace(value.as_str(), &placeholder(value));
        }
        let mut headers = IndexMap::new();
        if let Some(ct) = content_type {
            headers.insert("Content-Type".to_owned(), ct.to_owned());
        }
        Response {
            status: Some(answer.status.as_u16()),
            body: (!text.is_empty()).then_some(Value::String(text)),
            headers,
            ..Response::default()
        }
    }
}

fn validation_error(item: &Value) -> Option<ValidationError> {
    let code = u32::try_from(item.get("errorCode")?.as_u64()?).ok()?;
    let field_name = item.get("fieldName")?.as_str()?.to_owned();
    let message = item
        .get("message")
        .and_then(Value::as_str)
        .filter(|m| *m != catalog::describe(code).message)
        .map(str::to_owned);
    Some(ValidationError {
        error_code: code,
        message,
        field_name,
    })
}

/// Two answers are the same when only their `callId` (and a kept `time`) differ.
pub(super) fn same_answer(a: &Response, b: &Response) -> bool {
    let strip = |r: &Response| Response {
        call_id: None,
        time: None,
        ..r.clone()
    };
    strip(a) == strip(b)
}
