//! Reading scenario files and directories into a compiled [`ScenarioSet`], with every problem
//! reported as `path:line:col: message`.
//!
//! A directory loads every `.yaml`, `.yml` and `.json` file beneath it, recursively and in sorted
//! order (hidden entries are skipped). Each file is parsed into a positioned tree, decoded, and
//! then the whole set is compiled at once; key paths from the compiler are mapped back to
//! positions through the trees. Nothing is returned unless everything is valid.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::compile::{self, CompileProblem, Input, KeyPath, ScenarioSet, Seg};
use super::decode;
use super::tree::{self, Kind, Node, Pos};

/// The largest scenario file read (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Directories a directory scan does not descend into: they hold `bodyFile` bodies.
pub const BODY_DIRS: &[&str] = &["bodies", "__files"];

/// One problem in the scenario set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as named in messages.
    pub file: String,
    /// The position, when known.
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found while loading; the set is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The problems, sorted by file and position.
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Counts of what was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Stubs compiled.
    pub stubs: usize,
    /// Sites configured.
    pub sites: usize,
    /// Accounts seeded.
    pub accounts: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{}, {}, {}",
            plural(self.files, "file", "files"),
            plural(self.stubs, "stub", "stubs"),
            plural(self.sites, "site", "sites"),
        )?;
        if self.accounts > 0 {
            write!(f, ", {}", plural(self.accounts, "account", "accounts"))?;
        }
        Ok(())
    }
}

impl ScenarioSet {
    /// What the set holds.
    #[must_use]
    pub fn summary(&self) -> Summary {
        Summary {
            files: self.files,
            stubs: self.stubs().len(),
            sites: self.sites.len(),
            accounts: self.accounts.len(),
        }
    }
}

/// The text format of a scenario source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

impl Format {
    /// The format a file name implies.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// Parses `text` in this format into a positioned tree (`None`: the text is empty).
    pub(crate) fn parse(self, text: &str) -> Result<Option<Node>, tree::SyntaxError> {
        match self {
            Format::Yaml => tree::parse_yaml(text),
            Format::Json => tree::parse_json(text),
        }
    }
}

/// One scenario text to load.
#[derive(Debug, Clone)]
pub struct Source {
    /// How it is named in messages.
    pub label: String,
    /// Directory `bodyFile` paths are relative to.
    pub base_dir: PathBuf,
    /// Its format.
    pub format: Format,
    /// The text.
    pub text: String,
}

/// Loads files and directories.
///
/// # Errors
/// Every problem found, in every file.
pub fn load_paths(paths: &[PathBuf]) -> Result<ScenarioSet, LoadError> {
    let (sources, problems) = read_paths(paths);
    load_sources_with(sources, problems)
}

/// Reads the scenario files under `paths` (listing directories), without parsing them.
fn read_paths(paths: &[PathBuf]) -> (Vec<Source>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut sources = Vec::new();
    for root in paths {
        let label_root = root.display().to_string();
        match std::fs::metadata(root) {
            Err(e) => problems.push(Problem {
                file: label_root,
                pos: None,
                message: format!("cannot read scenarios: {e}"),
            }),
            Ok(meta) if meta.is_dir() => {
                let mut files = Vec::new();
                if let Err(e) = walk(root, &mut files) {
                    problems.push(Problem {
                        file: label_root.clone(),
                        pos: None,
                        message: format!("cannot list directory: {e}"),
                    });
                }
                files.sort();
                if files.is_empty() && problems.is_empty() {
                    problems.push(Problem {
                        file: label_root,
                        pos: None,
                        message: "no scenario files (.yaml, .yml, .json) in this directory".into(),
                    });
                }
                for f in files {
                    read_source(&f, &mut sources, &mut problems);
                }
            }
            Ok(_) => {
                if Format::from_path(root).is_none() {
                    problems.push(Problem {
                        file: label_root,
                        pos: None,
                        message:
                            "unsupported file type; scenario files end in .yaml, .yml or .json"
                                .into(),
                    });
                } else {
                    read_source(root, &mut sources, &mut problems);
                }
            }
        }
    }
    (sources, problems)
}

/// Loads in-memory sources (the library API, the admin API).
///
/// # Errors
/// Every problem found.
pub fn load_sources(sources: Vec<Source>) -> Result<ScenarioSet, LoadError> {
    load_sources_with(sources, Vec::new())
}

