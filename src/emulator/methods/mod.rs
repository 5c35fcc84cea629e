//! The emulated methods: a table of names, the parameters each accepts, and the handler; plus
//! what every handler shares (parameter readers that answer `400002`/`400006`, the
//! server-credentials rule, the common optional parameters and `ignoredParams`).

mod accounts;
mod socialize;

use serde_json::{Map, Value, json};

use super::Answer;
use super::auth::Caller;
use super::site::SiteRuntime;
use crate::exchange::{CapturedRequest, Scheme};
use crate::gigya::catalog::codes;
use crate::gigya::params::parse_bool;
use crate::scenario::model::AuthMode;

/// One emulated method.
pub(crate) struct Method {
    /// Full name (`accounts.setAccountInfo`).
    pub name: &'static str,
    /// Its own parameters (the common ones are accepted everywhere).
    params: &'static [&'static str],
    handler: fn(&Call<'_>) -> Answer,
}

/// The emulated methods.
pub(crate) const METHODS: &[Method] = &[
    Method {
        name: "accounts.setAccountInfo",
        params: accounts::SET_ACCOUNT_INFO_PARAMS,
        handler: accounts::set_account_info,
    },
    Method {
        name: "accounts.getAccountInfo",
        params: &[
            "UID",
            "regToken",
            "include",
            "extraProfileFields",
            "includeCommunications",
        ],
        handler: accounts::get_account_info,
    },
    Method {
        name: "accounts.initRegistration",
        params: &["isLite", "dataCenter"],
        handler: accounts::init_registration,
    },
    Method {
        name: "accounts.deleteAccount",
        params: &["UID"],
        handler: accounts::delete_account,
    },
    Method {
        name: "socialize.setUserInfo",
        params: &["UID", "userInfo"],
        handler: socialize::set_user_info,
    },
    Method {
        name: "socialize.getUserInfo",
        params: &[
            "UID",
            "includeAllIdentities",
            "extraFields",
            "enabledProviders",
            "disabledProviders",
            "signIDs",
        ],
        handler: socialize::get_user_info,
    },
    Method {
        name: "socialize.setUserSettings",
        params: &["UID", "settings", "group"],
        handler: socialize::set_user_settings,
    },
    Method {
        name: "socialize.getUserSettings",
        params: &["UID", "settings", "group"],
        handler: socialize::get_user_settings,
    },
    Method {
        name: "socialize.delUserSettings",
        params: &["UID", "settings", "group"],
        handler: socialize::del_user_settings,
    },
];

/// Parameters every method accepts: authorization, the common optional parameters, and what
/// the SDKs add on their own.
const COMMON_PARAMS: &[&str] = &[
    "apiKey",
    "userKey",
    "secret",
    "sig",
    "timestamp",
    "nonce",
    "oauth_token",
    "format",
    "callback",
    "context",
    "httpStatusCodes",
    "dontHandleScreenSet",
    "cid",
    "sdk",
    "sdkBuild",
    "targetEnv",
    "_host",
    "gmid",
    "ucid",
    "pageURL",
    "authMode",
    "login_token",
];

/// Looks a method up by name.
pub(crate) fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// One call being answered.
pub(crate) struct Call<'a> {
    /// The request.
    pub req: &'a CapturedRequest,
    /// The site its apiKey selects.
    pub site: &'a SiteRuntime,
    /// Who is calling.
    pub caller: Caller,
    /// The clock, in Unix milliseconds.
    pub now_ms: i64,
}

