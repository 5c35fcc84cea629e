//! Replies built by the engine: the Gigya envelope honouring `format`, `context` and
//! `httpStatusCodes`, the answers of stubs, and error envelopes for requests answered
//! outside dispatch.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

use super::{CallContext, Engine};
use crate::exchange::{CapturedRequest, Outcome, Reply};
use crate::gigya::catalog::{self, ErrorInfo};
use crate::gigya::envelope::{self, Envelope, Format, JSON_CONTENT_TYPE, JSONP_CONTENT_TYPE};
use crate::scenario::compile::GigyaResponse;
use crate::scenario::{CompiledResponse, CompiledStub};

/// The header that repeats an envelope's `callId`.
const X_CALLID: HeaderName = HeaderName::from_static("x-callid");

/// Everything variable in one envelope answer.
#[derive(Debug, Clone)]
pub struct EnvelopeSpec {
    /// Code, message and status.
    pub info: ErrorInfo,
    /// `errorMessage` override.
    pub message: Option<String>,
    /// `statusReason` override.
    pub status_reason: Option<String>,
    /// `errorDetails`.
    pub details: Option<String>,
    /// Rendered `validationErrors`.
    pub validation_errors: Option<String>,
    /// Pre-rendered method data.
    pub fields: Option<String>,
    /// Method data built now.
    pub dynamic_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// A fixed `callId`.
    pub call_id: Option<String>,
    /// A fixed `time` (as recorded); the clock's time when absent.
    pub time: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Delay.
    pub delay: Option<Duration>,
    /// Who answered.
    pub outcome: Outcome,
}

impl EnvelopeSpec {
    /// An envelope for a code, everything else default.
    #[must_use]
    pub fn code(code: u32, outcome: Outcome) -> Self {
        Self {
            info: catalog::describe(code),
            message: None,
            status_reason: None,
            details: None,
            validation_errors: None,
            fields: None,
            dynamic_fields: None,
            call_id: None,
            time: None,
            headers: Vec::new(),
            delay: None,
            outcome,
        }
    }

    /// Sets `errorDetails`.
    #[must_use]
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

impl Engine {
    pub(super) fn stub_reply(
        &self,
        stub: &CompiledStub,
        response: &CompiledResponse,
        ctx: &CallContext,
    ) -> Reply {
        let outcome = Outcome::Stub(stub.name.clone());
        match response {
            CompiledResponse::Gigya(g) => self.stub_envelope(ctx, g, outcome),
            CompiledResponse::Raw(r) => Reply {
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone(),
                delay: r.delay,
                outcome,
                error_code: None,
                call_id: None,
                fault: None,
            },
        }
    }

    /// A stub's envelope: like [`Engine::envelope`], borrowing the stub's fixed parts (its
    /// middle members are rendered once, on the first answer).
    fn stub_envelope(&self, ctx: &CallContext, g: &GigyaResponse, outcome: Outcome) -> Reply {
        let now = self.clock.now();
        let call_id = g.call_id.clone().unwrap_or_else(|| self.ids.next());
        let mut env = Envelope {
            call_id: &call_id,
            info: g.info,
            message: g.message.as_deref(),
            status_reason: g.status_reason.as_deref(),
            details: g.details.as_deref(),
            validation_errors: g.validation_errors.as_deref(),
            fields: Some(&g.fields),
            dynamic_fields: None,
            context: ctx.context.as_deref(),
            time: now,
            time_text: g.time.as_deref(),
            middle: None,
        };
        env.middle = Some(g.middle.get_or_init(|| env.middle().into_boxed_str()));
        let body = env.render(&ctx.format);
        self.envelope_reply(
            ctx,
            now,
            g.info,
            call_id,
            body,
            g.headers.iter().cloned(),
            g.delay,
            outcome,
        )
    }

    /// Builds an envelope reply honouring `format`, `context` and `httpStatusCodes`.
    #[must_use]
    pub fn envelope(&self, ctx: &CallContext, spec: EnvelopeSpec) -> Reply {
        let now = self.clock.now();
        let call_id = spec.call_id.unwrap_or_else(|| self.ids.next());
        let env = Envelope {
            call_id: &call_id,
            info: spec.info,
            message: spec.message.as_deref(),
            status_reason: spec.status_reason.as_deref(),
            details: spec.details.as_deref(),
            validation_errors: spec.validation_errors.as_deref(),
            fields: spec.fields.as_deref(),
            dynamic_fields: spec.dynamic_fields.as_ref(),
            context: ctx.context.as_deref(),
            time: now,
            time_text: spec.time.as_deref(),
            middle: None,
        };
        let body = env.render(&ctx.format);
        self.envelope_reply(
            ctx,
            now,
            spec.info,
            call_id,
            body,
            spec.headers,
            spec.delay,
            spec.outcome,
        )
    }

    /// The reply around a rendered envelope: content type, status, `Date` and `x-callid`.
    #[allow(clippy::too_many_arguments)]
    fn envelope_reply(
        &self,
        ctx: &CallContext,
        now: std::time::SystemTime,
        info: ErrorInfo,
        call_id: String,
        body: String,
        extra_headers: impl IntoIterator<Item = (HeaderName, HeaderValue)>,
        delay: Option<Duration>,
        outcome: Outcome,
    ) -> Reply {
        let extra_headers = extra_headers.into_iter();
        let content_type = match ctx.format {
            Format::Json if self.config.json_content_type == JSON_CONTENT_TYPE => {
                HeaderValue::from_static(JSON_CONTENT_TYPE)
            }
            Format::Json => HeaderValue::from_str(&self.config.json_content_type)
                .unwrap_or(HeaderValue::from_static(JSON_CONTENT_TYPE)),
            Format::Jsonp(_) => HeaderValue::from_static(JSONP_CONTENT_TYPE),
        };
        let status = if ctx.http_status_codes {
            StatusCode::from_u16(info.status_code).unwrap_or(StatusCode::OK)
        } else {
            StatusCode::OK
        };
        let mut headers = Vec::with_capacity(3 + extra_headers.size_hint().0);
        headers.push((http::header::CONTENT_TYPE, content_type));
        if let Some(d) = envelope::http_date_header(now) {
            headers.push((http::header::DATE, d));
        }
        if self.config.x_callid {
            if let Ok(v) = HeaderValue::from_str(&call_id) {
                headers.push((X_CALLID, v));
            }
        }
        headers.extend(extra_headers);
        Reply {
            status,
            headers,
            body: Bytes::from(body),
            delay,
            outcome,
            error_code: Some(info.code),
            call_id: Some(call_id),
            fault: None,
        }
    }

    /// An error envelope answering `req` (honouring its `format`, `callback`, `context` and
    /// `httpStatusCodes`), for answers decided outside [`Engine::dispatch`] such as a failed
    /// forward to the upstream.
    #[must_use]
    pub fn error_for(
        &self,
        req: &CapturedRequest,
        code: u32,
        details: impl Into<String>,
        outcome: Outcome,
    ) -> Reply {
        let (ctx, _) = CallContext::from_request(req);
        self.envelope(&ctx, EnvelopeSpec::code(code, outcome).details(details))
    }

    /// An error envelope for a request the server rejected before dispatch (too large, slow).
    #[must_use]
    pub fn reject(&self, code: u32, details: impl Into<String>) -> Reply {
        let ctx = CallContext {
            format: Format::Json,
            context: None,
            http_status_codes: false,
        };
        self.envelope(
            &ctx,
            EnvelopeSpec::code(code, Outcome::Rejected).details(details),
        )
    }
}
