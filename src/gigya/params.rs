//! Request parameters: decoding a query string or form body into one case-insensitive map.
//!
//! Gigya clients send parameters in the query string, in an
//! `application/x-www-form-urlencoded` body, or both. Decoding is strict: `+` is a space, `%XX`
//! must be two hex digits, and the result must be UTF-8 — anything else is reported with the
//! offending parameter and byte offset, so the server can answer with a precise Gigya error.
//! Names are kept exactly as received (signatures need them) but looked up case-insensitively
//! (`UID`/`uid`, `apiKey`/`APIKey`). JSON-valued parameters are parsed on first use and cached.

mod form;
mod merge;

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use form::{decode_checked, decode_into, name_at};
use merge::{KnownNames, Merge};

/// A text's JSON parse, made on first use (boxed: most texts are never parsed, and the cell
/// stays one word).
pub type JsonCell = OnceLock<Option<Box<serde_json::Value>>>;

/// The JSON value of `text`, parsed into `cell` the first time.
pub fn cached_json<'a>(cell: &'a JsonCell, text: &str) -> Option<&'a serde_json::Value> {
    cell.get_or_init(|| serde_json::from_str(text).ok().map(Box::new))
        .as_deref()
}

/// Where a parameter came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The URL query string.
    Query,
    /// The form-encoded request body.
    Body,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Query => "query string",
            Source::Body => "request body",
        })
    }
}

/// What to do when the same parameter name arrives in both the query string and the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// The body value is used (the default).
    #[default]
    BodyWins,
    /// The query-string value is used.
    QueryWins,
    /// The request is rejected.
    Reject,
}

/// A decoding failure, precise enough to tell the client what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits.
    #[error(
        "bad percent-encoding in the {location} at byte {offset}: '%' must be followed by two hex digits"
    )]
    BadPercent {
        /// Where the bad escape is.
        location: Source,
        /// Byte offset of the `%` within that source.
        offset: usize,
    },
    /// Decoded bytes that are not UTF-8.
    #[error("parameter '{name}' in the {location} is not valid UTF-8 after percent-decoding")]
    InvalidUtf8 {
        /// Where the parameter is.
        location: Source,
        /// The parameter name (lossily decoded).
        name: String,
    },
    /// The raw body itself is not UTF-8.
    #[error("the {location} is not valid UTF-8 (first bad byte at offset {offset})")]
    RawNotUtf8 {
        /// Where the bytes are.
        location: Source,
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The same parameter in query and body under [`ConflictPolicy::Reject`].
    #[error("parameter '{name}' appears in both the query string and the request body")]
    Conflict {
        /// The duplicated name.
        name: String,
    },
}

/// Where one parameter's name and value sit in the set's text.
#[derive(Debug)]
struct Slot {
    /// The name as it arrived.
    name: Range<usize>,
    /// The decoded name, when it had escapes.
    name_decoded: Option<Box<str>>,
    /// The value as it arrived (still form-encoded unless `plain`).
    value: Range<usize>,
    /// The value has no `%` or `+`: the text is the value.
    plain: bool,
    /// The decoded value of an encoded one, made on first use (or at once when it has to be
    /// checked for UTF-8).
    decoded: OnceLock<Box<str>>,
    source: Source,
    json: JsonCell,
}

impl Slot {
    #[inline]
    fn name_of<'a>(&'a self, text: &'a str) -> &'a str {
        match &self.name_decoded {
            Some(name) => name,
            None => text.get(self.name.clone()).unwrap_or_default(),
        }
    }
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            name_decoded: self.name_decoded.clone(),
            value: self.value.clone(),
            plain: self.plain,
            decoded: self.decoded.clone(),
            source: self.source,
            json: OnceLock::new(),
        }
    }
}

/// One decoded parameter: a view into its [`Params`].
#[derive(Debug, Clone, Copy)]
pub struct Param<'a> {
    text: &'a str,
    slot: &'a Slot,
}

impl<'a> Param<'a> {
    /// The name exactly as received.
    #[must_use]
    pub fn name(self) -> &'a str {
        self.slot.name_of(self.text)
    }

    /// The decoded value.
    #[must_use]
    pub fn value(self) -> &'a str {
        let raw = self.text.get(self.slot.value.clone()).unwrap_or_default();
        if self.slot.plain {
            return raw;
        }
        self.slot
            .decoded
            .get_or_init(|| decode_checked(raw.as_bytes()).into_boxed_str())
    }

    /// Where it came from.
    #[must_use]
    pub fn source(self) -> Source {
        self.slot.source
    }

    /// The cache behind [`Param::json`], for matchers that share it.
    #[must_use]
    pub fn json_cell(self) -> &'a JsonCell {
        &self.slot.json
    }

    /// The value parsed as JSON, or `None` when it is not JSON. Parsed once, then cached.
    #[must_use]
    pub fn json(self) -> Option<&'a serde_json::Value> {
        cached_json(&self.slot.json, self.value())
    }
}

