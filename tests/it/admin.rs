//! Admin API tests: a real server on a loopback port, every endpoint, good and bad input.

use std::collections::HashSet;
use std::time::Duration;

use gigya_mock::journal::JournalConfig;
use gigya_mock::server::ServerConfig;
use serde_json::Value;

use crate::support::{TestServer, engine, send};

const STUBS: &str = r#"
version: 1
stubs:
  - name: gold
    request: { method: accounts.setAccountInfo, params: { UID: u-100 } }
    response: { body: { UID: u-100 } }
  - name: login
    request: { method: accounts.login }
    response:
      body:
        regToken: rt-secret-value
        sessionInfo: { sessionToken: st-secret-value, sessionSecret: ss-secret-value }
  - name: twice
    times: 2
    request: { method: a.twice }
    response: {}
  - name: slow
    request: { method: a.slow }
    response: { delay: 100 }
expect:
  - stub: gold
    times: 1
  - never: { method: accounts.deleteAccount }
"#;

async fn server_with(journal: JournalConfig, config: ServerConfig) -> TestServer {
    TestServer::with(engine(STUBS).with_journal(journal), config).await
}

fn requests(v: &Value) -> &Vec<Value> {
    v["requests"].as_array().unwrap()
}

#[tokio::test]
async fn every_call_is_recorded_with_secrets_redacted() {
    let s = TestServer::start(STUBS).await;
    let r = TestServer::call_at(
        s.addr,
        "POST",
        "/accounts.login?apiKey=3_key&sig=c2lnLXZhbHVl",
        "loginID=a%40b.c&password=hunter2&secretAnswer=rex&secret=c2VjcmV0&data=%7B%22newPassword%22%3A%22pw2%22%7D",
        Some("application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(
        r.json()["regToken"],
        "rt-secret-value",
        "the client gets the real answer"
    );
    let raw = send(
        http::Request::post(s.url("/accounts.getAccountInfo"))
            .header(
                "authorization",
                "Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature",
            )
            .header("cookie", "glt_3_key=login-token-value; gmid=g1")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"UID=u-1&oauth_token=oauth-secret-value",
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(raw.json()["errorCode"], 403007);

    let listing = s.get("/__admin/requests").await;
    assert_eq!(listing.status, 200);
    let text = listing.text();
    for secret in [
        "hunter2",
        "rex",
        "c2VjcmV0",
        "c2lnLXZhbHVl",
        "pw2",
        "rt-secret-value",
        "st-secret-value",
        "ss-secret-value",
        "payload.signature",
        "login-token-value",
        "oauth-secret-value",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} leaked into the journal: {text}"
        );
    }
    let v = listing.json();
    let list = requests(&v);
    assert_eq!(list.len(), 2);
    let login = &list[0];
    assert_eq!(login["id"], 1);
    assert_eq!(login["gigyaMethod"], "accounts.login");
    assert_eq!(login["answeredBy"], "stub");
    assert_eq!(login["stub"], "login");
    assert_eq!(
        login["params"]["loginID"], "a@b.c",
        "non-secrets stay assertable"
    );
    assert_eq!(login["params"]["password"], "[REDACTED]");
    assert_eq!(login["params"]["sig"], "[REDACTED]");
    assert_eq!(login["params"]["data"], r#"{"newPassword":"[REDACTED]"}"#);
    assert_eq!(login["request"]["query"], "apiKey=3_key&sig=[REDACTED]");
    assert!(login["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert_eq!(login["response"]["status"], 200);
    assert_eq!(login["response"]["errorCode"], 0);
    let body: Value = serde_json::from_str(login["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["regToken"], "[REDACTED]");
    assert_eq!(body["sessionInfo"]["sessionSecret"], "[REDACTED]");
    assert!(login["response"]["callId"].as_str().unwrap().len() == 32);
    let other = &list[1];
    assert_eq!(other["answeredBy"], "unmatched");
    assert_eq!(
        other["request"]["headers"]["authorization"],
        "Bearer [REDACTED]"
    );
    assert_eq!(
        other["request"]["headers"]["cookie"],
        "glt_3_key=[REDACTED]; gmid=[REDACTED]"
    );
    assert_eq!(v["journal"]["recorded"], 2);
    // The HAR export is redacted too.
    let har = s.get("/__admin/requests.har").await.text();
    assert!(
        !har.contains("hunter2") && !har.contains("rt-secret-value"),
        "{har}"
    );
}

#[tokio::test]
async fn rejected_requests_and_latency_are_recorded() {
    let s = server_with(
        JournalConfig::default(),
        ServerConfig {
            max_body: 64,
            ..ServerConfig::default()
        },
    )
    .await;
    let r = s
        .post_form("/accounts.setAccountInfo", &"x".repeat(200))
        .await;
    assert_eq!(r.json()["errorCode"], 413001);
    let r = s.post_form("/a.slow", "").await;
    assert_eq!(r.json()["errorCode"], 0);
    let v = s.get("/__admin/requests").await.json();
    let list = requests(&v);
    assert_eq!(list[0]["answeredBy"], "rejected");
    assert_eq!(list[0]["response"]["errorCode"], 413001);
    assert_eq!(list[0]["gigyaMethod"], "accounts.setAccountInfo");
    assert!(
        list[1]["latencyMs"].as_f64().unwrap() >= 100.0,
        "latency includes the stub's delay: {}",
        list[1]["latencyMs"]
    );
}

#[tokio::test]
async fn filters_select_and_page() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    s.post_form("/accounts.setAccountInfo", "UID=u-200").await;
    s.post_form("/a.twice", "").await;
    s.get("/favicon.ico").await;
    let ids = |v: &Value| -> Vec<u64> {
        requests(v)
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect()
    };
    let v = s
        .get("/__admin/requests?method=accounts.setAccountInfo")
        .await
        .json();
    assert_eq!(ids(&v), vec![1, 2]);
    let v = s.get("/__admin/requests?param.uid=u-200").await.json();
    assert_eq!(ids(&v), vec![2]);
    let v = s.get("/__admin/requests?stub=gold").await.json();
    assert_eq!(ids(&v), vec![1]);
    let v = s.get("/__admin/requests?unmatched=true").await.json();
    assert_eq!(ids(&v), vec![2, 4]);
    let v = s.get("/__admin/requests?since=2").await.json();
    assert_eq!(ids(&v), vec![3, 4]);
    let v = s.get("/__admin/requests?limit=3").await.json();
    assert_eq!(ids(&v), vec![1, 2, 3]);
    assert_eq!(v["more"], true);
    assert_eq!(v["count"], 3);
    let v = s.get("/__admin/requests?since=3&limit=3").await.json();
    assert_eq!(ids(&v), vec![4]);
    assert_eq!(v["more"], false);
    let v = s
        .get("/__admin/requests?since=2000-01-01T00:00:00Z&method=a.twice")
        .await
        .json();
    assert_eq!(ids(&v), vec![3]);

    let v = s.get("/__admin/requests/unmatched").await.json();
    assert_eq!(ids(&v), vec![2, 4]);
    let near = requests(&v)[0]["nearMisses"][0].as_str().unwrap();
    assert_eq!(
        near,
        r#"stub "gold": param UID expected "u-100", got "u-200""#
    );
    let v = s
        .get("/__admin/requests/unmatched?method=accounts.setAccountInfo")
        .await
        .json();
    assert_eq!(ids(&v), vec![2]);

    for (q, msg) in [
        ("/__admin/requests?metod=x", "unknown filter `metod`"),
        (
            "/__admin/requests?limit=0",
            "limit=\"0\": expected a number from 1 to 10000",
        ),
        ("/__admin/requests?limit=abc", "limit=\"abc\""),
        ("/__admin/requests?since=soon", "since=\"soon\""),
        (
            "/__admin/requests?unmatched=perhaps",
            "unmatched=\"perhaps\"",
        ),
        (
            "/__admin/requests?method=%zz",
            "cannot read the query string",
        ),
        (
            "/__admin/requests/unmatched?unmatched=false",
            "unmatched=false contradicts",
        ),
        ("/__admin/requests.har?nope=1", "unknown filter `nope`"),
    ] {
        let r = s.get(q).await;
        assert_eq!(r.status, 400, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().starts_with(msg),
            "{q}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn clearing_keeps_ids_increasing() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/a.twice", "").await;
    s.post_form("/a.twice", "").await;
    let r = s.call("DELETE", "/__admin/requests", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["cleared"], 2);
    let v = s.get("/__admin/requests").await.json();
    assert!(requests(&v).is_empty());
    assert_eq!(v["journal"]["lastId"], 2);
    s.post_form("/a.twice", "").await;
    let v = s.get("/__admin/requests").await.json();
    assert_eq!(requests(&v)[0]["id"], 3);
    let r = s
        .call("DELETE", "/__admin/requests?method=a.twice", "")
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("takes no filters")
    );
}

#[tokio::test]
async fn har_export_is_har_1_2() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/accounts.setAccountInfo?x=1", "UID=u-100")
        .await;
    let r = s.get("/__admin/requests.har").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let har = r.json();
    assert_eq!(har["log"]["version"], "1.2");
    let e = &har["log"]["entries"][0];
    assert_eq!(e["request"]["method"], "POST");
    assert!(
        e["request"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/accounts.setAccountInfo?x=1")
    );
    assert_eq!(e["request"]["queryString"][0]["name"], "x");
    assert_eq!(e["request"]["postData"]["text"], "UID=u-100");
    assert_eq!(
        e["response"]["content"]["mimeType"],
        "application/json;charset=utf-8"
    );
    assert_eq!(e["_gigyaMock"]["stub"], "gold");
    let empty = s.get("/__admin/requests.har?method=none").await.json();
    assert_eq!(empty["log"]["entries"], serde_json::json!([]));
}

#[tokio::test]
async fn stubs_are_listed_added_and_deleted_at_run_time() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    let v = s.get("/__admin/stubs").await.json();
    assert_eq!(v["count"], 4);
    let gold = &v["stubs"][0];
    assert_eq!(gold["name"], "gold");
    assert_eq!(gold["hits"], 1);
    assert_eq!(gold["runtime"], false);
    assert_eq!(gold["origin"], "test.yaml");
    assert_eq!(gold["request"]["params"]["UID"]["equals"], "u-100");

    // YAML, a single stub, overriding a file stub of the same priority.
    let r = s
        .call(
            "POST",
            "/__admin/stubs",
            "name: gold-override\nrequest: {method: accounts.setAccountInfo, params: {UID: u-100}}\nresponse: {errorCode: 403048}\n",
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["added"], serde_json::json!(["gold-override"]));
    let r = s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    assert_eq!(
        r.json()["errorCode"],
        403048,
        "the run-time stub is tried first"
    );
    // JSON, a list under `stubs`, unnamed.
    let r = s
        .call_json(
            "POST",
            "/__admin/stubs",
            r#"{"stubs": [{"request": {"method": "accounts.getAccountInfo"}, "response": {"body": {"UID": "u-7"}}}]}"#,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let name = r.json()["added"][0].as_str().unwrap().to_owned();
    assert!(name.starts_with("runtime-"), "{name}");
    assert_eq!(
        s.post_form("/accounts.getAccountInfo", "").await.json()["UID"],
        "u-7"
    );
    let v = s.get("/__admin/stubs").await.json();
    let runtime: Vec<&str> = v["stubs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["runtime"] == true)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // The newest run-time stub comes first among stubs of the same priority.
    assert_eq!(runtime, vec![name.as_str(), "gold-override"]);
    // Journal entries name the run-time stub.
    let v = s.get("/__admin/requests?stub=gold-override").await.json();
    assert_eq!(requests(&v).len(), 1);

    let r = s.call("DELETE", "/__admin/stubs/gold-override", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["deleted"], "gold-override");
    let r = s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    assert_eq!(r.json()["UID"], "u-100", "the file stub answers again");
    // File stubs can be deleted too (until a reset); names are percent-decoded.
    let r = s.call("DELETE", "/__admin/stubs/%67old", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.post_form("/accounts.setAccountInfo", "UID=u-100")
            .await
            .json()["errorCode"],
        403007
    );
    let r = s.call("DELETE", "/__admin/stubs/gold", "").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("no stub is named \"gold\"")
    );
}

#[tokio::test]
async fn bad_stubs_are_refused_with_positions() {
    let s = TestServer::start(STUBS).await;
    let r = s
        .call(
            "POST",
            "/__admin/stubs",
            "request:\n  method: a.b\n  params: {UID: {matches: \"(\"}}\nresponse: {errorCode: 999999, stauts: 1}\n",
        )
        .await;
    assert_eq!(r.status, 400);
    let v = r.json();
    let problems = v["problems"].as_array().unwrap();
    let texts: Vec<&str> = problems
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec!["request body:4:31: unknown key `stauts` in response; did you mean `status`?"],
        "shape problems are reported first, before compiling"
    );
    assert_eq!(problems[0]["line"], 4);
    assert_eq!(problems[0]["col"], 31);
    let r = s
        .call(
            "POST",
            "/__admin/stubs",
            "request:\n  method: a.b\n  params: {UID: {matches: \"(\"}}\nresponse: {errorCode: 999999}\n",
        )
        .await;
    let v = r.json();
    let texts: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with("request body:3:27: invalid regular expression"),
        "{texts:?}"
    );
    assert!(
        texts[1].starts_with("request body:4:23: error code 999999"),
        "{texts:?}"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("the posted stubs are invalid: 2 problems")
    );

    for (body, ct, msg) in [
        ("", None, "the request body is empty"),
        (
            "{\"request\": ",
            Some("application/json"),
            "request body:1:",
        ),
        (
            "name: gold\nrequest: {method: a.b}\nresponse: {}\n",
            None,
            "a stub named \"gold\" already exists",
        ),
        (
            "request: {method: a.b}\nresponse: {bodyFile: /etc/passwd}\n",
            None,
            "bodyFile is not available",
        ),
        (
            "just text",
            None,
            "the request body: expected a mapping or a list of stubs",
        ),
        ("stubs: []\n", None, "no stubs in the request body"),
    ] {
        let r = TestServer::call_at(s.addr, "POST", "/__admin/stubs", body, ct).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(msg),
            "{body}: {}",
            r.text()
        );
    }
    let r = TestServer::call_at(s.addr, "POST", "/__admin/stubs", "", None).await;
    assert_eq!(r.status, 400);
    let bad_utf8 = send(
        http::Request::post(s.url("/__admin/stubs"))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(
                b"name: \xff\n",
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(bad_utf8.status, 400);
    assert!(
        bad_utf8.json()["error"]
            .as_str()
            .unwrap()
            .contains("not UTF-8")
    );
    // Nothing was added by the failed attempts.
    assert_eq!(s.get("/__admin/stubs").await.json()["count"], 4);
}

#[tokio::test]
async fn reset_restores_the_files_and_clears_the_journal() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/a.twice", "").await;
    s.post_form("/a.twice", "").await;
    assert_eq!(
        s.post_form("/a.twice", "").await.json()["errorCode"],
        403007,
        "used up"
    );
    s.call(
        "POST",
        "/__admin/stubs",
        "name: extra\nrequest: {method: a.extra}\nresponse: {}\n",
    )
    .await;
    s.call("DELETE", "/__admin/stubs/gold", "").await;
    let r = s.call("POST", "/__admin/reset", "").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["status"], "reset");
    assert_eq!(v["clearedRequests"], 3);
    assert_eq!(v["stubs"], 4);
    let v = s.get("/__admin/stubs").await.json();
    let names: Vec<&str> = v["stubs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["gold", "login", "twice", "slow"]);
    assert!(
        v["stubs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["hits"] == 0)
    );
    assert_eq!(
        s.post_form("/a.twice", "").await.json()["errorCode"],
        0,
        "counters reset"
    );
    assert_eq!(
        s.post_form("/a.extra", "").await.json()["errorCode"],
        403007
    );
    assert_eq!(
        s.post_form("/accounts.setAccountInfo", "UID=u-100")
            .await
            .json()["UID"],
        "u-100"
    );
    let v = s.get("/__admin/requests").await.json();
    assert_eq!(v["journal"]["recorded"], 3);
}

#[tokio::test]
async fn health_index_and_openapi() {
    let s = TestServer::start(STUBS).await;
    s.post_form("/a.twice", "").await;
    let v = s.get("/__admin/health").await.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["stubs"], 4);
    assert_eq!(v["expectations"], 2);
    assert_eq!(v["journal"]["size"], 1);
    assert_eq!(v["journal"]["capacity"], 10_000);
    let v = s.get("/__admin").await.json();
    let paths: HashSet<&str> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains("/__admin/requests.har"));
    let r = s.get("/__admin/openapi.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), gigya_mock::admin::OPENAPI);
}

#[tokio::test]
async fn bad_admin_requests_get_json_errors() {
    let s = server_with(
        JournalConfig::default(),
        ServerConfig {
            max_body: 128,
            ..ServerConfig::default()
        },
    )
    .await;
    let r = s.get("/__admin/nope").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("no admin endpoint GET /__admin/nope")
    );
    let r = s.call("PUT", "/__admin/stubs", "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("it takes GET, POST")
    );
    let r = s.get("/__admin/health?verbose=1").await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("takes no query parameters")
    );
    let r = s.call("POST", "/__admin/stubs", &"x".repeat(1000)).await;
    assert_eq!(r.status, 413);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("128-byte limit")
    );
    let v = s.get("/__admin/requests").await.json();
    assert!(requests(&v).is_empty(), "admin calls are not journaled");
}

