//! The stub index: which stubs can possibly match a request, without looking at all of them.
//!
//! Stubs are numbered in the order they are tried (priority, then declaration order). A stub
//! whose Gigya method is an exact name goes into that method's bucket; inside the bucket, a stub
//! with an exact-equality parameter (say `UID: u-100`) is filed under that parameter's value, and
//! one with an exact string at a JSON path of a parameter (`data: {json: {$.tier: {equals:
//! gold}}}`) under that string.
//! Raw stubs with an exact path are filed by path. Everything else (regex methods, combinators)
//! is "generic" and considered for every request. A lookup therefore costs a few hash probes
//! plus the generic list, however many stubs there are.

use std::collections::HashMap;

use serde_json::Value;

use super::jsonpath::JsonPath;
use crate::exchange::CapturedRequest;

/// Maps from request text (method, path, parameter value) to stubs: looked up on every
/// request, so hashed with a fast hasher (its seed is still random per map).
type Map<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// Where a stub is filed (borrowed from the stub: the index copies what it keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKey<'a> {
    /// An exact Gigya method, optionally with one exact parameter value.
    Method {
        /// The method name.
        method: &'a str,
        /// An exact-equality parameter, or an exact string at a JSON path of one.
        param: Option<ParamKey<'a>>,
    },
    /// An exact raw path.
    Path(&'a str),
    /// Considered for every request.
    Generic,
}

/// Where a stub's indexed value is, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamKey<'a> {
    /// The parameter, as the stub spells it.
    pub name: &'a str,
    /// A JSON path into the parameter's value (one that picks at most one value), whose string
    /// is the key; `None`: the parameter's text is.
    pub path: Option<&'a JsonPath>,
    /// The value.
    pub value: &'a str,
}

/// Where a bucket's keyed stubs take their key from: a parameter as the stubs spell it, and
/// maybe a JSON path into it.
#[derive(Debug, PartialEq, Eq)]
struct KeyAt {
    name: String,
    path: Option<JsonPath>,
}

impl KeyAt {
    /// The request's key text, if it has one.
    fn in_request<'r>(&self, req: &'r CapturedRequest) -> Option<&'r str> {
        match &self.path {
            None => req.param(&self.name),
            Some(path) => match path.select_one(req.params().get(&self.name)?.json()?)? {
                Value::String(s) => Some(s),
                _ => None,
            },
        }
    }
}

