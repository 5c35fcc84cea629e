//! Dispatch tests of the emulated methods: every parameter, validation and error code of
//! accounts.setAccountInfo (seed 002), socialize.setUserInfo (seed 001) and
//! socialize.setUserSettings (seed 000), plus the read, registration and delete companions.

use std::sync::Arc;
use std::time::Duration;

use gigya_mock::engine::Engine;
use gigya_mock::exchange::Scheme;
use gigya_mock::gigya::signature;
use serde_json::{Value, json};

use crate::support::gigya::{Call, SECRET_S, T0, answer, code, emu_engine, site_yaml};

fn engine() -> Engine {
    emu_engine(&site_yaml("strict", "")).0
}

fn set(uid: &str) -> Call {
    Call::new("accounts.setAccountInfo").partner().p("UID", uid)
}

fn info(engine: &Engine, uid: &str) -> Value {
    answer(
        engine,
        &Call::new("accounts.getAccountInfo")
            .partner()
            .p("UID", uid)
            .p(
                "include",
                "profile,data,loginIDs,emails,password,rba,subscriptions,preferences",
            ),
    )
}

fn reg_token(engine: &Engine, lite: bool) -> String {
    let mut c = Call::new("accounts.initRegistration");
    if lite {
        c = c.p("isLite", "true");
    }
    let body = answer(engine, &c);
    assert_eq!(body["errorCode"], 0, "{body}");
    body["regToken"].as_str().unwrap().to_owned()
}

fn items(body: &Value) -> Vec<(i64, String)> {
    body["validationErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no validationErrors: {body}"))
        .iter()
        .map(|i| {
            (
                i["errorCode"].as_i64().unwrap(),
                i["fieldName"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn set_account_info_merges_profile_and_data_partially() {
    let e = engine();
    let body = answer(
        &e,
        &set("u-1")
            .p(
                "data",
                r#"{"car":"Suzuki Alto","address":{"zip":"00118"},"tags":["c"],"new":1}"#,
            )
            .p("profile", r#"{"lastName":"Rossi"}"#),
    );
    assert_eq!(body["errorCode"], 0, "{body}");
    assert_eq!(body["statusReason"], "OK");
    assert!(body.get("errorMessage").is_none());
    let i = info(&e, "u-1");
    assert_eq!(
        i["data"],
        json!({"car": "Suzuki Alto", "address": {"city": "Rome", "zip": "00118"}, "tags": ["c"], "new": 1})
    );
    assert_eq!(
        i["profile"],
        json!({"firstName": "Ann", "email": "ann@example.com", "lastName": "Rossi"})
    );
    // null removes a field.
    assert_eq!(
        code(
            &e,
            &set("u-1").p("data", r#"{"new":null,"address":{"city":null}}"#)
        ),
        0
    );
    assert_eq!(
        info(&e, "u-1")["data"],
        json!({"car": "Suzuki Alto", "address": {"zip": "00118"}, "tags": ["c"]})
    );
}

#[test]
fn merge_behaviour_is_configurable() {
    let (e, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { nestedObjects: replace, nullRemovesField: false }\n",
    ));
    assert_eq!(
        code(
            &e,
            &set("u-1").p("data", r#"{"address":{"zip":"1"},"car":null}"#)
        ),
        0
    );
    assert_eq!(
        info(&e, "u-1")["data"],
        json!({"car": null, "address": {"zip": "1"}, "tags": ["a", "b"]})
    );
}

#[test]
fn uid_xor_reg_token() {
    let e = engine();
    let body = answer(&e, &Call::new("accounts.setAccountInfo").partner());
    assert_eq!(body["errorCode"], 400002);
    assert_eq!(body["errorDetails"], "Missing required parameter : UID");
    let token = reg_token(&e, false);
    let body = answer(&e, &set("u-1").p("regToken", &token));
    assert_eq!(body["errorCode"], 400006);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("exactly one"),
        "{body}"
    );
}

#[test]
fn unknown_uids_answer_the_configured_code() {
    let e = engine();
    let body = answer(&e, &set("nobody").p("data", "{}"));
    assert_eq!(body["errorCode"], 403005);
    assert_eq!(body["errorMessage"], "Unauthorized user");
    for m in [
        "accounts.getAccountInfo",
        "accounts.deleteAccount",
        "socialize.getUserInfo",
        "socialize.getUserSettings",
        "socialize.delUserSettings",
    ] {
        assert_eq!(
            code(&e, &Call::new(m).partner().p("UID", "nobody")),
            403005,
            "{m}"
        );
    }
    let (custom, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { unknownUidCode: 403047 }\n",
    ));
    assert_eq!(code(&custom, &set("nobody")), 403047);
}

#[test]
fn reg_tokens_work_client_side_and_expire_after_an_hour() {
    let (e, clock) = emu_engine(&site_yaml("strict", ""));
    let token = reg_token(&e, true);
    // A regToken call needs no credentials and creates the lite account; it returns the UID.
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo")
            .p("regToken", &token)
            .p("profile", r#"{"firstName":"Lee"}"#),
    );
    assert_eq!(body["errorCode"], 0, "{body}");
    let uid = body["UID"].as_str().unwrap().to_owned();
    assert_eq!(uid.len(), 32);
    let i = info(&e, &uid);
    assert_eq!(i["profile"]["firstName"], "Lee");
    assert_eq!(i["isRegistered"], false);
    // getAccountInfo by regToken is client-side: it carries a valid UIDSignature.
    let body = answer(
        &e,
        &Call::new("accounts.getAccountInfo").p("regToken", &token),
    );
    assert_eq!(body["UID"], uid.as_str());
    let ts = body["signatureTimestamp"].as_str().unwrap();
    assert_eq!(ts, T0.to_string());
    let expected = signature::uid_signature(&signature::decode_secret(SECRET_S).unwrap(), ts, &uid);
    assert_eq!(body["UIDSignature"], expected.as_str());
    // A server call never carries one.
    let body = answer(
        &e,
        &Call::new("accounts.getAccountInfo")
            .partner()
            .p("UID", &uid),
    );
    assert!(body.get("UIDSignature").is_none() && body.get("signatureTimestamp").is_none());
    // A non-lite token answers without UID.
    let full = reg_token(&e, false);
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo")
            .p("regToken", &full)
            .p("data", "{}"),
    );
    assert_eq!(body["errorCode"], 0);
    assert!(body.get("UID").is_none());
    // One hour later the token is gone.
    clock.advance(Duration::from_secs(3600));
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo")
            .p("regToken", &token)
            .p("data", "{}"),
    );
    assert_eq!(body["errorCode"], 400006);
    assert!(
        body["errorDetails"].as_str().unwrap().contains("regToken"),
        "{body}"
    );
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.setAccountInfo").p("regToken", "st2.s.made-up")
        ),
        400006
    );
    let (custom, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { invalidRegTokenCode: 403002 }\n",
    ));
    assert_eq!(
        code(
            &custom,
            &Call::new("accounts.setAccountInfo").p("regToken", "x")
        ),
        403002
    );
}

