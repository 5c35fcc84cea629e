//! Request parameters: decoding a query string or form body into one case-insensitive map.
//!
//! Gigya clients send parameters in the query string, in an
//! `application/x-www-form-urlencoded` body, or both. Decoding is strict: `+` is a space, `%XX`
//! must be two hex digits, and the result must be UTF-8 — anything else is reported with the
//! offending parameter and byte offset, so the server can answer with a precise Gigya error.
//! Names are kept exactly as received (signatures need them) but looked up case-insensitively
//! (`UID`/`uid`, `apiKey`/`APIKey`). JSON-valued parameters are parsed on first use and cached.

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

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

/// The parameters decoded so far, and how to add one.
struct Merge {
    slots: Vec<Slot>,
    /// Name → position, built once there are too many parameters to search one by one (so a
    /// body of 100,000 names costs linear time, not quadratic).
    names: Option<std::collections::HashMap<String, usize>>,
    policy: ConflictPolicy,
    /// One bit per [`name_bucket`] of the names added so far: a name whose bit is clear is
    /// new, without a search.
    seen: u64,
    known: KnownNames,
}

/// Where the first slot named each of [`KNOWN`] is, exactly and ignoring case (slot index +
/// 1, 0 = none yet), noted as slots are added.
#[derive(Default)]
struct KnownNames {
    exact: [u8; KNOWN.len()],
    folded: [u8; KNOWN.len()],
}

impl KnownNames {
    /// Notes the slot at `at` if its name is one of [`KNOWN`].
    #[inline]
    fn note(&mut self, name: &str, at: usize) {
        if name.len() >= 32 || KNOWN_LENGTHS & (1 << name.len()) == 0 {
            return;
        }
        let at = u8::try_from(at + 1).unwrap_or(SEARCH);
        for (k, known) in KNOWN.iter().enumerate() {
            if known.len() != name.len() {
                continue;
            }
            let first = if name == *known {
                self.exact.get_mut(k)
            } else if name.eq_ignore_ascii_case(known) {
                self.folded.get_mut(k)
            } else {
                None
            };
            if let Some(slot) = first.filter(|s| **s == 0) {
                *slot = at;
            }
        }
    }

    /// Where [`Params::get`] finds each of [`KNOWN`] in a set of `len` slots.
    fn finish(&self, len: usize) -> [u8; KNOWN.len()] {
        if len >= usize::from(SEARCH) {
            return [SEARCH; KNOWN.len()];
        }
        let mut out = self.exact;
        for (slot, folded) in out.iter_mut().zip(self.folded) {
            if *slot == 0 {
                *slot = folded;
            }
        }
        out
    }
}

/// Lengths of the [`KNOWN`] names, one bit each.
const KNOWN_LENGTHS: u32 = {
    let mut bits = 0;
    let mut i = 0;
    while i < KNOWN.len() {
        bits |= 1 << KNOWN[i].len();
        i += 1;
    }
    bits
};

/// A cheap 6-bit summary of a name (length, first and last byte) for [`Merge::seen`].
#[inline]
fn name_bucket(name: &str) -> u32 {
    let bytes = name.as_bytes();
    let first = u32::from(bytes.first().copied().unwrap_or(0));
    let last = u32::from(bytes.last().copied().unwrap_or(0));
    (name.len() as u32).wrapping_mul(7) ^ first ^ last.wrapping_mul(3)
}

impl Merge {
    /// Parameters searched one by one before the name map is built.
    const LINEAR: usize = 16;

    fn new(policy: ConflictPolicy) -> Self {
        Self {
            slots: Vec::with_capacity(8),
            names: None,
            policy,
            seen: 0,
            known: KnownNames::default(),
        }
    }

