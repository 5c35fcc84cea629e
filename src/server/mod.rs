//! The HTTP server: listener, accept loop, connection cap, body cap, and graceful shutdown.
//!
//! One task accepts connections while a semaphore caps how many are open; each connection is
//! served by hyper (HTTP/1.1, and HTTP/2 with prior knowledge) with a header-read timeout.
//! The service never fails: requests under `/__admin` go to the admin API, everything else is
//! captured (body capped and time-limited), dispatched by the engine, and recorded in the
//! journal just before the answer is sent (rejected requests included). Shutdown stops
//! accepting, lets in-flight requests finish within a deadline, then drops what is left.
//!
//! A TLS listener (`--tls`) serves the same API over HTTPS, and `CONNECT` tunnels to Gigya hosts
//! are intercepted with certificates from the local CA (see [`proxy`] and [`tls`]).
//!
//! With an admin port, a second listener serves only `/__admin`, and the main port treats
//! `/__admin` paths as ordinary (unmatched) Gigya calls, so the mock's API cannot collide with
//! the traffic under test.

use std::convert::Infallible;
use std::future::Future as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio_util::sync::CancellationToken;

mod config;
mod faults;
mod listener;
pub mod proxy;
pub mod tls;
pub mod upstream;

pub use config::{ServerConfig, TlsCertificate, TlsListener};
pub use listener::Server;

use std::sync::{Mutex, OnceLock};

use crate::admin;
use crate::engine::Engine;
use crate::exchange::{CapturedRequest, Outcome, Reply, RequestParts, Scheme};
use crate::gigya::catalog::codes;

/// The response body type of every answer.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: ServerConfig,
    pub(crate) shutdown: CancellationToken,
    builder: auto::Builder<TokioExecutor>,
    graceful: Mutex<Option<GracefulShutdown>>,
    ca: OnceLock<Result<Arc<tls::CertAuthority>, String>>,
    forwarder: Option<upstream::Forwarder>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A connection the server can serve: a byte stream it can also abort (transport faults).
pub(crate) trait ConnIo:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + faults::AbortSocket + Unpin + Send + 'static
{
}

impl<T> ConnIo for T where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + faults::AbortSocket + Unpin + Send + 'static
{
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The Gigya API, plus `/__admin` unless an admin port is configured.
    Main,
    /// Only the admin API.
    Admin,
}