impl Call<'_> {
    /// A parameter (case-insensitive name); an empty value counts as absent.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.req.params().value(name).filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, Answer> {
        self.param(name).ok_or_else(|| Answer::missing(name))
    }

    /// A boolean parameter (`true|false|1|0`, any case).
    pub fn bool_param(&self, name: &str) -> Result<Option<bool>, Answer> {
        match self.param(name) {
            None => Ok(None),
            Some(v) => parse_bool(v)
                .map(Some)
                .ok_or_else(|| Answer::invalid(name, format!("must be true or false, got {v:?}"))),
        }
    }

    /// A JSON-object parameter (`null` counts as absent).
    pub fn object_param(&self, name: &str) -> Result<Option<Map<String, Value>>, Answer> {
        let Some(param) = self
            .req
            .params()
            .get(name)
            .filter(|p| !p.value().is_empty())
        else {
            return Ok(None);
        };
        match param.json() {
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(Value::Null) => Ok(None),
            Some(_) => Err(Answer::invalid(name, "must be a JSON object")),
            None => Err(Answer::invalid(name, "is not valid JSON")),
        }
    }

    /// Whether the call carries server credentials.
    pub fn is_server(&self) -> bool {
        matches!(self.caller, Caller::Server { .. })
    }

    /// `403007` unless the call carries server credentials (or the site checks none).
    pub fn require_server(&self, why: &str) -> Result<(), Answer> {
        if self.is_server() || self.site.auth == AuthMode::Off {
            return Ok(());
        }
        Err(Answer::error(
            codes::PERMISSION_DENIED,
            format!(
                "Permission denied [gigya-mock: {why} needs server credentials: secret, userKey + secret, a request signature (timestamp, nonce, sig) or an Authorization: Bearer JWT]"
            ),
        ))
    }

    /// Whether the request came over plain HTTP while the site enforces HTTPS.
    pub fn https_violation(&self) -> bool {
        self.req.scheme == Scheme::Http && self.site.https_enforced()
    }

    /// The answer for HTTPS-only input over plain HTTP.
    pub fn https_required(&self, what: &str) -> Answer {
        Answer::error(
            self.site.options.https_required_code,
            format!("Invalid request format [gigya-mock: {what} must be sent over HTTPS]"),
        )
    }

    /// The answer for a UID the site does not know.
    pub fn unknown_uid(&self, uid: &str) -> Answer {
        let code = self.site.options.unknown_uid_code;
        let message = crate::gigya::catalog::describe(code).message;
        Answer::error(
            code,
            format!(
                "{message} [gigya-mock: no account with UID {uid:?} on site {}]",
                self.site.api_key
            ),
        )
    }
}

/// Runs a method: the common checks, the handler, then `ignoredParams`.
pub(crate) fn run(method: &Method, call: &Call<'_>) -> Answer {
    if let Some(cid) = call.param("cid") {
        if cid.chars().count() > 100 {
            return Answer::invalid("cid", "is longer than 100 characters");
        }
    }
    let mut answer = (method.handler)(call);
    let ignored: Vec<Value> = call
        .req
        .params()
        .iter()
        .filter(|p| {
            let n = p.name();
            !method.params.iter().any(|k| k.eq_ignore_ascii_case(n))
                && !COMMON_PARAMS.iter().any(|k| k.eq_ignore_ascii_case(n))
        })
        .map(|p| {
            json!({
                "paramName": p.name(),
                "warningCode": codes::PERMISSION_DENIED,
                "message": "This parameter was not recognized as valid for this API method with your security credentials nor was it recognized as a standard Gigya control parameter.",
            })
        })
        .collect();
    if !ignored.is_empty() {
        answer
            .fields
            .insert("ignoredParams".to_owned(), Value::Array(ignored));
    }
    answer
}

/// `UIDSignature` and `signatureTimestamp` for a client-side answer about `uid` (nothing when
/// the call is server-authenticated or the site has no partner secret).
pub(crate) fn uid_signature_fields(call: &Call<'_>, uid: &str, out: &mut Map<String, Value>) {
    if call.is_server() {
        return;
    }
    let Some(key) = &call.site.partner_key else {
        return;
    };
    let ts = (call.now_ms / 1000).to_string();
    let sig = crate::gigya::signature::uid_signature(key, &ts, uid);
    out.insert("UIDSignature".to_owned(), Value::String(sig));
    out.insert("signatureTimestamp".to_owned(), Value::String(ts));
}

/// Splits a comma list, trimming blanks.
pub(crate) fn comma_list(s: &str) -> Vec<&str> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}
