//! Request parameters: decoding a query string or form body into one case-insensitive map.
//!
//! Gigya clients send parameters in the query string, in an
//! `application/x-www-form-urlencoded` body, or both. Decoding is strict: `+` is a space, `%XX`
//! must be two hex digits, and the result must be UTF-8 — anything else is reported with the
//! offending parameter and byte offset, so the server can answer with a precise Gigya error.
//! Names are kept exactly as received (signatures need them) but looked up case-insensitively
//! (`UID`/`uid`, `apiKey`/`APIKey`). JSON-valued parameters are parsed on first use and cached.

use std::fmt;
use std::sync::OnceLock;

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

/// One decoded parameter.
#[derive(Debug)]
pub struct Param {
    /// Name and value in one buffer (one allocation per parameter): the name is the first
    /// `name_len` bytes.
    text: String,
    name_len: usize,
    source: Source,
    json: OnceLock<Option<serde_json::Value>>,
}

impl Clone for Param {
    fn clone(&self) -> Self {
        Self {
            text: self.text.clone(),
            name_len: self.name_len,
            source: self.source,
            json: OnceLock::new(),
        }
    }
}

impl Param {
    /// A parameter from already-decoded text.
    #[must_use]
    pub fn new(name: impl Into<String>, value: impl Into<String>, source: Source) -> Self {
        let mut text: String = name.into();
        let name_len = text.len();
        text.push_str(&value.into());
        Self {
            text,
            name_len,
            source,
            json: OnceLock::new(),
        }
    }

    /// The name exactly as received.
    #[must_use]
    pub fn name(&self) -> &str {
        self.text.get(..self.name_len).unwrap_or_default()
    }

    /// The decoded value.
    #[must_use]
    pub fn value(&self) -> &str {
        self.text.get(self.name_len..).unwrap_or_default()
    }

    /// Where it came from.
    #[must_use]
    pub fn source(&self) -> Source {
        self.source
    }

    /// The cache behind [`Param::json`], for matchers that share it.
    #[must_use]
    pub fn json_cell(&self) -> &OnceLock<Option<serde_json::Value>> {
        &self.json
    }

    /// The value parsed as JSON, or `None` when it is not JSON. Parsed once, then cached.
    #[must_use]
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.json
            .get_or_init(|| serde_json::from_str(self.value()).ok())
            .as_ref()
    }
}

/// The merged parameter set of one request.
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<Param>,
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
        let query = query.map(str::as_bytes);
        let mut merge = Merge {
            entries: Vec::with_capacity(expected_count(query) + expected_count(body)),
            names: None,
            policy,
        };
        if let Some(q) = query {
            decode_into(q, Source::Query, &mut merge)?;
        }
        if let Some(b) = body {
            decode_into(b, Source::Body, &mut merge)?;
        }
        Ok(Self {
            entries: merge.entries,
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
        Self {
            entries: pairs
                .into_iter()
                .map(|(k, v)| Param::new(k, v, Source::Body))
                .collect(),
        }
    }

    /// Looks a parameter up: an exact-case match first, then a case-insensitive one.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.entries.iter().find(|p| p.name() == name).or_else(|| {
            self.entries
                .iter()
                .find(|p| p.name().eq_ignore_ascii_case(name))
        })
    }

    /// The value of a parameter, looked up as [`Params::get`] does.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(Param::value)
    }

    /// Every parameter, in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.entries.iter()
    }

    /// Number of parameters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
        self.entries.iter().find_map(|p| {
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

/// Room for the parameters of a source: one more than its `&`s, within reason.
fn expected_count(raw: Option<&[u8]>) -> usize {
    raw.map_or(0, |r| r.iter().filter(|b| **b == b'&').count() + 1)
        .min(64)
}

/// The parameters decoded so far, and how to add one.
struct Merge {
    entries: Vec<Param>,
    /// Name → position, built once there are too many parameters to search one by one (so a
    /// body of 100,000 names costs linear time, not quadratic).
    names: Option<std::collections::HashMap<String, usize>>,
    policy: ConflictPolicy,
}

impl Merge {
    /// Parameters searched one by one before the name map is built.
    const LINEAR: usize = 16;

    fn position(&mut self, name: &str) -> Option<usize> {
        if self.entries.len() <= Self::LINEAR {
            return self.entries.iter().position(|p| p.name() == name);
        }
        let entries = &self.entries;
        self.names
            .get_or_insert_with(|| {
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.name().to_owned(), i))
                    .collect()
            })
            .get(name)
            .copied()
    }

    /// Adds a parameter: a name repeated within one source keeps its place and takes the last
    /// value; a body parameter also in the query follows the conflict policy.
    fn add(&mut self, param: Param) -> Result<(), DecodeError> {
        let Some(i) = self.position(param.name()) else {
            if let Some(names) = &mut self.names {
                names.insert(param.name().to_owned(), self.entries.len());
            }
            self.entries.push(param);
            return Ok(());
        };
        let Some(slot) = self.entries.get_mut(i) else {
            return Ok(());
        };
        if slot.source == param.source {
            *slot = param;
            return Ok(());
        }
        match self.policy {
            ConflictPolicy::BodyWins => *slot = param,
            ConflictPolicy::QueryWins => {}
            ConflictPolicy::Reject => {
                return Err(DecodeError::Conflict {
                    name: param.name().to_owned(),
                });
            }
        }
        Ok(())
    }
}