#[test]
fn reg_tokens_are_https_only_where_https_is_enforced() {
    let (e, _) = emu_engine(&site_yaml("exact", ""));
    let token = reg_token(&e, false);
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo").p("regToken", &token),
    );
    assert_eq!(body["errorCode"], 400001);
    assert!(
        body["errorDetails"].as_str().unwrap().contains("HTTPS"),
        "{body}"
    );
    let mut tls = Call::new("accounts.setAccountInfo").p("regToken", &token);
    tls.scheme = Scheme::Https;
    assert_eq!(code(&e, &tls), 0);
    let (custom, _) = emu_engine(&site_yaml(
        "strict",
        "    requireHttps: true\n    options: { httpsRequiredCode: 400006 }\n",
    ));
    let token = reg_token(&custom, false);
    assert_eq!(
        code(
            &custom,
            &Call::new("accounts.setAccountInfo").p("regToken", &token)
        ),
        400006
    );
}

#[test]
fn client_side_calls_cannot_write_server_only_fields() {
    let (e, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { serverOnlyFields: [data.tier] }\n",
    ));
    let token = reg_token(&e, false);
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo")
            .p("regToken", &token)
            .p("isActive", "false")
            .p("phoneNumber", "+15551234567")
            .p("data", r#"{"tier":"gold","ok":1}"#),
    );
    assert_eq!(body["errorCode"], 400009);
    assert_eq!(body["errorMessage"], "Validation error");
    assert_eq!(
        items(&body),
        vec![
            (400025, "data.tier".into()),
            (400025, "isActive".into()),
            (400025, "phoneNumber".into())
        ]
    );
    // Server calls may.
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("isActive", "false")
                .p("data", r#"{"tier":"gold"}"#)
        ),
        0
    );
    assert_eq!(info(&e, "u-1")["isActive"], false);
    // securityOverride needs server credentials.
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.setAccountInfo")
                .p("regToken", &token)
                .p("securityOverride", "true")
        ),
        403007
    );
}

