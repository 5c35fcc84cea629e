//! The integration-test binary: dispatch tests without sockets, HTTP tests against a real
//! server on a loopback port, and CLI tests of the built binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod cli;
mod clients;
mod dispatch;
mod http_server;
mod live;
mod live_http;
mod proxy_tls;
mod support;
