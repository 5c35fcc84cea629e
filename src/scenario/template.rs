//! Response templates: string values of a response (`body` fields, `headers`, `errorMessage`,
//! `errorDetails`) that contain `{{`, `{%` or `{#` are MiniJinja templates, compiled once when
//! the scenario set is loaded and rendered per request from the request's values.
//!
//! A value that is exactly one expression (`"{{ json.profile }}"`) keeps the expression's type
//! (an object, a number, ...); anything else renders to text. Templates see `params` (by
//! case-insensitive name), `json` (object parameters parsed as JSON), `headers`
//! (case-insensitive), `method`, `http_method` and `path`, and can call `uuid()`, `call_id()`,
//! `now(offset=, format=)`, `random_int(min, max)` and `random_string(len)`. Random values come
//! from the stub's RNG (seeded with the stub's `seed`), so seeded runs repeat. Every render is
//! bounded by MiniJinja fuel and [`MAX_OUTPUT`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

use crate::exchange::CapturedRequest;
use crate::scenario::compile::Seg;

mod context;
mod functions;

use context::context;
use functions::{fn_call_id, fn_now, fn_random_int, fn_random_string, fn_uuid};

/// The largest rendered template (bytes).
pub const MAX_OUTPUT: usize = 1024 * 1024;

/// The work budget of one render (MiniJinja fuel: instructions and data).
const FUEL: u64 = 100_000;

/// The variables a template can use.
pub const VARIABLES: &[&str] = &["params", "json", "headers", "method", "http_method", "path"];

/// The functions a template can call.
pub const FUNCTIONS: &[&str] = &["uuid", "call_id", "now", "random_int", "random_string"];

/// The hidden context entry that carries the per-render state to the functions.
const RENDER_STATE: &str = "__gigya_mock_render";

/// Whether a string is a template.
#[must_use]
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Whether any string inside a JSON value is a template (checked without allocating).
#[must_use]
pub fn has_template(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => is_template(s),
        serde_json::Value::Array(items) => items.iter().any(has_template),
        serde_json::Value::Object(map) => map.values().any(has_template),
        _ => false,
    }
}

/// A compiled template of a [`Templates`] set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    name: Arc<str>,
    typed: bool,
}

/// A text that may be a template.
#[derive(Debug, Clone)]
pub enum TText {
    /// Plain text.
    Static(String),
    /// A template rendering to text.
    Template(TemplateRef),
}

/// A JSON value whose strings may be templates.
#[derive(Debug, Clone)]
pub enum TValue {
    /// A value without templates.
    Static(serde_json::Value),
    /// A templated string (typed when it is a single expression).
    Template(TemplateRef),
    /// An object with templated members.
    Object(Vec<(String, TValue)>),
    /// A list with templated items.
    Array(Vec<TValue>),
}

impl TValue {
    /// Whether the value holds any template.
    #[must_use]
    pub fn is_static(&self) -> bool {
        matches!(self, TValue::Static(_))
    }
}

/// Why a render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

/// What a render knows about the call being answered.
#[derive(Debug)]
pub struct RenderInput<'a> {
    /// The request.
    pub req: &'a CapturedRequest,
    /// The `callId` of the answer.
    pub call_id: &'a str,
    /// The engine's "now".
    pub now: SystemTime,
    /// The stub's random source.
    pub rng: &'a Mutex<fastrand::Rng>,
}

