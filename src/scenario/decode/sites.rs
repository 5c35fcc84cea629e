//! Decoding sites: their keys, applications and options.

use super::super::model::{Application, AuthMode, NestedMerge, SettingsMerge, Site, SiteOptions};
use super::super::tree::Node;
use super::Decoder;

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

impl Decoder<'_> {
    pub(super) fn site(&mut self, node: &Node) -> Option<Site> {
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
}