    /// Where the parameter named `name` already is, if anywhere.
    fn position(&mut self, text: &str, name: &str) -> Option<usize> {
        if self.slots.len() <= Self::LINEAR {
            return self.slots.iter().position(|s| {
                (s.name_decoded.is_some() || s.name.len() == name.len()) && s.name_of(text) == name
            });
        }
        let slots = &self.slots;
        self.names
            .get_or_insert_with(|| {
                slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.name_of(text).to_owned(), i))
                    .collect()
            })
            .get(name)
            .copied()
    }

    /// Adds a parameter: a name repeated within one source keeps its place and takes the last
    /// value; a body parameter also in the query follows the conflict policy.
    fn add(&mut self, text: &str, slot: Slot) -> Result<(), DecodeError> {
        let name = slot.name_of(text);
        let bit = 1u64 << (name_bucket(name) & 63);
        let found = if self.seen & bit == 0 {
            None
        } else {
            self.position(text, name)
        };
        self.seen |= bit;
        let Some(i) = found else {
            let at = self.slots.len();
            if let Some(names) = &mut self.names {
                names.insert(name.to_owned(), at);
            }
            self.known.note(name, at);
            self.slots.push(slot);
            return Ok(());
        };
        let policy = self.policy;
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
            ConflictPolicy::Reject => {
                return Err(DecodeError::Conflict {
                    name: slot.name_of(text).to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Bytes classified at once by [`special_bits`].
const CHUNK: usize = 16;

/// The `CHUNK` bytes at `at` (bytes past the end read as zero).
#[inline]
fn chunk_at(raw: &[u8], at: usize) -> [u8; CHUNK] {
    let mut chunk = [0u8; CHUNK];
    match raw.get(at..at + CHUNK) {
        Some(full) => chunk.copy_from_slice(full),
        None => {
            for (slot, b) in chunk.iter_mut().zip(raw.get(at..).unwrap_or_default()) {
                *slot = *b;
            }
        }
    }
    chunk
}

/// One bit per byte of the `CHUNK` bytes at `at` that is `&`, `=`, `%` or `+` (bytes past the
/// end count as zero, which is none of them): four vector compares and a move-mask (`wide`
/// picks the instructions the target has, and plain code where it has none).
#[inline]
fn special_bits(raw: &[u8], at: usize) -> u32 {
    use wide::u8x16;
    let v = u8x16::new(chunk_at(raw, at));
    let hits = v.cmp_eq(u8x16::splat(b'&'))
        | v.cmp_eq(u8x16::splat(b'='))
        | v.cmp_eq(u8x16::splat(b'%'))
        | v.cmp_eq(u8x16::splat(b'+'));
    // One bit per lane: sixteen bits, never the sign.
    (hits.move_mask() & 0xFFFF) as u32
}

/// Hex digit values; 0xFF for bytes that are not hex digits.
static HEX: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Escape flags of the piece being read: bit 0 the name has escapes, bit 1 one of them is
/// above 0x7F; bits 2 and 3 the same for the value.
const NAME_ESCAPED: u8 = 1;
const NAME_HIGH: u8 = 2;
const VALUE_ESCAPED: u8 = 4;
const VALUE_HIGH: u8 = 8;

/// Splits one source (`range` of `text`) into parameters in a single pass and adds them. The
/// bytes that matter (`&`, `=`, `%`, `+`) are found sixteen at a time ([`special_bits`]);
/// every `%` is checked here, so a malformed request is refused whole. Names with escapes are
/// decoded now, values when first read (or now, when an escaped byte above 0x7F means the
/// result must be checked for UTF-8).
fn decode_into(
    text: &str,
    range: Range<usize>,
    source: Source,
    out: &mut Merge,
) -> Result<(), DecodeError> {
    let raw = text.as_bytes().get(range.clone()).unwrap_or_default();
    let mut start = 0;
    // The first `=` of the piece (`usize::MAX` until there is one).
    let mut eq = usize::MAX;
    let mut flags = 0u8;
    let mut base = 0;
    while base < raw.len() {
        let mut bits = special_bits(raw, base);
        while bits != 0 {
            let at = base + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            // Flags for the name sit at bit 0, for the value two bits up.
            let shift = if eq == usize::MAX { 0 } else { 2 };
            match raw.get(at).copied().unwrap_or(b'&') {
                b'%' => {
                    let digit = |i: usize| HEX[usize::from(raw.get(i).copied().unwrap_or(b'%'))];
                    let (hi, lo) = (digit(at + 1), digit(at + 2));
                    if (hi | lo) > 0x0F {
                        return Err(DecodeError::BadPercent {
                            location: source,
                            offset: at,
                        });
                    }
                    let high = if hi >= 8 { NAME_HIGH } else { 0 };
                    flags |= (NAME_ESCAPED | high) << shift;
                }
                b'+' => flags |= NAME_ESCAPED << shift,
                b'=' => eq = eq.min(at),
                _ => {
                    add_piece(text, range.start, raw, start..at, eq, flags, source, out)?;
                    (start, eq, flags) = (at + 1, usize::MAX, 0);
                }
            }
        }
        base += CHUNK;
    }
    add_piece(
        text,
        range.start,
        raw,
        start..raw.len(),
        eq,
        flags,
        source,
        out,
    )
}

/// Adds the piece `at` of the source (which starts at `base` in `text`) unless its name is
/// empty; `eq` is its first `=`, `flags` what its escapes showed. Decodes what must be decoded
/// now: an escaped name, and a value with escapes above 0x7F (to check it is UTF-8).
#[allow(clippy::too_many_arguments)]
#[inline]
fn add_piece(
    text: &str,
    base: usize,
    raw: &[u8],
    at: Range<usize>,
    eq: usize,
    flags: u8,
    source: Source,
    out: &mut Merge,
) -> Result<(), DecodeError> {
    let name_end = eq.min(at.end);
    if name_end <= at.start {
        return Ok(());
    }
    let value = if eq < at.end {
        eq + 1..at.end
    } else {
        at.end..at.end
    };
    let name_raw = raw.get(at.start..name_end).unwrap_or_default();
    let value_raw = raw.get(value.clone()).unwrap_or_default();
    let name_decoded = if flags & NAME_ESCAPED != 0 {
        match String::from_utf8(percent_decode(name_raw)) {
            Ok(name) => Some(name.into_boxed_str()),
            Err(e) => {
                return Err(DecodeError::InvalidUtf8 {
                    location: source,
                    name: String::from_utf8_lossy(e.as_bytes()).into_owned(),
                });
            }
        }
    } else {
        None
    };
    let decoded = OnceLock::new();
    if flags & VALUE_HIGH != 0 {
        match String::from_utf8(percent_decode(value_raw)) {
            Ok(v) => {
                let _ = decoded.set(v.into_boxed_str());
            }
            Err(_) => {
                return Err(DecodeError::InvalidUtf8 {
                    location: source,
                    name: match &name_decoded {
                        Some(n) => n.to_string(),
                        None => String::from_utf8_lossy(name_raw).into_owned(),
                    },
                });
            }
        }
    }
    let slot = Slot {
        name: base + at.start..base + name_end,
        name_decoded,
        value: base + value.start..base + value.end,
        plain: flags & VALUE_ESCAPED == 0,
        decoded,
        source,
        json: OnceLock::new(),
    };
    out.add(text, slot)
}

/// Form-decodes bytes whose escapes were checked (`+` is a space, `%XX` a byte).
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.iter().position(|b| *b == b'%' || *b == b'+') {
        out.extend_from_slice(rest.get(..at).unwrap_or_default());
        if rest.get(at) == Some(&b'+') {
            out.push(b' ');
            rest = rest.get(at + 1..).unwrap_or_default();
            continue;
        }
        // Unchecked input (error messages) reads a bad digit as 0.
        let digit = |i: usize| match HEX[usize::from(rest.get(i).copied().unwrap_or(b'0'))] {
            d if d <= 0x0F => d,
            _ => 0,
        };
        out.push(digit(at + 1) << 4 | digit(at + 2));
        rest = rest.get(at + 3..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// [`percent_decode`] as text (lossy: callers have checked, or only show it).
fn decode_checked(raw: &[u8]) -> String {
    String::from_utf8_lossy(&percent_decode(raw)).into_owned()
}

/// The (lossily decoded) name of the parameter holding byte `offset` of a form body.
fn name_at(raw: &[u8], offset: usize) -> String {
    let start = raw
        .get(..offset)
        .and_then(|before| before.iter().rposition(|b| *b == b'&'))
        .map_or(0, |at| at + 1);
    let piece = raw.get(start..).unwrap_or_default();
    let end = piece
        .iter()
        .position(|b| *b == b'&' || *b == b'=')
        .unwrap_or(piece.len());
    decode_checked(piece.get(..end).unwrap_or_default())
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
    fn escaped_values_are_decoded_when_first_read() {
        let p = decode(None, Some("UID=u-1&data=%7B%22a%22%3A1%7D&n=Z%C3%B6e")).unwrap();
        let slot = |name: &str| p.slots.iter().find(|s| &p.text[s.name.clone()] == name);
        assert!(
            slot("UID").unwrap().plain,
            "plain values are the text itself"
        );
        assert!(
            slot("data").unwrap().decoded.get().is_none(),
            "not decoded yet"
        );
        assert!(
            slot("n").unwrap().decoded.get().is_some(),
            "non-ASCII escapes are decoded (and checked) at once"
        );
        assert_eq!(p.value("data"), Some("{\"a\":1}"));
        assert!(slot("data").unwrap().decoded.get().is_some());
        assert_eq!(p.value("n"), Some("Zöe"));
    }

    /// A plain reference decoder: pieces by `&`, name and value by the first `=`, escapes
    /// checked byte by byte; the first bad `%` is reported (`Some(offset)`), or `None` when a
    /// decoded name or value is not UTF-8.
    fn naive(raw: &str) -> Result<Vec<(String, String)>, Option<usize>> {
        let bytes = raw.as_bytes();
        if let Some(at) = (0..bytes.len()).find(|&i| {
            bytes[i] == b'%'
                && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        }) {
            return Err(Some(at));
        }
        let text = |s: &str| String::from_utf8(percent_decode(s.as_bytes())).map_err(|_| None);
        raw.split('&')
            .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, value)| Ok((text(name)?, text(value)?)))
            .collect()
    }

    #[test]
    fn escapes_are_checked_at_every_offset() {
        let mut inputs = vec![
            String::new(),
            "&".to_owned(),
            "UID=u-1&profile=%7B%22a%22%3A1%7D+x&z".to_owned(),
            "a=%E2%82%AC&b=%41%42%43&c=1+2=3".to_owned(),
        ];
        // Long enough for the vectorised searches: one special byte (or a bad escape) at
        // every offset, inside names and values.
        let base = "n0=aaaaaaaaaaaaaaaaaaaa&n1=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&n2=c";
        for at in 0..base.len() {
            for insert in [
                "%41", "%4", "%G1", "%", "+", "&", "=", "%7e%7E", "%C3%A9", "%FF",
            ] {
                let mut v = base.to_owned();
                v.insert_str(at, insert);
                inputs.push(v);
            }
        }
        for raw in inputs {
            match (decode(None, Some(&raw)), naive(&raw)) {
                (Ok(p), Ok(expected)) => {
                    // Repeated names merge; compare the last value of each.
                    for (name, _) in &expected {
                        let last = expected.iter().rev().find(|(n, _)| n == name).unwrap();
                        assert_eq!(
                            p.get(name).map(Param::value),
                            Some(last.1.as_str()),
                            "{raw}"
                        );
                    }
                }
                (Err(DecodeError::BadPercent { offset, .. }), Err(Some(at))) => {
                    assert_eq!(offset, at, "{raw}");
                }
                (Err(DecodeError::InvalidUtf8 { .. }), Err(None)) => {}
                (got, want) => panic!("{raw}: {got:?} against {want:?}"),
            }
        }
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
    fn escaped_names_are_decoded_at_once() {
        let p = decode(Some("a%5Bb%5D=1&x+y=2"), None).unwrap();
        assert_eq!(p.value("a[b]"), Some("1"));
        assert_eq!(p.value("x y"), Some("2"));
        assert_eq!(
            decode(Some("ok=1&%ZZ=1"), None).unwrap_err(),
            DecodeError::BadPercent {
                location: Source::Query,
                offset: 5
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
