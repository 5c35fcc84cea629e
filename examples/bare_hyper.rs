//! The benchmark ceiling: the smallest hyper 1.x server that reads a request and answers a
//! fixed envelope-shaped body. `bench/run.sh` measures gigya-mock against it on the same machine,
//! with the same runtime set-up (a multi-threaded tokio runtime sized by the CPUs the process may
//! use) and the same client, so every ratio in the benchmark table says what gigya-mock's own work
//! costs on top of HTTP handling.
//!
//! ```text
//! cargo run --release --example bare_hyper -- --port 0
//! ```
//!
//! Like `gigya-mock serve`, the first line on stdout is `listening on http://<ip>:<port>`.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The answer: the size and shape of a gigya-mock success envelope, with the marker the W1
/// workload checks for, so the load generator verifies both servers the same way.
const BODY: &str = concat!(
    r#"{"callId":"0123456789abcdef0123456789abcdef","errorCode":0,"apiVersion":2,"#,
    r#""statusCode":200,"statusReason":"OK","time":"2024-01-01T00:00:00.000Z","stub":"w1"}"#
);

fn main() -> anyhow::Result<()> {
    let port = parse_port(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(port))
}

fn parse_port(mut args: impl Iterator<Item = String>) -> anyhow::Result<u16> {
    let mut port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" | "-p" => {
                let value = args.next().context("--port needs a value")?;
                port = value
                    .parse()
                    .with_context(|| format!("--port {value:?} is not a port number"))?;
            }
            other => anyhow::bail!("unknown argument {other:?}; usage: bare_hyper [--port N]"),
        }
    }
    Ok(port)
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{}", listener.local_addr()?)?;
        out.flush()?;
    }
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(answer));
            let _ = conn.await;
        });
    }
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body as gigya-mock does, so both servers do the same socket work.
    let _body = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    Ok(resp)
}
