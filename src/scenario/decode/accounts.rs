//! Decoding seeded accounts.

use indexmap::IndexMap;

use super::super::model::Account;
use super::super::tree::Node;
use super::Decoder;

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

impl Decoder<'_> {
    pub(super) fn account(&mut self, node: &Node) -> Option<Account> {
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
}
