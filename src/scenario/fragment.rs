//! Pieces of scenario text posted to the admin API: stubs added at run time and ad-hoc
//! expectations. They are decoded and compiled by the same code as files, and every problem
//! is reported with its `line:col` in the posted text.
//!
//! A fragment is a single item (a mapping), a list of items, or a mapping holding the list
//! under the file's key (`stubs:` / `expect:`, with an optional `version`).

use std::collections::HashSet;
use std::path::PathBuf;

use super::compile::{self, CompileProblem, Input, KeyPath, ScenarioSet, Seg};
use super::decode::{self, ShapeProblem};
use super::expect::{self, CompiledExpectation};
use super::load::{Format, LoadError, Problem, resolve};
use super::model::{ScenarioFile, Stub};
use super::tree::{Node, Pos};

/// Where stubs added at run time say they come from.
pub const RUNTIME_ORIGIN: &str = "admin API";

/// Compiles posted stubs (at most `room` of them). Unnamed stubs are named by `next_name`;
/// names already used in `existing` are refused, as are `bodyFile` references (the server
/// does not read files on a client's behalf).
///
/// # Errors
/// Every problem, positioned in the posted text (`label:line:col`).
pub fn runtime_stubs(
    text: &str,
    format: Format,
    label: &str,
    existing: &ScenarioSet,
    room: usize,
    mut next_name: impl FnMut() -> String,
) -> Result<Vec<Stub>, LoadError> {
    let root = parse(text, format, label, "a stub")?;
    let mut shape = Vec::new();
    let items = decode::fragment_items(&root, "stubs", &mut shape);
    if items.len() > room {
        let held = existing.stubs().iter().filter(|s| s.runtime).count();
        return Err(single(
            label,
            None,
            format!(
                "{} more run-time stubs would exceed the limit of {} ({held} held now); delete some or reset",
                items.len(),
                held + room
            ),
        ));
    }
    let mut stubs: Vec<Stub> = Vec::new();
    for item in &items {
        let mut stub = decode::stub(item, &mut shape).unwrap_or_default();
        if stub.response.body_file.is_some() {
            shape.push(ShapeProblem {
                pos: resolve(item, &path(&["response", "bodyFile"])),
                message: "bodyFile is not available to stubs added over the admin API; put the body inline under `body`".into(),
            });
        }
        match &stub.name {
            Some(name) if existing.stub(name).is_some() => shape.push(ShapeProblem {
                pos: resolve(item, &path(&["name"])),
                message: format!(
                    "a stub named {name:?} already exists; delete it first (DELETE /__admin/stubs/{{name}})"
                ),
            }),
            Some(_) => {}
            None => stub.name = Some(next_name()),
        }
        stubs.push(stub);
    }
    if items.is_empty() && shape.is_empty() {
        return Err(single(label, None, "no stubs in the request body".into()));
    }
    if !shape.is_empty() {
        return Err(shape_error(label, shape));
    }
    let input = Input {
        label: label.to_owned(),
        base_dir: PathBuf::new(),
        file: ScenarioFile {
            version: 1,
            stubs,
            ..ScenarioFile::default()
        },
    };
    match compile::compile(vec![input.clone()]) {
        Ok(_) => Ok(input.file.stubs),
        Err(problems) => Err(compile_error(label, &items, "stubs", problems)),
    }
}

