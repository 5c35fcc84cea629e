//! A small JSON path: `$`, `.key`, `['key']`, `["key"]`, `[3]`, `[*]` and `.*`.
//!
//! Enough to point into the JSON text of Gigya object parameters (`$.profile.email`,
//! `$.tags[0]`, `$.Like.providers`). A path without the leading `$` is read as relative to the
//! root, so `tier` and `$.tier` are the same path.

use std::fmt;

use serde_json::Value;

/// A compiled path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Any,
}

/// Why a path does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON path `{path}`: {reason}")]
pub struct PathError {
    path: String,
    reason: String,
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parses a path.
    ///
    /// # Errors
    /// Unbalanced brackets, empty keys, bad indices.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |reason: &str| PathError {
            path: text.to_owned(),
            reason: reason.to_owned(),
        };
        let mut rest = text.trim();
        if let Some(r) = rest.strip_prefix('$') {
            rest = r;
        } else if !rest.starts_with('[') && !rest.is_empty() {
            // Relative form: `tier.level` means `$.tier.level`.
            return Self::parse(&format!("$.{rest}")).map(|mut p| {
                p.text = text.to_owned();
                p
            });
        }
        let mut segments = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let key = &r[..end];
                if key.is_empty() {
                    return Err(err("empty key after `.`"));
                }
                segments.push(if key == "*" {
                    Segment::Any
                } else {
                    Segment::Key(key.to_owned())
                });
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| err("missing `]`"))?;
                let inner = r[..end].trim();
                rest = &r[end + 1..];
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                segments.push(match quoted {
                    Some(k) => Segment::Key(k.to_owned()),
                    None if inner == "*" => Segment::Any,
                    None => Segment::Index(
                        inner
                            .parse()
                            .map_err(|_| err("brackets hold an index, `*` or a quoted key"))?,
                    ),
                });
            } else {
                return Err(err("expected `.` or `[`"));
            }
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path picks at most one value (no `*`).
    #[must_use]
    pub fn is_single(&self) -> bool {
        !self.segments.iter().any(|s| matches!(s, Segment::Any))
    }

    /// The one value a path without `*` picks ([`JsonPath::is_single`]); for other paths, the
    /// first of those [`JsonPath::select`] picks.
    #[must_use]
    pub fn select_one<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut current = root;
        for seg in &self.segments {
            current = match (seg, current) {
                (Segment::Key(k), Value::Object(m)) => m.get(k)?,
                (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
                (Segment::Any, _) => return self.select(root).first().copied(),
                _ => return None,
            };
        }
        Some(current)
    }

    /// Every value the path selects (several only with `*`).
    #[must_use]
    pub fn select<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                match (seg, v) {
                    (Segment::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Segment::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                    (Segment::Any, Value::Array(a)) => next.extend(a.iter()),
                    (Segment::Any, Value::Object(m)) => next.extend(m.values()),
                    _ => {}
                }
            }
            if next.is_empty() {
                return next;
            }
            current = next;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_keys_indices_and_wildcards() {
        let v = json!({"a": {"b": [10, 20]}, "weird key": 1, "tags": ["x", "y"]});
        let sel = |p: &str| {
            JsonPath::parse(p)
                .unwrap()
                .select(&v)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(sel("$.a.b[1]"), vec![json!(20)]);
        assert_eq!(sel("$['weird key']"), vec![json!(1)]);
        assert_eq!(sel("$[\"a\"].b[0]"), vec![json!(10)]);
        assert_eq!(sel("$.tags[*]"), vec![json!("x"), json!("y")]);
        assert_eq!(sel("a.b[0]"), vec![json!(10)]);
        assert_eq!(sel("$"), vec![v.clone()]);
        assert!(sel("$.missing.x").is_empty());
        assert!(sel("$.a.b[5]").is_empty());
    }

    #[test]
    fn rejects_malformed_paths() {
        for p in ["$.", "$[1", "$[abc]", "$x"] {
            assert!(JsonPath::parse(p).is_err(), "{p}");
        }
        assert!(JsonPath::parse("$..a").is_err());
    }
}
