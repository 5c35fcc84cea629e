//! The server's settings: address and limits, the TLS listener and its certificate, the
//! hosts whose `CONNECT` tunnels are intercepted, the admin port, and forwarding upstream.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{tls, upstream};

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
