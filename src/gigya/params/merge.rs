//! The parameters decoded so far: adding one with the repeated-name and query/body conflict
//! rules, and noting where the well-known names are.

use super::{ConflictPolicy, DecodeError, KNOWN, SEARCH, Slot};

/// The parameters decoded so far, and how to add one.
pub(super) struct Merge {
    pub(super) slots: Vec<Slot>,
    /// Name → position, built once there are too many parameters to search one by one (so a
    /// body of 100,000 names costs linear time, not quadratic).
    names: Option<std::collections::HashMap<String, usize>>,
    policy: ConflictPolicy,
    /// One bit per [`name_bucket`] of the names added so far: a name whose bit is clear is
    /// new, without a search.
    seen: u64,
    pub(super) known: KnownNames,
}

/// Where the first slot named each of [`KNOWN`] is, exactly and ignoring case (slot index +
/// 1, 0 = none yet), noted as slots are added.
#[derive(Default)]
pub(super) struct KnownNames {
    exact: [u8; KNOWN.len()],
    folded: [u8; KNOWN.len()],
}

impl KnownNames {
    /// Notes the slot at `at` if its name is one of [`KNOWN`].
    #[inline]
    pub(super) fn note(&mut self, name: &str, at: usize) {
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

    /// Where [`Params::get`](super::Params::get) finds each of [`KNOWN`] in a set of `len` slots.
    pub(super) fn finish(&self, len: usize) -> [u8; KNOWN.len()] {
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

    pub(super) fn new(policy: ConflictPolicy) -> Self {
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
    #[inline]
    pub(super) fn add(&mut self, text: &str, slot: Slot) -> Result<(), DecodeError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gigya::params::{Param, Params, Source};

    use super::super::tests::decode;

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
    fn repeated_names_take_the_last_value_in_one_shared_text() {
        let p = decode(Some("a=1&b=2&a=3"), Some("b=%7B%7D&c=x")).unwrap();
        let pairs: Vec<(&str, &str)> = p.iter().map(|p| (p.name(), p.value())).collect();
        assert_eq!(pairs, [("a", "3"), ("b", "{}"), ("c", "x")]);
        assert!(p.get("b").unwrap().json().unwrap().is_object());
    }
}
