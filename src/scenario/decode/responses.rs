//! Decoding canned responses and their validation errors.

use super::super::model::{Response, ValidationError};
use super::super::tree::Node;
use super::Decoder;

const RESPONSE_KEYS: &[&str] = &[
    "errorCode",
    "errorMessage",
    "errorDetails",
    "statusCode",
    "statusReason",
    "callId",
    "time",
    "validationErrors",
    "body",
    "bodyFile",
    "headers",
    "status",
    "delay",
    "fault",
];
const VALIDATION_KEYS: &[&str] = &["errorCode", "message", "fieldName"];

impl Decoder<'_> {
    pub(super) fn response(&mut self, node: &Node) -> Option<Response> {
        let mut f = self.fields(node, "response")?;
        let mut r = Response::default();
        if let Some(n) = f.take("errorCode") {
            r.error_code = self.ranged(n, "errorCode", "0 to 4294967295");
        }
        for (key, slot) in [
            ("errorMessage", &mut r.error_message),
            ("errorDetails", &mut r.error_details),
            ("statusReason", &mut r.status_reason),
            ("callId", &mut r.call_id),
            ("time", &mut r.time),
            ("bodyFile", &mut r.body_file),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.string(n, key);
            }
        }
        if let Some(n) = f.take("statusCode") {
            r.status_code = self.ranged(n, "statusCode", "100 to 999");
        }
        if let Some(n) = f.take("status") {
            r.status = self.ranged(n, "status", "100 to 999");
        }
        if let Some(n) = f.take("delay") {
            r.delay = self.delay(n);
        }
        if let Some(n) = f.take("fault") {
            r.fault = self.fault(n);
        }
        if let Some(n) = f.take("body") {
            r.body = Some(n.to_json());
        }
        if let Some(n) = f.take("headers") {
            if let Some(mut h) = self.fields(n, "headers") {
                for (k, v) in h.entries {
                    if let Some(s) = self.string(v, "header value") {
                        r.headers.insert(k.key_text().to_owned(), s);
                    }
                }
                h.used.iter_mut().for_each(|u| *u = true);
                h.finish(self, &[]);
            }
        }
        if let Some(n) = f.take("validationErrors") {
            for item in self.seq(n, "validationErrors") {
                if let Some(v) = self.validation_error(item) {
                    r.validation_errors.push(v);
                }
            }
        }
        f.finish(self, RESPONSE_KEYS);
        Some(r)
    }

    fn validation_error(&mut self, node: &Node) -> Option<ValidationError> {
        let mut f = self.fields(node, "a validationErrors item")?;
        let mut v = ValidationError::default();
        match f.take("errorCode") {
            Some(n) => v.error_code = self.ranged(n, "errorCode", "0 to 4294967295")?,
            None => self.problem(node.pos, "validationErrors item is missing `errorCode`"),
        }
        if let Some(n) = f.take("message") {
            v.message = self.string(n, "message");
        }
        match f.take("fieldName") {
            Some(n) => v.field_name = self.string(n, "fieldName").unwrap_or_default(),
            None => self.problem(node.pos, "validationErrors item is missing `fieldName`"),
        }
        f.finish(self, VALIDATION_KEYS);
        Some(v)
    }
}
