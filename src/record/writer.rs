//! Writing recordings: a small YAML emitter for JSON values (block style, strings quoted
//! whenever a plain scalar could be read back as something else) and atomic file replacement
//! (temporary file in the same directory, flushed, then renamed over the target), so a reader
//! — or a recording stopped half-way — only ever sees a complete file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// Appends `v` as a YAML block at `indent` spaces, ending with a newline. A mapping or a
/// sequence starts on the current line's continuation: callers put it after `key:\n` or use
/// [`item`] for sequence items.
pub fn block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, item) in map {
                out.push_str(&pad);
                out.push_str(&scalar_text(k));
                out.push(':');
                value_after_key(item, indent, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                self::item(item, indent, out);
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// Appends one sequence item (`- ...`) at `indent` spaces.
pub fn item(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => nested_item(v, indent, &pad, out),
        Value::Array(a) if !a.is_empty() => nested_item(v, indent, &pad, out),
        other => {
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A collection as a sequence item: its block indented by two, the first line's indentation
/// replaced by `- ` (YAML's compact form).
fn nested_item(v: &Value, indent: usize, pad: &str, out: &mut String) {
    let mut inner = String::new();
    block(v, indent + 2, &mut inner);
    out.push_str(pad);
    out.push_str("- ");
    out.push_str(inner.get(indent + 2..).unwrap_or_default());
}

fn value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            block(v, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            block(v, indent + 2, out);
        }
        other => {
            out.push(' ');
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A scalar or empty collection on one line.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_text(s),
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
    }
}

/// Words a YAML reader may take for booleans or null.
const RESERVED: &[&str] = &[
    "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
];

/// A string as a YAML scalar: plain when it cannot be misread, else double-quoted with JSON
/// escapes (every JSON string literal is a valid YAML double-quoted scalar).
#[must_use]
pub fn scalar_text(s: &str) -> String {
    let plain = s.len() <= 200
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
        && !s.ends_with(' ')
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '@' | ' ' | '+')
        })
        && !RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r));
    if plain {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `text` atomically: written to a temporary file beside it (named
/// `.<name>.<pid>.<n>.tmp`, which scenario loading ignores), flushed to disk, then renamed
/// over `path`. On failure the temporary file is removed and `path` is untouched.
///
/// # Errors
/// The directory is not writable, the disk is full, ...
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let temp: PathBuf = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(v: &Value) -> String {
        let mut out = String::new();
        block(v, 0, &mut out);
        out
    }

    #[test]
    fn scalars_are_quoted_when_they_could_be_misread() {
        for plain in [
            "u-1",
            "accounts.getAccountInfo",
            "ann@example.com",
            "Ann Lee",
        ] {
            assert_eq!(scalar_text(plain), plain);
        }
        for quoted in [
            "", "123", "yes", "No", "null", "a: b", "#x", "- x", "x ", " x", "a\nb", "é", "$.a",
            "1e3", "-1", "{a}", "[a]", "*x", "&x", "!x", "%x", "'q'", "\"q\"", "a#b", "x:",
        ] {
            let text = scalar_text(quoted);
            assert!(text.starts_with('"'), "{quoted:?} → {text}");
            assert_eq!(serde_json::from_str::<String>(&text).unwrap(), quoted);
        }
    }

    #[test]
    fn block_layout() {
        let v = json!({
            "version": 1,
            "stubs": [
                {"name": "a", "request": {"params": {"UID": "u-1"}}, "list": [1, [2, 3], {}, []]},
                {"name": "b", "empty": {}}
            ]
        });
        assert_eq!(
            yaml(&v),
            "version: 1\nstubs:\n  - name: a\n    request:\n      params:\n        UID: u-1\n    list:\n      - 1\n      - - 2\n        - 3\n      - {}\n      - []\n  - name: b\n    empty: {}\n"
        );
    }

    #[test]
    fn atomic_writes_replace_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.yaml");
        write_atomic(&path, "one\n").unwrap();
        write_atomic(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.yaml"], "no temporary file is left");
        let missing = dir.path().join("no/such/dir/a.yaml");
        assert!(write_atomic(&missing, "x").is_err());
    }
}
