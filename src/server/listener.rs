//! The running server: binding the main, TLS and admin listeners, the accept loops under the
//! connection cap, and shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::{Role, ServerConfig, Shared, TlsCertificate, tls, upstream};
use crate::engine::Engine;
use crate::exchange::Scheme;

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