#[tokio::test]
async fn the_ring_evicts_the_oldest_and_counts_them() {
    let s = server_with(
        JournalConfig {
            capacity: 5,
            body_limit: 16,
        },
        ServerConfig::default(),
    )
    .await;
    for i in 0..8 {
        s.post_form(
            "/accounts.setAccountInfo",
            &format!("UID=u-{i}&pad=0123456789abcdef"),
        )
        .await;
    }
    let v = s.get("/__admin/requests").await.json();
    let list = requests(&v);
    let ids: Vec<u64> = list.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![4, 5, 6, 7, 8]);
    assert_eq!(v["journal"]["dropped"], 3);
    assert_eq!(v["journal"]["size"], 5);
    let first = &list[0]["request"];
    assert_eq!(first["bodyTruncated"], true);
    assert_eq!(first["body"], "UID=u-3&pad=0123");
    assert_eq!(first["bodySize"], 28);
    assert_eq!(
        list[0]["params"]["pad"], "0123456789abcdef",
        "params are kept whole"
    );
    let v = s.call("POST", "/__admin/verify", "").await.json();
    assert!(
        v["warning"]
            .as_str()
            .unwrap()
            .contains("evicted 3 older entries"),
        "{v}"
    );
    assert_eq!(
        v["results"][1]["reliable"], false,
        "a `never` could have been violated by an evicted call"
    );
}