/// The compiled templates of one scenario set.
pub struct Templates {
    env: Environment<'static>,
    count: usize,
    prefix: String,
    sources: Vec<(Arc<str>, String, bool)>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// An empty set with the functions registered.
    #[must_use]
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(64);
        // Output is JSON or header text, never HTML.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_function("uuid", fn_uuid);
        env.add_function("call_id", fn_call_id);
        env.add_function("now", fn_now);
        env.add_function("random_int", fn_random_int);
        env.add_function("random_string", fn_random_string);
        Self {
            env,
            count: 0,
            prefix: String::new(),
            sources: Vec::new(),
        }
    }

    /// An empty set whose template names start with `prefix` (sets compiled on separate
    /// threads are merged with [`Templates::absorb`]).
    #[must_use]
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            ..Self::new()
        }
    }

    /// Takes over the templates of another set (compiled with a different prefix).
    ///
    /// # Errors
    /// A template that does not compile again (which would be a bug).
    pub fn absorb(&mut self, other: Templates) -> Result<(), String> {
        for (name, source, typed) in other.sources {
            self.env
                .add_template_owned(name.to_string(), source.clone())
                .map_err(|e| describe(&e, typed))?;
            self.sources.push((name, source, typed));
            self.count += 1;
        }
        Ok(())
    }

    /// How many templates the set holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the set holds no template.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Compiles a text that may be a template.
    ///
    /// # Errors
    /// The template's syntax error or unknown variable, as a message.
    pub fn text(&mut self, text: &str) -> Result<TText, String> {
        if !is_template(text) {
            return Ok(TText::Static(text.to_owned()));
        }
        self.add(text.to_owned(), false).map(TText::Template)
    }

    /// Compiles a JSON value whose strings may be templates.
    ///
    /// # Errors
    /// `(path below the value, message)` of every bad template.
    pub fn value(&mut self, value: &serde_json::Value) -> Result<TValue, Vec<(Vec<Seg>, String)>> {
        if !has_template(value) {
            return Ok(TValue::Static(value.clone()));
        }
        let mut errors = Vec::new();
        let out = self.value_at(value, &mut Vec::new(), &mut errors);
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn value_at(
        &mut self,
        value: &serde_json::Value,
        path: &mut Vec<Seg>,
        errors: &mut Vec<(Vec<Seg>, String)>,
    ) -> TValue {
        use serde_json::Value as J;
        match value {
            J::String(s) if is_template(s) => {
                let (source, typed) = match single_expression(s) {
                    Some(expr) => (format!("{{% set __value = ({expr}) %}}"), true),
                    None => (s.clone(), false),
                };
                match self.add(source, typed) {
                    Ok(t) => TValue::Template(t),
                    Err(e) => {
                        errors.push((path.clone(), e));
                        TValue::Static(J::Null)
                    }
                }
            }
            J::Object(_) | J::Array(_) if !has_template(value) => TValue::Static(value.clone()),
            J::Object(map) => {
                let mut members = Vec::with_capacity(map.len());
                for (k, v) in map {
                    path.push(Seg::Key(k.as_str().into()));
                    members.push((k.clone(), self.value_at(v, path, errors)));
                    path.pop();
                }
                if members.iter().all(|(_, v)| v.is_static()) {
                    TValue::Static(value.clone())
                } else {
                    TValue::Object(members)
                }
            }
            J::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    out.push(self.value_at(v, path, errors));
                    path.pop();
                }
                if out.iter().all(TValue::is_static) {
                    TValue::Static(value.clone())
                } else {
                    TValue::Array(out)
                }
            }
            other => TValue::Static(other.clone()),
        }
    }

    fn add(&mut self, source: String, typed: bool) -> Result<TemplateRef, String> {
        let name: Arc<str> = format!("{}t{}", self.prefix, self.count).into();
        self.env
            .add_template_owned(name.to_string(), source.clone())
            .map_err(|e| describe(&e, typed))?;
        let tmpl = self
            .env
            .get_template(&name)
            .map_err(|e| describe(&e, typed))?;
        let mut unknown: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| {
                !VARIABLES.contains(&v.as_str())
                    && !FUNCTIONS.contains(&v.as_str())
                    && !self.env.globals().any(|(g, _)| g == v)
            })
            .collect();
        unknown.sort();
        if let Some(v) = unknown.first() {
            let mut msg = format!("template uses unknown name `{v}`");
            let known: Vec<&str> = VARIABLES.iter().chain(FUNCTIONS).copied().collect();
            match crate::scenario::decode::suggest_name(v, &known) {
                Some(s) => msg.push_str(&format!("; did you mean `{s}`?")),
                None => msg.push_str(&format!(
                    "; templates know {} and the functions {}",
                    VARIABLES.join(", "),
                    FUNCTIONS.join(", ")
                )),
            }
            self.env.remove_template(&name);
            return Err(msg);
        }
        self.count += 1;
        self.sources.push((name.clone(), source, typed));
        Ok(TemplateRef { name, typed })
    }

    /// Renders a text.
    ///
    /// # Errors
    /// A failed or oversized render.
    pub fn render_text(&self, t: &TText, input: &RenderInput<'_>) -> Result<String, RenderError> {
        match t {
            TText::Static(s) => Ok(s.clone()),
            TText::Template(r) => match self.render(r, &context(input))? {
                serde_json::Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            },
        }
    }

    /// Renders a value.
    ///
    /// # Errors
    /// A failed or oversized render.
    pub fn render_value(
        &self,
        t: &TValue,
        input: &RenderInput<'_>,
    ) -> Result<serde_json::Value, RenderError> {
        let ctx = context(input);
        self.render_value_with(t, &ctx)
    }

    fn render_value_with(&self, t: &TValue, ctx: &Value) -> Result<serde_json::Value, RenderError> {
        Ok(match t {
            TValue::Static(v) => v.clone(),
            TValue::Template(r) => self.render(r, ctx)?,
            TValue::Object(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for (k, v) in members {
                    map.insert(k.clone(), self.render_value_with(v, ctx)?);
                }
                serde_json::Value::Object(map)
            }
            TValue::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value_with(v, ctx))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    fn render(&self, r: &TemplateRef, ctx: &Value) -> Result<serde_json::Value, RenderError> {
        let tmpl = self
            .env
            .get_template(&r.name)
            .map_err(|e| RenderError(describe(&e, r.typed)))?;
        if r.typed {
            let captured = tmpl
                .render_captured(ctx.clone())
                .map_err(|e| RenderError(describe(&e, true)))?;
            let value = captured.state().lookup("__value").unwrap_or_default();
            let json = serde_json::to_value(&value)
                .map_err(|e| RenderError(format!("template value is not JSON: {e}")))?;
            if json.to_string().len() > MAX_OUTPUT {
                return Err(too_large());
            }
            Ok(json)
        } else {
            let out = tmpl
                .render(ctx.clone())
                .map_err(|e| RenderError(describe(&e, false)))?;
            if out.len() > MAX_OUTPUT {
                return Err(too_large());
            }
            Ok(serde_json::Value::String(out))
        }
    }
}

fn too_large() -> RenderError {
    RenderError(format!("template output is larger than {MAX_OUTPUT} bytes"))
}

/// `"{{ expr }}"` → `expr`, when the whole text is one expression.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let inner = inner.trim();
    (!inner.is_empty()).then_some(inner)
}

