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
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod faults;
pub mod proxy;
pub mod tls;
pub mod upstream;

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use tokio::task::JoinSet;

use crate::admin;
use crate::engine::Engine;
use crate::exchange::{CapturedRequest, Outcome, Reply, RequestParts, Scheme};
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
    /// A second listener speaking TLS.
    pub tls: Option<TlsListener>,
    /// Where the local CA is kept.
    pub data_dir: PathBuf,
    /// Hosts whose `CONNECT` tunnels are intercepted (TLS terminated and served).
    pub intercept_hosts: tls::HostPatterns,
    /// Tunnel `CONNECT` requests for other hosts instead of refusing them.
    pub connect_passthrough: bool,
    /// Serve the admin API on this port (same address) instead of the main one; 0 picks a
    /// free port.
    pub admin_port: Option<u16>,
    /// Forward calls no stub answers to this server and return its answer unchanged
    /// (`--proxy-unmatched`, `record`).
    pub upstream: Option<upstream::Upstream>,
    /// Write a stub for every forwarded Gigya call (`record`).
    pub recorder: Option<Arc<crate::record::Recorder>>,
}

/// The TLS listener's settings.
#[derive(Debug, Clone)]
pub struct TlsListener {
    /// Port (0 = any free port).
    pub port: u16,
    /// Where its certificate comes from.
    pub certificate: TlsCertificate,
}

/// The certificate of the TLS listener.
#[derive(Debug, Clone)]
pub enum TlsCertificate {
    /// Issued by the local CA for whatever name the client asks for.
    LocalCa,
    /// A user's certificate chain and key, PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
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
            tls: None,
            data_dir: tls::default_data_dir(),
            intercept_hosts: tls::HostPatterns::default(),
            connect_passthrough: false,
            admin_port: None,
            upstream: None,
            recorder: None,
        }
    }
}

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

/// A running server. Dropping it stops it (without waiting); [`Server::shutdown`] stops it and
/// waits until every connection is closed.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
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
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .keep_alive(true);
        let forwarder = match &config.upstream {
            Some(u) => Some(upstream::Forwarder::new(u.clone())?),
            None => None,
        };
        let shared = Arc::new(Shared {
            forwarder,
            engine,
            config,
            shutdown: shutdown.clone(),
            builder,
            graceful: Mutex::new(Some(GracefulShutdown::new())),
            ca: OnceLock::new(),
        });
        let tls = match &shared.config.tls {
            None => None,
            Some(t) => {
                let tls_config = match &t.certificate {
                    TlsCertificate::LocalCa => {
                        let mut names = vec![
                            "localhost".to_owned(),
                            "127.0.0.1".to_owned(),
                            "::1".to_owned(),
                        ];
                        let bind = shared.config.bind.to_string();
                        if !shared.config.bind.is_unspecified() && !names.contains(&bind) {
                            names.push(bind);
                        }
                        shared
                            .ca()
                            .map_err(std::io::Error::other)?
                            .server_config(names)
                    }
                    TlsCertificate::Files { cert, key } => {
                        tls::static_config(cert, key).map_err(std::io::Error::other)?
                    }
                };
                let l = TcpListener::bind(SocketAddr::new(shared.config.bind, t.port)).await?;
                Some((l, tls_config))
            }
        };
        let tls_addr = match &tls {
            Some((l, _)) => Some(l.local_addr()?),
            None => None,
        };
        let admin = match shared.config.admin_port {
            Some(port) => Some(TcpListener::bind(SocketAddr::new(shared.config.bind, port)).await?),
            None => None,
        };
        let admin_addr = match &admin {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let task = tokio::spawn(run(shared.clone(), listener, tls, admin));
        Ok(Self {
            addr,
            tls_addr,
            admin_addr,
            shared,
            shutdown,
            task: Some(task),
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

    /// The TLS listener's address, when there is one.
    #[must_use]
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The local CA certificate's path, loading or creating the CA.
    ///
    /// # Errors
    /// The data directory cannot be written.
    pub fn ca_cert_path(&self) -> Result<PathBuf, String> {
        self.shared.ca().map(|ca| ca.cert_path().to_path_buf())
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

/// How a listener's connections start.
enum Transport {
    Plain,
    Tls(tokio_rustls::TlsAcceptor),
}

async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<(TcpListener, Arc<rustls::ServerConfig>)>,
    admin: Option<TcpListener>,
) {
    let permits = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));
    let mut loops = JoinSet::new();
    loops.spawn(accept_loop(
        listener,
        shared.clone(),
        permits.clone(),
        Transport::Plain,
        Role::Main,
    ));
    if let Some((l, config)) = tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        loops.spawn(accept_loop(
            l,
            shared.clone(),
            permits.clone(),
            Transport::Tls(acceptor),
            Role::Main,
        ));
    }
    if let Some(l) = admin {
        loops.spawn(accept_loop(
            l,
            shared.clone(),
            permits,
            Transport::Plain,
            Role::Admin,
        ));
    }
    while loops.join_next().await.is_some() {}
    let graceful = shared.graceful.lock().ok().and_then(|mut g| g.take());
    if let Some(graceful) = graceful {
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(shared.config.shutdown_timeout) => {
                tracing::warn!("shutdown timeout reached; closing remaining connections");
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    transport: Transport,
    role: Role,
) {
    let transport = Arc::new(transport);
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
        let shared = shared.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            match &*transport {
                Transport::Plain => shared.serve_io(stream, remote, Scheme::Http, role).await,
                Transport::Tls(acceptor) => {
                    let handshake =
                        tokio::time::timeout(shared.config.header_timeout, acceptor.accept(stream))
                            .await;
                    match handshake {
                        Ok(Ok(tls)) => shared.serve_io(tls, remote, Scheme::Https, role).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake with {remote} failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake with {remote} timed out"),
                    }
                }
            }
            drop(permit);
        });
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
