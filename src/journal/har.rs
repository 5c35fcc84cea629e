//! HAR 1.2 export of journal entries, for browsers' and proxies' HAR viewers.
//!
//! Entries are already redacted, so the file can be attached to a CI run. Fields HAR requires
//! but the mock does not measure are given their "unknown" values (`-1` sizes, zero send and
//! receive timings). gigya-mock's own view of each call is under the custom `_gigyaMock` key.

use serde_json::{Value, json};

use super::entry::{Entry, header_text, version_text};
use crate::gigya::envelope::format_time;

/// The HAR document for these entries.
#[must_use]
pub fn document<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Value {
    let entries: Vec<Value> = entries.into_iter().map(entry).collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "gigya-mock", "version": env!("CARGO_PKG_VERSION")},
            "entries": entries,
        }
    })
}

fn pairs(list: &[(String, String)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn header(list: &[(String, String)], name: &str) -> Option<String> {
    list.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

fn query_pairs(query: Option<&str>) -> Value {
    let Some(q) = query else {
        return Value::Array(Vec::new());
    };
    let items = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            json!({"name": lenient(n), "value": lenient(v)})
        })
        .collect();
    Value::Array(items)
}

fn lenient(s: &str) -> String {
    crate::gigya::params::Params::decode(Some(&format!("x={s}")), None, Default::default())
        .ok()
        .and_then(|p| p.value("x").map(str::to_owned))
        .unwrap_or_else(|| s.to_owned())
}

fn entry(e: &Entry) -> Value {
    let req = &e.request;
    let resp = &e.response;
    let req_headers = header_text(&req.headers);
    let resp_headers = header_text(&resp.headers);
    let version = version_text(req.version);
    let mut request = json!({
        "method": req.method.as_str(),
        "url": e.url(),
        "httpVersion": version,
        "cookies": [],
        "headers": pairs(&req_headers),
        "queryString": query_pairs(req.query.as_deref()),
        "headersSize": -1,
        "bodySize": req.body_size,
    });
    if req.body_size > 0 {
        let mut post = json!({
            "mimeType": header(&req_headers, "content-type").unwrap_or_else(|| "application/x-www-form-urlencoded".to_owned()),
            "text": String::from_utf8_lossy(&req.body),
        });
        if req.body_truncated {
            post["comment"] = json!(format!(
                "truncated to the journal's body limit; {} bytes were sent",
                req.body_size
            ));
        }
        request["postData"] = post;
    }
    let mut content = json!({
        "size": resp.body_size,
        "mimeType": header(&resp_headers, "content-type").unwrap_or_default(),
        "text": String::from_utf8_lossy(&resp.body),
    });
    if resp.body_truncated {
        content["comment"] = json!(format!(
            "truncated to the journal's body limit; {} bytes were sent",
            resp.body_size
        ));
    }
    let status_text = http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut mock = json!({
        "id": e.id,
        "answeredBy": e.answered_by,
        "gigyaMethod": e.gigya_method,
    });
    if let Some(s) = &e.stub {
        mock["stub"] = json!(&**s);
    }
    if let Some(u) = &e.upstream {
        mock["upstream"] = json!(&**u);
    }
    if let Some(c) = resp.error_code {
        mock["errorCode"] = json!(c);
    }
    if let Some(c) = &resp.call_id {
        mock["callId"] = json!(c);
    }
    if !e.near_misses.is_empty() {
        mock["nearMisses"] = json!(e.near_misses);
    }
    let mut out = json!({
        "startedDateTime": format_time(e.time),
        "time": e.latency_ms(),
        "request": request,
        "response": {
            "status": resp.status,
            "statusText": status_text,
            "httpVersion": version,
            "cookies": [],
            "headers": pairs(&resp_headers),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": resp.body_size,
        },
        "cache": {},
        "timings": {"send": 0, "wait": e.latency_ms(), "receive": 0},
        "comment": format!("answered by {}", e.answered_text()),
        "_gigyaMock": mock,
    });
    if let Some(addr) = e.client {
        out["_clientAddress"] = json!(addr.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::entry as make;

    #[test]
    fn har_has_the_required_fields() {
        let mut e = make("accounts.login", &[("loginID", "a b"), ("password", "p")]);
        e.id = 3;
        let doc = document([&e]);
        assert_eq!(doc["log"]["version"], "1.2");
        assert_eq!(doc["log"]["creator"]["name"], "gigya-mock");
        let h = &doc["log"]["entries"][0];
        for key in [
            "startedDateTime",
            "time",
            "request",
            "response",
            "cache",
            "timings",
        ] {
            assert!(!h[key].is_null(), "{key}");
        }
        assert_eq!(h["request"]["method"], "POST");
        assert_eq!(
            h["request"]["postData"]["text"],
            "loginID=a%20b&password=[REDACTED]"
        );
        assert_eq!(h["response"]["status"], 200);
        assert_eq!(h["response"]["statusText"], "OK");
        assert_eq!(h["_gigyaMock"]["id"], 3);
        assert_eq!(h["_gigyaMock"]["answeredBy"], "unmatched");
        assert_eq!(h["_gigyaMock"]["errorCode"], 403007);
        assert_eq!(
            query_pairs(Some("a=1&b=x%20y&c")),
            json!([{"name":"a","value":"1"},{"name":"b","value":"x y"},{"name":"c","value":""}])
        );
    }
}