#[tokio::test]
async fn a_disabled_journal_records_nothing_and_cannot_verify() {
    let s = server_with(
        JournalConfig {
            capacity: 0,
            body_limit: 16,
        },
        ServerConfig::default(),
    )
    .await;
    s.post_form("/a.twice", "").await;
    let v = s.get("/__admin/requests").await.json();
    assert!(requests(&v).is_empty());
    assert_eq!(v["journal"]["capacity"], 0);
    let r = s.call("POST", "/__admin/verify", "").await;
    assert_eq!(r.status, 409);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("--journal-size 0")
    );
}

#[tokio::test]
async fn verify_reports_met_and_unmet_expectations() {
    let s = TestServer::start(STUBS).await;
    let r = s.call("POST", "/__admin/verify", "").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["passed"], false);
    assert_eq!(v["total"], 2);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["results"][0]["passed"], false);
    assert_eq!(v["results"][0]["location"], "test.yaml:21:5");
    assert_eq!(v["results"][1]["passed"], true);
    s.post_form("/accounts.setAccountInfo", "UID=u-100").await;
    let v = s.call("POST", "/__admin/verify", "").await.json();
    assert_eq!(v["passed"], true);
    s.post_form("/accounts.deleteAccount", "UID=u-100").await;
    let r = s.call("POST", "/__admin/verify?format=text", "").await;
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    assert!(
        text.contains("FAIL  no calls matching {method: accounts.deleteAccount}"),
        "{text}"
    );
    assert!(
        text.contains("+ #2 POST accounts.deleteAccount UID=u-100"),
        "{text}"
    );
    let r = s.call("POST", "/__admin/verify?format=junit", "").await;
    assert_eq!(
        r.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert!(
        r.text()
            .contains("<testsuites name=\"gigya-mock verify\" tests=\"2\" failures=\"1\"")
    );

    // Posted expectations are checked instead of the files' ones.
    let r = s
        .call_json(
            "POST",
            "/__admin/verify",
            r#"{"expect": [{"request": {"method": "accounts.setAccountInfo", "params": {"UID": "u-100"}}, "times": 1}]}"#,
        )
        .await;
    let v = r.json();
    assert_eq!(v["total"], 1);
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(v["results"][0]["location"], "request body:1:13");

    let r = s
        .call(
            "POST",
            "/__admin/verify",
            "- {stub: nope}\n- {never: {method: a.b}, times: 1}\n",
        )
        .await;
    assert_eq!(r.status, 400);
    let texts: Vec<String> = r.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        texts,
        vec![
            "request body:1:10: no stub is named \"nope\"; expectations refer to stubs by their `name`",
            "request body:2:33: `times` does not apply to `never` (it means no calls)",
        ]
    );
    for (q, msg) in [
        (
            "/__admin/verify?format=xml",
            "format=\"xml\": expected json, text or junit",
        ),
        ("/__admin/verify?strict=1", "unknown parameter `strict`"),
    ] {
        let r = s.call("POST", q, "").await;
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"].as_str().unwrap().contains(msg),
            "{}",
            r.text()
        );
    }
}

