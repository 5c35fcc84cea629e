//! Proxy mode and TLS: absolute-form requests, CONNECT interception with the local CA, the TLS
//! listener, refusals and robustness.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use gigya_mock::server::{ServerConfig, TlsCertificate, TlsListener};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use rustls_pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestServer, engine, raw_exchange};

const STUBS: &str = r#"
version: 1
stubs:
  - name: account
    request: { method: accounts.getAccountInfo, params: { UID: u-1 } }
    response: { body: { UID: u-1 } }
"#;

fn config(dir: &std::path::Path, tls: bool) -> ServerConfig {
    ServerConfig {
        data_dir: dir.to_path_buf(),
        tls: tls.then_some(TlsListener {
            port: 0,
            certificate: TlsCertificate::LocalCa,
        }),
        ..ServerConfig::default()
    }
}

/// A TLS client that trusts only the given CA certificate.
async fn tls_connect(
    stream: TcpStream,
    server_name: &str,
    ca_pem: &str,
    alpn: &[&[u8]],
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    connector
        .connect(
            ServerName::try_from(server_name.to_owned()).unwrap(),
            stream,
        )
        .await
}

/// Sends one HTTP/1.1 form POST over an established stream with hyper's client.
async fn http1_post<S>(io: S, host: &str, path: &str, form: &'static str) -> (u16, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::post(path)
        .header("host", host)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(form.as_bytes())))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Opens a CONNECT tunnel through the mock; returns the stream after the 200.
async fn connect_tunnel(proxy: SocketAddr, target: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

#[tokio::test]
async fn connect_to_a_gigya_host_is_intercepted_with_the_local_ca() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), false)).await;
    let ca_pem = std::fs::read_to_string(s.server.ca_cert_path().unwrap()).unwrap();
    let (tunnel, head) = connect_tunnel(s.addr, "accounts.us1.gigya.com:443").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let tls = tls_connect(tunnel, "accounts.us1.gigya.com", &ca_pem, &[b"http/1.1"])
        .await
        .unwrap();
    let (status, body) = http1_post(
        tls,
        "accounts.us1.gigya.com",
        "/accounts.getAccountInfo",
        "UID=u-1",
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""UID":"u-1""#), "{body}");
}

#[tokio::test]
async fn intercepted_tunnels_speak_http2_when_the_client_offers_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), false)).await;
    let ca_pem = std::fs::read_to_string(s.server.ca_cert_path().unwrap()).unwrap();
    let (tunnel, head) = connect_tunnel(s.addr, "socialize.eu1.gigya.com:443").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let tls = tls_connect(tunnel, "socialize.eu1.gigya.com", &ca_pem, &[b"h2"])
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        TokioIo::new(tls),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            http::Request::get("https://socialize.eu1.gigya.com/accounts.getAccountInfo?UID=u-1")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("u-1"));
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), false)).await;
    let foreign_ca = gigya_mock::server::tls::CertAuthority::load_or_create(other.path()).unwrap();
    let (tunnel, _) = connect_tunnel(s.addr, "accounts.us1.gigya.com:443").await;
    let result = tls_connect(tunnel, "accounts.us1.gigya.com", foreign_ca.cert_pem(), &[]).await;
    assert!(
        result.is_err(),
        "only the mock's own CA validates its certificates"
    );
}

#[tokio::test]
async fn connect_to_other_hosts_is_refused_with_403() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), false)).await;
    let text = raw_exchange(
        s.addr,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(text.contains("--connect-passthrough"), "{text}");
}

#[tokio::test]
async fn passthrough_tunnels_other_hosts() {
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let echo_addr = echo.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut sock, _) = echo.accept().await.unwrap();
        let mut buf = [0u8; 5];
        sock.read_exact(&mut buf).await.unwrap();
        sock.write_all(&buf).await.unwrap();
    });
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(
        engine(STUBS),
        ServerConfig {
            connect_passthrough: true,
            ..config(dir.path(), false)
        },
    )
    .await;
    let (mut tunnel, head) = connect_tunnel(s.addr, &echo_addr.to_string()).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    tunnel.write_all(b"hello").await.unwrap();
    let mut back = [0u8; 5];
    tunnel.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"hello");
}

