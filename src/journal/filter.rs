//! Journal filters, as the admin API's query strings spell them:
//! `method=…&param.UID=…&header.X-Test=…&stub=…&unmatched=true&since=…&limit=…`.
//!
//! Unknown keys and bad values are errors that name the key, so a typo never silently widens
//! a query.

use std::time::SystemTime;

use super::Stats;
use super::entry::{AnsweredBy, Entry};
use crate::gigya::params::{ConflictPolicy, Params, parse_bool};

/// The default number of entries a query returns.
pub const DEFAULT_LIMIT: usize = 1000;

/// The most entries one query returns (page with `since` for more).
pub const MAX_LIMIT: usize = 10_000;

/// The filter keys, for messages.
pub const KEYS: &str = "method, param.<name>, header.<name>, stub, unmatched, since, limit";

/// The filter keys that choose entries (all but `limit`), for messages of the commands that
/// read every entry they select (`verify`).
pub const SELECTING_KEYS: &str = "method, param.<name>, header.<name>, stub, unmatched, since";

/// A bad filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Which entries a query selects. Every criterion given must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The Gigya method (ASCII case ignored).
    pub method: Option<String>,
    /// Parameters that must have these (redacted) values; names ignore ASCII case.
    pub params: Vec<(String, String)>,
    /// Request headers that must have these (redacted) values; names ignore ASCII case, and a
    /// header sent several times passes when one of its values does.
    pub headers: Vec<(http::HeaderName, String)>,
    /// Answered by this stub.
    pub stub: Option<String>,
    /// `Some(true)`: unmatched calls only; `Some(false)`: everything else.
    pub unmatched: Option<bool>,
    /// Entries with a larger id only.
    pub since_id: Option<u64>,
    /// Entries that arrived at or after this time only.
    pub since_time: Option<SystemTime>,
    /// At most this many entries.
    pub limit: usize,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            method: None,
            params: Vec::new(),
            headers: Vec::new(),
            stub: None,
            unmatched: None,
            since_id: None,
            since_time: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

impl Filter {
    /// Parses a query string.
    ///
    /// # Errors
    /// Undecodable text, unknown keys, bad values.
    pub fn parse(query: Option<&str>) -> Result<Self, FilterError> {
        let params = Params::decode(query, None, ConflictPolicy::default())
            .map_err(|e| FilterError(format!("cannot read the query string: {e}")))?;
        Self::from_pairs(params.iter().map(|p| (p.name(), p.value())))
    }

    /// Whether `key` is a filter key (`param.` and `header.` ones included).
    #[must_use]
    pub fn is_key(key: &str) -> bool {
        matches!(key, "method" | "stub" | "unmatched" | "since" | "limit")
            || key.starts_with("param.")
            || key.starts_with("header.")
    }

    /// Builds a filter from decoded `key=value` pairs.
    ///
    /// # Errors
    /// Unknown keys, bad values.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, FilterError> {
        let mut f = Filter::default();
        for (key, value) in pairs {
            match key {
                "method" => f.method = Some(value.to_owned()),
                "stub" => f.stub = Some(value.to_owned()),
                "unmatched" => {
                    f.unmatched = Some(parse_bool(value).ok_or_else(|| {
                        FilterError(format!("unmatched={value:?}: expected true or false"))
                    })?);
                }
                "since" => parse_since(value, &mut f)?,
                "limit" => {
                    f.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            FilterError(format!(
                                "limit={value:?}: expected a number from 1 to {MAX_LIMIT}"
                            ))
                        })?;
                }
                _ => {
                    if let Some(name) = key.strip_prefix("param.").filter(|n| !n.is_empty()) {
                        f.params.push((name.to_owned(), value.to_owned()));
                    } else if let Some(name) = key.strip_prefix("header.") {
                        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                            FilterError(format!("`{key}`: `{name}` is not a header name"))
                        })?;
                        f.headers.push((name, value.to_owned()));
                    } else {
                        return Err(FilterError(format!(
                            "unknown filter `{key}`; expected one of: {KEYS}"
                        )));
                    }
                }
            }
        }
        Ok(f)
    }

    /// How many of the journal's evicted entries this filter might have selected: none when
    /// it starts after an id the journal still holds (evicted entries are the oldest), else
    /// every one.
    #[must_use]
    pub fn dropped_in_scope(&self, stats: &Stats) -> u64 {
        match self.since_id {
            Some(since) => {
                let held = u64::try_from(stats.size).unwrap_or(u64::MAX);
                // Evicted ids lie just below the oldest held one.
                let below_held = stats.last_id.saturating_sub(held);
                below_held.saturating_sub(since).min(stats.dropped)
            }
            None => stats.dropped,
        }
    }

    /// Whether an entry passes.
    #[must_use]
    pub fn matches(&self, e: &Entry) -> bool {
        if self.since_id.is_some_and(|id| e.id <= id) {
            return false;
        }
        if self.since_time.is_some_and(|t| e.time < t) {
            return false;
        }
        if let Some(m) = &self.method {
            if !e
                .gigya_method
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(m))
            {
                return false;
            }
        }
        if let Some(s) = &self.stub {
            if e.stub.as_deref() != Some(s.as_str()) {
                return false;
            }
        }
        if let Some(u) = self.unmatched {
            if (e.answered_by == AnsweredBy::Unmatched) != u {
                return false;
            }
        }
        self.params
            .iter()
            .all(|(name, value)| e.param(name) == Some(value.as_str()))
            && self.headers.iter().all(|(name, value)| {
                e.request
                    .headers
                    .iter()
                    .any(|(n, v)| n == name && v.as_bytes() == value.as_bytes())
            })
    }
}