#[test]
fn login_emails_username_and_conflicts() {
    let e = engine();
    assert_eq!(
        code(
            &e,
            &set("u-1").p("addLoginEmails", "ann2@example.com, ann3@example.com")
        ),
        0
    );
    assert_eq!(
        info(&e, "u-1")["loginIDs"],
        json!({"emails": [], "unverifiedEmails": ["ann@example.com", "ann2@example.com", "ann3@example.com"]})
    );
    assert_eq!(
        code(&e, &set("u-1").p("removeLoginEmails", "ann3@example.com")),
        0
    );
    assert_eq!(
        code(&e, &set("u-1").p("addLoginEmails", "not-an-email")),
        400006
    );

    // An email of another account.
    let body = answer(
        &e,
        &set("u-1")
            .p("addLoginEmails", "BOB@example.com")
            .p("profile", r#"{"nickname":"x"}"#),
    );
    assert_eq!(body["errorCode"], 403043);
    assert_eq!(body["errorMessage"], "Login identifier exists");
    assert_eq!(body["statusCode"], 403);
    assert!(
        info(&e, "u-1")["profile"].get("nickname").is_none(),
        "nothing was saved"
    );
    // A username of another account.
    assert_eq!(code(&e, &set("u-1").p("username", "Bob")), 403043);
    // saveProfileAndFail: saved, then 200010 with a regToken.
    let body = answer(
        &e,
        &set("u-1")
            .p("conflictHandling", "saveProfileAndFail")
            .p("addLoginEmails", "bob@example.com,ann4@example.com")
            .p("profile", r#"{"nickname":"x"}"#),
    );
    assert_eq!(body["errorCode"], 200010, "{body}");
    assert_eq!(body["statusCode"], 200);
    assert_eq!(
        body["errorMessage"],
        "OK with error login identifier exists"
    );
    assert!(body["regToken"].as_str().unwrap().starts_with("st2."));
    let i = info(&e, "u-1");
    assert_eq!(i["profile"]["nickname"], "x");
    let ids = i["loginIDs"]["unverifiedEmails"].as_array().unwrap();
    assert!(ids.contains(&json!("ann4@example.com")) && !ids.contains(&json!("bob@example.com")));
    // conflictHandling only knows two values.
    assert_eq!(code(&e, &set("u-1").p("conflictHandling", "merge")), 400006);
    // The statusCode of 403043 is configurable.
    let (custom, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { loginIdExistsStatus: 409 }\n",
    ));
    let body = answer(&custom, &set("u-1").p("username", "bob"));
    assert_eq!(
        (
            body["errorCode"].clone(),
            body["statusCode"].clone(),
            body["statusReason"].clone()
        ),
        (json!(403043), json!(409), json!("Conflict"))
    );

    // A username of one's own; removing it as a login email clears it.
    assert_eq!(code(&e, &set("u-1").p("username", "ann@example.com")), 0);
    assert_eq!(info(&e, "u-1")["loginIDs"]["username"], "ann@example.com");
    assert_eq!(
        code(&e, &set("u-1").p("removeLoginEmails", "ann@example.com")),
        0
    );
    assert!(info(&e, "u-1")["loginIDs"].get("username").is_none());
}

#[test]
fn is_verified_flags_every_email() {
    let e = engine();
    assert_eq!(code(&e, &set("u-1").p("isVerified", "true")), 0);
    let i = info(&e, "u-1");
    assert_eq!(i["isVerified"], true);
    assert_eq!(i["verifiedTimestamp"], json!(T0 * 1000));
    assert_eq!(
        i["emails"],
        json!({"verified": ["ann@example.com"], "unverified": []})
    );
    assert_eq!(i["loginIDs"]["emails"], json!(["ann@example.com"]));
    assert_eq!(code(&e, &set("u-1").p("isVerified", "maybe")), 400006);
}

#[test]
fn passwords_need_the_old_one_unless_overridden() {
    let e = engine();
    let body = answer(&e, &set("u-1").p("newPassword", "n1"));
    assert_eq!(body["errorCode"], 400002);
    assert_eq!(
        body["errorDetails"],
        "Missing required parameter : password"
    );
    let body = answer(
        &e,
        &set("u-1").p("newPassword", "n1").p("password", "wrong"),
    );
    assert_eq!(body["errorCode"], 403042);
    assert_eq!(
        code(
            &e,
            &set("u-1").p("newPassword", "n1").p("password", "old-pw")
        ),
        0
    );
    assert!(info(&e, "u-1")["password"]["created"].is_string());
    // The deprecated oldPassword still works, and securityOverride skips the check.
    assert_eq!(
        code(
            &e,
            &set("u-1").p("newPassword", "n2").p("oldPassword", "n1")
        ),
        0
    );
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("newPassword", "n3")
                .p("securityOverride", "true")
        ),
        0
    );
    // First password of an account without one.
    assert_eq!(code(&e, &set("u-2").p("newPassword", "first")), 0);
    // HTTPS only where enforced.
    let (exact, _) = emu_engine(&site_yaml("exact", ""));
    let mut signed = Call::new("accounts.setAccountInfo")
        .p("UID", "u-1")
        .p("newPassword", "x")
        .p("password", "old-pw");
    signed = signed.signed("pw");
    assert_eq!(code(&exact, &signed), 400001);
}

