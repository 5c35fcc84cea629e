use super::*;
use serde_json::json;

fn eq(s: &str) -> Matcher {
    Matcher::Equals {
        text: s.to_owned(),
        value: Value::String(s.to_owned()),
    }
}

fn text(s: &str) -> (String, crate::gigya::params::JsonCell) {
    (s.to_owned(), OnceLock::new())
}

#[test]
fn equals_on_text_and_json() {
    let (t, c) = text("u-1");
    assert!(eq("u-1").is_match(Subject::Text(&t, &c)));
    assert!(!eq("u-2").is_match(Subject::Text(&t, &c)));
    assert!(!eq("u-1").is_match(Subject::Missing));
    let n = json!(30);
    let thirty = Matcher::Equals {
        text: "30".into(),
        value: json!(30),
    };
    assert!(thirty.is_match(Subject::Json(&n)));
    assert!(
        eq("30").is_match(Subject::Json(&n)),
        "a string equals a number with the same text"
    );
    assert!(thirty.is_match(Subject::Json(&json!(30.0))));
}

#[test]
fn regex_contains_present_absent() {
    let (t, c) = text("_guid_abc");
    let s = Subject::Text(&t, &c);
    assert!(Matcher::Matches(Regex::new("^_guid_").unwrap().into()).is_match(s));
    assert!(!Matcher::Matches(Regex::new("^x").unwrap().into()).is_match(s));
    assert!(Matcher::Contains("uid".into()).is_match(s));
    assert!(!Matcher::Contains("zzz".into()).is_match(s));
    assert!(Matcher::Present.is_match(s));
    assert!(!Matcher::Absent.is_match(s));
    assert!(Matcher::Absent.is_match(Subject::Missing));
    assert!(!Matcher::Present.is_match(Subject::Missing));
}

