//! The generic readers of the decoder: problems, mappings, lists, strings, integers,
//! booleans and JSON objects, each reporting a value of the wrong type at its position.

use serde_json::{Map, Value};

use super::super::tree::{Kind, Node, Pos, Scalar};
use super::{Decoder, Fields, ShapeProblem};

impl Decoder<'_> {
    pub(super) fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(ShapeProblem {
            pos,
            message: message.into(),
        });
    }

    pub(super) fn wrong_type(&mut self, node: &Node, expected: &str, what: &str) {
        let msg = format!("{what}: expected {expected}, found {}", node.type_name());
        self.problem(node.pos, msg);
    }

    pub(super) fn fields<'n>(&mut self, node: &'n Node, what: &'static str) -> Option<Fields<'n>> {
        match &node.kind {
            Kind::Map(entries) => Some(Fields {
                entries,
                used: vec![false; entries.len()],
                what,
            }),
            _ => {
                self.wrong_type(node, "a mapping", what);
                None
            }
        }
    }

    pub(super) fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            Kind::Scalar { .. } if node.scalar() == Some(Scalar::Null) => &[],
            _ => {
                self.wrong_type(node, "a list", what);
                &[]
            }
        }
    }

    /// A string; numbers and booleans are accepted as their source text.
    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match (&node.kind, node.scalar()) {
            (_, Some(Scalar::Null)) | (_, None) => {
                self.wrong_type(node, "a string", what);
                None
            }
            (Kind::Scalar { text, .. }, Some(_)) => Some(text.clone()),
            _ => None,
        }
    }

    pub(super) fn int(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.scalar() {
            Some(Scalar::Int(i)) => Some(i),
            Some(Scalar::Str(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            _ => {
                self.wrong_type(node, "an integer", what);
                None
            }
        }
    }

    pub(super) fn ranged<T: TryFrom<i64>>(
        &mut self,
        node: &Node,
        what: &str,
        range: &str,
    ) -> Option<T> {
        let i = self.int(node, what)?;
        match T::try_from(i) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(node.pos, format!("{what}: {i} is out of range ({range})"));
                None
            }
        }
    }

    pub(super) fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.scalar() {
            Some(Scalar::Bool(b)) => Some(b),
            Some(Scalar::Str(s)) if crate::gigya::params::parse_bool(s).is_some() => {
                crate::gigya::params::parse_bool(s)
            }
            _ => {
                self.wrong_type(node, "true or false", what);
                None
            }
        }
    }

    pub(super) fn object(&mut self, node: &Node, what: &str) -> Option<Map<String, Value>> {
        match node.to_json() {
            Value::Object(m) => Some(m),
            _ => {
                self.wrong_type(node, "a mapping", what);
                None
            }
        }
    }
}
