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

/// Where one parameter's name and value sit in the set's text.
#[derive(Debug)]
struct Slot {
    start: usize,
    name_len: usize,
    end: usize,
    source: Source,
    json: OnceLock<Option<serde_json::Value>>,
}

impl Clone for Slot {
    fn clone(&self) -> Self {
        Self {
            start: self.start,
            name_len: self.name_len,
            end: self.end,
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
        self.text
            .get(self.slot.start..self.slot.start + self.slot.name_len)
            .unwrap_or_default()
    }

    /// The decoded value.
    #[must_use]
    pub fn value(self) -> &'a str {
        self.text
            .get(self.slot.start + self.slot.name_len..self.slot.end)
            .unwrap_or_default()
    }

    /// Where it came from.
    #[must_use]
    pub fn source(self) -> Source {
        self.slot.source
    }

    /// The cache behind [`Param::json`], for matchers that share it.
    #[must_use]
    pub fn json_cell(self) -> &'a OnceLock<Option<serde_json::Value>> {
        &self.slot.json
    }

    /// The value parsed as JSON, or `None` when it is not JSON. Parsed once, then cached.
    #[must_use]
    pub fn json(self) -> Option<&'a serde_json::Value> {
        let value = self.value();
        self.slot
            .json
            .get_or_init(|| serde_json::from_str(value).ok())
            .as_ref()
    }
}