/// Adds `id` to the stubs filed under `key`, copying the key only when it is new.
fn push(map: &mut Map<Vec<u32>>, key: &str, id: u32) {
    match map.get_mut(key) {
        Some(ids) => ids.push(id),
        None => {
            map.insert(key.to_owned(), vec![id]);
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    /// Per parameter (and JSON path): value → stub ids.
    keyed: Vec<(KeyAt, Map<Vec<u32>>)>,
    /// Stubs of this method without an indexable parameter.
    rest: Vec<u32>,
}

/// The index over one stub set.
#[derive(Debug, Default)]
pub struct StubIndex {
    by_method: Map<Bucket>,
    by_path: Map<Vec<u32>>,
    generic: Vec<u32>,
}

impl StubIndex {
    /// Builds the index; the n-th key belongs to stub id n.
    #[must_use]
    pub fn build<'a>(keys: impl IntoIterator<Item = IndexKey<'a>>) -> Self {
        let mut index = Self::default();
        for (id, key) in keys.into_iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            match key {
                IndexKey::Generic => index.generic.push(id),
                IndexKey::Path(p) => push(&mut index.by_path, p, id),
                IndexKey::Method { method, param } => {
                    let bucket = match index.by_method.get_mut(method) {
                        Some(bucket) => bucket,
                        None => index.by_method.entry(method.to_owned()).or_default(),
                    };
                    let Some(ParamKey { name, path, value }) = param else {
                        bucket.rest.push(id);
                        continue;
                    };
                    // One map per spelling: a request is looked up with each, as each stub's
                    // own matcher reads the parameter by its spelling.
                    let same = |(k, _): &(KeyAt, _)| k.name == name && k.path.as_ref() == path;
                    let slot = match bucket.keyed.iter().position(same) {
                        Some(i) => i,
                        None => {
                            let at = KeyAt {
                                name: name.to_owned(),
                                path: path.cloned(),
                            };
                            bucket.keyed.push((at, Map::default()));
                            bucket.keyed.len() - 1
                        }
                    };
                    if let Some((_, map)) = bucket.keyed.get_mut(slot) {
                        push(map, value, id);
                    }
                }
            }
        }
        index
    }

    /// Fills `out` with the ids of every stub that may match, in the order to try them.
    pub fn candidates(&self, req: &CapturedRequest, out: &mut Vec<u32>) {
        self.collect(req, out, |at, map, out| {
            if let Some(ids) = at.in_request(req).and_then(|v| map.get(v)) {
                out.extend_from_slice(ids);
            }
        });
    }

    /// The ids of every stub filed under a Gigya method or a path the request has, ignoring
    /// parameter values (for near-miss reports), plus the generic ones.
    pub fn related(&self, req: &CapturedRequest, out: &mut Vec<u32>) {
        self.collect(req, out, |_, map, out| {
            for ids in map.values() {
                out.extend_from_slice(ids);
            }
        });
    }

    /// The generic stubs, the path's stubs and the method bucket's unkeyed stubs, plus whatever
    /// `keyed` takes from each parameter map of the bucket; sorted into trying order.
    fn collect(
        &self,
        req: &CapturedRequest,
        out: &mut Vec<u32>,
        keyed: impl Fn(&KeyAt, &Map<Vec<u32>>, &mut Vec<u32>),
    ) {
        out.clear();
        out.extend_from_slice(&self.generic);
        if let Some(ids) = self.by_path.get(req.path.as_str()) {
            out.extend_from_slice(ids);
        }
        if let Some(bucket) = req
            .gigya_method
            .as_deref()
            .and_then(|m| self.by_method.get(m))
        {
            out.extend_from_slice(&bucket.rest);
            for (at, map) in &bucket.keyed {
                keyed(at, map, out);
            }
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(method: &'a str, param: Option<(&'a str, &'a str)>) -> IndexKey<'a> {
        IndexKey::Method {
            method,
            param: param.map(|(name, value)| ParamKey {
                name,
                path: None,
                value,
            }),
        }
    }

    fn json_key<'a>(
        method: &'a str,
        name: &'a str,
        path: &'a JsonPath,
        value: &'a str,
    ) -> IndexKey<'a> {
        IndexKey::Method {
            method,
            param: Some(ParamKey {
                name,
                path: Some(path),
                value,
            }),
        }
    }

    #[test]
    fn strings_at_json_paths_are_keys_too() {
        let (tier, address) = (
            JsonPath::parse("$.tier").unwrap(),
            JsonPath::parse("$.emails[0].address").unwrap(),
        );
        let keys = [
            json_key("a.b", "data", &tier, "gold"),
            json_key("a.b", "data", &tier, "silver"),
            json_key("a.b", "profile", &address, "x@example.com"),
            key("a.b", Some(("UID", "u1"))),
        ];
        let index = StubIndex::build(keys);
        let mut out = Vec::new();
        let mut ids = |params: &[(&str, &str)]| {
            index.candidates(
                &CapturedRequest::gigya_call("a.b", params.iter().copied()),
                &mut out,
            );
            out.clone()
        };
        assert_eq!(ids(&[("data", r#"{"tier":"silver"}"#)]), vec![1]);
        assert_eq!(
            ids(&[
                ("DATA", r#"{"tier":"gold","x":1}"#),
                ("profile", r#"{"emails":[{"address":"x@example.com"}]}"#),
                ("UID", "u1"),
            ]),
            vec![0, 2, 3]
        );
        // Not JSON, not an object, not a string there, or nothing there: no key.
        for data in ["gold", "[1]", r#"{"tier":1}"#, r#"{"tier":["gold"]}"#, "{}"] {
            assert_eq!(ids(&[("data", data)]), Vec::<u32>::new(), "{data}");
        }
    }

    #[test]
    fn candidates_come_from_method_param_path_and_generic() {
        let keys = [
            key("accounts.setAccountInfo", Some(("UID", "u1"))),
            key("accounts.setAccountInfo", Some(("UID", "u2"))),
            key("accounts.setAccountInfo", None),
            IndexKey::Generic,
            key("accounts.getAccountInfo", None),
            IndexKey::Path("/accounts.setAccountInfo"),
        ];
        let index = StubIndex::build(keys);
        let mut out = Vec::new();
        let req = CapturedRequest::gigya_call("accounts.setAccountInfo", [("uid", "u2")]);
        index.candidates(&req, &mut out);
        assert_eq!(out, vec![1, 2, 3, 5]);
        let req = CapturedRequest::gigya_call("accounts.getAccountInfo", [("UID", "u2")]);
        index.candidates(&req, &mut out);
        assert_eq!(out, vec![3, 4]);
        let req = CapturedRequest::gigya_call("accounts.setAccountInfo", [("UID", "u9")]);
        index.related(&req, &mut out);
        assert_eq!(out, vec![0, 1, 2, 3, 5]);
    }

    #[test]
    fn each_spelling_is_looked_up_as_its_stubs_read_it() {
        let keys = [
            key("a.b", Some(("UID", "upper"))),
            key("a.b", Some(("uid", "lower"))),
        ];
        let index = StubIndex::build(keys);
        let mut out = Vec::new();
        // Both spellings sent: each stub's matcher reads its own, so both are candidates.
        let req = CapturedRequest::gigya_call("a.b", [("uid", "lower"), ("UID", "upper")]);
        index.candidates(&req, &mut out);
        assert_eq!(out, vec![0, 1]);
        // One spelling sent: both lookups fall back to it, ignoring case.
        let req = CapturedRequest::gigya_call("a.b", [("Uid", "lower")]);
        index.candidates(&req, &mut out);
        assert_eq!(out, vec![1]);
    }

    #[test]
    fn many_stubs_keep_candidate_lists_short() {
        let uids: Vec<String> = (0..10_000).map(|i| format!("u{i}")).collect();
        let index = StubIndex::build(
            uids.iter()
                .map(|uid| key("accounts.setAccountInfo", Some(("UID", uid)))),
        );
        let mut out = Vec::new();
        index.candidates(
            &CapturedRequest::gigya_call("accounts.setAccountInfo", [("UID", "u7777")]),
            &mut out,
        );
        assert_eq!(out, vec![7777]);
    }
}
