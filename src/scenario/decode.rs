//! Turning a positioned document tree into the scenario model, collecting every shape problem.
//!
//! Each mapping is read through `Fields`, which remembers which keys were consumed and reports
//! the rest as unknown (with a "did you mean" hint). A bad value records a problem at its own
//! position and decoding goes on, so one run reports every mistake in a file.

use super::model::{Account, Expectation, ScenarioFile, Stub};
use super::tree::{Kind, Node, Pos};

mod accounts;
mod expectations;
mod live;
mod requests;
mod responses;
mod sites;
mod values;

pub use live::fault_rules;

/// A problem found while decoding, at a position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeProblem {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Decodes a whole file. Problems are appended to `problems`.
pub fn scenario_file(root: &Node, problems: &mut Vec<ShapeProblem>) -> ScenarioFile {
    let mut d = Decoder { problems };
    d.file(root)
}

/// Decodes a single account (the admin API's `PUT /__admin/accounts/{UID}` body).
pub fn account(node: &Node, problems: &mut Vec<ShapeProblem>) -> Option<Account> {
    let mut d = Decoder { problems };
    d.account(node)
}

/// Decodes a single stub (the admin API's `POST /__admin/stubs` body).
pub fn stub(node: &Node, problems: &mut Vec<ShapeProblem>) -> Option<Stub> {
    let mut d = Decoder { problems };
    d.stub(node)
}

/// Decodes a single expectation (an `expect` item).
pub fn expectation(node: &Node, problems: &mut Vec<ShapeProblem>) -> Option<Expectation> {
    let mut d = Decoder { problems };
    d.expectation(node)
}

/// The item nodes of a posted fragment: a list of items, a mapping holding the list under
/// `key` (plus an optional `version`), or a single item (a mapping without `key`).
pub fn fragment_items<'n>(
    root: &'n Node,
    key: &'static str,
    problems: &mut Vec<ShapeProblem>,
) -> Vec<&'n Node> {
    let mut d = Decoder { problems };
    match &root.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(entries) if entries.iter().any(|(k, _)| k.key_text() == key) => {
            let Some(mut f) = d.fields(root, "the request body") else {
                return Vec::new();
            };
            let _ = f.take("version");
            let items = f.take(key).map(|n| d.seq(n, key).iter().collect());
            f.finish(&mut d, &["version", key]);
            items.unwrap_or_default()
        }
        Kind::Map(_) => vec![root],
        Kind::Scalar { .. } => {
            d.wrong_type(
                root,
                &format!("a mapping or a list of {key}"),
                "the request body",
            );
            Vec::new()
        }
    }
}

struct Decoder<'p> {
    problems: &'p mut Vec<ShapeProblem>,
}

/// The keys of one mapping, consumed one by one.
struct Fields<'n> {
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    what: &'static str,
}

impl<'n> Fields<'n> {
    fn take(&mut self, key: &str) -> Option<&'n Node> {
        let i = self.entries.iter().position(|(k, _)| k.key_text() == key)?;
        if let Some(u) = self.used.get_mut(i) {
            *u = true;
        }
        self.entries.get(i).map(|(_, v)| v)
    }

    fn finish(self, d: &mut Decoder<'_>, allowed: &[&str]) {
        for ((k, _), used) in self.entries.iter().zip(&self.used) {
            if !used {
                let key = k.key_text();
                let mut msg = format!("unknown key `{key}` in {}", self.what);
                match suggest(key, allowed) {
                    Some(s) => msg.push_str(&format!("; did you mean `{s}`?")),
                    None => msg.push_str(&format!("; expected one of: {}", allowed.join(", "))),
                }
                d.problem(k.pos, msg);
            }
        }
    }
}

