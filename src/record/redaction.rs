//! Values hidden by `--redact` rules: taken out of JSON parameters, replaced in answers by
//! their stable placeholder (`redacted-<8 hex digits>`) at a rule's path and wherever else the
//! same text appears.

use serde_json::Value;
use sha2::Digest as _;

/// Removes the members at `path` (arrays are searched element by element), keeping their text
/// in `hidden`. Returns whether anything was removed.
pub(super) fn remove_at(v: &mut Value, path: &[String], hidden: &mut Vec<String>) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match v {
        Value::Object(map) => {
            let Some(key) = map.keys().find(|k| *k == first).cloned() else {
                return false;
            };
            if rest.is_empty() {
                if let Some(removed) = map.shift_remove(&key) {
                    collect_scalars(&removed, hidden);
                }
                true
            } else {
                map.get_mut(&key)
                    .is_some_and(|inner| remove_at(inner, rest, hidden))
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, i| remove_at(i, path, hidden) | acc),
        _ => false,
    }
}

/// Replaces the scalars at `path` with placeholders, keeping their text in `hidden`.
pub(super) fn hide_at(v: &mut Value, path: &[String], hidden: &mut Vec<String>) {
    match (v, path.split_first()) {
        (Value::Object(map), Some((first, rest))) => {
            if let Some(inner) = map.get_mut(first.as_str()) {
                hide_at(inner, rest, hidden);
            }
        }
        (Value::Array(items), _) => {
            for i in items {
                hide_at(i, path, hidden);
            }
        }
        (leaf, None) => {
            if let Some(text) = scalar_text(leaf) {
                *leaf = Value::String(placeholder(&text));
                hidden.push(text);
            }
        }
        _ => {}
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn collect_scalars(v: &Value, hidden: &mut Vec<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_scalars(i, hidden)),
        Value::Object(map) => map.values().for_each(|i| collect_scalars(i, hidden)),
        other => hidden.extend(scalar_text(other)),
    }
}

/// Replaces every string equal to a hidden value (and hidden values inside `errorDetails`)
/// with its placeholder.
pub(super) fn replace_hidden(v: &mut Value, hidden: &[String]) {
    if hidden.is_empty() {
        return;
    }
    match v {
        Value::String(s) if hidden.iter().any(|h| h == s) => *s = placeholder(s),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_hidden(i, hidden)),
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if k == "errorDetails" || k == "errorMessage" {
                    if let Value::String(s) = item {
                        for h in hidden.iter().filter(|h| !h.is_empty()) {
                            *s = s.replace(h.as_str(), &placeholder(h));
                        }
                    }
                } else {
                    replace_hidden(item, hidden);
                }
            }
        }
        _ => {}
    }
}

/// The stable stand-in for a redacted value.
#[must_use]
pub fn placeholder(value: &str) -> String {
    let digest = sha2::Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("redacted-{hex}")
}
