//! The functions a template can call: `uuid()`, `call_id()`, `now(offset=, format=)`,
//! `random_int(min, max)` and `random_string(len)`, and the per-render state they read.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minijinja::value::{Kwargs, Object};
use minijinja::{Error, ErrorKind, State, Value};

use super::RENDER_STATE;

/// The longest `random_string`.
const MAX_RANDOM_STRING: usize = 4096;

/// The per-render state the functions read.
#[derive(Debug)]
pub(super) struct RenderState {
    pub(super) call_id: String,
    pub(super) now: SystemTime,
    pub(super) rng: Arc<Mutex<fastrand::Rng>>,
}

impl Object for RenderState {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }
}

fn render_state(state: &State<'_, '_>) -> Result<Arc<RenderState>, Error> {
    state
        .lookup(RENDER_STATE)
        .and_then(|v| v.downcast_object::<RenderState>())
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "no request to render for"))
}

fn with_rng<T>(state: &State<'_, '_>, f: impl FnOnce(&mut fastrand::Rng) -> T) -> Result<T, Error> {
    let rs = render_state(state)?;
    let mut rng = rs
        .rng
        .lock()
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "random source unavailable"))?;
    Ok(f(&mut rng))
}

pub(super) fn fn_uuid(state: &State<'_, '_>) -> Result<String, Error> {
    let (a, b) = with_rng(state, |r| (r.u64(..), r.u64(..)))?;
    // Version 4, variant 1.
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    Ok(format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    ))
}

pub(super) fn fn_call_id(state: &State<'_, '_>) -> Result<String, Error> {
    Ok(render_state(state)?.call_id.clone())
}

pub(super) fn fn_random_int(state: &State<'_, '_>, min: i64, max: i64) -> Result<i64, Error> {
    if min > max {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("random_int({min}, {max}): min is larger than max"),
        ));
    }
    with_rng(state, |r| r.i64(min..=max))
}

pub(super) fn fn_random_string(state: &State<'_, '_>, len: usize) -> Result<String, Error> {
    if len > MAX_RANDOM_STRING {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("random_string({len}): at most {MAX_RANDOM_STRING} characters"),
        ));
    }
    with_rng(state, |r| {
        std::iter::repeat_with(|| r.alphanumeric())
            .take(len)
            .collect()
    })
}

pub(super) fn fn_now(state: &State<'_, '_>, kwargs: Kwargs) -> Result<Value, Error> {
    let offset: Option<String> = kwargs.get("offset")?;
    let format: Option<String> = kwargs.get("format")?;
    kwargs.assert_all_used()?;
    let now = render_state(state)?.now;
    let ms = match offset.as_deref() {
        None => 0,
        Some(o) => parse_offset(o).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("now(offset={o:?}): expected a signed duration such as -1h, +30m, 7d, 90s or 500ms"),
            )
        })?,
    };
    let shifted = shift(now, ms);
    let dt: chrono::DateTime<chrono::Utc> = shifted.into();
    Ok(match format.as_deref() {
        None | Some("iso") => Value::from(crate::gigya::envelope::format_time(shifted)),
        Some("unix") => Value::from(dt.timestamp()),
        Some("unix_ms") => Value::from(dt.timestamp_millis()),
        Some("http") => Value::from(crate::gigya::envelope::format_http_date(shifted)),
        Some(f) => {
            use chrono::format::{Item, StrftimeItems};
            let items: Vec<Item<'_>> = StrftimeItems::new(f).collect();
            if items.iter().any(|i| matches!(i, Item::Error)) {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "now(format={f:?}): not a strftime format (e.g. %Y-%m-%d) nor iso, unix, unix_ms or http"
                    ),
                ));
            }
            let mut out = String::new();
            use std::fmt::Write as _;
            write!(out, "{}", dt.format_with_items(items.into_iter())).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("now(format={f:?}) failed"),
                )
            })?;
            Value::from(out)
        }
    })
}

/// `-1h`, `+30m`, `7d`, `90s`, `500ms` → milliseconds.
fn parse_offset(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    let ms = n.checked_mul(mult)?;
    Some(if neg { -ms } else { ms })
}

fn shift(t: SystemTime, ms: i64) -> SystemTime {
    let d = std::time::Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        t.checked_add(d).unwrap_or(t)
    } else {
        t.checked_sub(d).unwrap_or(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("-1h"), Some(-3_600_000));
        assert_eq!(parse_offset("+30m"), Some(1_800_000));
        assert_eq!(parse_offset("7d"), Some(604_800_000));
        assert_eq!(parse_offset("500ms"), Some(500));
        assert_eq!(parse_offset("1y"), None);
        assert_eq!(parse_offset("h"), None);
    }
}