fn decode_into(raw: &[u8], source: Source, out: &mut Merge) -> Result<(), DecodeError> {
    let mut start = 0;
    for piece in raw.split(|b| *b == b'&') {
        let offset = start;
        start += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        let (bytes, name_len) = decode_piece(piece, source, offset)?;
        let bad_utf8 = |bytes: &[u8]| DecodeError::InvalidUtf8 {
            location: source,
            name: String::from_utf8_lossy(bytes.get(..name_len).unwrap_or_default()).into_owned(),
        };
        let text = String::from_utf8(bytes).map_err(|e| bad_utf8(e.as_bytes()))?;
        // Name and value must each be UTF-8 on their own, not only together.
        if !text.is_char_boundary(name_len) {
            return Err(bad_utf8(text.as_bytes()));
        }
        if name_len == 0 {
            continue;
        }
        out.add(Param {
            text,
            name_len,
            source,
            json: OnceLock::new(),
        })?;
    }
    Ok(())
}

/// Percent-decodes one `name=value` piece in a single pass into one buffer; returns it with
/// the length of the decoded name. `offset` is the piece's position in its source. Runs of
/// plain bytes are copied whole; only `%`, `+` and the first `=` are looked at one by one.
fn decode_piece(
    piece: &[u8],
    source: Source,
    offset: usize,
) -> Result<(Vec<u8>, usize), DecodeError> {
    let mut out = Vec::with_capacity(piece.len());
    let mut name_len = None;
    let mut i = 0;
    loop {
        let rest = piece.get(i..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|b| matches!(b, b'%' | b'+' | b'='))
            .unwrap_or(rest.len());
        out.extend_from_slice(rest.get(..run).unwrap_or_default());
        i += run;
        match piece.get(i) {
            None => break,
            Some(b'%') => {
                let hi = piece.get(i + 1).and_then(|c| hex_val(*c));
                let lo = piece.get(i + 2).and_then(|c| hex_val(*c));
                let (Some(h), Some(l)) = (hi, lo) else {
                    return Err(DecodeError::BadPercent {
                        location: source,
                        offset: offset + i,
                    });
                };
                out.push(h << 4 | l);
                i += 3;
            }
            Some(b'+') => {
                out.push(b' ');
                i += 1;
            }
            Some(_) => {
                // `=`: the first one ends the name, later ones are part of the value.
                if name_len.is_none() {
                    name_len = Some(out.len());
                } else {
                    out.push(b'=');
                }
                i += 1;
            }
        }
    }
    let name_len = name_len.unwrap_or(out.len());
    Ok((out, name_len))
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(q: Option<&str>, b: Option<&str>) -> Result<Params, DecodeError> {
        Params::decode(q, b.map(str::as_bytes), ConflictPolicy::BodyWins)
    }

    #[test]
    fn plus_is_space_and_percent_is_utf8() {
        let p = decode(None, Some("nickname=Jo+Z%C3%B6e&x=a%2Bb")).unwrap();
        assert_eq!(p.value("nickname"), Some("Jo Zöe"));
        assert_eq!(p.value("x"), Some("a+b"));
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
    }

    #[test]
    fn body_wins_by_default_and_policies_apply() {
        let p = decode(Some("UID=q&a=1"), Some("UID=b")).unwrap();
        assert_eq!(p.value("UID"), Some("b"));
        assert_eq!(p.value("a"), Some("1"));
        assert_eq!(p.get("UID").unwrap().source(), Source::Body);
        let p = Params::decode(Some("UID=q"), Some(b"UID=b"), ConflictPolicy::QueryWins).unwrap();
        assert_eq!(p.value("UID"), Some("q"));
        let e = Params::decode(Some("UID=q"), Some(b"UID=b"), ConflictPolicy::Reject).unwrap_err();
        assert_eq!(e, DecodeError::Conflict { name: "UID".into() });
    }

    #[test]
    fn many_parameters_keep_first_place_and_last_value() {
        // Past sixteen names the merge switches from a scan to a name map; the rules stay.
        let query: Vec<String> = (0..40).map(|i| format!("q{i}=query")).collect();
        let mut body: Vec<String> = (0..5000).map(|i| format!("p{i}={i}")).collect();
        body.push("p7=again".into());
        body.push("q3=body".into());
        body.push("p4999=last".into());
        let (query, body) = (query.join("&"), body.join("&"));
        let p = decode(Some(&query), Some(&body)).unwrap();
        assert_eq!(p.len(), 5040);
        assert_eq!(p.value("p7"), Some("again"));
        assert_eq!(p.value("p4999"), Some("last"));
        assert_eq!(p.value("q3"), Some("body"));
        assert_eq!(p.get("q3").unwrap().source(), Source::Body);
        let names: Vec<&str> = p.iter().map(Param::name).take(42).collect();
        assert_eq!(names[3], "q3");
        assert_eq!(names[40..], ["p0", "p1"]);
        let kept = Params::decode(
            Some(&query),
            Some(body.as_bytes()),
            ConflictPolicy::QueryWins,
        );
        assert_eq!(kept.unwrap().value("q3"), Some("query"));
        let e = Params::decode(Some(&query), Some(body.as_bytes()), ConflictPolicy::Reject);
        assert_eq!(e.unwrap_err(), DecodeError::Conflict { name: "q3".into() });
    }

    #[test]
    fn escapes_between_plain_runs_decode() {
        let p = decode(
            None,
            Some("a=x%7B%22k%22%3A1%7D+y&b=%41&c=plain&d=%e2%82%ac+"),
        )
        .unwrap();
        assert_eq!(p.value("a"), Some("x{\"k\":1} y"));
        assert_eq!(p.value("b"), Some("A"));
        assert_eq!(p.value("c"), Some("plain"));
        assert_eq!(p.value("d"), Some("€ "));
    }

    #[test]
    fn bad_percent_reports_source_and_offset() {
        let e = decode(None, Some("a=1&UID=%ZZ")).unwrap_err();
        assert_eq!(
            e,
            DecodeError::BadPercent {
                location: Source::Body,
                offset: 8
            }
        );
        assert!(e.to_string().contains("byte 8"));
        assert!(decode(Some("a=%4"), None).is_err());
    }

    #[test]
    fn invalid_utf8_names_the_parameter() {
        let e = decode(None, Some("UID=%FF%FE")).unwrap_err();
        assert_eq!(
            e,
            DecodeError::InvalidUtf8 {
                location: Source::Body,
                name: "UID".into()
            }
        );
    }

    #[test]
    fn empty_pieces_and_valueless_names() {
        let p = decode(Some("&&flag&a="), None).unwrap();
        assert_eq!(p.value("flag"), Some(""));
        assert_eq!(p.value("a"), Some(""));
        assert_eq!(p.len(), 2);
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
