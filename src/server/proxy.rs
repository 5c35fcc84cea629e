//! `CONNECT` handling: gigya-mock as an HTTPS proxy for clients that insist on the real hosts.
//!
//! For a host matching the intercept patterns (every Gigya API domain by default) the tunnel is
//! accepted, TLS is terminated with a certificate the local CA issues for that host, and the
//! decrypted requests are served like any other. Other hosts are refused with 403, or tunnelled
//! to the real destination with `--connect-passthrough`.

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::{Body, Shared, full};
use crate::exchange::Scheme;

pub(crate) async fn connect(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    remote: std::net::SocketAddr,
) -> Response<Body> {
    let Some(authority) = req.uri().authority().cloned() else {
        return plain(
            StatusCode::BAD_REQUEST,
            "CONNECT needs a host:port target\n",
        );
    };
    let host = authority.host().to_owned();
    if shared.config.intercept_hosts.matches(&host) {
        let ca = match shared.ca() {
            Ok(ca) => ca,
            Err(e) => {
                tracing::error!("cannot intercept CONNECT {authority}: {e}");
                return plain(
                    StatusCode::BAD_GATEWAY,
                    &format!("gigya-mock has no CA to intercept {authority}: {e}\n"),
                );
            }
        };
        let tls_config = ca.server_config(vec![host.clone()]);
        let target = authority.clone();
        tokio::spawn(async move {
            let authority = target;
            let upgraded = match hyper::upgrade::on(req).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!("CONNECT {authority} from {remote} not upgraded: {e}");
                    return;
                }
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(tls_config);
            let handshake = tokio::time::timeout(
                shared.config.header_timeout,
                acceptor.accept(TokioIo::new(upgraded)),
            )
            .await;
            match handshake {
                Ok(Ok(tls)) => {
                    shared
                        .serve_io(tls, remote, Scheme::Https, super::Role::Main)
                        .await
                }
                Ok(Err(e)) => tracing::info!(
                    "TLS handshake for {authority} failed: {e} (does the client trust the gigya-mock CA? see `gigya-mock ca --print-path`)"
                ),
                Err(_) => tracing::debug!("TLS handshake for {authority} timed out"),
            }
        });
        tracing::debug!("intercepting CONNECT {authority} from {remote}");
        return empty_ok();
    }
    if shared.config.connect_passthrough {
        let target = authority.to_string();
        tokio::spawn(async move {
            let upgraded = match hyper::upgrade::on(req).await {
                Ok(u) => u,
                Err(e) => {
                    tracing::debug!("CONNECT {target} not upgraded: {e}");
                    return;
                }
            };
            match tokio::net::TcpStream::connect(&target).await {
                Ok(mut upstream) => {
                    let mut client = TokioIo::new(upgraded);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
                Err(e) => tracing::info!("CONNECT passthrough to {target} failed: {e}"),
            }
        });
        tracing::debug!("tunnelling CONNECT {authority} from {remote}");
        return empty_ok();
    }
    plain(
        StatusCode::FORBIDDEN,
        &format!(
            "gigya-mock intercepts CONNECT only for hosts matching --intercept-hosts; {host} is not one of them (use --connect-passthrough to tunnel other hosts)\n"
        ),
    )
}

fn empty_ok() -> Response<Body> {
    Response::new(full(bytes::Bytes::new()))
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut resp = Response::new(full(text.to_owned()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
