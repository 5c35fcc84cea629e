//! The values a template sees: `params`, `json`, `headers`, `method`, `http_method` and
//! `path` of the request being answered, with case-insensitive lookups by name.

use std::sync::{Arc, Mutex};

use minijinja::Value;
use minijinja::value::{Enumerator, Object, Serde};

use super::functions::RenderState;
use super::{RENDER_STATE, RenderInput, VARIABLES};

/// The root context of a render.
#[derive(Debug)]
struct Context {
    params: Arc<Pairs>,
    headers: Arc<Pairs>,
    method: Option<String>,
    http_method: String,
    path: String,
    render: Value,
}

/// Name/value pairs looked up by case-insensitive name.
#[derive(Debug)]
struct Pairs {
    items: Vec<(String, String)>,
    json: bool,
}

pub(super) fn context(input: &RenderInput<'_>) -> Value {
    let req = input.req;
    let params: Vec<(String, String)> = req
        .params()
        .iter()
        .map(|p| (p.name().to_owned(), p.value().to_owned()))
        .collect();
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    // The stub's RNG is shared behind a mutex; the render takes a fork of it so a render
    // never holds the lock while it runs, and the stub's sequence still advances.
    let rng = match input.rng.lock() {
        Ok(mut r) => r.fork(),
        Err(_) => fastrand::Rng::new(),
    };
    Value::from_object(Context {
        params: Arc::new(Pairs {
            items: params,
            json: false,
        }),
        headers: Arc::new(Pairs {
            items: headers,
            json: false,
        }),
        method: req.gigya_method.clone(),
        http_method: req.http_method.to_string(),
        path: req.path.clone(),
        render: Value::from_object(RenderState {
            call_id: input.call_id.to_owned(),
            now: input.now,
            rng: Arc::new(Mutex::new(rng)),
        }),
    })
}

impl Object for Context {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "params" => Some(Value::from_dyn_object(self.params.clone())),
            "json" => Some(Value::from_object(Pairs {
                items: self.params.items.clone(),
                json: true,
            })),
            "headers" => Some(Value::from_dyn_object(self.headers.clone())),
            "method" => Some(self.method.clone().map_or(Value::from(()), Value::from)),
            "http_method" => Some(Value::from(self.http_method.clone())),
            "path" => Some(Value::from(self.path.clone())),
            RENDER_STATE => Some(self.render.clone()),
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(VARIABLES)
    }
}

impl Object for Pairs {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        let (_, v) = self
            .items
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))?;
        if self.json {
            let parsed: serde_json::Value = serde_json::from_str(v).ok()?;
            Some(Value::from(Serde(parsed)))
        } else {
            Some(Value::from(v.clone()))
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let keys: Vec<Value> = self
            .items
            .iter()
            .map(|(k, _)| Value::from(k.clone()))
            .collect();
        Enumerator::Values(keys)
    }
}