#[tokio::test]
async fn the_tls_listener_serves_https_with_a_local_ca_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), true)).await;
    let tls_addr = s.server.tls_addr().unwrap();
    let ca_pem = std::fs::read_to_string(s.server.ca_cert_path().unwrap()).unwrap();
    let stream = TcpStream::connect(tls_addr).await.unwrap();
    let tls = tls_connect(stream, "localhost", &ca_pem, &[b"http/1.1"])
        .await
        .unwrap();
    let (status, body) = http1_post(tls, "localhost", "/accounts.getAccountInfo", "UID=u-1").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""UID":"u-1""#), "{body}");
    // An IP address works too (certificate with an IP SAN).
    let stream = TcpStream::connect(tls_addr).await.unwrap();
    assert!(tls_connect(stream, "127.0.0.1", &ca_pem, &[]).await.is_ok());
}

#[tokio::test]
async fn a_bad_client_hello_does_not_take_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::with(engine(STUBS), config(dir.path(), true)).await;
    let tls_addr = s.server.tls_addr().unwrap();
    let mut junk = TcpStream::connect(tls_addr).await.unwrap();
    junk.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\xff\xff garbage")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        junk.read_to_end(&mut buf),
    )
    .await;
    let ca_pem = std::fs::read_to_string(s.server.ca_cert_path().unwrap()).unwrap();
    let stream = TcpStream::connect(tls_addr).await.unwrap();
    let tls = tls_connect(stream, "localhost", &ca_pem, &[])
        .await
        .unwrap();
    let (status, _) = http1_post(tls, "localhost", "/accounts.getAccountInfo", "UID=u-1").await;
    assert_eq!(status, 200);
    let r = s.post_form("/accounts.getAccountInfo", "UID=u-1").await;
    assert_eq!(r.status, 200, "the plain listener is unaffected");
}

#[tokio::test]
async fn the_ca_is_cached_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestServer::with(engine(STUBS), config(dir.path(), true)).await;
    let path = first.server.ca_cert_path().unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    first.server.shutdown().await;
    let second = TestServer::with(engine(STUBS), config(dir.path(), true)).await;
    assert_eq!(second.server.ca_cert_path().unwrap(), path);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        pem,
        "same CA after a restart"
    );
}

#[tokio::test]
async fn user_supplied_certificates_are_used() {
    let dir = tempfile::tempdir().unwrap();
    // A self-signed certificate and key as the user's own files.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["mock.test".to_owned()]).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
    let s = TestServer::with(
        engine(STUBS),
        ServerConfig {
            data_dir: dir.path().join("unused"),
            tls: Some(TlsListener {
                port: 0,
                certificate: TlsCertificate::Files {
                    cert: dir.path().join("cert.pem"),
                    key: dir.path().join("key.pem"),
                },
            }),
            ..ServerConfig::default()
        },
    )
    .await;
    let stream = TcpStream::connect(s.server.tls_addr().unwrap())
        .await
        .unwrap();
    let tls = tls_connect(stream, "mock.test", &cert.pem(), &[])
        .await
        .unwrap();
    let (status, _) = http1_post(tls, "mock.test", "/accounts.getAccountInfo", "UID=u-1").await;
    assert_eq!(status, 200);
    assert!(
        !dir.path().join("unused").exists(),
        "no CA is created when certificates are given"
    );
}

#[test]
fn curl_through_the_proxy_with_the_ca_trusted() {
    // The README's curl recipe, run as written: HTTPS to the real host name through the mock.
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(TestServer::with(engine(STUBS), config(dir.path(), false)));
    let ca = s.server.ca_cert_path().unwrap();
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10", "--proxy"])
        .arg(format!("http://{}", s.addr))
        .arg("--cacert")
        .arg(&ca)
        .args([
            "https://accounts.us1.gigya.com/accounts.getAccountInfo",
            "-d",
            "UID=u-1",
        ])
        .output()
        .expect("curl is needed for this test (apt-get install curl)");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains(r#""UID":"u-1""#),
        "curl: {body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(s);
}
