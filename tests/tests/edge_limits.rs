//! Per-user limits of the edge (sockets, message rate across sockets) and what happens to
//! open sockets when the edge's NATS connection is lost and comes back.

use std::num::NonZeroU32;
use std::sync::Arc;

use serde_json::json;
use tether_proto::errors::{RATE_LIMITED, TOO_MANY_SOCKETS};
use tether_tests::client::Closed;
use tether_tests::timing::{EVENTUALLY, eventually};
use tether_tests::{Role, Stack, StackOptions, WsClient, ws_path};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_per_user_are_capped_with_429() {
    let mut options = StackOptions::default();
    options.edge.ws_max_sockets_per_user = 2;
    let stack = Stack::start(options).await;
    let user = stack.user();
    let mut first = stack.connect(&user, Role::Seeker).await;
    let mut second = stack.connect(&user, Role::Seeker).await;
    // A socket answers only once it is registered: both now count.
    for ws in [&mut first, &mut second] {
        ws.send(json!({"type": "ping"})).await;
        ws.recv_type("pong").await;
    }
    let url = format!(
        "{}{}?token={}",
        stack.ws_base,
        ws_path(Role::Seeker),
        user.token
    );
    assert_eq!(WsClient::connect(&url, &[]).await.err(), Some(429));
    // The same user's other role is counted on its own; other users are unaffected.
    let _provider = stack.connect(&user, Role::Provider).await;
    let _other = stack.connect(&stack.user(), Role::Seeker).await;
    // The refusal is the contract's JSON error body.
    let response = stack
        .http_client()
        .get(format!(
            "http://{}{}?token={}",
            stack.ws_base.trim_start_matches("ws://"),
            ws_path(Role::Seeker),
            user.token
        ))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("upgrade request");
    assert_eq!(response.status().as_u16(), 429);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"error": TOO_MANY_SOCKETS, "code": "rate_limited"})
    );
    // A closed socket frees its place.
    first.close().await;
    // A freed place is usable again.
    let _again = eventually("a socket in the freed place", async || {
        WsClient::connect(&url, &[]).await.ok()
    })
    .await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_rate_is_per_user_across_sockets() {
    let mut options = StackOptions::default();
    // Generous per socket, tight per user: only the per-user limit can trip.
    options.edge.ws_rate = NonZeroU32::new(1000).expect("not zero");
    options.edge.ws_burst = NonZeroU32::new(1000).expect("not zero");
    options.edge.ws_user_rate = NonZeroU32::new(5).expect("not zero");
    let stack = Stack::start(options).await;
    let user = stack.user();
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(stack.connect(&user, Role::Seeker).await);
    }
    // Burst 10 for the user: 4 pings on each of 3 sockets is 12, so some are refused.
    let mut pongs = 0;
    let mut limited = 0;
    for ws in &mut sockets {
        for _ in 0..4 {
            ws.send(json!({"type": "ping"})).await;
        }
    }
    for ws in &mut sockets {
        for _ in 0..4 {
            let answer = ws.recv().await;
            match answer["type"].as_str() {
                Some("pong") => pongs += 1,
                Some("error") => {
                    assert_eq!(
                        answer,
                        json!({"type": "error", "code": "rate_limited", "error": RATE_LIMITED})
                    );
                    limited += 1;
                }
                _ => panic!("unexpected {answer}"),
            }
        }
    }
    assert_eq!(pongs + limited, 12);
    assert!((10..=11).contains(&pongs), "pongs {pongs}");
    // Another user is unaffected.
    let mut other = stack.connect(&stack.user(), Role::Seeker).await;
    other.send(json!({"type": "ping"})).await;
    other.recv_type("pong").await;
    stack.stop().await;
}

/// A TCP proxy to the real NATS server whose connections the test can cut.
struct CuttableProxy {
    url: String,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl CuttableProxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("nats://{}", listener.local_addr().expect("addr"));
        let upstream = tether_platform::CommonConfig::from_env()
            .nats_url
            .trim_start_matches("nats://")
            .to_string();
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let tasks = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                tasks.lock().await.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { url, connections }
    }

    /// Drops every proxied connection (the clients see a reset and reconnect).
    async fn cut(&self) {
        self.connections.lock().await.abort_all();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_close_with_1012_after_a_nats_reconnect() {
    let proxy = CuttableProxy::start().await;
    let stack = Stack::start(StackOptions {
        edge_nats_url: Some(proxy.url.clone()),
        ..StackOptions::default()
    })
    .await;
    let mut session = stack.open_session().await;
    proxy.cut().await;
    // Whatever was published while the edge was cut off is gone for these sockets: they
    // are told to reconnect at once.
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        assert_eq!(ws.expect_close_within(EVENTUALLY).await, Closed::Code(1012));
    }
    // After reconnecting, everything works again.
    let mut seeker = stack.connect(&session.seeker, Role::Seeker).await;
    let mut provider = stack.connect(&session.provider, Role::Provider).await;
    seeker
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "back"}))
        .await;
    seeker.recv_type("message_sent").await;
    assert_eq!(provider.recv_type("chat_message").await["message"], "back");
    stack.stop().await;
}
