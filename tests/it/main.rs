//! The integration-test binary: dispatch tests without sockets, HTTP tests against a real
//! server on a loopback port, and CLI tests of the built binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod admin;
mod cli;
mod clients;
mod dispatch;
mod embed;
mod emulator_auth;
mod emulator_http;
mod emulator_methods;
mod http_server;
mod live;
mod live_http;
mod node_sdk;
mod proxy_tls;
mod record;
mod remote_cli;
mod robustness;
mod support;
