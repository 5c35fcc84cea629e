//! The account as `accounts.getAccountInfo` returns it: the fields its `include` list and
//! `extraProfileFields` select.

use serde_json::{Map, Value, json};

use crate::emulator::store::{AccountRecord, iso_ms};

/// Profile fields `getAccountInfo` returns only when named in `extraProfileFields`.
const EXTRA_PROFILE_FIELDS: &[&str] = &[
    "languages",
    "address",
    "phones",
    "education",
    "educationLevel",
    "honors",
    "publications",
    "patents",
    "certifications",
    "professionalHeadline",
    "bio",
    "industry",
    "specialties",
    "work",
    "skills",
    "religion",
    "politicalView",
    "interestedIn",
    "relationshipStatus",
    "hometown",
    "favorites",
    "followersCount",
    "followingCount",
    "username",
    "name",
    "locale",
    "verified",
    "timezone",
    "likes",
    "samlData",
];

/// The `getAccountInfo` fields of an account.
pub(super) fn account_view(
    acc: &AccountRecord,
    include: &[&str],
    extra_profile: &[&str],
    communications: bool,
) -> Map<String, Value> {
    let has = |name: &str| include.contains(&name);
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("UID", json!(acc.uid));
    put("created", json!(iso_ms(acc.created_ms)));
    put("createdTimestamp", json!(acc.created_ms));
    put("lastUpdated", json!(iso_ms(acc.last_updated_ms)));
    put("lastUpdatedTimestamp", json!(acc.last_updated_ms));
    put("oldestDataUpdated", json!(iso_ms(acc.created_ms)));
    put("oldestDataUpdatedTimestamp", json!(acc.created_ms));
    if let Some(ms) = acc.registered_ms.filter(|_| acc.is_registered) {
        put("registered", json!(iso_ms(ms)));
        put("registeredTimestamp", json!(ms));
    }
    if let Some(ms) = acc.verified_ms.filter(|_| acc.is_verified) {
        put("verified", json!(iso_ms(ms)));
        put("verifiedTimestamp", json!(ms));
    }
    put("isActive", json!(acc.is_active));
    put("isRegistered", json!(acc.is_registered));
    put("isVerified", json!(acc.is_verified));
    put("loginProvider", json!("site"));
    put("socialProviders", json!("site"));
    if let Some(src) = &acc.reg_source {
        put("regSource", json!(src));
    }
    if let Some(lang) = &acc.lang {
        put("lang", json!(lang));
    }
    if acc.require_password_change {
        put("requirePasswordChange", json!(true));
    }
    if has("profile") {
        let profile: Map<String, Value> = acc
            .profile
            .iter()
            .filter(|(k, _)| {
                !EXTRA_PROFILE_FIELDS.contains(&k.as_str()) || extra_profile.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        put("profile", Value::Object(profile));
    }
    for (name, map) in [
        ("data", &acc.data),
        ("subscriptions", &acc.subscriptions),
        ("preferences", &acc.preferences),
        ("internal", &acc.internal),
        ("customIdentifiers", &acc.custom_identifiers),
    ] {
        if has(name) {
            put(name, Value::Object(map.clone()));
        }
    }
    if has("communications") || communications {
        put("communications", Value::Object(acc.communications.clone()));
    }
    if has("userInfo") {
        put("userInfo", Value::Object(acc.user_info.clone()));
    }
    if has("phoneNumber") {
        if let Some(p) = &acc.phone_number {
            put("phoneNumber", json!(p));
        }
    }
    let emails = acc.all_emails();
    if has("emails") {
        let (verified, unverified): (Vec<&String>, Vec<&String>) =
            emails.iter().partition(|e| acc.email_verified(e));
        put(
            "emails",
            json!({"verified": verified, "unverified": unverified}),
        );
    }
    if has("loginIDs") {
        let (verified, unverified): (Vec<&String>, Vec<&String>) =
            acc.login_emails.iter().partition(|e| acc.email_verified(e));
        let mut ids = json!({"emails": verified, "unverifiedEmails": unverified});
        if let (Some(name), Some(obj)) = (&acc.username, ids.as_object_mut()) {
            obj.insert("username".into(), json!(name));
        }
        put("loginIDs", ids);
    }
    if has("password") {
        let mut pw = Map::new();
        if let Some(ms) = acc.password_set_ms.filter(|_| acc.password.is_some()) {
            pw.insert("created".into(), json!(iso_ms(ms)));
        }
        put("password", Value::Object(pw));
    }
    if has("isLockedOut") {
        put("isLockedOut", json!(false));
    }
    if has("irank") {
        put("iRank", json!(0));
    }
    if has("rba") {
        let mut policy = Map::new();
        policy.insert(
            "riskPolicy".into(),
            acc.rba.get("riskPolicy").cloned().unwrap_or(Value::Null),
        );
        policy.insert(
            "riskPolicyLocked".into(),
            acc.rba
                .get("riskPolicyLocked")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        );
        put("rbaPolicy", Value::Object(policy));
    }
    if has("identities-active") || has("identities-all") || has("identities-global") {
        let mut id = Map::new();
        id.insert("provider".into(), json!("site"));
        id.insert("providerUID".into(), json!(acc.uid));
        id.insert("allowsLogin".into(), json!(true));
        id.insert("isLoginIdentity".into(), json!(true));
        id.insert("isExpiredSession".into(), json!(false));
        id.insert("lastUpdated".into(), json!(iso_ms(acc.last_updated_ms)));
        id.insert("lastUpdatedTimestamp".into(), json!(acc.last_updated_ms));
        for k in [
            "firstName",
            "lastName",
            "nickname",
            "email",
            "gender",
            "photoURL",
        ] {
            if let Some(v) = acc.profile.get(k) {
                id.insert(k.into(), v.clone());
            }
        }
        put("identities", Value::Array(vec![Value::Object(id)]));
    }
    out
}
