//! Starts the test stack ([`Stack::start`]: ws-edge and every service in-process against
//! the machine's NATS and PostgreSQL, own subject prefix, the `tether_test` database) for
//! tests written in other languages: the TypeScript SDK's integration test and the
//! console's browser test (clients/typescript/test/). Prints one JSON line
//! `{"http_base", "ws_base", "jwt_secret"}` on stdout once the stack is ready, then runs
//! until its standard input closes or it gets SIGTERM / Ctrl-C, and stops the stack.
//!
//! The secret is the harness's public test secret ([`TEST_JWT_SECRET`]); the edge listens
//! on loopback only.

use tether_tests::{Stack, StackOptions, TEST_JWT_SECRET};
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() {
    let stack = Stack::start(StackOptions::default()).await;
    let ready = serde_json::json!({
        "http_base": stack.http_base,
        "ws_base": stack.ws_base,
        "jwt_secret": TEST_JWT_SECRET,
    });
    println!("{ready}");
    let shutdown = tether_platform::shutdown::on_signal();
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    tokio::select! {
        _ = stdin.read_to_end(&mut sink) => {}
        () = shutdown.cancelled() => {}
    }
    stack.stop().await;
}
