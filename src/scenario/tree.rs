//! A small document tree with a source position on every node, built from YAML or JSON text.
//!
//! The scenario decoder walks this tree instead of deserializing with serde so that it can
//! report *every* problem in a file, each at its own `line:col`. YAML is read with the
//! `saphyr-parser` event stream; JSON is first checked by `serde_json` (for its precise syntax
//! messages) and then read by the same YAML parser, since JSON text is valid YAML 1.2. Scalars
//! keep their source text; plain scalars are resolved with the YAML core schema on demand.

use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column, starting at 1.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Where it starts.
    pub pos: Pos,
}

/// The shape of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A scalar with its source text; `plain` is false for quoted and block scalars.
    Scalar {
        /// The text as written (after unquoting).
        text: String,
        /// Whether it was a plain (unquoted) scalar, whose type is resolved from its text.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

/// A resolved scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    /// `null`, `~` or empty.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'a str),
}

impl Node {
    /// The resolved value of a scalar node; `None` for collections.
    #[must_use]
    pub fn scalar(&self) -> Option<Scalar<'_>> {
        match &self.kind {
            Kind::Scalar { text, plain: false } => Some(Scalar::Str(text)),
            Kind::Scalar { text, plain: true } => Some(resolve_plain(text)),
            _ => None,
        }
    }

    /// A short name of the node's type for messages ("a string", "a mapping", ...).
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self.scalar() {
            None => match self.kind {
                Kind::Seq(_) => "a list",
                _ => "a mapping",
            },
            Some(Scalar::Null) => "null",
            Some(Scalar::Bool(_)) => "a boolean",
            Some(Scalar::Int(_)) => "an integer",
            Some(Scalar::Float(_)) => "a number",
            Some(Scalar::Str(_)) => "a string",
        }
    }

    /// The node as a JSON value (mapping keys become their text).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text().to_owned(), v.to_json()))
                    .collect(),
            ),
            Kind::Scalar { .. } => match self.scalar() {
                Some(Scalar::Bool(b)) => Value::Bool(b),
                Some(Scalar::Int(i)) => Value::from(i),
                Some(Scalar::Float(f)) => {
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
                Some(Scalar::Str(s)) => Value::String(s.to_owned()),
                Some(Scalar::Null) | None => Value::Null,
            },
        }
    }

    /// The text of a scalar used as a mapping key ("" for collection keys).
    #[must_use]
    pub fn key_text(&self) -> &str {
        match &self.kind {
            Kind::Scalar { text, .. } => text,
            _ => "",
        }
    }
}

fn resolve_plain(text: &str) -> Scalar<'_> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Scalar::Int(i);
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return Scalar::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return Scalar::Int(i);
        }
    }
    if looks_like_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Scalar::Float(f);
        }
    }
    Scalar::Str(text)
}

fn looks_like_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let (int, frac) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
            None => (mantissa, None),
        };
        let int_ok = int.bytes().all(|b| b.is_ascii_digit());
        let frac_ok = frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()));
        int_ok && frac_ok && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exp_ok && (mantissa.contains('.') || exp.is_some())
}

/// A syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Parses YAML text into a tree. An empty document yields `None`.
///
/// # Errors
/// The first syntax error, with its position.
pub fn parse_yaml(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| SyntaxError {
            pos: Pos {
                line: to_u32(e.marker().line()),
                col: to_u32(e.marker().col() + 1),
            },
            message: e.info().to_owned(),
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.root)
}

/// Parses JSON text into a tree. Syntax errors come from `serde_json`.
///
/// # Errors
/// The first syntax error, with its position.
pub fn parse_json(text: &str) -> Result<Option<Node>, SyntaxError> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(SyntaxError {
            pos: Pos {
                line: to_u32(e.line()),
                col: to_u32(e.column()),
            },
            message: json_message(&e),
        });
    }
    parse_yaml(text)
}

