//! The HTTP server: listener, accept loop, connection cap, body cap, and graceful shutdown.
//!
//! One task accepts connections while a semaphore caps how many are open; each connection is
//! served by hyper (HTTP/1.1, and HTTP/2 with prior knowledge) with a header-read timeout.
//! The service never fails: requests under `/__admin` go to the admin API, everything else is
//! captured (body capped and time-limited) and dispatched by the engine. Shutdown stops
//! accepting, lets in-flight requests finish within a deadline, then drops what is left.

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

/// A running server. Dropping it stops it (without waiting); [`Server::shutdown`] stops it and
/// waits until every connection is closed.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn start(engine: Arc<Engine>, config: ServerConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port)).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            engine,
            config,
            shutdown: shutdown.clone(),
        });
        let task = tokio::spawn(accept_loop(listener, shared));
        Ok(Self {
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
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
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                tracing::error!("server task failed: {e}");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
            async move { Ok::<_, Infallible>(handle(shared, req, remote, Scheme::Http).await) }
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
) -> Response<Body> {
    let started = Instant::now();
    let received_at = shared.engine.clock().now();
    let (parts, body) = req.into_parts();
    if admin::is_admin_path(&parts.uri) {
        let body = match read_body(&shared, &parts.headers, body).await {
            Ok(b) => b,
            Err(reply) => return into_response(reply),
        };
        return admin::handle(&shared, &parts, body).await;
    }
    let body = match read_body(&shared, &parts.headers, body).await {
        Ok(b) => b,
        Err(reply) => return into_response(reply),
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
    let reply = shared.engine.dispatch(&captured);
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
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

/// Reads the body within the size cap and the body timeout; failures become Gigya errors.
async fn read_body(
    shared: &Shared,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<Bytes, Reply> {
    let max = shared.config.max_body;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large(shared, max));
    }
    match tokio::time::timeout(
        shared.config.body_timeout,
        Limited::new(body, max).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(shared, max)),
        Ok(Err(e)) => Err(shared.engine.reject(
            codes::INVALID_REQUEST_FORMAT,
            format!("could not read the request body: {e}"),
        )),
        Err(_) => Err(shared.engine.reject(
            codes::INVALID_REQUEST_FORMAT,
            format!(
                "the request body did not arrive within {} s",
                shared.config.body_timeout.as_secs()
            ),
        )),
    }
}

fn too_large(shared: &Shared, max: usize) -> Reply {
    shared.engine.reject(
        codes::ENTITY_TOO_LARGE,
        format!("the request body is larger than the {max}-byte limit (--max-body)"),
    )
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