#[test]
fn secret_question_and_answer_go_together_and_need_the_password_to_change() {
    let e = engine();
    assert_eq!(code(&e, &set("u-1").p("secretQuestion", "Pet?")), 400002);
    assert_eq!(
        answer(&e, &set("u-1").p("secretAnswer", "Rex"))["errorDetails"],
        "Missing required parameter : secretQuestion"
    );
    // First time: no password needed.
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("secretQuestion", "Pet?")
                .p("secretAnswer", "Rex")
        ),
        0
    );
    // Changing it needs the password.
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("secretQuestion", "Car?")
                .p("secretAnswer", "Fiat")
        ),
        400002
    );
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("secretQuestion", "Car?")
                .p("secretAnswer", "Fiat")
                .p("password", "nope")
        ),
        403042
    );
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("secretQuestion", "Car?")
                .p("secretAnswer", "Fiat")
                .p("password", "old-pw")
        ),
        0
    );
}

#[test]
fn remaining_parameters_are_validated_and_stored() {
    let e = engine();
    assert_eq!(
        code(&e, &set("u-1").p("requirePasswordChange", "false")),
        400006
    );
    assert_eq!(code(&e, &set("u-1").p("requirePasswordChange", "true")), 0);
    assert_eq!(code(&e, &set("u-1").p("created", "yesterday")), 400006);
    assert_eq!(
        code(&e, &set("u-1").p("created", "2014-07-16T19:20:30Z")),
        0
    );
    assert_eq!(code(&e, &set("u-1").p("regSource", "web")), 0);
    assert_eq!(
        code(&e, &set("u-1").p("regSource", "app")),
        0,
        "regSource is set once; later values are ignored"
    );
    assert_eq!(
        code(
            &e,
            &set("u-1")
                .p("muteWebhooks", "true")
                .p("isLockedOut", "false")
        ),
        0
    );
    assert_eq!(code(&e, &set("u-1").p("muteWebhooks", "loud")), 400006);
    assert_eq!(
        code(
            &e,
            &set("u-1").p("rba", r#"{"riskPolicy":"low","riskPolicyLocked":true}"#)
        ),
        0
    );
    assert_eq!(
        code(&e, &set("u-1").p("rba", r#"{"riskPolicy":1}"#)),
        400006
    );
    assert_eq!(code(&e, &set("u-1").p("rba", r#"{"other":1}"#)), 400006);
    assert_eq!(code(&e, &set("u-1").p("data", "[1,2]")), 400006);
    assert_eq!(
        code(
            &e,
            &set("u-1").p(
                "subscriptions",
                r#"{"news":{"email":{"isSubscribed":true}}}"#
            )
        ),
        0
    );
    assert_eq!(
        code(
            &e,
            &set("u-1").p("preferences", r#"{"terms":{"isConsentGranted":true}}"#)
        )
        .to_string(),
        "0"
    );
    assert_eq!(code(&e, &set("u-1").p("phoneNumber", "555")), 400009);
    assert_eq!(code(&e, &set("u-1").p("lang", "it")), 0);
    let i = info(&e, "u-1");
    assert_eq!(i["requirePasswordChange"], true);
    assert_eq!(i["created"], "2014-07-16T19:20:30.000Z");
    assert_eq!(i["createdTimestamp"], 1_405_538_430_000_i64);
    assert_eq!(i["regSource"], "web");
    assert_eq!(i["lang"], "it");
    assert_eq!(
        i["rbaPolicy"],
        json!({"riskPolicy": "low", "riskPolicyLocked": true})
    );
    assert_eq!(i["subscriptions"]["news"]["email"]["isSubscribed"], true);
    assert_eq!(i["preferences"]["terms"]["isConsentGranted"], true);
    // A locked risk policy cannot be changed client-side.
    let token = {
        let body = answer(
            &e,
            &set("u-1")
                .p("conflictHandling", "saveProfileAndFail")
                .p("username", "bob"),
        );
        body["regToken"].as_str().unwrap().to_owned()
    };
    let body = answer(
        &e,
        &Call::new("accounts.setAccountInfo")
            .p("regToken", &token)
            .p("rba", r#"{"riskPolicy":"high"}"#),
    );
    assert_eq!(items(&body), vec![(400025, "rba.riskPolicy".into())]);
}

#[test]
fn profile_values_are_type_checked() {
    let e = engine();
    let body = answer(
        &e,
        &set("u-1").p(
            "profile",
            r#"{"age":"old","birthMonth":13,"gender":"x","email":"nope","firstName":7}"#,
        ),
    );
    assert_eq!(body["errorCode"], 400009);
    assert_eq!(body["errorDetails"], "Validation failed");
    assert_eq!(
        items(&body),
        vec![
            (400023, "profile.age".into()),
            (400026, "profile.birthMonth".into()),
            (400026, "profile.gender".into()),
            (400026, "profile.email".into()),
            (400023, "profile.firstName".into()),
        ]
    );
    assert_eq!(
        info(&e, "u-1")["profile"]["firstName"],
        "Ann",
        "nothing was saved"
    );
}

#[test]
fn a_strict_data_schema_rejects_unknown_fields() {
    let (e, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { dataFields: [car, address.city] }\n",
    ));
    assert_eq!(
        code(
            &e,
            &set("u-1").p("data", r#"{"car":"x","address":{"city":"Y"}}"#)
        ),
        0
    );
    let body = answer(
        &e,
        &set("u-1").p("data", r#"{"pet":"cat","address":{"zip":"1"}}"#),
    );
    assert_eq!(
        items(&body),
        vec![
            (400024, "data.pet".into()),
            (400024, "data.address.zip".into())
        ]
    );
}

#[test]
fn unknown_parameters_are_reported_as_ignored_and_cid_is_limited() {
    let e = engine();
    let body = answer(
        &e,
        &set("u-1")
            .p("firstName", "Ann")
            .p("sdk", "js")
            .p("cid", "c1"),
    );
    assert_eq!(body["errorCode"], 0);
    assert_eq!(
        body["ignoredParams"],
        json!([{"paramName": "firstName", "warningCode": 403007, "message": "This parameter was not recognized as valid for this API method with your security credentials nor was it recognized as a standard Gigya control parameter."}])
    );
    let body = answer(&e, &set("u-1").p("cid", &"c".repeat(101)));
    assert_eq!(body["errorCode"], 400006);
    assert!(body["errorDetails"].as_str().unwrap().contains("cid"));
}

#[test]
fn get_account_info_has_the_documented_shape() {
    let e = engine();
    assert_eq!(
        code(
            &e,
            &set("u-1").p("profile", r#"{"bio":"hi","languages":"it"}"#)
        ),
        0
    );
    let body = answer(
        &e,
        &Call::new("accounts.getAccountInfo")
            .partner()
            .p("uid", "u-1")
            .p("context", "ctx-1"),
    );
    assert_eq!(body["errorCode"], 0);
    assert_eq!(body["context"], "ctx-1");
    assert_eq!(body["UID"], "u-1");
    assert_eq!(body["createdTimestamp"], json!(T0 * 1000));
    assert_eq!(body["lastUpdated"], "2023-11-14T22:13:20.000Z");
    for k in [
        "isActive",
        "isRegistered",
        "isVerified",
        "loginProvider",
        "socialProviders",
        "profile",
        "data",
        "subscriptions",
    ] {
        assert!(body.get(k).is_some(), "{k} missing: {body}");
    }
    assert!(body.get("loginIDs").is_none(), "only what include asks for");
    assert!(
        body["profile"].get("bio").is_none(),
        "extra profile fields need extraProfileFields"
    );
    let body = answer(
        &e,
        &Call::new("accounts.getAccountInfo")
            .partner()
            .p("UID", "u-1")
            .p(
                "include",
                "profile,identities-active,irank,isLockedOut,userInfo",
            )
            .p("extraProfileFields", "bio"),
    );
    assert_eq!(body["profile"]["bio"], "hi");
    assert!(body["profile"].get("languages").is_none());
    assert_eq!(body["identities"][0]["provider"], "site");
    assert!(body.get("data").is_none());
    let body = answer(
        &e,
        &Call::new("accounts.getAccountInfo")
            .partner()
            .p("UID", "u-1")
            .p("include", "profile,everything"),
    );
    assert_eq!(body["errorCode"], 400006);
}

#[test]
fn init_registration_and_delete_account() {
    let e = engine();
    let token = reg_token(&e, false);
    assert!(token.starts_with("st2.s."));
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.initRegistration").p("isLite", "perhaps")
        ),
        400006
    );
    assert_eq!(
        code(&e, &Call::new("accounts.deleteAccount").partner()),
        400002
    );
    assert_eq!(
        code(&e, &Call::new("accounts.deleteAccount").p("UID", "u-2")),
        403007,
        "server only"
    );
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.deleteAccount")
                .partner()
                .p("UID", "u-2")
        ),
        0
    );
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.getAccountInfo")
                .partner()
                .p("UID", "u-2")
        ),
        403005
    );
    // The login email of the deleted account is free again.
    assert_eq!(
        code(&e, &set("u-1").p("addLoginEmails", "bob@example.com")),
        0
    );
}

#[test]
fn set_user_info_takes_an_object_or_a_json_string() {
    let e = engine();
    let call = |ui: &str| {
        Call::new("socialize.setUserInfo")
            .partner()
            .p("UID", "u-1")
            .p("userInfo", ui)
    };
    assert_eq!(
        code(
            &e,
            &call(
                r#"{"nickname":"Annie","age":30,"gender":"f","photoURL":"http://x/p.png","unknown":1}"#
            )
        ),
        0
    );
    assert_eq!(
        code(
            &e,
            &call(r#""{\"thumbnailURL\":\"http://x/t.png\",\"age\":\"31\"}""#)
        ),
        0
    );
    let body = answer(
        &e,
        &Call::new("socialize.getUserInfo").partner().p("UID", "u-1"),
    );
    assert_eq!(body["errorCode"], 0, "{body}");
    assert_eq!(body["nickname"], "Annie");
    assert_eq!(body["age"], "31");
    assert_eq!(body["gender"], "f");
    assert_eq!(body["thumbnailURL"], "http://x/t.png");
    assert_eq!(body["firstName"], "Ann", "falls back to the profile");
    assert_eq!(body["isSiteUser"], true);
    assert_eq!(body["loginProvider"], "site");
    assert!(body.get("unknown").is_none());
    assert!(body.get("UIDSignature").is_none(), "server call");
    let with_account = info(&e, "u-1");
    assert_eq!(with_account["profile"]["firstName"], "Ann");

    assert_eq!(code(&e, &call(r#"{"gender":"x"}"#)), 400006);
    assert_eq!(code(&e, &call(r#"{"age":"old"}"#)), 400006);
    assert_eq!(code(&e, &call(r#"{"nickname":5}"#)), 400006);
    assert_eq!(code(&e, &call("[1]")), 400006);
    assert_eq!(code(&e, &call("not json")), 400006);
    assert_eq!(
        answer(
            &e,
            &Call::new("socialize.setUserInfo").partner().p("UID", "u-1")
        )["errorDetails"],
        "Missing required parameter : userInfo"
    );
    assert_eq!(
        answer(
            &e,
            &Call::new("socialize.setUserInfo")
                .partner()
                .p("userInfo", "{}")
        )["errorDetails"],
        "Missing required parameter : UID"
    );
    assert_eq!(
        code(
            &e,
            &Call::new("socialize.setUserInfo")
                .p("UID", "u-1")
                .p("userInfo", "{}")
        ),
        403007
    );
    assert_eq!(
        code(&e, &Call::new("socialize.getUserInfo").partner()),
        400002
    );
}

#[test]
fn get_user_info_signs_client_side_answers() {
    let (off, _) = emu_engine(&site_yaml("off", ""));
    let body = answer(&off, &Call::new("socialize.getUserInfo").p("UID", "u-1"));
    let ts = body["signatureTimestamp"].as_str().unwrap();
    let key = signature::decode_secret(SECRET_S).unwrap();
    assert_eq!(
        body["UIDSignature"],
        signature::uid_signature(&key, ts, "u-1").as_str()
    );
    let body = answer(
        &off,
        &Call::new("socialize.getUserInfo").partner().p("UID", "u-1"),
    );
    assert!(body.get("UIDSignature").is_none());
}

#[test]
fn user_settings_by_group() {
    let e = engine();
    let set_s = |settings: &str, group: Option<&str>| {
        let mut c = Call::new("socialize.setUserSettings")
            .partner()
            .p("UID", "u-1")
            .p("settings", settings);
        if let Some(g) = group {
            c = c.p("group", g);
        }
        c
    };
    let get_s = |group: Option<&str>, filter: Option<&str>| {
        let mut c = Call::new("socialize.getUserSettings")
            .partner()
            .p("UID", "u-1");
        if let Some(g) = group {
            c = c.p("group", g);
        }
        if let Some(f) = filter {
            c = c.p("settings", f);
        }
        answer(&e, &c)["settings"].clone()
    };
    let body = answer(
        &e,
        &set_s(r#"{"Like":{"alwaysShare":true,"neverShare":false,"providers":"yahoo"},"Comment":{"alwaysShare":false,"neverShare":true}}"#, Some("gigyaShareSettings")).p("context", "c-7"),
    );
    assert_eq!(body["errorCode"], 0);
    assert_eq!(body["context"], "c-7");
    assert_eq!(
        code(
            &e,
            &set_s(
                r#"{"Rate":{"neverShare":true},"Comment":{"alwaysShare":true}}"#,
                Some("gigyaShareSettings")
            )
        ),
        0
    );
    assert_eq!(code(&e, &set_s(r#"{"theme":"dark"}"#, None)), 0);
    assert_eq!(
        get_s(Some("gigyaShareSettings"), None),
        json!({"Like": {"alwaysShare": true, "neverShare": false, "providers": "yahoo"}, "Comment": {"alwaysShare": true}, "Rate": {"neverShare": true}})
    );
    assert_eq!(
        get_s(None, None),
        json!({"theme": "dark"}),
        "the default group is separate"
    );
    assert_eq!(
        get_s(Some("gigyaShareSettings"), Some("Like,Rate"))
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(get_s(Some("nothing"), None), json!({}));

    let del = |group: &str, names: Option<&str>| {
        let mut c = Call::new("socialize.delUserSettings")
            .partner()
            .p("UID", "u-1")
            .p("group", group);
        if let Some(n) = names {
            c = c.p("settings", n);
        }
        code(&e, &c)
    };
    assert_eq!(del("gigyaShareSettings", Some("Like")), 0);
    assert_eq!(
        get_s(Some("gigyaShareSettings"), None)
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(del("gigyaShareSettings", None), 0);
    assert_eq!(get_s(Some("gigyaShareSettings"), None), json!({}));

    // Validation of the action settings and the other parameters.
    for bad in [
        r#"{"Like":true}"#,
        r#"{"Like":{"alwaysShare":"yes"}}"#,
        r#"{"Like":{"providers":["facebook"]}}"#,
        r#"{"Like":{"alwaysShare":true,"neverShare":true}}"#,
        "[]",
    ] {
        assert_eq!(code(&e, &set_s(bad, None)), 400006, "{bad}");
    }
    assert_eq!(
        answer(
            &e,
            &Call::new("socialize.setUserSettings")
                .partner()
                .p("UID", "u-1")
        )["errorDetails"],
        "Missing required parameter : settings"
    );
    assert_eq!(
        code(&e, &set_s("{}", None).p("cid", &"x".repeat(101))),
        400006
    );
    assert_eq!(code(&e, &set_s("{}", None).p("cid", &"x".repeat(100))), 0);
    assert_eq!(
        code(
            &e,
            &Call::new("socialize.setUserSettings")
                .p("UID", "u-1")
                .p("settings", "{}")
        ),
        403007
    );
}

#[test]
fn user_settings_can_replace_the_group() {
    let (e, _) = emu_engine(&site_yaml(
        "strict",
        "    options: { userSettings: replace }\n",
    ));
    let set_s = |s: &str| {
        Call::new("socialize.setUserSettings")
            .partner()
            .p("UID", "u-1")
            .p("settings", s)
    };
    assert_eq!(code(&e, &set_s(r#"{"a":1}"#)), 0);
    assert_eq!(code(&e, &set_s(r#"{"b":2}"#)), 0);
    let body = answer(
        &e,
        &Call::new("socialize.getUserSettings")
            .partner()
            .p("UID", "u-1"),
    );
    assert_eq!(body["settings"], json!({"b": 2}));
}

#[test]
fn reset_restores_the_seeded_state() {
    let e = engine();
    assert_eq!(code(&e, &set("u-1").p("data", r#"{"car":"Tesla"}"#)), 0);
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.deleteAccount")
                .partner()
                .p("UID", "u-2")
        ),
        0
    );
    e.reset();
    assert_eq!(info(&e, "u-1")["data"]["car"], "Fiat");
    assert_eq!(
        code(
            &e,
            &Call::new("accounts.getAccountInfo")
                .partner()
                .p("UID", "u-2")
        ),
        0
    );
}

#[test]
fn scenario_reloads_keep_state_but_take_new_sites() {
    let e = engine();
    assert_eq!(code(&e, &set("u-1").p("data", r#"{"car":"Tesla"}"#)), 0);
    let extra = site_yaml("strict", "").replace(
        "accounts:",
        "  - apiKey: 3_second\n    partnerSecret: c2Vjb25k\naccounts:\n  - { UID: s-1, apiKey: 3_second }",
    );
    let extra = extra
        .replace("  - UID: u-1\n", "  - UID: u-1\n    apiKey: 3_mockApiKey\n")
        .replace("  - UID: u-2\n", "  - UID: u-2\n    apiKey: 3_mockApiKey\n");
    e.replace_scenarios(crate::support::scenarios(&extra));
    assert_eq!(
        info(&e, "u-1")["data"]["car"],
        "Tesla",
        "existing sites keep their state"
    );
    let mut second = Call::new("accounts.getAccountInfo")
        .p("UID", "s-1")
        .p("secret", "c2Vjb25k");
    second.params[0].1 = "3_second".into();
    assert_eq!(code(&e, &second), 0, "{}", answer(&e, &second));
    // With two sites the admin API finds an account held by one site, and asks for the
    // apiKey when seeding.
    let emulator = e.emulator().unwrap();
    assert_eq!(
        emulator.admin_get_account(None, "s-1").unwrap()["apiKey"],
        "3_second"
    );
    let err = emulator
        .admin_put_account(
            None,
            "s-2",
            Default::default(),
            std::time::SystemTime::now(),
        )
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("?apiKey="), "{err}");
    let (shown, replaced) = emulator
        .admin_put_account(
            Some("3_second"),
            "s-2",
            Default::default(),
            std::time::SystemTime::now(),
        )
        .unwrap();
    assert_eq!((shown["UID"].clone(), replaced), (json!("s-2"), false));
}

#[test]
fn accounts_created_through_registration_are_capped() {
    let clock = Arc::new(gigya_mock::gigya::envelope::ManualClock::at_unix(T0));
    let e = Engine::new(
        crate::support::scenarios(&site_yaml("strict", "")),
        gigya_mock::engine::EngineConfig::default(),
    )
    .with_clock(clock)
    .with_emulator(gigya_mock::emulator::EmulatorConfig {
        max_accounts: 3,
        ..Default::default()
    });
    let create = || {
        let token = reg_token(&e, true);
        answer(
            &e,
            &Call::new("accounts.setAccountInfo")
                .p("regToken", &token)
                .p("data", "{}"),
        )
    };
    assert_eq!(create()["errorCode"], 0, "two seeded accounts plus one");
    let body = create();
    assert_eq!(body["errorCode"], 500001);
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("--max-accounts"),
        "{body}"
    );
}

#[test]
fn sixty_four_concurrent_writers_lose_no_update() {
    let e = Arc::new(engine());
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let e = e.clone();
            std::thread::spawn(move || {
                let body = answer(&e, &set("u-1").p("data", &format!(r#"{{"f{i}":{i}}}"#)));
                assert_eq!(body["errorCode"], 0, "{body}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let data = info(&e, "u-1")["data"].clone();
    for i in 0..64 {
        assert_eq!(data[format!("f{i}")], i, "f{i} lost: {data}");
    }
    assert_eq!(data["car"], "Fiat");
}
