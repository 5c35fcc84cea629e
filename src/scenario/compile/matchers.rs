//! Request patterns compiled into matchers: the method, path, parameters, query, headers and
//! body a stub or an expectation matches on, and the value operators (`equals`, `matches`,
//! `json`, `anyOf`, ...), with one compiled regular expression per distinct pattern.

use std::sync::Arc;

use http::{HeaderName, Method};
use regex::Regex;
use serde_json::Value;

use super::{Compiler, KeyPath};
use crate::matching::{Field, JsonPath, Matcher, RequestMatcher};
use crate::scenario::model::{RequestPattern, ValueMatch};

impl Compiler {
    /// The compiled form of `pattern`, shared with every earlier use of the same pattern.
    fn regex(&mut self, pattern: &str) -> Result<Arc<Regex>, regex::Error> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re.clone());
        }
        let re = Arc::new(Regex::new(pattern)?);
        self.regexes.insert(pattern.to_owned(), re.clone());
        Ok(re)
    }

    pub(in crate::scenario) fn request(
        &mut self,
        r: &RequestPattern,
        at: &KeyPath,
    ) -> Option<RequestMatcher> {
        let before = self.problems.len();
        let mut out = RequestMatcher {
            params: Vec::with_capacity(r.params.len()),
            query: Vec::with_capacity(r.query.len()),
            headers: Vec::with_capacity(r.headers.len()),
            method: r
                .method
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("method"))),
            api_key: r
                .api_key
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("apiKey")))
                .map(Box::new),
            path: r
                .path
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("path")))
                .map(Box::new),
            body: r
                .body
                .as_ref()
                .and_then(|m| self.matcher(m, &at.key("body")))
                .map(Box::new),
            ..RequestMatcher::default()
        };
        if let Some(Matcher::Equals { text, .. }) = out.path.as_deref() {
            if !text.starts_with('/') {
                self.problem(
                    &at.key("path"),
                    format!("path {text:?} must start with `/`"),
                );
            }
        }
        for (name, m) in &r.params {
            let p = at.key("params").key(name);
            if name.is_empty() {
                self.problem(&p, "parameter name must not be empty");
            }
            if let Some(matcher) = self.matcher(m, &p) {
                out.params.push(Field {
                    name: name.clone(),
                    matcher,
                });
            }
        }
        for (name, m) in &r.query {
            let p = at.key("query").key(name);
            if let Some(matcher) = self.matcher(m, &p) {
                out.query.push(Field {
                    name: name.clone(),
                    matcher,
                });
            }
        }
        for (name, m) in &r.headers {
            let p = at.key("headers").key(name);
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) => {
                    if let Some(matcher) = self.matcher(m, &p) {
                        out.headers.push((h, matcher));
                    }
                }
                Err(_) => self.problem(&p, format!("{name:?} is not a valid header name")),
            }
        }
        if let Some(m) = &r.http_method {
            match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
                Ok(method) => out.http_method = Some(method),
                Err(_) => self.problem(
                    &at.key("httpMethod"),
                    format!("{m:?} is not an HTTP method"),
                ),
            }
        }
        if let Some(not) = &r.not {
            out.not = self.request(not, &at.key("not")).map(Box::new);
        }
        for (i, p) in r.any_of.iter().enumerate() {
            if let Some(m) = self.request(p, &at.key("anyOf").index(i)) {
                out.any_of.push(m);
            }
        }
        for (i, p) in r.all_of.iter().enumerate() {
            if let Some(m) = self.request(p, &at.key("allOf").index(i)) {
                out.all_of.push(m);
            }
        }
        (self.problems.len() == before).then_some(out)
    }

    fn matcher(&mut self, m: &ValueMatch, at: &KeyPath) -> Option<Matcher> {
        let before = self.problems.len();
        let mut parts = Vec::new();
        if let Some(v) = &m.equals {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => {
                    // Objects and arrays compare as JSON values; as text they never match.
                    v.to_string()
                }
            };
            parts.push(Matcher::Equals {
                text,
                value: v.clone(),
            });
        }
        if let Some(re) = &m.matches {
            match self.regex(re) {
                Ok(r) => parts.push(Matcher::Matches(r)),
                Err(e) => self.problem(
                    &at.key("matches"),
                    format!("invalid regular expression {re:?}: {}", regex_reason(&e)),
                ),
            }
        }
        if let Some(s) = &m.contains {
            parts.push(Matcher::Contains(s.clone()));
        }
        let present = match (m.present, m.absent) {
            (Some(p), Some(a)) if p == a => {
                self.problem(at, "`present` and `absent` contradict each other");
                None
            }
            (Some(p), _) => Some(p),
            (None, Some(a)) => Some(!a),
            (None, None) => None,
        };
        match present {
            Some(true) => parts.push(Matcher::Present),
            Some(false) => parts.push(Matcher::Absent),
            None => {}
        }
        if !m.json.is_empty() {
            let mut paths = Vec::new();
            for (p, inner) in &m.json {
                let here = at.key("json").key(p);
                match JsonPath::parse(p) {
                    Ok(path) => {
                        if let Some(im) = self.matcher(inner, &here) {
                            paths.push((path, im));
                        }
                    }
                    Err(e) => self.problem(&here, e.to_string()),
                }
            }
            parts.push(Matcher::Json(paths));
        }
        if let Some(v) = &m.json_includes {
            parts.push(Matcher::JsonIncludes(v.clone()));
        }
        if let Some(v) = &m.json_equals {
            parts.push(Matcher::JsonEquals(v.clone()));
        }
        if let Some(inner) = &m.not {
            if let Some(im) = self.matcher(inner, &at.key("not")) {
                parts.push(Matcher::Not(Box::new(im)));
            }
        }
        if !m.any_of.is_empty() {
            let items: Vec<Matcher> = m
                .any_of
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.matcher(x, &at.key("anyOf").index(i)))
                .collect();
            parts.push(Matcher::AnyOf(items));
        }
        if !m.all_of.is_empty() {
            let items: Vec<Matcher> = m
                .all_of
                .iter()
                .enumerate()
                .filter_map(|(i, x)| self.matcher(x, &at.key("allOf").index(i)))
                .collect();
            parts.extend(items);
        }
        if self.problems.len() != before {
            return None;
        }
        match parts.len() {
            0 => {
                self.problem(
                    at,
                    "empty matcher; give at least one operator such as `equals`",
                );
                None
            }
            1 => parts.pop(),
            _ => {
                parts.shrink_to_fit();
                Some(Matcher::AllOf(parts))
            }
        }
    }
}

