//! The Gigya response envelope: `callId`, `errorCode`, `statusCode`, `statusReason`, `time` and
//! the optional fields, rendered as JSON or JSONP.
//!
//! Rendering writes the JSON text directly (the field order is fixed and the method data arrives
//! pre-rendered from the scenario), so answering a stub costs a handful of small writes. The
//! clock and the `callId` source are injected so tests and `--clock-skew` control them.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::catalog::ErrorInfo;

/// A source of "now" for `time`, the `Date` header, timestamps and expiries.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The machine clock, optionally shifted (`--clock-skew`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock {
    skew_ms: i64,
}

impl SystemClock {
    /// A clock shifted by `skew_ms` milliseconds (negative = behind).
    #[must_use]
    pub fn with_skew_ms(skew_ms: i64) -> Self {
        Self { skew_ms }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        shift(SystemTime::now(), self.skew_ms)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    #[must_use]
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A clock stopped at `secs` seconds after the Unix epoch.
    #[must_use]
    pub fn at_unix(secs: u64) -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now += by;
        }
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        if let Ok(mut now) = self.now.lock() {
            *now = to;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        self.now.lock().map_or(SystemTime::UNIX_EPOCH, |n| *n)
    }
}

fn shift(t: SystemTime, ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        t.checked_add(d).unwrap_or(t)
    } else {
        t.checked_sub(d).unwrap_or(t)
    }
}

/// Where generated `callId`s come from.
#[derive(Debug)]
pub enum CallIds {
    /// Random ids (the default).
    Random,
    /// A reproducible sequence from a seed.
    Seeded(Mutex<fastrand::Rng>),
}

impl CallIds {
    /// A seeded, reproducible source.
    #[must_use]
    pub fn seeded(seed: u64) -> Self {
        Self::Seeded(Mutex::new(fastrand::Rng::with_seed(seed)))
    }

    /// A fresh 32-character lowercase hex id.
    #[must_use]
    pub fn next(&self) -> String {
        let (a, b) = match self {
            CallIds::Random => (fastrand::u64(..), fastrand::u64(..)),
            CallIds::Seeded(rng) => match rng.lock() {
                Ok(mut r) => (r.u64(..), r.u64(..)),
                Err(_) => (fastrand::u64(..), fastrand::u64(..)),
            },
        };
        let mut id = [0u8; 32];
        let (high, low) = id.split_at_mut(16);
        hex_into(high, a);
        hex_into(low, b);
        std::str::from_utf8(&id)
            .map(str::to_owned)
            .unwrap_or_default()
    }
}

/// Writes `n` as lowercase hex digits into `out` (16 of them for a whole `u64`).
fn hex_into(out: &mut [u8], n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, digit) in out.iter_mut().rev().enumerate() {
        *digit = HEX[((n >> (i * 4)) & 0xf) as usize];
    }
}

/// Formats `time` the way Gigya does: UTC, ISO-8601, milliseconds, `Z`.
#[must_use]
pub fn format_time(t: SystemTime) -> String {
    let mut out = String::with_capacity(24);
    push_time(&mut out, t);
    out
}