/// The merged parameter set of one request.
///
/// The query string and the body are kept as they arrived, in one text; decoding checks every
/// escape at once (so a malformed request is refused whole) but writes a decoded copy only of
/// the names and values that need one, and of values only when they are first read.
/// [`Param`]s are views into the set.
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: String,
    slots: Vec<Slot>,
    /// Where [`Params::get`] finds each of [`KNOWN`]: slot index + 1, 0 when absent.
    known: [u8; KNOWN.len()],
}

/// Names looked up on (nearly) every request; where they are is worked out once per set.
const KNOWN: [&str; 6] = [
    "UID",
    "apiKey",
    "format",
    "callback",
    "context",
    "httpStatusCodes",
];

/// A [`KNOWN`] entry meaning "search": the set has too many slots to index in a byte.
const SEARCH: u8 = u8::MAX;

/// The position of `name` in [`KNOWN`].
#[inline]
fn known_index(name: &str) -> Option<usize> {
    match name {
        "UID" => Some(0),
        "apiKey" => Some(1),
        "format" => Some(2),
        "callback" => Some(3),
        "context" => Some(4),
        "httpStatusCodes" => Some(5),
        _ => None,
    }
}

impl Params {
    /// Decodes and merges a query string and a form body.
    ///
    /// # Errors
    /// Bad percent-encoding, non-UTF-8 values, or a rejected query/body conflict.
    pub fn decode(
        query: Option<&str>,
        body: Option<&[u8]>,
        policy: ConflictPolicy,
    ) -> Result<Self, DecodeError> {
        let body = match body.map(std::str::from_utf8) {
            None => None,
            Some(Ok(text)) => Some(text),
            Some(Err(e)) => {
                let raw = body.unwrap_or_default();
                return Err(DecodeError::InvalidUtf8 {
                    location: Source::Body,
                    name: name_at(raw, e.valid_up_to()),
                });
            }
        };
        Self::decode_text(query, body, policy)
    }

    /// [`Params::decode`] for a body already known to be text.
    ///
    /// # Errors
    /// Bad percent-encoding, non-UTF-8 values, or a rejected query/body conflict.
    pub fn decode_text(
        query: Option<&str>,
        body: Option<&str>,
        policy: ConflictPolicy,
    ) -> Result<Self, DecodeError> {
        let (query_len, body_len) = (query.map_or(0, str::len), body.map_or(0, str::len));
        let mut text = String::with_capacity(query_len + body_len);
        text.push_str(query.unwrap_or_default());
        text.push_str(body.unwrap_or_default());
        let mut merge = Merge::new(policy);
        if query.is_some() {
            decode_into(&text, 0..query_len, Source::Query, &mut merge)?;
        }
        if body.is_some() {
            decode_into(
                &text,
                query_len..query_len + body_len,
                Source::Body,
                &mut merge,
            )?;
        }
        Ok(Self {
            text,
            known: merge.known.finish(merge.slots.len()),
            slots: merge.slots,
        })
    }

    /// Builds a parameter set from decoded pairs (tests, the library API).
    #[must_use]
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut out = Self::default();
        let mut known = KnownNames::default();
        for (k, v) in pairs {
            let start = out.text.len();
            out.text.push_str(&k.into());
            let middle = out.text.len();
            known.note(
                out.text.get(start..middle).unwrap_or_default(),
                out.slots.len(),
            );
            out.text.push_str(&v.into());
            out.slots.push(Slot {
                name: start..middle,
                name_decoded: None,
                value: middle..out.text.len(),
                plain: true,
                decoded: OnceLock::new(),
                source: Source::Body,
                json: OnceLock::new(),
            });
        }
        out.known = known.finish(out.slots.len());
        out
    }

    fn view<'a>(&'a self, slot: &'a Slot) -> Param<'a> {
        Param {
            text: &self.text,
            slot,
        }
    }

    /// Looks a parameter up: an exact-case match first, then a case-insensitive one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Param<'_>> {
        if let Some(k) = known_index(name) {
            match self.known.get(k).copied().unwrap_or(SEARCH) {
                0 => return None,
                SEARCH => {}
                at => return self.slots.get(usize::from(at) - 1).map(|s| self.view(s)),
            }
        }
        self.get_by_search(name)
    }

    /// [`Params::get`] by walking the slots.
    fn get_by_search(&self, name: &str) -> Option<Param<'_>> {
        // One pass: names of another length are skipped at once; the first name equal but
        // for case is kept in case no exact match follows.
        let mut folded = None;
        for slot in &self.slots {
            if slot.name_decoded.is_none() && slot.name.len() != name.len() {
                continue;
            }
            let p = self.view(slot);
            if p.name() == name {
                return Some(p);
            }
            if folded.is_none() && p.name().eq_ignore_ascii_case(name) {
                folded = Some(p);
            }
        }
        folded
    }

    /// The value of a parameter, looked up as [`Params::get`] does.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(Param::value)
    }

    /// Every parameter, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'_>> {
        self.slots.iter().map(|s| self.view(s))
    }

    /// Number of parameters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