/// The closest allowed key, when it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = key.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (edit_distance(&lower, &a.to_ascii_lowercase()), *a))
        .filter(|(d, a)| *d <= 2.max(a.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// The closest of `allowed` to `name`, when it is close enough to be a likely typo.
pub(crate) fn suggest_name<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    suggest(name, allowed)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let best = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            cur[j + 1] = best;
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

const FILE_KEYS: &[&str] = &["version", "sites", "accounts", "stubs", "expect", "faults"];
const STUB_KEYS: &[&str] = &[
    "name",
    "priority",
    "times",
    "request",
    "response",
    "responses",
    "sequence",
    "scenario",
    "requiredState",
    "newState",
    "seed",
];

impl Decoder<'_> {
    fn file(&mut self, root: &Node) -> ScenarioFile {
        let mut out = ScenarioFile::default();
        let Some(mut f) = self.fields(root, "the scenario file") else {
            return out;
        };
        match f.take("version") {
            None => self.problem(root.pos, "missing `version: 1` at the top of the file"),
            Some(v) => {
                if let Some(n) = self.int(v, "version") {
                    if n == 1 {
                        out.version = 1;
                    } else {
                        self.problem(
                            v.pos,
                            format!("unsupported version {n}; this gigya-mock reads version 1"),
                        );
                    }
                }
            }
        }
        if let Some(n) = f.take("sites") {
            for item in self.seq(n, "sites") {
                if let Some(site) = self.site(item) {
                    out.sites.push(site);
                }
            }
        }
        if let Some(n) = f.take("accounts") {
            for item in self.seq(n, "accounts") {
                if let Some(a) = self.account(item) {
                    out.accounts.push(a);
                }
            }
        }
        if let Some(n) = f.take("stubs") {
            for item in self.seq(n, "stubs") {
                // A stub that fails to decode is still counted so later indices stay stable.
                out.stubs.push(self.stub(item).unwrap_or_default());
            }
        }
        if let Some(n) = f.take("expect") {
            for item in self.seq(n, "expect") {
                // Kept (even when broken) so indices match the file for positions.
                out.expect.push(self.expectation(item).unwrap_or_default());
            }
        }
        if let Some(n) = f.take("faults") {
            out.faults = self.fault_rules(n);
        }
        f.finish(self, FILE_KEYS);
        out
    }

    fn stub(&mut self, node: &Node) -> Option<Stub> {
        let mut f = self.fields(node, "a stub")?;
        let mut s = Stub::default();
        if let Some(n) = f.take("name") {
            s.name = self.string(n, "name");
        }
        if let Some(n) = f.take("priority") {
            s.priority = self.ranged(n, "priority", "a 32-bit integer");
        }
        if let Some(n) = f.take("times") {
            s.times = self.ranged(n, "times", "0 or more");
        }
        match f.take("request") {
            Some(n) => s.request = self.request(n).unwrap_or_default(),
            None => self.problem(node.pos, "stub is missing `request`"),
        }
        let response = f.take("response");
        if let Some(n) = response {
            s.response = self.response(n).unwrap_or_default();
        }
        self.stub_live(&mut f, node, &mut s, response.is_some());
        f.finish(self, STUB_KEYS);
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::scenario::model::{AuthMode, NestedMerge, SettingsMerge};
    use crate::scenario::tree::parse_yaml;

    fn decode(text: &str) -> (ScenarioFile, Vec<ShapeProblem>) {
        let root = parse_yaml(text).unwrap().unwrap();
        let mut problems = Vec::new();
        let f = scenario_file(&root, &mut problems);
        (f, problems)
    }

    #[test]
    fn decodes_the_issue_example() {
        let (f, problems) = decode(
            r#"
version: 1
stubs:
  - name: gold-member-update
    request:
      method: accounts.setAccountInfo
      params:
        UID: { equals: "u-100" }
        data: { json: { "$.tier": { equals: "gold" } } }
    response:
      errorCode: 0
      callId: 0123456789abcdef0123456789abcdef
      body: { UID: "u-100" }
  - name: missing-uid
    request: { method: accounts.setAccountInfo, params: { UID: { absent: true } } }
    response: { errorCode: 400002, errorDetails: "Missing required parameter: UID" }
"#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(f.stubs.len(), 2);
        let s = &f.stubs[0];
        assert_eq!(s.name.as_deref(), Some("gold-member-update"));
        assert_eq!(
            s.request.params["UID"].equals,
            Some(Value::String("u-100".into()))
        );
        assert_eq!(
            s.request.params["data"].json["$.tier"].equals,
            Some(Value::String("gold".into()))
        );
        assert_eq!(f.stubs[1].request.params["UID"].absent, Some(true));
        assert_eq!(f.stubs[1].response.error_code, Some(400002));
    }

    #[test]
    fn reports_every_problem_with_its_position() {
        let (_, problems) = decode(
            "version: 1\nstubs:\n  - nmae: x\n    request: {method: a.b}\n    response: {errorCode: abc, stauts: 200}\n  - request: []\n    response: {}\n",
        );
        let rendered: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.pos, p.message))
            .collect();
        assert_eq!(
            rendered,
            vec![
                "5:27: errorCode: expected an integer, found a string",
                "5:32: unknown key `stauts` in response; did you mean `status`?",
                "3:5: unknown key `nmae` in a stub; did you mean `name`?",
                "6:14: request: expected a mapping, found a list",
            ]
        );
    }

    #[test]
    fn version_is_required_and_checked() {
        let (_, p) = decode("stubs: []\n");
        assert!(p[0].message.contains("missing `version: 1`"));
        let (_, p) = decode("version: 2\n");
        assert!(p[0].message.contains("unsupported version 2"));
    }

    #[test]
    fn scalars_are_equals_shorthand() {
        let (f, p) = decode(
            "version: 1\nstubs:\n  - request: {method: a.b, params: {age: 30, ok: true}}\n    response: {}\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            f.stubs[0].request.params["age"].equals,
            Some(Value::from(30))
        );
        assert_eq!(
            f.stubs[0].request.params["ok"].equals,
            Some(Value::Bool(true))
        );
        assert_eq!(
            f.stubs[0].request.method.as_ref().unwrap().equals,
            Some(Value::String("a.b".into()))
        );
    }

    #[test]
    fn null_and_empty_matchers_are_rejected() {
        let (_, p) =
            decode("version: 1\nstubs:\n  - request: {params: {a: ~, b: {}}}\n    response: {}\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].message.contains("cannot be null"));
        assert!(p[1].message.contains("empty matcher"));
    }

    #[test]
    fn sites_and_accounts_are_decoded() {
        let (f, p) = decode(
            "version: 1\nsites:\n  - apiKey: 3_k\n    dataCenter: eu1\n    partnerSecret: c2VjcmV0\n    auth: exact\n    applications: [{userKey: AK1, secret: c2Vj}]\naccounts:\n  - UID: u-1\n    profile: {firstName: Ann}\n    isActive: false\n    userSettings: {gigyaShareSettings: {Like: {alwaysShare: true}}}\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(f.sites[0].auth, AuthMode::Exact);
        assert_eq!(f.sites[0].applications[0].user_key, "AK1");
        assert_eq!(f.accounts[0].is_active, Some(false));
        assert_eq!(f.accounts[0].profile.as_ref().unwrap()["firstName"], "Ann");
        assert!(
            f.accounts[0]
                .user_settings
                .as_ref()
                .unwrap()
                .contains_key("gigyaShareSettings")
        );
    }

    #[test]
    fn bad_site_fields_are_reported() {
        let (_, p) =
            decode("version: 1\nsites:\n  - auth: loose\n    applications: [{secret: x}]\n");
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert!(msgs.contains(&"site is missing `apiKey`"), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("unknown mode `loose`")));
        assert!(msgs.contains(&"application is missing `userKey`"));
    }

    #[test]
    fn site_options_and_account_extras_are_decoded() {
        let (f, p) = decode(
            "version: 1\nsites:\n  - apiKey: k\n    options:\n      unknownUidCode: 403047\n      nestedObjects: replace\n      userSettings: replace\n      nullRemovesField: false\n      serverOnlyFields: [data.tier]\n      dataFields: [car]\n      signatureDebug: true\n      loginIdExistsStatus: 409\naccounts:\n  - UID: u\n    secretQuestion: q\n    secretAnswer: a\n    requirePasswordChange: true\n    phoneNumber: '+1555'\n    lang: it\n    rba: {riskPolicy: low}\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let o = f.sites[0].options.as_ref().unwrap();
        assert_eq!(o.unknown_uid_code, Some(403047));
        assert_eq!(o.nested_objects, Some(NestedMerge::Replace));
        assert_eq!(o.user_settings, Some(SettingsMerge::Replace));
        assert_eq!(o.null_removes_field, Some(false));
        assert_eq!(o.server_only_fields, vec!["data.tier".to_owned()]);
        assert_eq!(o.data_fields, Some(vec!["car".to_owned()]));
        assert_eq!(o.signature_debug, Some(true));
        assert_eq!(o.login_id_exists_status, Some(409));
        let a = &f.accounts[0];
        assert_eq!(a.secret_question.as_deref(), Some("q"));
        assert_eq!(a.require_password_change, Some(true));
        assert_eq!(a.phone_number.as_deref(), Some("+1555"));
        assert_eq!(a.rba.as_ref().unwrap()["riskPolicy"], "low");
    }

    #[test]
    fn bad_site_options_are_reported() {
        let (_, p) = decode(
            "version: 1\nsites:\n  - apiKey: k\n    options:\n      nestedObjects: deep\n      userSettings: [x]\n      unknownUidCod: 1\n",
        );
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("nestedObjects: unknown value `deep`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("userSettings: expected a string")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("did you mean `unknownUidCode`")),
            "{msgs:?}"
        );
    }
}