fn read_source(path: &Path, sources: &mut Vec<Source>, problems: &mut Vec<Problem>) {
    let label = path.display().to_string();
    let too_big = std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_FILE_BYTES);
    if too_big {
        problems.push(Problem {
            file: label,
            pos: None,
            message: format!("file is larger than {MAX_FILE_BYTES} bytes"),
        });
        return;
    }
    match std::fs::read(path) {
        Err(e) => problems.push(Problem {
            file: label,
            pos: None,
            message: format!("cannot read file: {e}"),
        }),
        Ok(bytes) => match String::from_utf8(bytes) {
            Err(e) => problems.push(Problem {
                file: label,
                pos: None,
                message: format!(
                    "file is not UTF-8 (first bad byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            }),
            Ok(text) => sources.push(Source {
                label,
                base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
                format: Format::from_path(path).unwrap_or(Format::Yaml),
                text,
            }),
        },
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let ty = entry.file_type()?;
        if ty.is_dir() || (ty.is_symlink() && path.is_dir()) {
            // Response bodies (`bodyFile`) conventionally live in these; they are not scenarios.
            if !BODY_DIRS.contains(&name.as_str()) {
                walk(&path, out)?;
            }
        } else if Format::from_path(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

fn load_sources_with(
    sources: Vec<Source>,
    problems: Vec<Problem>,
) -> Result<ScenarioSet, LoadError> {
    let order: Vec<String> = sources.iter().map(|s| s.label.clone()).collect();
    let decoded = decode_all(sources);
    let refs: Vec<&Decoded> = decoded.iter().collect();
    compile_decoded(&order, &refs, problems)
}

/// One source, parsed and decoded. The positioned tree is not kept (it is several times the
/// size of the text): positions that compiling needs later are found by parsing the text again
/// ([`Decoded::tree`]), which happens only for files with expectations or problems; the
/// expectations' positions are then kept, so an unchanged file is not parsed again at the
/// next reload.
#[derive(Debug)]
struct Decoded {
    /// How the file is named in messages.
    label: String,
    /// The file's text.
    text: String,
    format: Format,
    base_dir: PathBuf,
    /// Syntax and shape problems.
    problems: Vec<Problem>,
    /// Positions of the shape problems (a compile problem at one of them is not repeated).
    shape_positions: Vec<Pos>,
    /// The decoded input, when the text parsed.
    input: Option<Input>,
    /// Positions already resolved in the text (the expectations').
    positions: Mutex<Vec<(KeyPath, Pos)>>,
    /// How many times the text was parsed again (tests check the position cache with it).
    #[cfg(test)]
    reparsed: std::sync::atomic::AtomicUsize,
}

impl Decoded {
    /// A source that yielded nothing to compile.
    fn failed(src: Source, problem: Problem) -> Self {
        Self {
            label: src.label,
            text: src.text,
            format: src.format,
            base_dir: src.base_dir,
            problems: vec![problem],
            shape_positions: Vec::new(),
            input: None,
            positions: Mutex::default(),
            #[cfg(test)]
            reparsed: Default::default(),
        }
    }

    /// The positioned tree of the text, parsed again.
    fn tree(&self) -> Option<Node> {
        #[cfg(test)]
        self.reparsed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.format.parse(&self.text).ok().flatten()
    }

    /// A position resolved before.
    fn known_position(&self, path: &KeyPath) -> Option<Pos> {
        let known = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        known.iter().find(|(p, _)| p == path).map(|(_, pos)| *pos)
    }

    /// Keeps a resolved position.
    fn remember_position(&self, path: &KeyPath, pos: Pos) {
        let mut known = self
            .positions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        known.push((path.clone(), pos));
    }
}

fn decode_source(src: Source) -> Decoded {
    let root = match src.format.parse(&src.text) {
        Err(e) => {
            let problem = Problem {
                file: src.label.clone(),
                pos: Some(e.pos),
                message: e.message,
            };
            return Decoded::failed(src, problem);
        }
        Ok(None) => {
            let problem = Problem {
                file: src.label.clone(),
                pos: None,
                message: "file is empty; a scenario file starts with `version: 1`".into(),
            };
            return Decoded::failed(src, problem);
        }
        Ok(Some(root)) => root,
    };
    let mut shape = Vec::new();
    let file = decode::scenario_file(&root, &mut shape);
    drop(root);
    Decoded {
        shape_positions: shape.iter().map(|p| p.pos).collect(),
        problems: shape
            .into_iter()
            .map(|p| Problem {
                file: src.label.clone(),
                pos: Some(p.pos),
                message: p.message,
            })
            .collect(),
        input: Some(Input {
            label: src.label.clone(),
            base_dir: src.base_dir.clone(),
            file,
        }),
        positions: Mutex::default(),
        #[cfg(test)]
        reparsed: Default::default(),
        label: src.label,
        text: src.text,
        format: src.format,
        base_dir: src.base_dir,
    }
}

/// Parses and decodes sources, on several threads when there are many.
fn decode_all(sources: Vec<Source>) -> Vec<Decoded> {
    const PER_THREAD: usize = 8;
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4)
        .min(sources.len() / PER_THREAD)
        .max(1);
    if threads == 1 {
        return sources.into_iter().map(decode_source).collect();
    }
    let chunk = sources.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Source>> = Vec::with_capacity(threads);
    let mut rest = sources.into_iter();
    for _ in 0..threads {
        chunks.push(rest.by_ref().take(chunk).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(decode_source).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                // Decoding does not panic on input; if it ever did, say so instead of dying.
                Err(_) => vec![Decoded {
                    label: String::new(),
                    text: String::new(),
                    format: Format::Yaml,
                    base_dir: PathBuf::new(),
                    problems: vec![Problem {
                        file: String::new(),
                        pos: None,
                        message: "internal error while decoding the scenario files".into(),
                    }],
                    shape_positions: Vec::new(),
                    input: None,
                    positions: Mutex::default(),
                    #[cfg(test)]
                    reparsed: Default::default(),
                }],
            })
            .collect()
    })
}

/// Compiles decoded sources into one set, mapping problems to positions. `order` lists the
/// labels in load order (problems are sorted by it).
fn compile_decoded(
    order: &[String],
    decoded: &[&Decoded],
    mut problems: Vec<Problem>,
) -> Result<ScenarioSet, LoadError> {
    let mut inputs: Vec<&Input> = Vec::with_capacity(decoded.len());
    let mut sources: Vec<&Decoded> = Vec::with_capacity(decoded.len());
    for d in decoded {
        problems.extend(d.problems.iter().cloned());
        if let Some(input) = &d.input {
            inputs.push(input);
            sources.push(d);
        }
    }
    // The trees of the inputs named by `needed` (parsed again, once each), by input index.
    let trees_of = |needed: &mut dyn Iterator<Item = usize>| {
        let mut trees: Vec<Option<Node>> = (0..sources.len()).map(|_| None).collect();
        for i in needed {
            if let (Some(slot @ None), Some(d)) = (trees.get_mut(i), sources.get(i)) {
                *slot = d.tree();
            }
        }
        trees
    };
    let set = match compile::compile_refs(&inputs) {
        Ok(mut set) => {
            // Files are parsed again only for positions not resolved at an earlier load.
            let known = |input: usize, path: &KeyPath| {
                sources.get(input).and_then(|d| d.known_position(path))
            };
            let trees = trees_of(
                &mut set
                    .expectations
                    .iter()
                    .filter(|e| known(e.origin.0, &e.origin.1).is_none())
                    .map(|e| e.origin.0),
            );
            for e in &mut set.expectations {
                let (input, path) = &e.origin;
                let pos = known(*input, path).or_else(|| {
                    let root = trees.get(*input)?.as_ref()?;
                    let pos = resolve(root, path);
                    sources.get(*input)?.remember_position(path, pos);
                    Some(pos)
                });
                if let (Some(input_ref), Some(pos)) = (inputs.get(*input), pos) {
                    e.location = Some(format!("{}:{}:{}", input_ref.label, pos.line, pos.col));
                }
            }
            Some(set)
        }
        Err(compile_problems) => {
            let trees = trees_of(&mut compile_problems.iter().map(|p| p.input));
            for CompileProblem {
                input,
                path,
                message,
            } in compile_problems
            {
                let label = inputs
                    .get(input)
                    .map(|i| i.label.clone())
                    .unwrap_or_default();
                let pos = trees
                    .get(input)
                    .and_then(Option::as_ref)
                    .map(|root| resolve(root, &path));
                // A value the decoder already rejected would be reported twice otherwise.
                if let (Some(p), Some(d)) = (pos, sources.get(input)) {
                    if d.shape_positions.contains(&p) {
                        continue;
                    }
                }
                let message = if pos.is_none() && !path.0.is_empty() {
                    format!("{path}: {message}")
                } else {
                    message
                };
                problems.push(Problem {
                    file: label,
                    pos,
                    message,
                });
            }
            None
        }
    };
    if !problems.is_empty() {
        problems.sort_by_key(|p| {
            (
                order
                    .iter()
                    .position(|l| *l == p.file)
                    .unwrap_or(usize::MAX),
                p.pos.is_some(),
                p.pos,
            )
        });
        problems.dedup();
        return Err(LoadError { problems });
    }
    set.ok_or(LoadError { problems })
}

/// Decoded files kept between reloads: a file whose text did not change is not parsed or
/// decoded again (the whole set is still compiled and checked).
#[derive(Debug, Default)]
pub struct LoadCache {
    entries: std::collections::HashMap<String, Decoded>,
}

impl LoadCache {
    /// How many files the cache holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// [`load_paths`], reusing the decoded form of files whose text is unchanged since the last
/// call with the same cache.
///
/// # Errors
/// Every problem found, in every file.
pub fn load_paths_cached(
    paths: &[PathBuf],
    cache: &mut LoadCache,
) -> Result<ScenarioSet, LoadError> {
    let (sources, problems) = read_paths(paths);
    let order: Vec<String> = sources.iter().map(|s| s.label.clone()).collect();
    let mut old = std::mem::take(&mut cache.entries);
    let mut fresh = Vec::new();
    for src in sources {
        match old.remove(&src.label) {
            Some(entry)
                if entry.text == src.text
                    && entry.base_dir == src.base_dir
                    && entry.format == src.format =>
            {
                cache.entries.insert(src.label.clone(), entry);
            }
            _ => fresh.push(src),
        }
    }
    for d in decode_all(fresh) {
        cache.entries.insert(d.label.clone(), d);
    }
    let refs: Vec<&Decoded> = order.iter().filter_map(|l| cache.entries.get(l)).collect();
    compile_decoded(&order, &refs, problems)
}

/// The position of the node a key path names, or of its deepest existing ancestor.
pub(crate) fn resolve(root: &Node, path: &KeyPath) -> Pos {
    let mut node = root;
    for seg in &path.0 {
        let next = match (seg, &node.kind) {
            (Seg::Key(k), Kind::Map(entries)) => entries
                .iter()
                .find(|(key, _)| key.key_text() == &**k)
                .map(|(_, v)| v),
            (Seg::Index(i), Kind::Seq(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node.pos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(label: &str, text: &str) -> Source {
        Source {
            label: label.into(),
            base_dir: PathBuf::from("."),
            format: Format::Yaml,
            text: text.into(),
        }
    }

    fn errors(sources: Vec<Source>) -> Vec<String> {
        load_sources(sources)
            .unwrap_err()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn site_options_and_account_times_are_checked() {
        let e = errors(vec![yaml(
            "s.yaml",
            "version: 1\nsites:\n  - apiKey: k\n    options:\n      unknownUidCode: 123\n      loginIdExistsStatus: 700\n      serverOnlyFields: [\"data.\", nope.x]\n      dataFields: [\"\"]\naccounts:\n  - UID: u\n    created: yesterday\n",
        )]);
        let text = e.join("\n");
        assert!(
            text.contains("unknownUidCode: 123 is not an error code"),
            "{text}"
        );
        assert!(text.contains("loginIdExistsStatus: 700"), "{text}");
        assert!(text.contains("serverOnlyFields: \"data.\""), "{text}");
        assert!(text.contains("serverOnlyFields: \"nope.x\""), "{text}");
        assert!(text.contains("dataFields: \"\""), "{text}");
        assert!(text.contains("created: \"yesterday\""), "{text}");
    }

    #[test]
    fn semantic_problems_point_at_their_values() {
        let e = errors(vec![yaml(
            "a.yaml",
            "version: 1\nstubs:\n  - request:\n      params:\n        UID: {matches: \"(\"}\n    response: {errorCode: 123456}\n",
        )]);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].starts_with("a.yaml:5:24: invalid regular expression"),
            "{}",
            e[0]
        );
        assert!(
            e[1].starts_with("a.yaml:6:27: error code 123456 is not in the Gigya catalogue"),
            "{}",
            e[1]
        );
    }

    #[test]
    fn names_are_unique_across_files() {
        let stub =
            "version: 1\nstubs:\n  - name: dup\n    request: {method: a.b}\n    response: {}\n";
        let e = errors(vec![yaml("one.yaml", stub), yaml("two.yaml", stub)]);
        assert_eq!(
            e,
            vec![
                "two.yaml:3:11: stub name \"dup\" is already used; names must be unique across all files"
            ]
        );
    }

    #[test]
    fn auto_names_use_file_and_index() {
        let set = load_sources(vec![yaml(
            "x.yaml",
            "version: 1\nstubs:\n  - request: {method: a.b}\n    response: {}\n  - request: {method: a.c}\n    response: {}\n",
        )])
        .unwrap();
        let names: Vec<&str> = set.stubs().iter().map(|s| &*s.name).collect();
        assert_eq!(names, vec!["x.yaml#0", "x.yaml#1"]);
    }

    #[test]
    fn priority_orders_stubs() {
        let set = load_sources(vec![yaml(
            "p.yaml",
            "version: 1\nstubs:\n  - {name: late, request: {method: a.b}, response: {}}\n  - {name: first, priority: 1, request: {method: a.b}, response: {}}\n  - {name: fallback, priority: 9, request: {method: a.b}, response: {}}\n",
        )])
        .unwrap();
        let names: Vec<&str> = set.stubs().iter().map(|s| &*s.name).collect();
        assert_eq!(names, vec!["first", "late", "fallback"]);
    }

    #[test]
    fn syntax_errors_and_empty_files_are_reported_per_file() {
        let e = errors(vec![
            yaml("bad.yaml", "version: 1\nstubs: [\n"),
            yaml("empty.yaml", ""),
            Source {
                label: "bad.json".into(),
                base_dir: PathBuf::from("."),
                format: Format::Json,
                text: "{\"version\": 1,}".into(),
            },
        ]);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e.iter().any(|l| l.starts_with("bad.yaml:")));
        assert!(e.iter().any(|l| l == "empty.yaml: file is empty; a scenario file starts with `version: 1`"));
        assert_eq!(
            e[0],
            "bad.yaml:3:1: while parsing a node, did not find expected node content"
        );
        assert_eq!(e[2], "bad.json:1:15: key must be a string");
    }

    #[test]
    fn envelope_fields_in_body_are_rejected() {
        let e = errors(vec![yaml(
            "b.yaml",
            "version: 1\nstubs:\n  - request: {method: a.b}\n    response:\n      body: {errorCode: 5, time: x}\n",
        )]);
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(
            e[0].contains("`errorCode` is an envelope field; set it with `response.errorCode`")
        );
        assert!(e[1].contains("`time` is an envelope field; set it with `response.time`"));
    }

    #[test]
    fn accounts_need_a_site() {
        let e = errors(vec![yaml(
            "acc.yaml",
            "version: 1\naccounts:\n  - UID: u1\n",
        )]);
        assert_eq!(
            e,
            vec!["acc.yaml:3:5: accounts need a site: add one under `sites`"]
        );
        let set = load_sources(vec![yaml(
            "ok.yaml",
            "version: 1\nsites: [{apiKey: k1}]\naccounts:\n  - UID: u1\n",
        )])
        .unwrap();
        assert_eq!(set.accounts[0].api_key.as_deref(), Some("k1"));
    }

    #[test]
    fn a_missing_key_is_reported_once() {
        let e = errors(vec![yaml(
            "s.yaml",
            "version: 1\nsites:\n  - dataCenter: us1\n",
        )]);
        assert_eq!(e, vec!["s.yaml:3:5: site is missing `apiKey`"]);
    }

    #[test]
    fn directories_load_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "version: 1\nstubs:\n  - {request: {method: a.b}, response: {}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sub/a.json"),
            r#"{"version": 1, "stubs": [{"request": {"method": "a.c"}, "response": {}}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join(".hidden.yaml"), "not: valid: yaml: [").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        std::fs::create_dir_all(dir.path().join("bodies")).unwrap();
        std::fs::write(dir.path().join("bodies/body.json"), r#"{"UID": "x"}"#).unwrap();
        let set = load_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(set.summary().files, 2);
        assert_eq!(set.summary().stubs, 2);
        assert!(set.stubs()[0].name.ends_with("b.yaml#0"));
        let empty = tempfile::tempdir().unwrap();
        let e = load_paths(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(e.problems[0].message.contains("no scenario files"));
        let e = load_paths(&[dir.path().join("missing.yaml")]).unwrap_err();
        assert!(e.problems[0].message.starts_with("cannot read scenarios"));
    }

    #[test]
    fn summary_reads_naturally() {
        let s = Summary {
            files: 3,
            stubs: 42,
            sites: 1,
            accounts: 0,
        };
        assert_eq!(s.to_string(), "3 files, 42 stubs, 1 site");
    }

    #[test]
    fn cached_files_still_give_positions_for_expectations_and_problems() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        std::fs::write(
            &a,
            "version: 1\nstubs:\n  - name: a\n    request: {method: x.a}\n    response: {}\nexpect:\n  - stub: b\n",
        )
        .unwrap();
        let stub_b = |name: &str| {
            format!(
                "version: 1\nstubs:\n  - name: {name}\n    request: {{method: x.b}}\n    response: {{}}\n"
            )
        };
        std::fs::write(&b, stub_b("b")).unwrap();
        let paths = vec![dir.path().to_path_buf()];
        let mut cache = LoadCache::default();
        let set = load_paths_cached(&paths, &mut cache).unwrap();
        let fresh = load_paths(&paths).unwrap();
        let location = |set: &ScenarioSet| set.expectations[0].location.clone();
        assert!(
            location(&set).unwrap().ends_with("a.yaml:7:5"),
            "{:?}",
            location(&set)
        );
        assert_eq!(location(&set), location(&fresh));
        let reparsed = |cache: &LoadCache| {
            let (_, a) = cache
                .entries
                .iter()
                .find(|(label, _)| label.ends_with("a.yaml"))
                .unwrap();
            a.reparsed.load(std::sync::atomic::Ordering::Relaxed)
        };
        assert_eq!(reparsed(&cache), 1, "parsed again once, for the location");
        // b.yaml changes; a.yaml's expectation keeps its location without a new parse.
        std::fs::write(
            &b,
            stub_b("b") + "  - name: b2\n    request: {method: x.c}\n    response: {}\n",
        )
        .unwrap();
        let set = load_paths_cached(&paths, &mut cache).unwrap();
        assert_eq!(location(&set), location(&fresh));
        assert_eq!(reparsed(&cache), 1);
        // a.yaml is unchanged (cached); its expectation now names a stub that is gone.
        std::fs::write(&b, stub_b("c")).unwrap();
        let cached = load_paths_cached(&paths, &mut cache).unwrap_err();
        let fresh = load_paths(&paths).unwrap_err();
        assert_eq!(cached, fresh);
        assert!(cached.problems[0].file.ends_with("a.yaml"), "{cached}");
        assert!(cached.problems[0].pos.is_some(), "{cached}");
    }

    #[test]
    fn the_cache_reuses_unchanged_files_and_still_reports_their_problems() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        let b = dir.path().join("b.yaml");
        let stub = |name: &str, method: &str| {
            format!(
                "version: 1\nstubs:\n  - name: {name}\n    request: {{method: {method}}}\n    response: {{}}\n"
            )
        };
        std::fs::write(&a, stub("a", "x.a")).unwrap();
        std::fs::write(&b, stub("b", "x.b")).unwrap();
        let paths = vec![dir.path().to_path_buf()];
        let mut cache = LoadCache::default();
        let set = load_paths_cached(&paths, &mut cache).unwrap();
        assert_eq!(set.summary().stubs, 2);
        assert_eq!(cache.len(), 2);
        // An edit is picked up; a duplicate name across a cached and a changed file is found.
        std::fs::write(&b, stub("a", "x.c")).unwrap();
        let e = load_paths_cached(&paths, &mut cache).unwrap_err();
        assert!(
            e.problems[0]
                .message
                .contains("stub name \"a\" is already used"),
            "{e}"
        );
        // A shape problem in a file that then stays unchanged is reported every time.
        std::fs::write(&b, "version: 1\nstubs: 3\n").unwrap();
        let first = load_paths_cached(&paths, &mut cache).unwrap_err();
        let again = load_paths_cached(&paths, &mut cache).unwrap_err();
        assert_eq!(first, again);
        assert!(
            again
                .to_string()
                .ends_with("b.yaml:2:8: stubs: expected a list, found an integer"),
            "{again}"
        );
        // A deleted file leaves the cache.
        std::fs::remove_file(&b).unwrap();
        assert_eq!(
            load_paths_cached(&paths, &mut cache)
                .unwrap()
                .summary()
                .stubs,
            1
        );
        assert_eq!(cache.len(), 1);
    }
}