/// The filters of a scoped verification as reports show them (`header.x-test=a, since=4`).
#[must_use]
pub fn describe(pairs: &[(&str, &str)]) -> Option<String> {
    (!pairs.is_empty()).then(|| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    })
}

fn parse_since(value: &str, f: &mut Filter) -> Result<(), FilterError> {
    if let Ok(id) = value.parse::<u64>() {
        f.since_id = Some(id);
        return Ok(());
    }
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => {
            f.since_time = Some(SystemTime::from(t));
            Ok(())
        }
        Err(_) => Err(FilterError(format!(
            "since={value:?}: expected an entry id (e.g. 42) or an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::entry;

    #[test]
    fn parses_every_key() {
        let f = Filter::parse(Some(
            "method=accounts.login&param.UID=u%201&stub=gold&unmatched=false&since=7&limit=5",
        ))
        .unwrap();
        assert_eq!(f.method.as_deref(), Some("accounts.login"));
        assert_eq!(f.params, vec![("UID".to_owned(), "u 1".to_owned())]);
        assert_eq!(f.stub.as_deref(), Some("gold"));
        assert_eq!(f.unmatched, Some(false));
        assert_eq!(f.since_id, Some(7));
        assert_eq!(f.limit, 5);
        let f = Filter::parse(Some("since=2024-05-01T10:00:00Z")).unwrap();
        assert!(f.since_time.is_some());
        assert_eq!(Filter::parse(None).unwrap(), Filter::default());
    }

    #[test]
    fn the_selecting_keys_are_the_keys_but_limit() {
        assert_eq!(format!("{SELECTING_KEYS}, limit"), KEYS);
    }

    #[test]
    fn bad_filters_name_the_problem() {
        for (q, msg) in [
            (
                "metod=a",
                "unknown filter `metod`; expected one of: method, param.<name>, header.<name>, stub, unmatched, since, limit",
            ),
            ("param.=x", "unknown filter `param.`"),
            ("header.=x", "`header.`: `` is not a header name"),
            ("header.a%20b=x", "`header.a b`: `a b` is not a header name"),
            ("limit=0", "limit=\"0\": expected a number from 1 to 10000"),
            (
                "limit=10001",
                "limit=\"10001\": expected a number from 1 to 10000",
            ),
            (
                "unmatched=maybe",
                "unmatched=\"maybe\": expected true or false",
            ),
            (
                "since=yesterday",
                "since=\"yesterday\": expected an entry id",
            ),
            ("method=%zz", "cannot read the query string"),
        ] {
            let e = Filter::parse(Some(q)).unwrap_err();
            assert!(e.0.starts_with(msg), "{q}: {e}");
        }
    }

    #[test]
    fn evicted_entries_are_in_scope_unless_the_filter_starts_after_them() {
        // Ids 1..=10 recorded, 1..=6 evicted, 7..=10 held.
        let stats = Stats {
            capacity: 4,
            size: 4,
            recorded: 10,
            dropped: 6,
            last_id: 10,
            body_limit: 0,
        };
        let scope = |q: &str| Filter::parse(Some(q)).unwrap().dropped_in_scope(&stats);
        assert_eq!(scope(""), 6);
        assert_eq!(
            scope("since=2000-01-01T00:00:00Z"),
            6,
            "times say nothing of ids"
        );
        assert_eq!(scope("since=0"), 6);
        assert_eq!(scope("since=4"), 2, "ids 5 and 6 were evicted");
        assert_eq!(scope("since=6"), 0);
        assert_eq!(scope("since=9"), 0);
        // After a clear, the counters restart but ids go on.
        let cleared = Stats {
            size: 0,
            recorded: 0,
            dropped: 0,
            ..stats
        };
        assert_eq!(Filter::parse(None).unwrap().dropped_in_scope(&cleared), 0);
    }

    #[test]
    fn matching() {
        let mut e = entry("accounts.setAccountInfo", &[("UID", "u1"), ("secret", "s")]);
        e.id = 5;
        let yes = |q: &str| Filter::parse(Some(q)).unwrap().matches(&e);
        assert!(yes("method=ACCOUNTS.setaccountinfo"));
        assert!(yes("param.uid=u1"));
        assert!(!yes("param.UID=u2"));
        assert!(
            yes("param.secret=[REDACTED]"),
            "secrets are compared redacted"
        );
        assert!(!yes("param.secret=s"));
        assert!(yes("unmatched=true"));
        assert!(!yes("unmatched=false"));
        assert!(!yes("stub=gold"));
        assert!(yes("since=4"));
        assert!(!yes("since=5"));
        assert!(yes("since=2000-01-01T00:00:00Z"));
        assert!(!yes("since=2999-01-01T00:00:00Z"));
        assert!(!yes("header.X-Test=a"), "no such header yet");
        for (name, value) in [("x-test", "a"), ("x-test", "b"), ("x-other", "c")] {
            e.request.headers.push((
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            ));
        }
        let yes = |q: &str| Filter::parse(Some(q)).unwrap().matches(&e);
        assert!(yes("header.X-Test=a"), "names ignore case");
        assert!(yes("header.x-test=b"), "any of a repeated header's values");
        assert!(!yes("header.x-test=c"));
        assert!(!yes("header.x-test=A"), "values are compared exactly");
        assert!(yes("header.x-test=a&header.x-other=c&param.UID=u1"));
        assert!(!yes("header.x-test=a&header.x-other=a"));
    }
}