#[tokio::test]
async fn verify_counts_only_the_entries_its_filters_select() {
    let s = TestServer::start(STUBS).await;
    // Two tests share the server and make the same calls; only "b" deletes an account.
    for test in ["a", "b"] {
        s.post_form_as(test, "/accounts.setAccountInfo", "UID=u-100")
            .await;
    }
    s.post_form_as("b", "/accounts.deleteAccount", "UID=u-100")
        .await;
    let v = s.call("POST", "/__admin/verify", "").await.json();
    assert_eq!(
        v["passed"], false,
        "the whole journal: gold twice, a delete"
    );
    assert!(v.get("scope").is_none());

    let v = s
        .call("POST", "/__admin/verify?header.X-Test-Id=a", "")
        .await
        .json();
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(v["entries"], 1);
    assert_eq!(v["scope"], "header.X-Test-Id=a");
    let v = s
        .call("POST", "/__admin/verify?header.x-test-id=b", "")
        .await
        .json();
    assert_eq!(v["results"][0]["passed"], true, "b called gold once");
    assert_eq!(v["results"][1]["passed"], false, "b deleted an account");
    assert_eq!(v["results"][1]["matching"], serde_json::json!([3]));

    // `since` scopes to what happened after a point, other filters narrow further.
    let r = s
        .call(
            "POST",
            "/__admin/verify?since=1&param.UID=u-100&format=text",
            "",
        )
        .await;
    assert!(
        r.text().ends_with(
            "1 of 2 expectations not met (2 calls selected by since=1, param.UID=u-100)\n"
        ),
        "{}",
        r.text()
    );
    let r = s
        .call("POST", "/__admin/verify?header.x-test-id=c&format=text", "")
        .await;
    assert!(
        r.text()
            .contains("closest calls: none (the filter selected no calls)"),
        "{}",
        r.text()
    );

    for (q, msg) in [
        (
            "limit=5",
            "`limit` does not apply to verify: every entry the filters select counts",
        ),
        (
            "UID=u-100",
            "unknown parameter `UID`; POST /__admin/verify takes `format` and the journal filters (method, param.<name>, header.<name>, stub, unmatched, since)",
        ),
        ("header.a%20b=1", "`header.a b`: `a b` is not a header name"),
        ("since=soon", "since=\"soon\": expected an entry id"),
    ] {
        let r = s.call("POST", &format!("/__admin/verify?{q}"), "").await;
        assert_eq!(r.status, 400, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(msg),
            "{q}: {}",
            r.text()
        );
    }
}