/// The merged parameter set of one request.
///
/// Every decoded name and value lives in one text buffer (two allocations per request, not
/// one per parameter); [`Param`]s are views into it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: String,
    slots: Vec<Slot>,
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
            text: Vec::with_capacity(query.map_or(0, <[u8]>::len) + body.map_or(0, <[u8]>::len)),
            slots: Vec::with_capacity(expected_count(query) + expected_count(body)),
            names: None,
            policy,
        };
        if let Some(q) = query {
            decode_into(q, Source::Query, &mut merge)?;
        }
        if let Some(b) = body {
            decode_into(b, Source::Body, &mut merge)?;
        }
        // Every piece was checked as it was decoded, so this cannot fail; the error arm only
        // keeps the function total.
        let text = String::from_utf8(merge.text).map_err(|_| DecodeError::RawNotUtf8 {
            location: Source::Body,
            offset: 0,
        })?;
        Ok(Self {
            text,
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
        for (k, v) in pairs {
            let start = out.text.len();
            out.text.push_str(&k.into());
            let name_len = out.text.len() - start;
            out.text.push_str(&v.into());
            out.slots.push(Slot {
                start,
                name_len,
                end: out.text.len(),
                source: Source::Body,
                json: OnceLock::new(),
            });
        }
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
        // One pass: names of another length are skipped at once; the first name equal but
        // for case is kept in case no exact match follows.
        let mut folded = None;
        for slot in &self.slots {
            if slot.name_len != name.len() {
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
        self.get(name).map(|p| p.value())
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

/// Room for the parameters of a source: one more than its `&`s, within reason.
fn expected_count(raw: Option<&[u8]>) -> usize {
    raw.map_or(0, |r| r.iter().filter(|b| **b == b'&').count() + 1)
        .min(64)
}

/// The parameters decoded so far, and how to add one.
struct Merge {
    /// Decoded names and values, back to back.
    text: Vec<u8>,
    slots: Vec<Slot>,
    /// Name → position, built once there are too many parameters to search one by one (so a
    /// body of 100,000 names costs linear time, not quadratic).
    names: Option<std::collections::HashMap<Vec<u8>, usize>>,
    policy: ConflictPolicy,
}

impl Merge {
    /// Parameters searched one by one before the name map is built.
    const LINEAR: usize = 16;

    fn name_of(&self, slot: &Slot) -> &[u8] {
        self.text
            .get(slot.start..slot.start + slot.name_len)
            .unwrap_or_default()
    }

    /// Where the parameter named like `slot` already is, if anywhere.
    fn position(&mut self, slot: &Slot) -> Option<usize> {
        let text = &self.text;
        let name_of = |s: &Slot| text.get(s.start..s.start + s.name_len).unwrap_or_default();
        let name = name_of(slot);
        if self.slots.len() <= Self::LINEAR {
            return self.slots.iter().position(|s| name_of(s) == name);
        }
        let slots = &self.slots;
        self.names
            .get_or_insert_with(|| {
                slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (name_of(s).to_vec(), i))
                    .collect()
            })
            .get(name)
            .copied()
    }

    /// Adds the parameter just decoded at the end of the text: a name repeated within one
    /// source keeps its place and takes the last value; a body parameter also in the query
    /// follows the conflict policy.
    fn add(&mut self, slot: Slot) -> Result<(), DecodeError> {
        let Some(i) = self.position(&slot) else {
            let at = self.slots.len();
            if self.names.is_some() {
                let name = self.name_of(&slot).to_vec();
                if let Some(names) = &mut self.names {
                    names.insert(name, at);
                }
            }
            self.slots.push(slot);
            return Ok(());
        };
        let policy = self.policy;
        let name = String::from_utf8_lossy(self.name_of(&slot)).into_owned();
        let Some(existing) = self.slots.get_mut(i) else {
            return Ok(());
        };
        if existing.source == slot.source {
            *existing = slot;
            return Ok(());
        }
        match policy {
            ConflictPolicy::BodyWins => *existing = slot,
            ConflictPolicy::QueryWins => {}
            ConflictPolicy::Reject => return Err(DecodeError::Conflict { name }),
        }
        Ok(())
    }
}

/// Byte classes of the decoder: most bytes are copied as they are; these are looked at.
const AMP: u8 = 1;
const EQ: u8 = 2;
const PCT: u8 = 3;
const PLUS: u8 = 4;
/// Copied as is, but the part it is in must be checked for UTF-8.
const HIGH: u8 = 5;

static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'&' as usize] = AMP;
    table[b'=' as usize] = EQ;
    table[b'%' as usize] = PCT;
    table[b'+' as usize] = PLUS;
    let mut i = 0x80;
    while i < 256 {
        table[i] = HIGH;
        i += 1;
    }
    table
};

/// The parameter being decoded: where it starts in the text, where its name ends, and
/// whether its name and value may hold bytes that are not UTF-8.
struct Piece {
    start: usize,
    name_len: Option<usize>,
    name_unchecked: bool,
    value_unchecked: bool,
}

impl Piece {
    fn at(start: usize) -> Self {
        Self {
            start,
            name_len: None,
            name_unchecked: false,
            value_unchecked: false,
        }
    }

    fn flag_unchecked(&mut self) {
        if self.name_len.is_none() {
            self.name_unchecked = true;
        } else {
            self.value_unchecked = true;
        }
    }
}

/// Decodes one source (`a=1&b=%7B%7D+x`) in a single pass over its bytes, appending every
/// name and value to the text and adding each parameter as it ends. Runs of plain bytes are
/// copied whole; `&`, `=`, `%`, `+` and bytes above 0x7F are the only ones looked at.
fn decode_into(raw: &[u8], source: Source, out: &mut Merge) -> Result<(), DecodeError> {
    let mut piece = Piece::at(out.text.len());
    let mut run = 0;
    let mut i = 0;
    loop {
        // Plain bytes in a tight loop; stop at the first byte that needs a look.
        let rest = raw.get(i..).unwrap_or_default();
        i += rest
            .iter()
            .take_while(|b| CLASS[usize::from(**b)] == 0)
            .count();
        let Some(&b) = raw.get(i) else {
            break;
        };
        let class = CLASS[usize::from(b)];
        if class == HIGH {
            piece.flag_unchecked();
            i += 1;
            continue;
        }
        out.text
            .extend_from_slice(raw.get(run..i).unwrap_or_default());
        match class {
            AMP => {
                finish(piece, source, out)?;
                piece = Piece::at(out.text.len());
            }
            EQ => match piece.name_len {
                // The first `=` ends the name; later ones are part of the value.
                None => piece.name_len = Some(out.text.len() - piece.start),
                Some(_) => out.text.push(b'='),
            },
            PLUS => out.text.push(b' '),
            _ => {
                let hi = raw.get(i + 1).and_then(|c| hex_val(*c));
                let lo = raw.get(i + 2).and_then(|c| hex_val(*c));
                let (Some(h), Some(l)) = (hi, lo) else {
                    return Err(DecodeError::BadPercent {
                        location: source,
                        offset: i,
                    });
                };
                let byte = h << 4 | l;
                if !byte.is_ascii() {
                    piece.flag_unchecked();
                }
                out.text.push(byte);
                i += 2;
            }
        }
        i += 1;
        run = i;
    }
    out.text
        .extend_from_slice(raw.get(run..).unwrap_or_default());
    finish(piece, source, out)
}

/// Ends a parameter: skips empty pieces and empty names, checks that name and value are each
/// UTF-8 on their own, and adds it.
fn finish(piece: Piece, source: Source, out: &mut Merge) -> Result<(), DecodeError> {
    let end = out.text.len();
    let name_len = piece.name_len.unwrap_or(end - piece.start);
    if name_len == 0 {
        out.text.truncate(piece.start);
        return Ok(());
    }
    if piece.name_unchecked || piece.value_unchecked {
        let decoded = out.text.get(piece.start..end).unwrap_or_default();
        let (name, value) = decoded.split_at(name_len.min(decoded.len()));
        if std::str::from_utf8(name).is_err() || std::str::from_utf8(value).is_err() {
            return Err(DecodeError::InvalidUtf8 {
                location: source,
                name: String::from_utf8_lossy(name).into_owned(),
            });
        }
    }
    out.add(Slot {
        start: piece.start,
        name_len,
        end,
        source,
        json: OnceLock::new(),
    })
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
    fn raw_bytes_that_are_not_utf8_name_the_parameter() {
        let e =
            Params::decode(None, Some(b"ok=1&name=caf\xe9"), ConflictPolicy::BodyWins).unwrap_err();
        assert_eq!(
            e,
            DecodeError::InvalidUtf8 {
                location: Source::Body,
                name: "name".into()
            }
        );
    }

    #[test]
    fn repeated_names_take_the_last_value_in_one_shared_text() {
        let p = decode(Some("a=1&b=2&a=3"), Some("b=%7B%7D&c=x")).unwrap();
        let pairs: Vec<(&str, &str)> = p.iter().map(|p| (p.name(), p.value())).collect();
        assert_eq!(pairs, [("a", "3"), ("b", "{}"), ("c", "x")]);
        assert!(p.get("b").unwrap().json().unwrap().is_object());
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
