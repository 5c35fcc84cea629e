//! The HTTP server: listener, accept loop, connection cap, body cap, and graceful shutdown.
//!
//! One task accepts connections while a semaphore caps how many are open; each connection is
//! served by hyper (HTTP/1.1, and HTTP/2 with prior knowledge) with a header-read timeout.
//! The service never fails: requests under `/__admin` go to the admin API, everything else is
//! captured (body capped and time-limited), dispatched by the engine, and recorded in the
//! journal just before the answer is sent (rejected requests included). Shutdown stops
//! accepting, lets in-flight requests finish within a deadline, then drops what is left.
//!
//! With an admin port, a second listener serves only `/__admin`, and the main port treats
//! `/__admin` paths as ordinary (unmatched) Gigya calls, so the mock's API cannot collide with
//! the traffic under test.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin;
use crate::engine::Engine;
use crate::exchange::{CapturedRequest, Reply, RequestParts, Scheme};
use crate::gigya::catalog::codes;

/// The response body type of every answer.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Network and resource limits of a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind.
    pub bind: IpAddr,
    /// Port (0 = any free port).
    pub port: u16,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Most connections open at once; further clients wait to be accepted.
    pub max_connections: usize,
    /// How long a client may take to send the request headers.
    pub header_timeout: Duration,
    /// How long a client may take to send the request body.
    pub body_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Serve the admin API on this port (same address) instead of the main one; 0 picks a
    /// free port.
    pub admin_port: Option<u16>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            max_body: 1024 * 1024,
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            admin_port: None,
        }
    }
}

/// What every connection task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: ServerConfig,
    pub(crate) shutdown: CancellationToken,
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The Gigya API, plus `/__admin` unless an admin port is configured.
    Main,
    /// Only the admin API.
    Admin,
}

/// A running server. Dropping it stops it (without waiting); [`Server::shutdown`] stops it and
/// waits until every connection is closed.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(engine: Arc<Engine>, config: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port)).await?;
        let addr = listener.local_addr()?;
        let admin_listener = match config.admin_port {
            Some(port) => Some(TcpListener::bind(SocketAddr::new(config.bind, port)).await?),
            None => None,
        };
        let admin_addr = match &admin_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            engine,
            config,
            shutdown: shutdown.clone(),
        });
        let mut tasks = vec![tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            Role::Main,
        ))];
        if let Some(l) = admin_listener {
            tasks.push(tokio::spawn(accept_loop(l, shared, Role::Admin)));
        }
        Ok(Self {
            addr,
            admin_addr,
            shutdown,
            tasks,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin listener's address, when the admin API has its own port.
    #[must_use]
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// A token that stops the server when cancelled.
    #[must_use]
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, waits for in-flight requests (up to the shutdown timeout), and returns
    /// once the listener is closed.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        self.join().await;
    }

    /// Waits until the server stops (after its token is cancelled).
    pub async fn wait(mut self) {
        self.join().await;
    }

    async fn join(&mut self) {
        for task in std::mem::take(&mut self.tasks) {
            if let Err(e) = task.await {
                tracing::error!("server task failed: {e}");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, role: Role) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.header_timeout)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut backoff = Duration::from_millis(5);
    loop {
        let permit = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    backoff = Duration::from_millis(5);
                    a
                }
                Err(e) => {
                    // Usually "too many open files": wait a little and try again.
                    tracing::warn!("accept failed: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn_shared = shared.clone();
        let service = service_fn(move |req| {
            let shared = conn_shared.clone();
            async move { Ok::<_, Infallible>(handle(shared, req, remote, Scheme::Http, role).await) }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {remote} ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(shared.config.shutdown_timeout) => {
            tracing::warn!("shutdown timeout reached; closing remaining connections");
        }
    }
}

/// Serves one request. Never fails.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    remote: SocketAddr,
    scheme: Scheme,
    role: Role,
) -> Response<Body> {
    let started = Instant::now();
    let received_at = shared.engine.clock().now();
    let (parts, body) = req.into_parts();
    let admin_path = admin::is_admin_path(&parts.uri);
    if role == Role::Admin || (admin_path && shared.config.admin_port.is_none()) {
        if !admin_path {
            return admin::not_here(&parts);
        }
        return match read_body(&shared, &parts.headers, body).await {
            Ok(b) => admin::handle(&shared, &parts, b).await,
            Err(e) => admin::body_error(&e),
        };
    }
    let version = parts.version;
    let (body, rejected) = match read_body(&shared, &parts.headers, body).await {
        Ok(b) => (b, None),
        Err(e) => (Bytes::new(), Some(e.reply(&shared))),
    };
    let captured = CapturedRequest::new(
        RequestParts {
            http_method: parts.method,
            scheme,
            uri: parts.uri,
            headers: parts.headers,
            body,
            remote: Some(remote),
            received_at: std::cmp::max(received_at, SystemTime::UNIX_EPOCH),
        },
        shared.engine.config().conflict,
    );
    let reply = match rejected {
        Some(reply) => reply,
        None => shared.engine.dispatch(&captured),
    };
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    shared.engine.journal().record_exchange(
        &captured,
        &reply,
        version,
        started.elapsed(),
        shared.engine.config().conflict,
    );
    tracing::debug!(
        target: "gigya_mock::access",
        method = %captured.http_method,
        path = %captured.path,
        gigya = captured.gigya_method.as_deref().unwrap_or("-"),
        outcome = ?reply.outcome,
        error_code = reply.error_code.unwrap_or(0),
        status = reply.status.as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    into_response(reply)
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Larger than `--max-body` (the limit in bytes).
    TooLarge(usize),
    /// The connection failed while reading.
    Read(String),
    /// Not complete within `--body-timeout` (seconds).
    Timeout(u64),
}

impl BodyError {
    /// What is wrong, for messages.
    pub(crate) fn message(&self) -> String {
        match self {
            BodyError::TooLarge(max) => {
                format!("the request body is larger than the {max}-byte limit (--max-body)")
            }
            BodyError::Read(e) => format!("could not read the request body: {e}"),
            BodyError::Timeout(secs) => {
                format!("the request body did not arrive within {secs} s")
            }
        }
    }

    /// The Gigya error answer.
    fn reply(&self, shared: &Shared) -> Reply {
        let code = match self {
            BodyError::TooLarge(_) => codes::ENTITY_TOO_LARGE,
            BodyError::Read(_) | BodyError::Timeout(_) => codes::INVALID_REQUEST_FORMAT,
        };
        shared.engine.reject(code, self.message())
    }
}

/// Reads the body within the size cap and the body timeout.
async fn read_body(
    shared: &Shared,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<Bytes, BodyError> {
    let max = shared.config.max_body;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    match tokio::time::timeout(
        shared.config.body_timeout,
        Limited::new(body, max).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(max)),
        Ok(Err(e)) => Err(BodyError::Read(e.to_string())),
        Err(_) => Err(BodyError::Timeout(shared.config.body_timeout.as_secs())),
    }
}

/// Turns a reply into a hyper response.
pub(crate) fn into_response(reply: Reply) -> Response<Body> {
    let mut resp = Response::new(full(reply.body));
    *resp.status_mut() = reply.status;
    let headers = resp.headers_mut();
    for (name, value) in reply.headers {
        headers.append(name, value);
    }
    resp
}

/// A complete body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}
