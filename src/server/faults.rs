//! Transport faults: ending a connection without an answer (a TCP reset or a plain close),
//! a body cut short after its length was announced, and a body sent slowly in chunks.
//!
//! Every connection's I/O is wrapped in [`FaultIo`], which holds a switch the request handler
//! can flip. Once flipped, writes fail (so not one byte of the pending answer leaves), hyper
//! gives up on the connection, and dropping the wrapper sets `SO_LINGER` to zero first when a
//! reset was asked for, so the kernel sends RST instead of FIN.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::Body;
use crate::exchange::{Reply, TransportFault};

const OPEN: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// How long a truncated body waits after its first half, so that half reaches the client
/// before the connection is dropped.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// The per-connection switch that ends a connection abruptly.
#[derive(Debug, Default)]
pub(crate) struct ConnSwitch {
    mode: AtomicU8,
}

impl ConnSwitch {
    fn trip(&self, mode: u8) {
        self.mode.store(mode, Ordering::Release);
    }

    fn mode(&self) -> u8 {
        self.mode.load(Ordering::Acquire)
    }
}

/// Sockets that can be closed with a reset.
pub(crate) trait AbortSocket {
    /// Makes the coming close a reset (RST), where the transport allows it.
    fn abort_on_close(&self) {}
}

impl AbortSocket for TcpStream {
    fn abort_on_close(&self) {
        if let Err(e) = self.set_zero_linger() {
            tracing::debug!("cannot set SO_LINGER for a connection reset: {e}");
        }
    }
}

impl<IO: AbortSocket> AbortSocket for tokio_rustls::server::TlsStream<IO> {
    fn abort_on_close(&self) {
        self.get_ref().0.abort_on_close();
    }
}

/// Intercepted CONNECT tunnels: the outer connection belongs to the proxy client; ending the
/// tunnel closes it without a reset.
impl AbortSocket for hyper_util::rt::TokioIo<hyper::upgrade::Upgraded> {}

/// A connection's I/O with the fault switch.
pub(crate) struct FaultIo<I: AbortSocket> {
    inner: I,
    switch: Arc<ConnSwitch>,
}

impl<I: AbortSocket> FaultIo<I> {
    fn blocked(&self) -> Option<io::Error> {
        match self.switch.mode() {
            OPEN => None,
            RESET => Some(io::Error::from(io::ErrorKind::ConnectionReset)),
            _ => Some(io::Error::from(io::ErrorKind::BrokenPipe)),
        }
    }
}

impl<I: AbortSocket> Drop for FaultIo<I> {
    fn drop(&mut self) {
        if self.switch.mode() == RESET {
            self.inner.abort_on_close();
        }
    }
}

impl<I: AsyncRead + Unpin + AbortSocket> AsyncRead for FaultIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin + AbortSocket> AsyncWrite for FaultIo<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.blocked() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.blocked() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.blocked() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Wraps a connection's I/O; the returned switch trips its faults.
pub(crate) fn wrap<I: AbortSocket>(io: I) -> (FaultIo<I>, Arc<ConnSwitch>) {
    let switch = Arc::new(ConnSwitch::default());
    (
        FaultIo {
            inner: io,
            switch: switch.clone(),
        },
        switch,
    )
}

/// The response for a reply with a transport fault.
pub(crate) fn respond(reply: Reply, fault: TransportFault, conn: &ConnSwitch) -> Response<Body> {
    match fault {
        TransportFault::ConnectionReset => {
            conn.trip(RESET);
            abort_response()
        }
        TransportFault::Close => {
            conn.trip(CLOSE);
            abort_response()
        }
        TransportFault::TruncatedBody => {
            let len = reply.body.len();
            let half = reply.body.slice(..len / 2);
            with_length(
                reply,
                len,
                ChunkedBody::new(half, usize::MAX, TRUNCATE_PAUSE, true),
            )
        }
        TransportFault::SlowBody { chunk_bytes, pause } => {
            let body = reply.body.clone();
            let len = body.len();
            with_length(
                reply,
                len,
                ChunkedBody::new(body, chunk_bytes, pause, false),
            )
        }
    }
}

fn abort_response() -> Response<Body> {
    Response::new(ChunkedBody::new(Bytes::new(), usize::MAX, Duration::ZERO, true).boxed())
}

fn with_length(reply: Reply, len: usize, body: ChunkedBody) -> Response<Body> {
    let mut resp = super::into_response(Reply {
        body: Bytes::new(),
        ..reply
    });
    *resp.body_mut() = body.boxed();
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}

/// A body sent in chunks with a pause before each chunk after the first; optionally ending
/// in an error (which makes hyper drop the connection mid-body).
struct ChunkedBody {
    rest: Bytes,
    chunk: usize,
    pause: Duration,
    fail_at_end: bool,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    started: bool,
}

impl ChunkedBody {
    fn new(data: Bytes, chunk: usize, pause: Duration, fail_at_end: bool) -> Self {
        Self {
            rest: data,
            chunk: chunk.max(1),
            pause,
            fail_at_end,
            sleep: None,
            started: false,
        }
    }
}

impl hyper::body::Body for ChunkedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        let must_wait = this.started && (!this.rest.is_empty() || this.fail_at_end);
        if must_wait && !this.pause.is_zero() {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(this.pause)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
        this.started = true;
        if !this.rest.is_empty() {
            let n = this.chunk.min(this.rest.len());
            let chunk = this.rest.split_to(n);
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if this.fail_at_end {
            // Only once: after an error hyper stops polling.
            this.fail_at_end = false;
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "injected fault: connection dropped mid-answer",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && !self.fail_at_end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

use std::future::Future as _;
