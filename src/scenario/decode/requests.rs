//! Decoding request patterns and the value matchers they hold.

use indexmap::IndexMap;

use super::super::model::{RequestPattern, ValueMatch};
use super::super::tree::{Kind, Node, Scalar};
use super::Decoder;

const REQUEST_KEYS: &[&str] = &[
    "method",
    "apiKey",
    "params",
    "headers",
    "path",
    "httpMethod",
    "query",
    "body",
    "not",
    "anyOf",
    "allOf",
];
const MATCH_KEYS: &[&str] = &[
    "equals",
    "matches",
    "contains",
    "present",
    "absent",
    "json",
    "jsonIncludes",
    "jsonEquals",
    "not",
    "anyOf",
    "allOf",
];

impl Decoder<'_> {
    pub(super) fn request(&mut self, node: &Node) -> Option<RequestPattern> {
        let mut f = self.fields(node, "request")?;
        let mut r = RequestPattern::default();
        if let Some(n) = f.take("method") {
            r.method = self.matcher(n, "method").map(Box::new);
        }
        if let Some(n) = f.take("apiKey") {
            r.api_key = self.matcher(n, "apiKey").map(Box::new);
        }
        if let Some(n) = f.take("params") {
            r.params = self.matcher_map(n, "params");
        }
        if let Some(n) = f.take("headers") {
            r.headers = self.matcher_map(n, "headers");
        }
        if let Some(n) = f.take("path") {
            r.path = self.matcher(n, "path").map(Box::new);
        }
        if let Some(n) = f.take("httpMethod") {
            r.http_method = self.string(n, "httpMethod");
        }
        if let Some(n) = f.take("query") {
            r.query = self.matcher_map(n, "query");
        }
        if let Some(n) = f.take("body") {
            r.body = self.matcher(n, "body").map(Box::new);
        }
        if let Some(n) = f.take("not") {
            r.not = self.request(n).map(Box::new);
        }
        if let Some(n) = f.take("anyOf") {
            for item in self.seq(n, "anyOf") {
                if let Some(p) = self.request(item) {
                    r.any_of.push(p);
                }
            }
        }
        if let Some(n) = f.take("allOf") {
            for item in self.seq(n, "allOf") {
                if let Some(p) = self.request(item) {
                    r.all_of.push(p);
                }
            }
        }
        f.finish(self, REQUEST_KEYS);
        Some(r)
    }

    fn matcher_map(&mut self, node: &Node, what: &'static str) -> IndexMap<String, ValueMatch> {
        let mut out = IndexMap::new();
        let Kind::Map(entries) = &node.kind else {
            if node.scalar() != Some(Scalar::Null) {
                self.wrong_type(node, "a mapping of names to matchers", what);
            }
            return out;
        };
        for (k, v) in entries {
            if let Some(m) = self.matcher(v, what) {
                out.insert(k.key_text().to_owned(), m);
            }
        }
        out
    }

    fn matcher(&mut self, node: &Node, what: &str) -> Option<ValueMatch> {
        if let Some(s) = node.scalar() {
            if s == Scalar::Null {
                self.problem(node.pos, format!("{what}: a matcher cannot be null; use `absent: true` to require a missing value"));
                return None;
            }
            return Some(ValueMatch {
                equals: Some(node.to_json()),
                ..ValueMatch::default()
            });
        }
        let Kind::Map(entries) = &node.kind else {
            self.wrong_type(node, "a value or a mapping of operators", what);
            return None;
        };
        if entries.is_empty() {
            self.problem(
                node.pos,
                format!(
                    "{what}: empty matcher; give at least one of: {}",
                    MATCH_KEYS.join(", ")
                ),
            );
            return None;
        }
        let before = self.problems.len();
        let mut f = self.fields(node, "a matcher")?;
        let mut m = ValueMatch::default();
        if let Some(n) = f.take("equals") {
            if n.scalar() == Some(Scalar::Null) {
                self.problem(
                    n.pos,
                    "equals: null never matches a parameter; use `absent: true`",
                );
            }
            m.equals = Some(n.to_json());
        }
        if let Some(n) = f.take("matches") {
            m.matches = self.string(n, "matches");
        }
        if let Some(n) = f.take("contains") {
            m.contains = self.string(n, "contains");
        }
        if let Some(n) = f.take("present") {
            m.present = self.bool(n, "present");
        }
        if let Some(n) = f.take("absent") {
            m.absent = self.bool(n, "absent");
        }
        if let Some(n) = f.take("json") {
            m.json = self.matcher_map(n, "json");
            if m.json.is_empty() && matches!(&n.kind, Kind::Map(e) if e.is_empty()) {
                self.problem(
                    n.pos,
                    "json: give at least one path, e.g. `\"$.tier\": gold`",
                );
            }
        }
        if let Some(n) = f.take("jsonIncludes") {
            m.json_includes = Some(n.to_json());
        }
        if let Some(n) = f.take("jsonEquals") {
            m.json_equals = Some(n.to_json());
        }
        if let Some(n) = f.take("not") {
            m.not = self.matcher(n, "not").map(Box::new);
        }
        if let Some(n) = f.take("anyOf") {
            for item in self.seq(n, "anyOf") {
                if let Some(x) = self.matcher(item, "anyOf") {
                    m.any_of.push(x);
                }
            }
        }
        if let Some(n) = f.take("allOf") {
            for item in self.seq(n, "allOf") {
                if let Some(x) = self.matcher(item, "allOf") {
                    m.all_of.push(x);
                }
            }
        }
        f.finish(self, MATCH_KEYS);
        // A matcher with a broken operator is dropped whole, so the compiler does not report
        // the remains (say, an empty matcher) a second time.
        (self.problems.len() == before).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{STUB_KEYS, suggest};
    use super::*;

    #[test]
    fn suggestions_only_for_near_keys() {
        assert_eq!(suggest("prority", STUB_KEYS), Some("priority"));
        assert_eq!(suggest("zzzzzz", STUB_KEYS), None);
        assert_eq!(suggest("Method", REQUEST_KEYS), Some("method"));
    }
}
