//! Test support: start a real server on a loopback port, talk HTTP to it, run the binary.

// Helpers are shared by every test module; not each one uses all of them.
#![allow(dead_code)]
pub mod gigya;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use gigya_mock::engine::{Engine, EngineConfig};
use gigya_mock::scenario::load::{Format, Source};
use gigya_mock::scenario::{ScenarioSet, load_sources};
use gigya_mock::server::{Server, ServerConfig};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compiles YAML scenario text, panicking with the problems if it is invalid.
pub fn scenarios(yaml: &str) -> ScenarioSet {
    load_sources(vec![Source {
        label: "test.yaml".into(),
        base_dir: repo(),
        format: Format::Yaml,
        text: yaml.into(),
    }])
    .unwrap_or_else(|e| panic!("invalid test scenario:\n{e}"))
}

/// An engine over YAML scenario text.
pub fn engine(yaml: &str) -> Engine {
    Engine::new(scenarios(yaml), EngineConfig::default())
}

/// A server running in this test's runtime, stopped when dropped.
pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
}

impl TestServer {
    pub async fn start(yaml: &str) -> Self {
        Self::with(engine(yaml), ServerConfig::default()).await
    }

    pub async fn with(engine: Engine, config: ServerConfig) -> Self {
        let engine = Arc::new(engine);
        let server = Server::start(engine.clone(), config).await.unwrap();
        let addr = server.local_addr();
        Self {
            server,
            addr,
            engine,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POSTs a form body to a path.
    pub async fn post_form(&self, path: &str, form: &str) -> Resp {
        send(
            http::Request::post(self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(form.to_owned())))
                .unwrap(),
        )
        .await
    }

    /// POSTs a form body to a path with an `x-test-id` header, as one of several tests
    /// sharing a server tags its calls.
    pub async fn post_form_as(&self, test: &str, path: &str, form: &str) -> Resp {
        send(
            http::Request::post(self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-test-id", test)
                .body(Full::new(Bytes::from(form.to_owned())))
                .unwrap(),
        )
        .await
    }

    /// Sends any method with a body (and a content type, when given) to a path on `addr`.
    pub async fn call_at(
        addr: SocketAddr,
        method: &str,
        path: &str,
        body: &str,
        content_type: Option<&str>,
    ) -> Resp {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        send(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap()).await
    }

    /// Sends any method with a body to a path.
    pub async fn call(&self, method: &str, path: &str, body: &str) -> Resp {
        Self::call_at(self.addr, method, path, body, None).await
    }

    /// Sends a JSON body.
    pub async fn call_json(&self, method: &str, path: &str, body: &str) -> Resp {
        Self::call_at(self.addr, method, path, body, Some("application/json")).await
    }

    /// GETs a path (with query).
    pub async fn get(&self, path_and_query: &str) -> Resp {
        send(
            http::Request::get(self.url(path_and_query))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a request with a fresh client.
pub async fn send(req: http::Request<Full<Bytes>>) -> Resp {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let resp = client.request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Writes raw bytes to the server and reads until it closes or `limit` bytes arrive.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n") && response_complete(&out) {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn response_complete(out: &[u8]) -> bool {
    let text = String::from_utf8_lossy(out);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let len = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
    });
    len.is_some_and(|n| body.len() >= n)
}

/// The built binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gigya-mock"))
}

/// Runs the binary in the repository with `args`, without the environment variables that
/// would point it elsewhere; returns its exit code, stdout and stderr.
pub fn run_bin(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin())
        .args(args)
        .current_dir(repo())
        .env_remove("GIGYA_MOCK_SCENARIOS")
        .env_remove("GIGYA_MOCK_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes files into a fresh temporary directory.
pub fn temp_files(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Replaces a temp dir prefix in text so snapshots are stable.
#[allow(
    dead_code,
    reason = "for snapshot tests of output that names a temp dir"
)]
pub fn redact_dir(text: &str, dir: &Path) -> String {
    text.replace(&format!("{}/", dir.display()), "[DIR]/")
        .replace(&dir.display().to_string(), "[DIR]")
}
