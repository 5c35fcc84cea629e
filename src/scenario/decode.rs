//! Turning a positioned document tree into the scenario model, collecting every shape problem.
//!
//! Each mapping is read through `Fields`, which remembers which keys were consumed and reports
//! the rest as unknown (with a "did you mean" hint). A bad value records a problem at its own
//! position and decoding goes on, so one run reports every mistake in a file.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::model::{
    Account, Application, AuthMode, Expectation, NestedMerge, OrderItem, RequestPattern, Response,
    ScenarioFile, SettingsMerge, Site, SiteOptions, Stub, ValidationError, ValueMatch,
};
use super::tree::{Kind, Node, Pos, Scalar};

mod live;

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
const EXPECT_KEYS: &[&str] = &[
    "name", "stub", "request", "never", "inOrder", "times", "atLeast", "atMost",
];
const ORDER_ITEM_KEYS: &[&str] = &["stub", "request"];
const SITE_KEYS: &[&str] = &[
    "apiKey",
    "dataCenter",
    "partnerSecret",
    "applications",
    "auth",
    "requireHttps",
    "options",
];
const OPTION_KEYS: &[&str] = &[
    "unknownUidCode",
    "invalidRegTokenCode",
    "httpsRequiredCode",
    "loginIdExistsStatus",
    "nestedObjects",
    "nullRemovesField",
    "userSettings",
    "serverOnlyFields",
    "dataFields",
    "signatureDebug",
];
const APP_KEYS: &[&str] = &["userKey", "secret", "publicKey"];
const ACCOUNT_KEYS: &[&str] = &[
    "UID",
    "apiKey",
    "profile",
    "data",
    "subscriptions",
    "preferences",
    "isActive",
    "isVerified",
    "isRegistered",
    "loginEmails",
    "username",
    "password",
    "secretQuestion",
    "secretAnswer",
    "requirePasswordChange",
    "phoneNumber",
    "lang",
    "rba",
    "created",
    "regSource",
    "userInfo",
    "userSettings",
];
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
const RESPONSE_KEYS: &[&str] = &[
    "errorCode",
    "errorMessage",
    "errorDetails",
    "statusCode",
    "statusReason",
    "callId",
    "time",
    "validationErrors",
    "body",
    "bodyFile",
    "headers",
    "status",
    "delay",
    "fault",
];
const VALIDATION_KEYS: &[&str] = &["errorCode", "message", "fieldName"];

