//! ws-edge over real sockets: ping, envelope validation, limits, auth, Origin, closes.

use std::num::NonZeroU64;
use std::time::Duration;

use serde_json::json;
use tether_tests::client::Closed;
use tether_tests::timing::EVENTUALLY;
use tether_tests::{
    Role, Service, Stack, StackOptions, TestUser, WsClient, mint_token, sign_claims, ws_path,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong_with_request_id_echo() {
    let stack = Stack::shared().await;
    let user = stack.user();
    for role in [Role::Seeker, Role::Provider] {
        let mut ws = stack.connect(&user, role).await;
        let pong = ws
            .request(json!({"type": "ping", "request_id": "r-1"}))
            .await;
        assert_eq!(pong["type"], "pong");
        assert_eq!(pong["request_id"], "r-1");
        assert!(
            pong["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{pong}"
        );
        let pong = ws.request(json!({"type": "ping"})).await;
        assert!(pong.get("request_id").is_none(), "{pong}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_slash_is_optional() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let url = format!("{}/ws/work/seeker?token={}", stack.ws_base, user.token);
    let mut ws = WsClient::connect(&url, &[])
        .await
        .expect("connect without slash");
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_socket_stays_open() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let mut ws = stack.connect(&user, Role::Seeker).await;

    ws.send_text("{not json").await;
    let err = ws.recv().await;
    assert_eq!(
        err,
        json!({"type": "error", "error": "Message is not valid JSON", "code": "invalid_json"})
    );

    ws.send_text("[1,2]").await;
    assert_eq!(ws.recv().await["code"], "invalid_json");

    ws.send(json!({"request_id": "a"})).await;
    let err = ws.recv().await;
    assert_eq!(err["code"], "unknown_type");
    assert_eq!(err["request_id"], "a");

    ws.send(json!({"type": "teleport", "request_id": "b"}))
        .await;
    let err = ws.recv().await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "unknown_type");
    assert_eq!(err["request_id"], "b");

    // Types of the other endpoint.
    ws.send(json!({"type": "work_response", "work_id": 1, "accepted": true}))
        .await;
    assert_eq!(ws.recv().await["code"], "unknown_type");
    ws.send(json!({"type": "medium_share", "session_id": "x", "mediums": {}}))
        .await;
    assert_eq!(ws.recv().await["code"], "unknown_type");

    // request_id must be a short string.
    ws.send(json!({"type": "ping", "request_id": "x".repeat(65)}))
        .await;
    assert_eq!(ws.recv().await["code"], "validation");
    ws.send(json!({"type": "ping", "request_id": 7})).await;
    assert_eq!(ws.recv().await["code"], "validation");
    ws.send(json!({"type": "ping", "request_id": "x".repeat(64)}))
        .await;
    assert_eq!(ws.recv().await["type"], "pong");

    // Wrong field types are validation errors.
    ws.send(json!({"type": "location_update", "session_id": "x", "latitude": "north", "longitude": 1, "request_id": "c"})).await;
    let err = ws.recv().await;
    assert_eq!(err["code"], "validation");
    assert_eq!(err["request_id"], "c");

    ws.send_binary(vec![1, 2, 3]).await;
    let err = ws.recv().await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "invalid_json");

    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");

    let mut provider = stack.connect(&user, Role::Provider).await;
    provider
        .send(json!({"type": "medium_selection", "session_id": "x", "mediums": {}}))
        .await;
    assert_eq!(provider.recv().await["code"], "unknown_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_message_closes_with_1009() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let mut ws = stack.connect(&user, Role::Seeker).await;
    // Exactly 64 KiB is allowed.
    let filler = "x".repeat(64 * 1024 - r#"{"type":"ping","pad":""}"#.len());
    ws.send_text(&format!(r#"{{"type":"ping","pad":"{filler}"}}"#))
        .await;
    assert_eq!(ws.recv().await["type"], "pong");
    let filler = "x".repeat(64 * 1024);
    ws.send_text(&format!(r#"{{"type":"ping","pad":"{filler}"}}"#))
        .await;
    assert_eq!(ws.expect_close().await, Closed::Code(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_errors_then_closes_with_1008() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let mut ws = stack.connect(&user, Role::Seeker).await;
    // The burst (40) passes, and what the rate (20/s) refilled meanwhile; then
    // rate_limited errors; a client that keeps going is closed.
    let started = std::time::Instant::now();
    for _ in 0..200 {
        ws.send(json!({"type": "ping"})).await;
    }
    let (messages, closed) = ws.drain_until_close().await;
    let refilled = (20.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    let pongs = messages.iter().filter(|m| m["type"] == "pong").count();
    let limited = messages
        .iter()
        .filter(|m| m["code"] == "rate_limited")
        .count();
    assert!(
        (40..=40 + refilled).contains(&pongs),
        "pongs: {pongs}, refilled: {refilled}"
    );
    assert!(limited >= 1, "no rate_limited error");
    assert_eq!(
        messages
            .iter()
            .find(|m| m["type"] == "error")
            .map(|m| m["error"].clone()),
        Some(json!("Too many messages, slow down"))
    );
    assert_eq!(closed, Closed::Code(1008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_auth_failures_are_401() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let base = format!("{}{}", stack.ws_base, ws_path(Role::Seeker));
    assert_eq!(WsClient::connect(&base, &[]).await.err(), Some(401));
    assert_eq!(
        WsClient::connect(&format!("{base}?token=garbage"), &[])
            .await
            .err(),
        Some(401)
    );
    let expired = mint_token(user.id, None, -60);
    assert_eq!(
        WsClient::connect(&format!("{base}?token={expired}"), &[])
            .await
            .err(),
        Some(401)
    );
    let wrong_key = sign_claims(
        &json!({"sub": user.id, "exp": chrono::Utc::now().timestamp() + 60}),
        "other-secret",
    );
    assert_eq!(
        WsClient::connect(&format!("{base}?token={wrong_key}"), &[])
            .await
            .err(),
        Some(401)
    );
    let no_exp = sign_claims(&json!({"sub": user.id}), tether_tests::TEST_JWT_SECRET);
    assert_eq!(
        WsClient::connect(&format!("{base}?token={no_exp}"), &[])
            .await
            .err(),
        Some(401)
    );
    let bad_sub = sign_claims(
        &json!({"sub": "alice", "exp": chrono::Utc::now().timestamp() + 60}),
        tether_tests::TEST_JWT_SECRET,
    );
    assert_eq!(
        WsClient::connect(&format!("{base}?token={bad_sub}"), &[])
            .await
            .err(),
        Some(401)
    );
    // Header auth works too.
    let bearer = format!("Bearer {}", user.token);
    let mut ws = WsClient::connect(&base, &[("Authorization", &bearer)])
        .await
        .expect("header auth");
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_allowlist() {
    let stack = Stack::shared().await;
    let user = stack.user();
    let url = format!(
        "{}{}?token={}",
        stack.ws_base,
        ws_path(Role::Provider),
        user.token
    );
    assert_eq!(
        WsClient::connect(&url, &[("Origin", "https://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert!(
        WsClient::connect(&url, &[("Origin", "https://app.tether.test")])
            .await
            .is_ok()
    );
    let own = stack.http_base.clone();
    assert!(WsClient::connect(&url, &[("Origin", &own)]).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_closes_open_socket_with_4401() {
    let stack = Stack::shared().await;
    let user = stack.user();
    // exp one second ahead; the edge allows the 5 s leeway, then closes.
    let token = mint_token(user.id, None, 1);
    let url = format!("{}{}?token={}", stack.ws_base, ws_path(Role::Seeker), token);
    let mut ws = WsClient::connect(&url, &[]).await.expect("connect");
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
    let started = std::time::Instant::now();
    assert_eq!(ws.expect_close_within(EVENTUALLY).await, Closed::Code(4401));
    // Not before exp + the 5 s leeway.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "closed after {:?}",
        started.elapsed()
    );
}

/// A stack of `options` (the edge and one session service) and a seeker's socket on it.
async fn seeker_on(options: StackOptions) -> (Stack, TestUser, WsClient) {
    let stack = Stack::start(options).await;
    let user = stack.user();
    let ws = stack.connect(&user, Role::Seeker).await;
    (stack, user, ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_socket_is_closed() {
    let mut options = StackOptions::sessions_only(1);
    options.edge.ws_idle_timeout_s = NonZeroU64::MIN;
    let (stack, _, mut ws) = seeker_on(options).await;
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
    assert_eq!(ws.expect_close().await, Closed::Code(1000));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_service_answers_unavailable() {
    let (stack, user, mut ws) = seeker_on(StackOptions::sessions_only(1)).await;
    let err = ws
        .request(
            json!({"type": "start_chat", "session_id": uuid::Uuid::new_v4(), "request_id": "u1"}),
        )
        .await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "unavailable");
    assert_eq!(err["request_id"], "u1");
    stack.stop_service(Service::Session).await;
    let (status, body) = stack.get(&user, "/api/v1/profile").await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "unavailable");
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_1001() {
    let (stack, _, mut ws) = seeker_on(StackOptions::sessions_only(1)).await;
    assert_eq!(ws.request(json!({"type": "ping"})).await["type"], "pong");
    stack.stop_service(Service::Edge).await;
    assert_eq!(ws.expect_close().await, Closed::Code(1001));
    stack.stop().await;
}
