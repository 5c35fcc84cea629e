//! Journal filters, as the admin API's query strings spell them:
//! `method=…&param.UID=…&stub=…&unmatched=true&since=…&limit=…`.
//!
//! Unknown keys and bad values are errors that name the key, so a typo never silently widens
//! a query.

use std::time::SystemTime;

use super::entry::{AnsweredBy, Entry};
use crate::gigya::params::{ConflictPolicy, Params, parse_bool};

/// The default number of entries a query returns.
pub const DEFAULT_LIMIT: usize = 1000;

/// The most entries one query returns (page with `since` for more).
pub const MAX_LIMIT: usize = 10_000;

/// The filter keys, for messages.
pub const KEYS: &str = "method, param.<name>, stub, unmatched, since, limit";

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
        let mut f = Filter::default();
        for p in params.iter() {
            let (key, value) = (p.name(), p.value());
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
                _ => match key.strip_prefix("param.") {
                    Some(name) if !name.is_empty() => {
                        f.params.push((name.to_owned(), value.to_owned()));
                    }
                    _ => {
                        return Err(FilterError(format!(
                            "unknown filter `{key}`; expected one of: {KEYS}"
                        )));
                    }
                },
            }
        }
        Ok(f)
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
    }
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
    fn bad_filters_name_the_problem() {
        for (q, msg) in [
            (
                "metod=a",
                "unknown filter `metod`; expected one of: method, param.<name>, stub, unmatched, since, limit",
            ),
            ("param.=x", "unknown filter `param.`"),
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
    }
}