/// Compiles posted expectations; stub names must be in `stubs`.
///
/// # Errors
/// Every problem, positioned in the posted text.
pub fn expectations(
    text: &str,
    format: Format,
    label: &str,
    stubs: &HashSet<String>,
) -> Result<Vec<CompiledExpectation>, LoadError> {
    let root = parse(text, format, label, "an expectation")?;
    let mut shape = Vec::new();
    let items = decode::fragment_items(&root, "expect", &mut shape);
    let decoded: Vec<_> = items
        .iter()
        .map(|item| decode::expectation(item, &mut shape).unwrap_or_default())
        .collect();
    if items.is_empty() && shape.is_empty() {
        return Err(single(
            label,
            None,
            "no expectations in the request body".into(),
        ));
    }
    if !shape.is_empty() {
        return Err(shape_error(label, shape));
    }
    match expect::compile_expectations(&decoded, stubs) {
        Ok(mut out) => {
            for e in &mut out {
                if let [Seg::Key(_), Seg::Index(i), rest @ ..] = e.origin.1.0.as_slice() {
                    if let Some(item) = items.get(*i) {
                        let pos = resolve(item, &KeyPath(rest.to_vec()));
                        e.location = Some(format!("{label}:{}:{}", pos.line, pos.col));
                    }
                }
            }
            Ok(out)
        }
        Err(problems) => Err(compile_error(label, &items, "expect", problems)),
    }
}

fn parse(text: &str, format: Format, label: &str, what: &str) -> Result<Node, LoadError> {
    match format.parse(text) {
        Ok(Some(root)) => Ok(root),
        Ok(None) => Err(single(
            label,
            None,
            format!("the request body is empty; send {what} as YAML or JSON"),
        )),
        Err(e) => Err(single(label, Some(e.pos), e.message)),
    }
}

fn path(keys: &[&str]) -> KeyPath {
    KeyPath(keys.iter().map(|k| Seg::Key((*k).into())).collect())
}

fn single(label: &str, pos: Option<Pos>, message: String) -> LoadError {
    LoadError {
        problems: vec![Problem {
            file: label.to_owned(),
            pos,
            message,
        }],
    }
}

fn shape_error(label: &str, shape: Vec<ShapeProblem>) -> LoadError {
    let mut problems: Vec<Problem> = shape
        .into_iter()
        .map(|p| Problem {
            file: label.to_owned(),
            pos: Some(p.pos),
            message: p.message,
        })
        .collect();
    problems.sort_by_key(|p| p.pos);
    problems.dedup();
    LoadError { problems }
}