/// Appends `time` as [`format_time`] writes it. Every answer carries one, so the common case
/// (1970 to 9999) is written digit by digit; chrono handles the rest.
fn push_time(out: &mut String, t: SystemTime) {
    let since_epoch = t.duration_since(SystemTime::UNIX_EPOCH).ok();
    let Some(d) = since_epoch.filter(|d| d.as_secs() < 253_402_300_800) else {
        let dt: chrono::DateTime<chrono::Utc> = t.into();
        out.push_str(&dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        return;
    };
    let (secs, ms) = (d.as_secs(), d.subsec_millis());
    // The text up to the seconds changes once a second: it is kept per thread.
    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> =
            const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    SECOND.with_borrow_mut(|(at, text)| {
        if *at != secs {
            text.clear();
            push_second(text, secs);
            *at = secs;
        }
        out.push_str(text);
    });
    push_digits(out, u64::from(ms), 3);
    out.push('Z');
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u64, width: u32) {
    for i in (0..width).rev() {
        let digit = (n / 10u64.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.` for a second since the epoch.
fn push_second(out: &mut String, secs: u64) {
    const SECS_PER_DAY: u64 = 86_400;
    let (year, month, day) = civil_from_days(secs / SECS_PER_DAY);
    let of_day = secs % SECS_PER_DAY;
    push_digits(out, u64::from(year), 4);
    out.push('-');
    push_digits(out, u64::from(month), 2);
    out.push('-');
    push_digits(out, u64::from(day), 2);
    out.push('T');
    push_digits(out, of_day / 3600, 2);
    out.push(':');
    push_digits(out, of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, of_day % 60, 2);
    out.push('.');
}

/// Year, month and day of a day count since 1970-01-01 (proleptic Gregorian calendar; the
/// "days from civil" inverse of Howard Hinnant's date algorithms).
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// Formats an RFC 1123 `Date` header value.
#[must_use]
pub fn format_http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// The `Date` header for `t`. It only changes once a second, so each thread keeps the last
/// one it made.
#[must_use]
pub fn http_date_header(t: SystemTime) -> Option<http::HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(SystemTime, http::HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    let second = t.duration_since(SystemTime::UNIX_EPOCH).map_or(t, |d| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs())
    });
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((at, value)) = last.as_ref() {
            if *at == second {
                return Some(value.clone());
            }
        }
        let value = http::HeaderValue::from_str(&format_http_date(t)).ok()?;
        *last = Some((second, value.clone()));
        Some(value)
    })
}

/// How the body is wrapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Plain JSON.
    Json,
    /// `callback(<json>);`
    Jsonp(String),
}

/// Everything that goes into one envelope.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The `callId`.
    pub call_id: &'a str,
    /// Code, message, status code and reason.
    pub info: ErrorInfo,
    /// `errorMessage` override.
    pub message: Option<&'a str>,
    /// `statusReason` override.
    pub status_reason: Option<&'a str>,
    /// `errorDetails`.
    pub details: Option<&'a str>,
    /// `validationErrors`, already rendered as a JSON array.
    pub validation_errors: Option<&'a str>,
    /// Method data: JSON object members without braces (`"UID":"u1","x":1`).
    pub fields: Option<&'a str>,
    /// Method data built at request time.
    pub dynamic_fields: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The echoed `context`.
    pub context: Option<&'a str>,
    /// The `time` field.
    pub time: SystemTime,
    /// A fixed `time` text used instead of `time` (recorded answers).
    pub time_text: Option<&'a str>,
    /// [`Envelope::middle`], rendered before (a stub's answer renders it once).
    pub middle: Option<&'a str>,
}

impl Envelope<'_> {
    /// Renders the JSON object.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            160 + self.middle.map_or(96, str::len) + self.fields.map_or(0, str::len),
        );
        out.push_str("{\"callId\":");
        push_json_str(&mut out, self.call_id);
        if let Some(ctx) = self.context {
            out.push_str(",\"context\":");
            push_json_str(&mut out, ctx);
        }
        match self.middle {
            Some(middle) => out.push_str(middle),
            None => self.push_middle(&mut out),
        }
        out.push_str(",\"time\":\"");
        match self.time_text {
            Some(text) => out.push_str(text),
            None => push_time(&mut out, self.time),
        }
        out.push('"');
        if let Some(fields) = self.fields.filter(|f| !f.is_empty()) {
            out.push(',');
            out.push_str(fields);
        }
        if let Some(map) = self.dynamic_fields {
            for (k, v) in map {
                out.push(',');
                push_json_str(&mut out, k);
                out.push(':');
                out.push_str(&v.to_string());
            }
        }
        out.push('}');
        out
    }

    /// The members between `callId` (and `context`) and `time`: `errorCode` through
    /// `statusReason`. They depend only on the answer, not on the request or the clock.
    #[must_use]
    pub fn middle(&self) -> String {
        let mut out = String::with_capacity(96);
        self.push_middle(&mut out);
        out
    }

    fn push_middle(&self, out: &mut String) {
        out.push_str(",\"errorCode\":");
        push_number(out, u64::from(self.info.code));
        if self.info.code != 0 {
            if let Some(details) = self.details {
                out.push_str(",\"errorDetails\":");
                push_json_str(out, details);
            }
            out.push_str(",\"errorMessage\":");
            push_json_str(out, self.message.unwrap_or(self.info.message));
        }
        if let Some(v) = self.validation_errors {
            out.push_str(",\"validationErrors\":");
            out.push_str(v);
        }
        out.push_str(",\"apiVersion\":2,\"statusCode\":");
        push_number(out, u64::from(self.info.status_code));
        out.push_str(",\"statusReason\":");
        push_json_str(out, self.status_reason.unwrap_or(self.info.status_reason));
    }

    /// Renders the body for a format.
    #[must_use]
    pub fn render(&self, format: &Format) -> String {
        match format {
            Format::Json => self.to_json(),
            Format::Jsonp(cb) => format!("{cb}({});", self.to_json()),
        }
    }
}

/// Top-level fields the envelope owns: a stub's body, a rendered template or a recorded answer
/// never sets them as method data.
pub const ENVELOPE_FIELDS: &[&str] = &[
    "callId",
    "errorCode",
    "errorMessage",
    "errorDetails",
    "statusCode",
    "statusReason",
    "validationErrors",
    "time",
    "apiVersion",
    "context",
];

/// The content type of JSONP answers.
pub const JSONP_CONTENT_TYPE: &str = "text/javascript; charset=utf-8";

/// The default content type of JSON answers.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";

/// Appends a number in decimal.
fn push_number(out: &mut String, n: u64) {
    let mut digits = 1;
    while digits < 20 && n >= 10u64.pow(digits) {
        digits += 1;
    }
    push_digits(out, n, digits);
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape at all: they are checked eight bytes at a time.
    if !needs_json_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut rest = s;
    // Copy the runs that need no escaping in one go.
    while let Some(i) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20)
    {
        out.push_str(rest.get(..i).unwrap_or_default());
        rest = rest.get(i..).unwrap_or_default();
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push_str(rest);
    out.push('"');
}

/// Whether `bytes` hold a `"`, a `\\` or a control character (below 0x20).
fn needs_json_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The top bit of every byte of `w` that is zero, exactly (no borrow between bytes).
    let zero = |w: u64| !(((w & LOW).wrapping_add(LOW)) | w | LOW);
    // The top bit of every byte below 0x20 (bytes of 0x80 and up are not below it).
    let below_space = |w: u64| !(((w & LOW).wrapping_add(ONES * (0x80 - 0x20))) | w | LOW);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            return true;
        };
        let w = u64::from_le_bytes(word);
        if (zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | below_space(w))
            & HIGH
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Whether `cb` is a safe JSONP callback name (identifiers joined by dots, at most 128 chars).
#[must_use]
pub fn valid_callback(cb: &str) -> bool {
    !cb.is_empty()
        && cb.len() <= 128
        && cb.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gigya::catalog::describe;

    fn env(code: u32) -> Envelope<'static> {
        Envelope {
            call_id: "0123456789abcdef0123456789abcdef",
            info: describe(code),
            message: None,
            status_reason: None,
            details: None,
            validation_errors: None,
            fields: None,
            dynamic_fields: None,
            context: None,
            time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            time_text: None,
            middle: None,
        }
    }

    #[test]
    fn escapes_are_found_at_every_offset_for_every_byte() {
        let naive = |b: &[u8]| b.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20);
        for len in 1..20 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    for fill in [b'a', 0xC3, 0x21, 0x7F] {
                        let mut v = vec![fill; len];
                        v[at] = byte;
                        assert_eq!(needs_json_escape(&v), naive(&v), "{v:?}");
                    }
                }
            }
        }
        let mut out = String::new();
        push_json_str(&mut out, "plain text, long enough for words é");
        assert_eq!(out, "\"plain text, long enough for words é\"");
    }

    #[test]
    fn a_middle_rendered_before_gives_the_same_envelope() {
        for code in [0, 400_002, 403_042] {
            let mut e = env(code);
            e.details = Some("line\n\"two\"");
            e.context = Some("ctx");
            e.fields = Some(r#""UID":"u1""#);
            e.validation_errors = Some(r#"[{"errorCode":400009}]"#);
            let fresh = e.to_json();
            let middle = e.middle();
            e.middle = Some(&middle);
            assert_eq!(e.to_json(), fresh);
            assert!(fresh.contains(&middle), "{fresh}");
        }
    }

    #[test]
    fn success_has_no_error_fields() {
        let json = env(0).to_json();
        assert_eq!(
            json,
            r#"{"callId":"0123456789abcdef0123456789abcdef","errorCode":0,"apiVersion":2,"statusCode":200,"statusReason":"OK","time":"2023-11-14T22:13:20.123Z"}"#
        );
    }

    #[test]
    fn errors_carry_message_details_and_status() {
        let mut e = env(400002);
        e.details = Some("Missing required parameter : UID");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["errorCode"], 400002);
        assert_eq!(v["errorMessage"], "Missing required parameter");
        assert_eq!(v["errorDetails"], "Missing required parameter : UID");
        assert_eq!(v["statusCode"], 400);
        assert_eq!(v["statusReason"], "Bad Request");
    }

    #[test]
    fn fields_context_and_overrides_are_included() {
        let mut e = env(403048);
        e.fields = Some(r#""UID":"u-1""#);
        e.context = Some("R\"1");
        e.message = Some("Slow down");
        e.status_reason = Some("Too Many");
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["UID"], "u-1");
        assert_eq!(v["context"], "R\"1");
        assert_eq!(v["errorMessage"], "Slow down");
        assert_eq!(v["statusReason"], "Too Many");
    }

    #[test]
    fn time_is_written_like_chrono_writes_it() {
        let chrono_time = |t: SystemTime| {
            let dt: chrono::DateTime<chrono::Utc> = t.into();
            dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        };
        let mut rng = fastrand::Rng::with_seed(11);
        let leap_days = [
            951_782_400_000,
            951_868_799_999,
            4_107_542_399_999,
            253_402_300_799_999,
        ];
        let samples = (0..20_000)
            .map(|_| rng.u64(..253_402_300_800_000))
            .chain([0, 1, 999, 86_399_999, 1_700_000_000_123])
            // The same second again (kept text), the next one, and back.
            .chain([1_700_000_000_999, 1_700_000_001_000, 1_700_000_000_001])
            .chain(leap_days);
        for ms in samples {
            let t = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
            assert_eq!(format_time(t), chrono_time(t), "{ms} ms");
        }
        let before_1970 = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(format_time(before_1970), "1969-12-31T23:59:58.500Z");
    }

    #[test]
    fn codes_and_dates_render_as_text() {
        let mut out = String::new();
        for n in [0, 7, 10, 200, 403_007, u64::from(u32::MAX)] {
            out.clear();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        let date = http_date_header(t).unwrap();
        assert_eq!(date, "Tue, 14 Nov 2023 22:13:20 GMT");
        // The cached value is only reused within the same second.
        let next = http_date_header(t + Duration::from_millis(1)).unwrap();
        assert_eq!(next, "Tue, 14 Nov 2023 22:13:21 GMT");
    }

    #[test]
    fn jsonp_wraps_the_body() {
        let body = env(0).render(&Format::Jsonp("gigya.cb".into()));
        assert!(body.starts_with("gigya.cb({\"callId\""));
        assert!(body.ends_with("});"));
        assert!(env(0).render(&Format::Json).starts_with('{'));
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut s = String::new();
        push_json_str(&mut s, "a\u{1}\n\"\\");
        assert_eq!(s, r#""a\u0001\n\"\\""#);
        s.clear();
        push_json_str(&mut s, "Zoë \"x\"\tend");
        assert_eq!(s, r#""Zoë \"x\"\tend""#);
    }

    #[test]
    fn callbacks_are_checked() {
        assert!(valid_callback("gigya.callback"));
        assert!(valid_callback("$jq_1"));
        assert!(!valid_callback("alert(1)"));
        assert!(!valid_callback("a..b"));
        assert!(!valid_callback(""));
        assert!(!valid_callback(&"a".repeat(129)));
    }

    #[test]
    fn call_ids_are_32_lowercase_hex_and_seedable() {
        let id = CallIds::Random.next();
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(CallIds::seeded(7).next(), CallIds::seeded(7).next());
    }

    #[test]
    fn clocks_skew_and_advance() {
        let c = ManualClock::at_unix(100);
        c.advance(Duration::from_secs(5));
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(105));
        let behind = SystemClock::with_skew_ms(-60_000).now();
        assert!(behind < SystemTime::now() - Duration::from_secs(50));
        assert_eq!(
            format_http_date(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}