/// Parameters whose value is JSON text (an object sent inside one form field).
pub const JSON_PARAMS: &[&str] = &[
    "profile",
    "data",
    "userInfo",
    "settings",
    "subscriptions",
    "preferences",
    "rba",
    "communications",
    "customIdentifiers",
    "internal",
];

impl Params {
    /// The first JSON-valued parameter (see [`JSON_PARAMS`]) whose text is not valid JSON,
    /// with the parser's complaint.
    #[must_use]
    pub fn invalid_json_param(&self) -> Option<(&str, String)> {
        self.invalid_json_param_except(&[])
    }

    /// As [`Params::invalid_json_param`], ignoring the parameters named in `skip` (methods
    /// where such a name is not JSON, e.g. the `settings` name list of
    /// `socialize.getUserSettings`).
    #[must_use]
    pub fn invalid_json_param_except(&self, skip: &[&str]) -> Option<(&str, String)> {
        self.iter().find_map(|p| {
            let is_json_param = JSON_PARAMS.iter().any(|n| n.eq_ignore_ascii_case(p.name()))
                && !skip.iter().any(|n| n.eq_ignore_ascii_case(p.name()));
            if !is_json_param || p.value().trim().is_empty() || p.json().is_some() {
                return None;
            }
            let err = serde_json::from_str::<serde::de::IgnoredAny>(p.value())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            Some((p.name(), err))
        })
    }
}

/// Reads a Gigya boolean leniently: `true`/`false`/`1`/`0` in any case.
#[must_use]
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a query and a form body, the body winning.
    pub(super) fn decode(q: Option<&str>, b: Option<&str>) -> Result<Params, DecodeError> {
        Params::decode(q, b.map(str::as_bytes), ConflictPolicy::BodyWins)
    }

    #[test]
    fn names_are_case_insensitive_but_kept_as_sent() {
        let p = decode(Some("uid=u-1&APIKey=k"), None).unwrap();
        assert_eq!(p.value("UID"), Some("u-1"));
        assert_eq!(p.value("apiKey"), Some("k"));
        assert_eq!(p.get("UID").map(Param::name), Some("uid"));
    }

    #[test]
    fn exact_case_wins_over_other_case() {
        let p = decode(Some("uid=lower&UID=upper"), None).unwrap();
        assert_eq!(p.value("UID"), Some("upper"));
        assert_eq!(p.value("uid"), Some("lower"));
        let p = decode(Some("uid=lower&Format=json&a%62=1"), None).unwrap();
        assert_eq!(p.value("UID"), Some("lower"));
        assert_eq!(p.value("format"), Some("json"));
        assert_eq!(
            p.value("ab"),
            Some("1"),
            "escaped names are looked up decoded"
        );
        assert_eq!(p.value("none"), None);
    }

    #[test]
    fn well_known_names_are_found_as_a_search_finds_them() {
        let many = (0..300)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&");
        for raw in [
            "uid=a&UID=b&ApiKey=k".to_owned(),
            "UID=b&uid=a&Format=jsonp&format=json".to_owned(),
            "CONTEXT=c&httpstatuscodes=true&callBack=cb".to_owned(),
            "other=1".to_owned(),
            format!("{many}&uid=late&apikey=k"),
        ] {
            let p = decode(None, Some(&raw)).unwrap();
            for name in KNOWN {
                assert_eq!(
                    p.get(name).map(|v| (v.name(), v.value())),
                    p.get_by_search(name).map(|v| (v.name(), v.value())),
                    "{name} in {raw}"
                );
            }
        }
        let p = decode(Some("UID=q"), Some("uid=b")).unwrap();
        assert_eq!(p.value("UID"), Some("q"));
        assert_eq!(Params::from_pairs([("UID", "x")]).value("uid"), Some("x"));
        assert_eq!(Params::from_pairs([("uid", "x")]).value("UID"), Some("x"));
    }

    #[test]
    fn json_values_are_parsed_on_demand() {
        let p = decode(None, Some("data=%7B%22tier%22%3A%22gold%22%7D&bad=%7B")).unwrap();
        assert_eq!(p.get("data").unwrap().json().unwrap()["tier"], "gold");
        assert!(p.get("bad").unwrap().json().is_none());
    }

    #[test]
    fn invalid_json_params_are_named() {
        let p = decode(None, Some("UID=x&Profile=%7Bnope&other=%7B")).unwrap();
        let (name, why) = p.invalid_json_param().unwrap();
        assert_eq!(name, "Profile");
        assert!(why.contains("line 1"), "{why}");
        let ok = decode(None, Some("data=%7B%7D&profile=")).unwrap();
        assert!(ok.invalid_json_param().is_none());
    }

    #[test]
    fn booleans_are_lenient() {
        for t in ["true", "True", "TRUE", "1"] {
            assert_eq!(parse_bool(t), Some(true));
        }
        for f in ["false", "False", "0"] {
            assert_eq!(parse_bool(f), Some(false));
        }
        assert_eq!(parse_bool("yes"), None);
    }
}