/// Maps `key[i].rest` compiler paths onto the posted item nodes.
fn compile_error(
    label: &str,
    items: &[&Node],
    key: &str,
    problems: Vec<CompileProblem>,
) -> LoadError {
    let mut out: Vec<Problem> = problems
        .into_iter()
        .map(|p| {
            let pos = match p.path.0.as_slice() {
                [Seg::Key(k), Seg::Index(i), rest @ ..] if &**k == key => items
                    .get(*i)
                    .map(|item| resolve(item, &KeyPath(rest.to_vec()))),
                _ => None,
            };
            Problem {
                file: label.to_owned(),
                pos,
                message: p.message,
            }
        })
        .collect();
    out.sort_by_key(|p| p.pos);
    out.dedup();
    LoadError { problems: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(set: &ScenarioSet) -> HashSet<String> {
        set.stubs().iter().map(|s| s.name.to_string()).collect()
    }

    fn errors(e: LoadError) -> Vec<String> {
        e.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_single_stub_a_list_or_a_stubs_mapping() {
        let empty = ScenarioSet::default();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("runtime-{n}")
        };
        let one = runtime_stubs(
            "request: {method: a.b}\nresponse: {}\n",
            Format::Yaml,
            "body",
            &empty,
            100,
            &mut next,
        )
        .unwrap();
        assert_eq!(one[0].name.as_deref(), Some("runtime-1"));
        let list = runtime_stubs(
            r#"{"stubs": [{"name": "x", "request": {"method": "a.b"}, "response": {}}, {"request": {"method": "a.c"}, "response": {}}]}"#,
            Format::Json,
            "body",
            &empty,
            100,
            &mut next,
        )
        .unwrap();
        let got: Vec<&str> = list.iter().filter_map(|s| s.name.as_deref()).collect();
        assert_eq!(got, vec!["x", "runtime-2"]);
        let seq = runtime_stubs(
            "- {request: {method: a.b}, response: {}}\n",
            Format::Yaml,
            "body",
            &empty,
            100,
            &mut next,
        )
        .unwrap();
        assert_eq!(seq.len(), 1);
    }

    #[test]
    fn problems_are_positioned_in_the_posted_text() {
        let set = crate::scenario::load_sources(vec![crate::scenario::load::Source {
            label: "f.yaml".into(),
            base_dir: PathBuf::new(),
            format: Format::Yaml,
            text: "version: 1\nstubs:\n  - {name: taken, request: {method: a.b}, response: {}}\n"
                .into(),
        }])
        .unwrap();
        let e = runtime_stubs(
            "stubs:\n  - name: taken\n    request: {method: a.b}\n    response: {}\n  - request: {method: a.b, params: {UID: {matches: \"(\"}}}\n    response: {bodyFile: x.json, errorCode: 999999}\n",
            Format::Yaml,
            "body",
            &set,
            100,
            || "n".into(),
        )
        .unwrap_err();
        assert_eq!(
            errors(e),
            vec![
                "body:2:11: a stub named \"taken\" already exists; delete it first (DELETE /__admin/stubs/{name})",
                "body:6:26: bodyFile is not available to stubs added over the admin API; put the body inline under `body`",
            ]
        );
        let e = runtime_stubs(
            "request: {params: {UID: {matches: \"(\"}}}\nresponse: {errorCode: 999999}\n",
            Format::Yaml,
            "body",
            &set,
            100,
            || "n".into(),
        )
        .unwrap_err();
        let got = errors(e);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("body:1:35: invalid regular expression"),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("body:2:23: error code 999999"),
            "{got:?}"
        );
        let e = runtime_stubs("", Format::Yaml, "body", &set, 100, || "n".into()).unwrap_err();
        assert_eq!(
            errors(e),
            vec!["body: the request body is empty; send a stub as YAML or JSON"]
        );
        let e =
            runtime_stubs("{\"a\": ", Format::Json, "body", &set, 100, || "n".into()).unwrap_err();
        assert!(
            errors(e)[0].starts_with("body:1:"),
            "syntax errors have positions"
        );
        let e = runtime_stubs(
            "stubs: []\nextra: 1\n",
            Format::Yaml,
            "body",
            &set,
            100,
            || "n".into(),
        )
        .unwrap_err();
        assert_eq!(
            errors(e),
            vec![
                "body:2:1: unknown key `extra` in the request body; expected one of: version, stubs"
            ]
        );
    }

    #[test]
    fn expectations_fragments() {
        let set = crate::scenario::load_sources(vec![crate::scenario::load::Source {
            label: "f.yaml".into(),
            base_dir: PathBuf::new(),
            format: Format::Yaml,
            text: "version: 1\nstubs:\n  - {name: gold, request: {method: a.b}, response: {}}\n"
                .into(),
        }])
        .unwrap();
        let ok = expectations(
            "expect:\n  - {stub: gold, times: 1}\n  - never: {method: a.c}\n",
            Format::Yaml,
            "body",
            &names(&set),
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].location.as_deref(), Some("body:2:5"));
        assert_eq!(ok[1].description, "no calls matching {method: a.c}");
        let e = expectations(
            "- {stub: silver}\n- {request: {method: a.b}, times: 1, atLeast: 2}\n- {stub: gold, request: {method: a.b}}\n- {}\n",
            Format::Yaml,
            "body",
            &names(&set),
        )
        .unwrap_err();
        assert_eq!(
            errors(e),
            vec![
                "body:1:10: no stub is named \"silver\"; expectations refer to stubs by their `name`",
                "body:2:35: `times` cannot be combined with `atLeast` or `atMost`",
                "body:3:25: give one subject per expectation: `stub` and `request` are both set; split them into two items",
                "body:4:3: an expectation needs one of `stub`, `request`, `never` or `inOrder`",
            ]
        );
    }
}