impl Shared {
    /// The local CA, loaded (or created) on first use.
    pub(crate) fn ca(&self) -> Result<Arc<tls::CertAuthority>, String> {
        self.ca
            .get_or_init(|| {
                tls::CertAuthority::load_or_create(&self.config.data_dir)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }

    /// Serves HTTP/1.1 or HTTP/2 on an established connection until it closes or the server
    /// shuts down.
    pub(crate) fn serve_io<I>(
        self: &Arc<Self>,
        io: I,
        remote: SocketAddr,
        scheme: Scheme,
        role: Role,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
    where
        I: ConnIo,
    {
        // Boxed: intercepted CONNECT tunnels serve connections from inside a request handler,
        // which makes this future recursive.
        let this = self.clone();
        Box::pin(async move { this.serve_io_inner(io, remote, scheme, role).await })
    }

    async fn serve_io_inner<I>(
        self: Arc<Self>,
        io: I,
        remote: SocketAddr,
        scheme: Scheme,
        role: Role,
    ) where
        I: ConnIo,
    {
        let conn_shared = self.clone();
        // Transport faults end the whole connection through this switch.
        let (io, switch) = faults::wrap(io);
        let service = service_fn(move |req| {
            let shared = conn_shared.clone();
            let switch = switch.clone();
            async move {
                let resp = handle(shared, req, remote, scheme, role).await;
                Ok::<_, Infallible>(apply_transport_fault(resp, &switch))
            }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service)
            .into_owned();
        let watcher = self
            .graceful
            .lock()
            .ok()
            .and_then(|g| g.as_ref().map(GracefulShutdown::watcher));
        let result = match watcher {
            Some(w) => w.watch(conn).await,
            // Shutdown already began: serve this connection only until the deadline.
            None => tokio::time::timeout(self.config.shutdown_timeout, conn)
                .await
                .unwrap_or(Ok(())),
        };
        if let Err(e) = result {
            tracing::debug!("connection from {remote} ended: {e}");
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
    if req.method() == http::Method::CONNECT && role == Role::Main {
        return proxy::connect(shared, req, remote).await;
    }
    let started = Instant::now();
    let received_at = shared.engine.clock().now();
    let (parts, body) = req.into_parts();
    let admin_path = admin::is_admin_path(&parts.uri);
    if role == Role::Admin || (admin_path && shared.config.admin_port.is_none()) {
        if !admin_path {
            return admin::not_here(&parts);
        }
        return match read_body(&shared, body).await {
            Ok(b) => admin::handle(&shared, &parts, b).await,
            Err(e) => admin::body_error(&e),
        };
    }
    let version = parts.version;
    let (body, rejected) = match read_body(&shared, body).await {
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
    let dispatched = rejected.is_none();
    let mut reply = match rejected {
        Some(reply) => reply,
        None => shared.engine.dispatch(&captured),
    };
    // Calls nothing answered (or that dispatch would refuse) go upstream when there is one:
    // the real service has the last word on them. Bodies the server could not read do not.
    if dispatched && matches!(reply.outcome, Outcome::Unmatched(_) | Outcome::Rejected) {
        if let Some(forwarder) = &shared.forwarder {
            if let Some(proxied) = forward(&shared, forwarder, &captured).await {
                reply = proxied;
            }
        }
    }
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

/// Forwards a request upstream and, when recording, writes its stub before answering (so a
/// client that got its answer finds it in the files). `None` when the upstream cannot route it.
async fn forward(
    shared: &Shared,
    forwarder: &upstream::Forwarder,
    captured: &CapturedRequest,
) -> Option<Reply> {
    let outcome = Outcome::Proxied(forwarder.label.clone());
    let answer = match forwarder.forward(captured).await? {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(target: "gigya_mock::upstream", "{}", e.details);
            return Some(
                shared
                    .engine
                    .error_for(captured, e.code, e.details, outcome),
            );
        }
    };
    if let Some(recorder) = &shared.config.recorder {
        if let Some(call) = crate::record::Call::of(captured).filter(|c| recorder.wants(&c.method))
        {
            let recorder = recorder.clone();
            let recorded = answer.clone();
            match tokio::task::spawn_blocking(move || recorder.record(&call, &recorded)).await {
                Ok(Ok(path)) => tracing::info!(
                    target: "gigya_mock::record",
                    "recorded {} into {}",
                    captured.gigya_method.as_deref().unwrap_or("-"),
                    path.display()
                ),
                Ok(Err(e)) => tracing::error!(target: "gigya_mock::record", "{e}"),
                Err(e) => tracing::error!(target: "gigya_mock::record", "recording failed: {e}"),
            }
        }
    }
    let (error_code, call_id) = crate::record::envelope_head(&answer.body);
    Some(Reply {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
        delay: None,
        outcome,
        error_code,
        call_id,
        fault: None,
    })
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
async fn read_body(shared: &Shared, body: Incoming) -> Result<Bytes, BodyError> {
    let max = shared.config.max_body;
    // hyper has read `Content-Length` already: the body's size hint is it.
    if hyper::body::Body::size_hint(&body).lower() > max as u64 {
        return Err(BodyError::TooLarge(max));
    }
    let mut collect = std::pin::pin!(collect_capped(body, max));
    // A small body has usually arrived with the head: take it without arming a timer.
    match std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await {
        Poll::Ready(done) => done,
        Poll::Pending => tokio::time::timeout(shared.config.body_timeout, collect)
            .await
            .unwrap_or(Err(BodyError::Timeout(
                shared.config.body_timeout.as_secs(),
            ))),
    }
}

/// The whole body, refused past `max` bytes. A body that arrives in one piece (the usual
/// case) is returned as that piece, without copying.
async fn collect_capped(mut body: Incoming, max: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Option<bytes::BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        len = len.saturating_add(data.len());
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
        match (&mut joined, first.take()) {
            (Some(buf), _) => buf.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let mut buf = bytes::BytesMut::with_capacity(head.len() + data.len());
                buf.extend_from_slice(&head);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(match joined {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// A reply whose transport fault is still to be applied; the connection's service applies it.
#[derive(Debug, Clone)]
struct PendingFault(Reply, crate::exchange::TransportFault);

fn apply_transport_fault(mut resp: Response<Body>, switch: &faults::ConnSwitch) -> Response<Body> {
    match resp.extensions_mut().remove::<PendingFault>() {
        Some(PendingFault(reply, fault)) => faults::respond(reply, fault, switch),
        None => resp,
    }
}

/// Turns a reply into a hyper response.
pub(crate) fn into_response(mut reply: Reply) -> Response<Body> {
    if let Some(fault) = reply.fault.take() {
        let mut resp = Response::new(full(Bytes::new()));
        resp.extensions_mut().insert(PendingFault(reply, fault));
        return resp;
    }
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