fn json_message(e: &serde_json::Error) -> String {
    // serde_json appends " at line X column Y"; the position is reported separately.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: Vec<(usize, Node)>,
    documents: usize,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

fn span_pos(span: &Span) -> Pos {
    Pos {
        line: to_u32(span.start.line()),
        col: to_u32(span.start.col() + 1),
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), SyntaxError> {
        let pos = span_pos(&span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        message: "a scenario file holds one YAML document; found a second `---`"
                            .into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = matches!(style, ScalarStyle::Plain)
                    && tag.as_ref().is_none_or(|t| t.suffix != "str");
                // The scanner hands over generously sized buffers; a big scenario set holds
                // hundreds of thousands of scalars, so keep only what the text needs.
                let mut text = text.into_owned();
                text.shrink_to_fit();
                let node = Node {
                    kind: Kind::Scalar { text, plain },
                    pos,
                };
                self.remember(anchor, &node);
                self.push(node)?;
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                pos,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                pos,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        pos,
                        anchor,
                        mut items,
                    }) => (
                        Node {
                            kind: Kind::Seq({
                                items.shrink_to_fit();
                                items
                            }),
                            pos,
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        ..
                    }) => (
                        Node {
                            kind: Kind::Map({
                                entries.shrink_to_fit();
                                entries
                            }),
                            pos,
                        },
                        anchor,
                    ),
                    None => return Ok(()),
                };
                self.remember(anchor, &node);
                self.push(node)?;
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| Node {
                        kind: n.kind.clone(),
                        pos,
                    })
                    .ok_or_else(|| SyntaxError {
                        pos,
                        message: "alias refers to an unknown anchor".into(),
                    })?;
                self.push(node)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }

    fn push(&mut self, node: Node) -> Result<(), SyntaxError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    if matches!(node.kind, Kind::Scalar { .. })
                        && entries.iter().any(|(k, _)| k.key_text() == node.key_text())
                    {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: format!("duplicate key `{}`", node.key_text()),
                        });
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Node {
        parse_yaml(s).unwrap().unwrap()
    }

    #[test]
    fn positions_are_one_based() {
        let root = yaml("version: 1\nstubs:\n  - name: a\n");
        let Kind::Map(entries) = &root.kind else {
            panic!()
        };
        assert_eq!(entries[0].0.pos, Pos { line: 1, col: 1 });
        assert_eq!(entries[0].1.pos, Pos { line: 1, col: 10 });
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!()
        };
        assert_eq!(items[0].pos, Pos { line: 3, col: 5 });
    }

    #[test]
    fn plain_scalars_resolve_by_core_schema() {
        let root = yaml("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: u-1\ng: 1e3\nh: 0x1F\ni: .5\n");
        let v = root.to_json();
        assert_eq!(v["a"], 1);
        assert_eq!(v["b"], "1");
        assert_eq!(v["c"], true);
        assert!(v["d"].is_null());
        assert_eq!(v["e"], 1.5);
        assert_eq!(v["f"], "u-1");
        assert_eq!(v["g"], 1000.0);
        assert_eq!(v["h"], 31);
        assert_eq!(v["i"], 0.5);
    }

    #[test]
    fn strings_that_look_numeric_stay_strings() {
        for s in ["1.2.3", "12ab", "-", "+", "e5", "1e", ".", "0x"] {
            assert_eq!(resolve_plain(s), Scalar::Str(s), "{s}");
        }
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_yaml("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 3, col: 1 });
        assert!(e.message.contains("duplicate key `a`"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_yaml("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.pos.line >= 1);
        let e = parse_json("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
        assert_eq!(e.pos.line, 3);
        assert!(e.message.contains("expected `:`"), "{}", e.message);
    }

    #[test]
    fn json_is_read_with_positions() {
        let root = parse_json("{\"version\": 1,\n \"stubs\": [{\"name\": \"x\"}]}")
            .unwrap()
            .unwrap();
        let Kind::Map(entries) = &root.kind else {
            panic!()
        };
        assert_eq!(entries[1].0.pos, Pos { line: 2, col: 2 });
        assert_eq!(root.to_json()["stubs"][0]["name"], "x");
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let v = yaml("base: &b {x: 1}\nother: *b\n").to_json();
        assert_eq!(v["other"]["x"], 1);
    }

    #[test]
    fn empty_documents_give_none() {
        assert!(parse_yaml("").unwrap().is_none());
        assert!(parse_yaml("# only a comment\n").unwrap().is_none());
    }

    #[test]
    fn a_second_document_is_rejected() {
        assert!(parse_yaml("a: 1\n---\nb: 2\n").is_err());
    }
}
