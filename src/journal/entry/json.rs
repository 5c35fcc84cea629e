//! The JSON form of an entry, as the admin API serves it and the CLI reads it back, with the
//! text forms of HTTP versions and header lists it uses.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AnsweredBy, Entry, RecordedRequest, RecordedResponse};
use crate::exchange::Scheme;
use crate::gigya::params::ConflictPolicy;

/// `HTTP/1.1` and friends.
#[must_use]
pub fn version_text(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

fn version_from_text(v: &str) -> http::Version {
    match v {
        "HTTP/0.9" => http::Version::HTTP_09,
        "HTTP/1.0" => http::Version::HTTP_10,
        "HTTP/2.0" | "HTTP/2" => http::Version::HTTP_2,
        "HTTP/3.0" | "HTTP/3" => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

/// Header pairs as text, repeated names joined with `, ` (the JSON form).
#[must_use]
pub fn header_text(headers: &[(HeaderName, HeaderValue)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (n, v) in headers {
        let value = String::from_utf8_lossy(v.as_bytes());
        match out.iter_mut().find(|(name, _)| name == n.as_str()) {
            Some((_, existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            None => out.push((n.as_str().to_owned(), value.into_owned())),
        }
    }
    out
}

fn header_values(headers: Vec<(String, String)>) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .into_iter()
        .filter_map(|(n, v)| {
            Some((
                HeaderName::from_bytes(n.as_bytes()).ok()?,
                HeaderValue::from_str(&v).ok()?,
            ))
        })
        .collect()
}

/// The JSON form of an entry (what the admin API serves and the CLI reads).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryJson {
    id: u64,
    #[serde(with = "iso_time")]
    time: SystemTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    request: RequestJson,
    gigya_method: Option<String>,
    #[serde(with = "pairs")]
    params: Vec<(String, String)>,
    answered_by: AnsweredBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stub: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    near_misses: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upstream: Option<String>,
    response: ResponseJson,
    latency_ms: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestJson {
    method: String,
    http_version: String,
    url: String,
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(with = "pairs")]
    headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    body: Bytes,
    body_size: usize,
    body_truncated: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseJson {
    status: u16,
    #[serde(with = "pairs")]
    headers: Vec<(String, String)>,
    #[serde(with = "body_text")]
    body: Bytes,
    body_size: usize,
    body_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    call_id: Option<String>,
}

impl Serialize for Entry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.request;
        let p = &self.response;
        EntryJson {
            id: self.id,
            time: self.time,
            client: self.client.map(|a| a.to_string()),
            request: RequestJson {
                method: r.method.to_string(),
                http_version: version_text(r.version).to_owned(),
                url: self.url(),
                path: r.path.clone(),
                query: r.query.clone(),
                headers: header_text(&r.headers),
                body: r.body.clone(),
                body_size: r.body_size,
                body_truncated: r.body_truncated,
            },
            gigya_method: self.gigya_method.clone(),
            params: self.params().to_vec(),
            answered_by: self.answered_by,
            stub: self.stub.as_deref().map(str::to_owned),
            near_misses: self.near_misses.clone(),
            upstream: self.upstream.as_deref().map(str::to_owned),
            response: ResponseJson {
                status: p.status,
                headers: header_text(&p.headers),
                body: p.body.clone(),
                body_size: p.body_size,
                body_truncated: p.body_truncated,
                error_code: p.error_code,
                call_id: p.call_id.clone(),
            },
            latency_ms: self.latency_ms(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = EntryJson::deserialize(d)?;
        let params = OnceLock::new();
        let _ = params.set(j.params);
        let scheme = if j.request.url.starts_with("https:") {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let host = j
            .request
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .filter(|h| !h.is_empty())
            .map(str::to_owned);
        Ok(Entry {
            id: j.id,
            time: j.time,
            client: j.client.and_then(|c| c.parse().ok()),
            request: RecordedRequest {
                method: Method::from_bytes(j.request.method.as_bytes()).unwrap_or(Method::GET),
                version: version_from_text(&j.request.http_version),
                scheme,
                host,
                path: j.request.path,
                query: j.request.query,
                headers: header_values(j.request.headers),
                body: j.request.body,
                body_size: j.request.body_size,
                body_truncated: j.request.body_truncated,
            },
            gigya_method: j.gigya_method,
            answered_by: j.answered_by,
            stub: j.stub.map(Arc::from),
            near_misses: j.near_misses,
            upstream: j.upstream.map(Arc::from),
            response: RecordedResponse {
                status: j.response.status,
                headers: header_values(j.response.headers),
                body: j.response.body,
                body_size: j.response.body_size,
                body_truncated: j.response.body_truncated,
                error_code: j.response.error_code,
                call_id: j.response.call_id,
            },
            latency: Duration::from_secs_f64((j.latency_ms / 1000.0).max(0.0)),
            params,
            policy: ConflictPolicy::default(),
        })
    }
}

/// `SystemTime` as ISO 8601 UTC with milliseconds.
mod iso_time {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::gigya::envelope::format_time(*t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(SystemTime::from)
            .map_err(serde::de::Error::custom)
    }
}

/// Name/value pairs as a JSON object, in order.
mod pairs {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        pairs: &[(String, String)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (k, v) in pairs {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, String)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of text values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Pairs)
    }
}

/// Body bytes as (lossy) UTF-8 text.
mod body_text {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(b))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(Bytes::from(String::deserialize(d)?))
    }
}
