//! A compiled stub's model, kept small: the stub as written, stored as compact JSON text and
//! read back into a [`Stub`] when a listing or a recompilation (run-time stubs, removals) asks
//! for it. Serving never reads it; a large set would otherwise keep a second, much larger copy
//! of every stub in memory.

use std::fmt;

use crate::scenario::model::Stub;

/// A stub's model as compact JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct StubSource(Box<str>);

impl StubSource {
    /// Stores `stub`.
    #[must_use]
    pub fn new(stub: &Stub) -> Self {
        // Writing plain data (string keys only) into a string does not fail.
        StubSource(serde_json::to_string(stub).unwrap_or_default().into())
    }

    /// The stub as it was stored.
    #[must_use]
    pub fn model(&self) -> Stub {
        match serde_json::from_str(&self.0) {
            Ok(stub) => stub,
            Err(e) => {
                // Only a mismatch between the model's Serialize and Deserialize could cause
                // this; the tests read every documented form back.
                tracing::error!("cannot read a stored stub back: {e}");
                Stub::default()
            }
        }
    }

    /// The stored JSON text.
    #[must_use]
    pub fn json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StubSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StubSource").field(&&*self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::{Format, Source, load_sources};

    fn stubs_of(yaml: &str) -> Vec<Stub> {
        let mut problems = Vec::new();
        let root = crate::scenario::tree::parse_yaml(yaml).unwrap().unwrap();
        let file = crate::scenario::decode::scenario_file(&root, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        file.stubs
    }

    #[test]
    fn every_stub_form_reads_back_unchanged() {
        let stubs = stubs_of(
            r#"
version: 1
stubs:
  - name: a
    priority: 2
    times: 3
    request:
      method: { matches: "^accounts\\." }
      apiKey: k1
      params:
        UID: u-1
        n: 42
        f: 1.5
        big: 18446744073709551615
        flag: true
        regToken: { absent: true }
        lang: { present: false }
        data:
          json:
            "$.tier": { equals: gold }
            "$.tags[*]": { contains: x }
          jsonIncludes: { a: { b: [1, 2] } }
          jsonEquals: null
        other: { not: { anyOf: [a, { allOf: [{ contains: b }, { matches: c }] }] } }
      headers:
        X-Test: { contains: v }
      not: { params: { UID: u-2 } }
      anyOf: [{ params: { a: 1 } }]
      allOf: [{ params: { b: 2 } }]
    responses:
      - errorCode: 400006
        errorMessage: "{{ request.params.UID }}"
        errorDetails: d
        statusCode: 400
        statusReason: Bad
        callId: 0123456789abcdef0123456789abcdef
        time: 2024-05-01T10:00:00.123Z
        validationErrors:
          - { errorCode: 400003, fieldName: profile.email }
          - { errorCode: 400009, message: m, fieldName: f }
        body: { x: null, y: [1.25, "s"] }
        headers: { X-A: b }
        delay: { lognormal: { median: 20, sigma: 0.5 } }
      - status: 502
        body: null
        delay: { uniform: [1, 5] }
        fault: { slowBody: { chunkBytes: 4 } }
      - status: 200
        bodyFile: b.json
        delay: 7
        fault: connection-reset
    sequence: cycle
    scenario: s
    requiredState: A
    newState: B
    seed: 9
  - request:
      path: /raw
      httpMethod: get
      query: { q: "1" }
      body: { contains: x }
    response: { status: 204, fault: truncated-body }
"#,
        );
        assert_eq!(stubs.len(), 2);
        for stub in stubs {
            let stored = StubSource::new(&stub);
            assert_eq!(stored.model(), stub, "{}", stored.json());
        }
    }

    #[test]
    fn null_values_stay_null() {
        use crate::scenario::model::{Response, ValueMatch};
        let null = Some(serde_json::Value::Null);
        let mut stub = Stub::default();
        stub.request.params.insert(
            "a".into(),
            ValueMatch {
                equals: null.clone(),
                json_includes: null.clone(),
                json_equals: null.clone(),
                ..ValueMatch::default()
            },
        );
        stub.response = Response {
            status: Some(200),
            body: null.clone(),
            ..Response::default()
        };
        let back = StubSource::new(&stub).model();
        assert_eq!(back, stub);
        assert_eq!(back.response.body, null);
    }

    #[test]
    fn compiled_stubs_keep_their_model_as_text_only() {
        let set = load_sources(vec![Source {
            label: "s.yaml".into(),
            base_dir: ".".into(),
            format: Format::Yaml,
            text: "version: 1\nstubs:\n  - name: a\n    request: { method: m, params: { UID: u } }\n    response: { body: { k: v } }\n".into(),
        }])
        .unwrap();
        let stub = &set.stubs()[0];
        assert_eq!(
            stub.source.json(),
            r#"{"name":"a","request":{"method":{"equals":"m"},"params":{"UID":{"equals":"u"}}},"response":{"body":{"k":"v"}}}"#
        );
        assert_eq!(
            stub.source.model().request.params["UID"].equals,
            Some("u".into())
        );
    }
}