/// What `getAccountInfo` answers to test `test`.
async fn answer(s: &TestServer, test: &str) -> Value {
    s.post_form_as(test, "/accounts.getAccountInfo", "UID=u-1")
        .await
        .json()
}

/// The README's recipe for parallel tests on one server: stubs scoped by a header, checks
/// scoped by the same header, clean-up by name.
#[tokio::test]
async fn parallel_tests_keep_to_their_own_stubs_and_calls() {
    let s = TestServer::start(STUBS).await;
    for test in ["checkout", "profile"] {
        let stub = format!(
            "name: {test}-locked\nrequest:\n  method: accounts.getAccountInfo\n  headers: {{ X-Test-Id: {test} }}\nresponse: {{ errorCode: 403120, body: {{ test: {test} }} }}\n"
        );
        let r = s.call("POST", "/__admin/stubs", &stub).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    assert_eq!(answer(&s, "checkout").await["test"], "checkout");
    assert_eq!(answer(&s, "profile").await["test"], "profile");
    assert_eq!(answer(&s, "checkout").await["errorCode"], 403120);
    assert_eq!(
        answer(&s, "other").await["errorCode"],
        403007,
        "another test's calls reach neither stub"
    );

    let expect = "- stub: checkout-locked\n  times: 2\n- stub: profile-locked\n  times: 0\n";
    let v = s
        .call("POST", "/__admin/verify?header.x-test-id=checkout", expect)
        .await
        .json();
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(v["entries"], 2);

    let r = s.call("DELETE", "/__admin/stubs/checkout-locked", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(answer(&s, "checkout").await["errorCode"], 403007);
    assert_eq!(
        answer(&s, "profile").await["test"],
        "profile",
        "the other test's stub stays"
    );
}

#[tokio::test]
async fn evictions_before_a_verification_starts_do_not_make_it_unreliable() {
    let s = server_with(
        JournalConfig {
            capacity: 3,
            body_limit: 64,
        },
        ServerConfig::default(),
    )
    .await;
    for i in 0..5 {
        s.post_form("/accounts.setAccountInfo", &format!("UID=u-{i}"))
            .await;
    }
    // Ids 1 and 2 were evicted; 3, 4 and 5 are held.
    let v = s.call("POST", "/__admin/verify", "").await.json();
    assert_eq!(v["dropped"], 2);
    assert_eq!(v["results"][1]["reliable"], false);
    let v = s.call("POST", "/__admin/verify?since=1", "").await.json();
    assert_eq!(v["dropped"], 1, "id 2 was evicted and comes after 1");
    assert_eq!(v["results"][1]["reliable"], false);
    let v = s.call("POST", "/__admin/verify?since=2", "").await.json();
    assert_eq!(v["dropped"], 0, "{v}");
    assert_eq!(v["results"][1]["reliable"], true);
    assert!(v.get("warning").is_none());
    assert_eq!(v["entries"], 3);
}

#[tokio::test]
async fn the_admin_port_splits_the_admin_api_off() {
    let s = server_with(
        JournalConfig::default(),
        ServerConfig {
            admin_port: Some(0),
            ..ServerConfig::default()
        },
    )
    .await;
    let admin = s.server.admin_addr().unwrap();
    assert_ne!(admin, s.addr);
    // On the main port, /__admin is an ordinary (unmatched) Gigya call, and it is journaled.
    let r = s.get("/__admin/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["errorCode"], 403007);
    // The admin port serves the admin API and nothing else.
    let r = TestServer::call_at(admin, "GET", "/__admin/requests", "", None).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(requests(&v)[0]["request"]["path"], "/__admin/health");
    let r = TestServer::call_at(admin, "POST", "/accounts.setAccountInfo", "UID=u-100", None).await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("only the admin API")
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let s = TestServer::start(STUBS).await;
    let addr = s.addr;
    let r = s.call("POST", "/__admin/shutdown", "").await;
    assert_eq!(r.status, 202);
    assert_eq!(r.json()["status"], "shutting down");
    tokio::time::timeout(Duration::from_secs(10), s.server.wait())
        .await
        .expect("the server stops");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the port is closed"
    );
}

/// 64 clients, each on its own connection, send 25 calls each: every call is in the journal
/// exactly once, numbered without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_entry_is_lost_or_duplicated_under_64_connections() {
    const CLIENTS: usize = 64;
    const CALLS: usize = 25;
    let s = TestServer::start(STUBS).await;
    let base = s.url("/accounts.setAccountInfo");
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            // One client per task: its pool holds one connection, reused for every call.
            let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http();
            for n in 0..CALLS {
                let req = http::Request::post(&base)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(http_body_util::Full::new(bytes::Bytes::from(format!(
                        "UID=c{c}-n{n}"
                    ))))
                    .unwrap();
                let resp = client.request(req).await.unwrap();
                use http_body_util::BodyExt;
                resp.into_body().collect().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v = s.get("/__admin/requests?limit=10000").await.json();
    let list = requests(&v);
    assert_eq!(list.len(), CLIENTS * CALLS);
    let mut seen = HashSet::new();
    for (i, e) in list.iter().enumerate() {
        assert_eq!(
            e["id"].as_u64().unwrap(),
            i as u64 + 1,
            "ids are consecutive"
        );
        let uid = e["params"]["UID"].as_str().unwrap().to_owned();
        assert!(seen.insert(uid.clone()), "{uid} recorded twice");
    }
    for c in 0..CLIENTS {
        for n in 0..CALLS {
            assert!(seen.contains(&format!("c{c}-n{n}")), "c{c}-n{n} missing");
        }
    }
    let clients: HashSet<&str> = list.iter().map(|e| e["client"].as_str().unwrap()).collect();
    assert!(clients.len() >= CLIENTS, "{} connections", clients.len());
    assert_eq!(v["journal"]["dropped"], 0);
    assert_eq!(
        s.engine.journal().stats().recorded,
        (CLIENTS * CALLS) as u64
    );
}

/// The JSON shapes clients read: a journal listing and an error with positions.
#[tokio::test]
async fn admin_json_snapshots() {
    let s = TestServer::start(STUBS).await;
    s.post_form(
        "/accounts.login?apiKey=3_k",
        "loginID=a%40b.c&password=pw&sig=abc",
    )
    .await;
    s.get("/accounts.getAccountInfo?UID=u-1").await;
    let redact = |v: &Value| {
        let text = serde_json::to_string_pretty(v).unwrap();
        let rules = [
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[TIME]"),
            (r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", "[DATE]"),
            (r"127\.0\.0\.1:\d+", "[ADDR]"),
            (r"[0-9a-f]{32}", "[CALLID]"),
            (r#""latencyMs": [0-9.]+"#, r#""latencyMs": "[MS]""#),
        ];
        rules.iter().fold(text, |t, (re, with)| {
            regex::Regex::new(re)
                .unwrap()
                .replace_all(&t, *with)
                .into_owned()
        })
    };
    let v = s.get("/__admin/requests").await.json();
    insta::assert_snapshot!("admin_requests_listing", redact(&v));
    let r = s
        .call(
            "POST",
            "/__admin/stubs",
            "request: {method: a.b}\nresponse: {errorCode: 7, stauts: 1}\n",
        )
        .await;
    insta::assert_snapshot!("admin_stub_error", redact(&r.json()));
}
