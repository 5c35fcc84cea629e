//! Form decoding: splitting a query string or body into parameters in one pass, checking every
//! escape, and percent-decoding names and values.

use std::ops::Range;
use std::sync::OnceLock;

use super::merge::Merge;
use super::{DecodeError, Slot, Source};

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
pub(super) fn decode_into(
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
#[inline]
pub(super) fn decode_checked(raw: &[u8]) -> String {
    String::from_utf8_lossy(&percent_decode(raw)).into_owned()
}

/// The (lossily decoded) name of the parameter holding byte `offset` of a form body.
pub(super) fn name_at(raw: &[u8], offset: usize) -> String {
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
    use crate::gigya::params::{ConflictPolicy, Param, Params};

    use super::super::tests::decode;

    #[test]
    fn plus_is_space_and_percent_is_utf8() {
        let p = decode(None, Some("nickname=Jo+Z%C3%B6e&x=a%2Bb")).unwrap();
        assert_eq!(p.value("nickname"), Some("Jo Zöe"));
        assert_eq!(p.value("x"), Some("a+b"));
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
    /// checked byte by byte. The first problem is reported, piece by piece: in a piece, its
    /// first bad `%` (`Some(offset)`), else `None` when its decoded name or value is not UTF-8.
    fn naive(raw: &str) -> Result<Vec<(String, String)>, Option<usize>> {
        let bytes = raw.as_bytes();
        let bad = |i: usize| {
            bytes[i] == b'%'
                && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        };
        let text = |s: &str| String::from_utf8(percent_decode(s.as_bytes())).map_err(|_| None);
        let mut out = Vec::new();
        let mut start = 0;
        for piece in raw.split('&') {
            if let Some(at) = (start..start + piece.len()).find(|&i| bad(i)) {
                return Err(Some(at));
            }
            start += piece.len() + 1;
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            if !name.is_empty() {
                out.push((text(name)?, text(value)?));
            }
        }
        Ok(out)
    }

    /// Decodes `raw` as a form body and checks the result against [`naive`]'s: the same value
    /// for every name (the last one, when a name repeats), or the same problem.
    fn decodes_like_naive(raw: &str) {
        match (decode(None, Some(raw)), naive(raw)) {
            (Ok(p), Ok(expected)) => {
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
            decodes_like_naive(&raw);
        }
    }

    #[test]
    fn random_forms_decode_like_the_reference() {
        // Bytes that matter to the scanner, hex digits on both sides of 8, and a two-byte
        // character; lengths across several blocks, so escapes and pieces straddle block edges.
        const ALPHABET: [&str; 16] = [
            "%", "&", "=", "+", "0", "7", "8", "9", "a", "f", "F", "g", "G", "z", "é", "%C3%A9",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..200);
            let raw: String = (0..len)
                .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
                .collect();
            decodes_like_naive(&raw);
        }
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
}