/// A MiniJinja error as one line.
fn describe(e: &Error, typed: bool) -> String {
    let what = match e.kind() {
        ErrorKind::SyntaxError => "template syntax error",
        ErrorKind::OutOfFuel => "template used up its work budget",
        _ => "template error",
    };
    let mut msg = match e.detail() {
        Some(d) => format!("{what}: {d}"),
        None => format!("{what}: {}", e.kind()),
    };
    if !typed {
        if let Some(line) = e.line().filter(|l| *l > 1) {
            msg.push_str(&format!(" (template line {line})"));
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input<'a>(req: &'a CapturedRequest, rng: &'a Mutex<fastrand::Rng>) -> RenderInput<'a> {
        RenderInput {
            req,
            call_id: "0123456789abcdef0123456789abcdef",
            now: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
            rng,
        }
    }

    #[test]
    fn renders_request_values_and_keeps_types_of_single_expressions() {
        let mut t = Templates::new();
        let v = t
            .value(&json!({
                "UID": "{{ params.uid }}",
                "email": "{{ json.profile.email }}",
                "profile": "{{ json.profile }}",
                "greeting": "Hello {{ json.profile.firstName }} via {{ method }}",
                "n": "{{ params.count | int + 1 }}",
                "fixed": 3,
            }))
            .unwrap();
        let req = CapturedRequest::gigya_call(
            "accounts.setAccountInfo",
            [
                ("UID", "u-1"),
                ("profile", r#"{"firstName":"Ann","email":"a@b.c"}"#),
                ("count", "41"),
            ],
        );
        let rng = Mutex::new(fastrand::Rng::with_seed(1));
        let out = t.render_value(&v, &input(&req, &rng)).unwrap();
        let order: Vec<&String> = out["profile"].as_object().unwrap().keys().collect();
        assert_eq!(
            order,
            ["firstName", "email"],
            "echoed objects keep their key order"
        );
        assert_eq!(
            out,
            json!({
                "UID": "u-1",
                "email": "a@b.c",
                "profile": {"email": "a@b.c", "firstName": "Ann"},
                "greeting": "Hello Ann via accounts.setAccountInfo",
                "n": 42,
                "fixed": 3,
            })
        );
    }

    #[test]
    fn generated_values_are_seeded_and_now_takes_offsets_and_formats() {
        let mut t = Templates::new();
        let v = t
            .value(&json!({
                "id": "{{ uuid() }}",
                "call": "{{ call_id() }}",
                "n": "{{ random_int(1, 6) }}",
                "s": "{{ random_string(8) }}",
                "time": "{{ now() }}",
                "year": "{{ now(offset='-365d', format='%Y') }}",
                "unix": "{{ now(offset='+1h', format='unix') }}",
            }))
            .unwrap();
        let req = CapturedRequest::gigya_call("a.b", [("x", "y")]);
        let render = |seed| {
            let rng = Mutex::new(fastrand::Rng::with_seed(seed));
            t.render_value(&v, &input(&req, &rng)).unwrap()
        };
        let a = render(7);
        assert_eq!(a, render(7), "same seed, same values");
        assert_ne!(a["id"], render(8)["id"]);
        let id = a["id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(a["call"], "0123456789abcdef0123456789abcdef");
        assert!((1..=6).contains(&a["n"].as_i64().unwrap()));
        assert_eq!(a["s"].as_str().unwrap().len(), 8);
        assert_eq!(a["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(a["year"], "2022");
        assert_eq!(a["unix"], 1_700_003_600);
    }

    #[test]
    fn headers_are_case_insensitive_and_missing_values_are_empty() {
        let mut t = Templates::new();
        let text = t
            .text("{{ headers['HOST'] }}/{{ params.nothing }}{{ json.missing.deeper.still }}")
            .unwrap();
        let req = CapturedRequest::gigya_call("a.b", [("x", "y")]);
        let rng = Mutex::new(fastrand::Rng::with_seed(1));
        assert_eq!(
            t.render_text(&text, &input(&req, &rng)).unwrap(),
            "localhost/"
        );
        assert!(matches!(t.text("plain").unwrap(), TText::Static(s) if s == "plain"));
    }

    #[test]
    fn load_errors_name_the_problem() {
        let mut t = Templates::new();
        let e = t.text("{{ params.UID ").unwrap_err();
        assert!(e.starts_with("template syntax error:"), "{e}");
        let e = t.text("{{ parms.UID }}").unwrap_err();
        assert_eq!(
            e,
            "template uses unknown name `parms`; did you mean `params`?"
        );
        let e = t.value(&json!({"a": {"b": "{{ callId() }}"}})).unwrap_err();
        assert_eq!(e[0].0, vec![Seg::Key("a".into()), Seg::Key("b".into())]);
        assert!(e[0].1.contains("did you mean `call_id`?"), "{e:?}");
        assert!(
            t.text("{% for x in params %}\n{{ x }\n{% endfor %}")
                .unwrap_err()
                .contains("(template line 2)")
        );
    }

    #[test]
    fn renders_are_bounded() {
        let mut t = Templates::new();
        let text = t
            .text("{% for i in range(100000) %}{{ i }}{% endfor %}")
            .unwrap();
        let req = CapturedRequest::gigya_call("a.b", [("x", "y")]);
        let rng = Mutex::new(fastrand::Rng::with_seed(1));
        let e = t.render_text(&text, &input(&req, &rng)).unwrap_err();
        assert!(e.0.contains("work budget") || e.0.contains("range"), "{e}");
        let text = t.text("{{ 'x' * 2000000 }}").unwrap();
        let e = t.render_text(&text, &input(&req, &rng)).unwrap_err();
        assert_eq!(e.0, "template output is larger than 1048576 bytes");
        let text = t.text("{{ random_string(100000) }}").unwrap();
        assert!(t.render_text(&text, &input(&req, &rng)).is_err());
        let text = t.text("{{ now(format='%Q') }}").unwrap();
        assert!(
            t.render_text(&text, &input(&req, &rng))
                .unwrap_err()
                .0
                .contains("strftime")
        );
    }
}