impl Decoder<'_> {
    fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(ShapeProblem {
            pos,
            message: message.into(),
        });
    }

    fn wrong_type(&mut self, node: &Node, expected: &str, what: &str) {
        let msg = format!("{what}: expected {expected}, found {}", node.type_name());
        self.problem(node.pos, msg);
    }

    fn fields<'n>(&mut self, node: &'n Node, what: &'static str) -> Option<Fields<'n>> {
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

    fn seq<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
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
    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match (&node.kind, node.scalar()) {
            (_, Some(Scalar::Null)) | (_, None) => {
                self.wrong_type(node, "a string", what);
                None
            }
            (Kind::Scalar { text, .. }, Some(_)) => Some(text.clone()),
            _ => None,
        }
    }

    fn int(&mut self, node: &Node, what: &str) -> Option<i64> {
        match node.scalar() {
            Some(Scalar::Int(i)) => Some(i),
            Some(Scalar::Str(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            _ => {
                self.wrong_type(node, "an integer", what);
                None
            }
        }
    }

    fn ranged<T: TryFrom<i64>>(&mut self, node: &Node, what: &str, range: &str) -> Option<T> {
        let i = self.int(node, what)?;
        match T::try_from(i) {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(node.pos, format!("{what}: {i} is out of range ({range})"));
                None
            }
        }
    }

    fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
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

    fn object(&mut self, node: &Node, what: &str) -> Option<Map<String, Value>> {
        match node.to_json() {
            Value::Object(m) => Some(m),
            _ => {
                self.wrong_type(node, "a mapping", what);
                None
            }
        }
    }

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

    fn site(&mut self, node: &Node) -> Option<Site> {
        let mut f = self.fields(node, "a site")?;
        let mut site = Site::default();
        match f.take("apiKey") {
            Some(n) => site.api_key = self.string(n, "apiKey").unwrap_or_default(),
            None => self.problem(node.pos, "site is missing `apiKey`"),
        }
        if let Some(n) = f.take("dataCenter") {
            site.data_center = self.string(n, "dataCenter");
        }
        if let Some(n) = f.take("partnerSecret") {
            site.partner_secret = self.string(n, "partnerSecret");
        }
        if let Some(n) = f.take("applications") {
            for item in self.seq(n, "applications") {
                if let Some(app) = self.application(item) {
                    site.applications.push(app);
                }
            }
        }
        if let Some(n) = f.take("auth") {
            match self.string(n, "auth").as_deref() {
                Some("strict") => site.auth = AuthMode::Strict,
                Some("exact") => site.auth = AuthMode::Exact,
                Some("off") => site.auth = AuthMode::Off,
                Some(other) => self.problem(
                    n.pos,
                    format!("auth: unknown mode `{other}`; expected strict, exact or off"),
                ),
                None => {}
            }
        }
        if let Some(n) = f.take("requireHttps") {
            site.require_https = self.bool(n, "requireHttps");
        }
        if let Some(n) = f.take("options") {
            site.options = self.site_options(n);
        }
        f.finish(self, SITE_KEYS);
        Some(site)
    }

    fn site_options(&mut self, node: &Node) -> Option<SiteOptions> {
        let mut f = self.fields(node, "site options")?;
        let mut o = SiteOptions::default();
        for (key, slot) in [
            ("unknownUidCode", &mut o.unknown_uid_code),
            ("invalidRegTokenCode", &mut o.invalid_reg_token_code),
            ("httpsRequiredCode", &mut o.https_required_code),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.ranged(n, key, "a Gigya error code");
            }
        }
        if let Some(n) = f.take("loginIdExistsStatus") {
            o.login_id_exists_status = self.ranged(n, "loginIdExistsStatus", "100 to 999");
        }
        if let Some(n) = f.take("nestedObjects") {
            o.nested_objects = match self.string(n, "nestedObjects").as_deref() {
                Some("merge") => Some(NestedMerge::Merge),
                Some("replace") => Some(NestedMerge::Replace),
                Some(other) => {
                    self.problem(
                        n.pos,
                        format!(
                            "nestedObjects: unknown value `{other}`; expected merge or replace"
                        ),
                    );
                    None
                }
                None => None,
            };
        }
        if let Some(n) = f.take("userSettings") {
            o.user_settings = match self.string(n, "userSettings").as_deref() {
                Some("merge") => Some(SettingsMerge::Merge),
                Some("replace") => Some(SettingsMerge::Replace),
                Some(other) => {
                    self.problem(
                        n.pos,
                        format!("userSettings: unknown value `{other}`; expected merge or replace"),
                    );
                    None
                }
                None => None,
            };
        }
        for (key, slot) in [
            ("nullRemovesField", &mut o.null_removes_field),
            ("signatureDebug", &mut o.signature_debug),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.bool(n, key);
            }
        }
        if let Some(n) = f.take("serverOnlyFields") {
            for item in self.seq(n, "serverOnlyFields") {
                if let Some(s) = self.string(item, "serverOnlyFields item") {
                    o.server_only_fields.push(s);
                }
            }
        }
        if let Some(n) = f.take("dataFields") {
            let mut fields = Vec::new();
            for item in self.seq(n, "dataFields") {
                if let Some(s) = self.string(item, "dataFields item") {
                    fields.push(s);
                }
            }
            o.data_fields = Some(fields);
        }
        f.finish(self, OPTION_KEYS);
        Some(o)
    }

    fn application(&mut self, node: &Node) -> Option<Application> {
        let mut f = self.fields(node, "an application")?;
        let mut app = Application::default();
        match f.take("userKey") {
            Some(n) => app.user_key = self.string(n, "userKey").unwrap_or_default(),
            None => self.problem(node.pos, "application is missing `userKey`"),
        }
        if let Some(n) = f.take("secret") {
            app.secret = self.string(n, "secret");
        }
        if let Some(n) = f.take("publicKey") {
            app.public_key = self.string(n, "publicKey");
        }
        f.finish(self, APP_KEYS);
        Some(app)
    }

    fn account(&mut self, node: &Node) -> Option<Account> {
        let mut f = self.fields(node, "an account")?;
        let mut a = Account::default();
        match f.take("UID") {
            Some(n) => a.uid = self.string(n, "UID").unwrap_or_default(),
            None => self.problem(node.pos, "account is missing `UID`"),
        }
        if let Some(n) = f.take("apiKey") {
            a.api_key = self.string(n, "apiKey");
        }
        for (key, slot) in [
            ("profile", &mut a.profile),
            ("data", &mut a.data),
            ("subscriptions", &mut a.subscriptions),
            ("preferences", &mut a.preferences),
            ("userInfo", &mut a.user_info),
            ("rba", &mut a.rba),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.object(n, key);
            }
        }
        for (key, slot) in [
            ("isActive", &mut a.is_active),
            ("isVerified", &mut a.is_verified),
            ("isRegistered", &mut a.is_registered),
            ("requirePasswordChange", &mut a.require_password_change),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.bool(n, key);
            }
        }
        if let Some(n) = f.take("loginEmails") {
            for item in self.seq(n, "loginEmails") {
                if let Some(s) = self.string(item, "loginEmails item") {
                    a.login_emails.push(s);
                }
            }
        }
        for (key, slot) in [
            ("username", &mut a.username),
            ("password", &mut a.password),
            ("secretQuestion", &mut a.secret_question),
            ("secretAnswer", &mut a.secret_answer),
            ("phoneNumber", &mut a.phone_number),
            ("lang", &mut a.lang),
            ("created", &mut a.created),
            ("regSource", &mut a.reg_source),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.string(n, key);
            }
        }
        if let Some(n) = f.take("userSettings") {
            if let Some(mut groups) = self.fields(n, "userSettings") {
                let mut out = IndexMap::new();
                for (k, v) in groups.entries {
                    if let Some(m) = self.object(v, "userSettings group") {
                        out.insert(k.key_text().to_owned(), m);
                    }
                }
                groups.used.iter_mut().for_each(|u| *u = true);
                groups.finish(self, &[]);
                a.user_settings = Some(out);
            }
        }
        f.finish(self, ACCOUNT_KEYS);
        Some(a)
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

    fn expectation(&mut self, node: &Node) -> Option<Expectation> {
        let mut f = self.fields(node, "an expectation")?;
        let mut e = Expectation::default();
        if let Some(n) = f.take("name") {
            e.name = self.string(n, "name");
        }
        if let Some(n) = f.take("stub") {
            e.stub = self.string(n, "stub");
        }
        if let Some(n) = f.take("request") {
            e.request = self.request(n);
        }
        if let Some(n) = f.take("never") {
            e.never = self.request(n);
        }
        if let Some(n) = f.take("inOrder") {
            for item in self.seq(n, "inOrder") {
                // Kept (even when broken) so the step count and indices stay right.
                e.in_order.push(self.order_item(item).unwrap_or_default());
            }
        }
        for (key, slot) in [
            ("times", &mut e.times),
            ("atLeast", &mut e.at_least),
            ("atMost", &mut e.at_most),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.ranged(n, key, "0 or more");
            }
        }
        f.finish(self, EXPECT_KEYS);
        Some(e)
    }

    fn order_item(&mut self, node: &Node) -> Option<OrderItem> {
        if let Some(s) = node.scalar() {
            if s == Scalar::Null {
                self.wrong_type(node, "a stub name or a mapping", "inOrder item");
                return None;
            }
            return Some(OrderItem {
                stub: self.string(node, "inOrder item"),
                request: None,
            });
        }
        let mut f = self.fields(node, "an inOrder item")?;
        let mut item = OrderItem::default();
        if let Some(n) = f.take("stub") {
            item.stub = self.string(n, "stub");
        }
        if let Some(n) = f.take("request") {
            item.request = self.request(n);
        }
        f.finish(self, ORDER_ITEM_KEYS);
        Some(item)
    }

    fn request(&mut self, node: &Node) -> Option<RequestPattern> {
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

    fn response(&mut self, node: &Node) -> Option<Response> {
        let mut f = self.fields(node, "response")?;
        let mut r = Response::default();
        if let Some(n) = f.take("errorCode") {
            r.error_code = self.ranged(n, "errorCode", "0 to 4294967295");
        }
        for (key, slot) in [
            ("errorMessage", &mut r.error_message),
            ("errorDetails", &mut r.error_details),
            ("statusReason", &mut r.status_reason),
            ("callId", &mut r.call_id),
            ("time", &mut r.time),
            ("bodyFile", &mut r.body_file),
        ] {
            if let Some(n) = f.take(key) {
                *slot = self.string(n, key);
            }
        }
        if let Some(n) = f.take("statusCode") {
            r.status_code = self.ranged(n, "statusCode", "100 to 999");
        }
        if let Some(n) = f.take("status") {
            r.status = self.ranged(n, "status", "100 to 999");
        }
        if let Some(n) = f.take("delay") {
            r.delay = self.delay(n);
        }
        if let Some(n) = f.take("fault") {
            r.fault = self.fault(n);
        }
        if let Some(n) = f.take("body") {
            r.body = Some(n.to_json());
        }
        if let Some(n) = f.take("headers") {
            if let Some(mut h) = self.fields(n, "headers") {
                for (k, v) in h.entries {
                    if let Some(s) = self.string(v, "header value") {
                        r.headers.insert(k.key_text().to_owned(), s);
                    }
                }
                h.used.iter_mut().for_each(|u| *u = true);
                h.finish(self, &[]);
            }
        }
        if let Some(n) = f.take("validationErrors") {
            for item in self.seq(n, "validationErrors") {
                if let Some(v) = self.validation_error(item) {
                    r.validation_errors.push(v);
                }
            }
        }
        f.finish(self, RESPONSE_KEYS);
        Some(r)
    }

    fn validation_error(&mut self, node: &Node) -> Option<ValidationError> {
        let mut f = self.fields(node, "a validationErrors item")?;
        let mut v = ValidationError::default();
        match f.take("errorCode") {
            Some(n) => v.error_code = self.ranged(n, "errorCode", "0 to 4294967295")?,
            None => self.problem(node.pos, "validationErrors item is missing `errorCode`"),
        }
        if let Some(n) = f.take("message") {
            v.message = self.string(n, "message");
        }
        match f.take("fieldName") {
            Some(n) => v.field_name = self.string(n, "fieldName").unwrap_or_default(),
            None => self.problem(node.pos, "validationErrors item is missing `fieldName`"),
        }
        f.finish(self, VALIDATION_KEYS);
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn suggestions_only_for_near_keys() {
        assert_eq!(suggest("prority", STUB_KEYS), Some("priority"));
        assert_eq!(suggest("zzzzzz", STUB_KEYS), None);
        assert_eq!(suggest("Method", REQUEST_KEYS), Some("method"));
    }
}