#[test]
fn json_paths_look_inside_text() {
    let (t, c) = text(r#"{"tier": "gold", "tags": ["a", "b"], "n": {"x": 1}}"#);
    let s = Subject::Text(&t, &c);
    let m = |p: &str, inner: Matcher| Matcher::Json(vec![(JsonPath::parse(p).unwrap(), inner)]);
    assert!(m("$.tier", eq("gold")).is_match(s));
    assert!(!m("$.tier", eq("silver")).is_match(s));
    assert!(m("$.tags[*]", eq("b")).is_match(s));
    assert!(m("$.missing", Matcher::Absent).is_match(s));
    assert!(!m("$.missing", Matcher::Present).is_match(s));
    assert!(m("$.n", Matcher::Contains("\"x\":1".into())).is_match(s));
    let (bad, bc) = text("{not json");
    assert!(!m("$.tier", eq("gold")).is_match(Subject::Text(&bad, &bc)));
    assert_eq!(
        m("$.tier", eq("silver")).explain(s).unwrap(),
        r#"$.tier expected "silver", got "gold""#
    );
    assert!(
        m("$.tier", eq("gold"))
            .explain(Subject::Text(&bad, &bc))
            .unwrap()
            .contains("not valid JSON")
    );
}

#[test]
fn partial_and_full_json_equality() {
    let (t, c) = text(
        r#"{"firstName": "Zoë", "address": {"city": "Oslo", "zip": "0150"}, "tags": [1,2,3]}"#,
    );
    let s = Subject::Text(&t, &c);
    assert!(Matcher::JsonIncludes(json!({"address": {"city": "Oslo"}})).is_match(s));
    assert!(Matcher::JsonIncludes(json!({"tags": [3, 1]})).is_match(s));
    assert!(!Matcher::JsonIncludes(json!({"address": {"city": "Bergen"}})).is_match(s));
    assert_eq!(
        Matcher::JsonIncludes(json!({"address": {"city": "Bergen"}}))
            .explain(s)
            .unwrap(),
        r#"$.address.city expected "Bergen", got "Oslo""#
    );
    let (t2, c2) = text(r#"{ "b" : 2, "a":1 }"#);
    assert!(Matcher::JsonEquals(json!({"a": 1, "b": 2})).is_match(Subject::Text(&t2, &c2)));
    assert!(!Matcher::JsonEquals(json!({"a": 1})).is_match(Subject::Text(&t2, &c2)));
}

#[test]
fn combinators() {
    let (t, c) = text("u-1");
    let s = Subject::Text(&t, &c);
    assert!(Matcher::Not(Box::new(eq("u-2"))).is_match(s));
    assert!(!Matcher::Not(Box::new(eq("u-1"))).is_match(s));
    assert!(Matcher::AnyOf(vec![eq("x"), eq("u-1")]).is_match(s));
    assert!(!Matcher::AnyOf(vec![eq("x"), eq("y")]).is_match(s));
    assert!(Matcher::AllOf(vec![Matcher::Present, eq("u-1")]).is_match(s));
    assert!(!Matcher::AllOf(vec![Matcher::Present, eq("x")]).is_match(s));
    assert_eq!(
        Matcher::AllOf(vec![Matcher::Present, eq("x")]).equality_text(),
        Some("x")
    );
}

#[test]
fn explanations_name_expected_and_actual() {
    let (t, c) = text("u2");
    let s = Subject::Text(&t, &c);
    assert_eq!(eq("u1").explain(s).unwrap(), r#"expected "u1", got "u2""#);
    assert_eq!(
        eq("u1").explain(Subject::Missing).unwrap(),
        r#"missing (expected "u1")"#
    );
    assert_eq!(
        Matcher::Absent.explain(s).unwrap(),
        r#"expected to be absent, got "u2""#
    );
    assert_eq!(eq("u2").explain(s), None);
    let long = "x".repeat(200);
    let (t, c) = text(&long);
    assert!(eq("y").explain(Subject::Text(&t, &c)).unwrap().len() < 120);
}

fn call(method: &str, params: &[(&str, &str)]) -> CapturedRequest {
    CapturedRequest::gigya_call(method, params.iter().copied())
}

#[test]
fn request_matchers_check_every_criterion() {
    let m = RequestMatcher {
        method: Some(eq("accounts.setAccountInfo")),
        params: vec![
            Field {
                name: "UID".into(),
                matcher: eq("u1"),
            },
            Field {
                name: "regToken".into(),
                matcher: Matcher::Absent,
            },
        ],
        ..RequestMatcher::default()
    };
    assert!(m.matches(&call("accounts.setAccountInfo", &[("uid", "u1")])));
    assert!(!m.matches(&call("accounts.setAccountInfo", &[("UID", "u2")])));
    assert!(!m.matches(&call("accounts.getAccountInfo", &[("UID", "u1")])));
    let (reasons, passed) = m.explain(&call(
        "accounts.setAccountInfo",
        &[("UID", "u2"), ("regToken", "t")],
    ));
    assert_eq!(passed, 1);
    assert_eq!(
        reasons,
        vec![
            r#"param UID expected "u1", got "u2""#.to_owned(),
            r#"param regToken expected to be absent, got "t""#.to_owned()
        ]
    );
}

#[test]
fn request_combinators_and_headers() {
    let is_u1 = RequestMatcher {
        params: vec![Field {
            name: "UID".into(),
            matcher: eq("u1"),
        }],
        ..RequestMatcher::default()
    };
    let not_u1 = RequestMatcher {
        not: Some(Box::new(is_u1.clone())),
        ..RequestMatcher::default()
    };
    assert!(!not_u1.matches(&call("a.b", &[("UID", "u1")])));
    assert!(not_u1.matches(&call("a.b", &[("UID", "u2")])));
    let any = RequestMatcher {
        any_of: vec![
            is_u1.clone(),
            RequestMatcher {
                params: vec![Field {
                    name: "UID".into(),
                    matcher: eq("u3"),
                }],
                ..RequestMatcher::default()
            },
        ],
        ..RequestMatcher::default()
    };
    assert!(any.matches(&call("a.b", &[("UID", "u3")])));
    assert!(!any.matches(&call("a.b", &[("UID", "u4")])));
    let all = RequestMatcher {
        all_of: vec![is_u1],
        ..RequestMatcher::default()
    };
    assert!(all.matches(&call("a.b", &[("UID", "u1")])));
    let hdr = RequestMatcher {
        headers: vec![(
            HeaderName::from_static("content-type"),
            Matcher::Contains("form".into()),
        )],
        ..RequestMatcher::default()
    };
    assert!(hdr.matches(&call("a.b", &[])));
    let hdr_missing = RequestMatcher {
        headers: vec![(HeaderName::from_static("x-test"), Matcher::Present)],
        ..RequestMatcher::default()
    };
    assert_eq!(
        hdr_missing.explain(&call("a.b", &[])).0,
        vec!["header x-test missing".to_owned()]
    );
}