/// The regex crate's reason without its multi-line source excerpt.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::{Format, Source, load_sources};

    fn regex_of(m: &RequestMatcher, param: &str) -> Arc<Regex> {
        match m
            .params
            .iter()
            .find(|f| f.name == param)
            .map(|f| &f.matcher)
        {
            Some(Matcher::Matches(re)) => re.clone(),
            other => panic!("not a regex matcher: {other:?}"),
        }
    }

    #[test]
    fn stubs_with_the_same_pattern_share_one_compiled_regex() {
        let set = load_sources(vec![Source {
            label: "s.yaml".into(),
            base_dir: ".".into(),
            format: Format::Yaml,
            text: r#"version: 1
stubs:
  - request: { method: m, params: { lang: { matches: "^(en|de)$" } } }
    response: {}
  - request: { method: m, params: { lang: { matches: "^(en|de)$" } } }
    response: {}
  - request: { method: m, params: { lang: { matches: "^fr$" } } }
    response: {}
"#
            .into(),
        }])
        .unwrap();
        let [a, b, c] = set.stubs() else {
            panic!("three stubs expected");
        };
        let (ra, rb, rc) = (
            regex_of(&a.matcher, "lang"),
            regex_of(&b.matcher, "lang"),
            regex_of(&c.matcher, "lang"),
        );
        assert!(Arc::ptr_eq(&ra, &rb), "the same pattern is compiled once");
        assert!(!Arc::ptr_eq(&ra, &rc));
        assert!(ra.is_match("de") && !rc.is_match("de") && rc.is_match("fr"));
    }
}
