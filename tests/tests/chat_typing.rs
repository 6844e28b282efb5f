//! Typing indicators: to the other party only, latest wins, nothing stored.

use std::time::Duration;

use serde_json::json;
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_tests::chat::{keys, time_of};
use tether_tests::timing::SILENCE;
use tether_tests::{Role, Stack, StackOptions};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_party_only() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;

    session
        .seeker_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true, "request_id": "t-1"}))
        .await;
    let typing = session.provider_ws.recv_type("typing_indicator").await;
    assert_eq!(
        keys(&typing),
        ["is_typing", "session_id", "timestamp", "type", "user_type"]
    );
    assert_eq!(typing["session_id"], session_id.to_string());
    assert_eq!(typing["user_type"], "seeker");
    assert_eq!(typing["is_typing"], true);
    let first_at = time_of(&typing, "timestamp");
    // The sender, and the sender's other devices, get nothing.
    session.seeker_ws.expect_silence(SILENCE).await;
    seeker_phone.expect_silence(Duration::from_millis(10)).await;

    session
        .seeker_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": false}))
        .await;
    let stopped = session.provider_ws.recv_type("typing_indicator").await;
    assert_eq!(stopped["is_typing"], false);
    assert!(time_of(&stopped, "timestamp") >= first_at);

    // The provider's indicator goes to the seeker (every device).
    session
        .provider_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}))
        .await;
    for seeker in [&mut session.seeker_ws, &mut seeker_phone] {
        let typing = seeker.recv_type("typing_indicator").await;
        assert_eq!(typing["user_type"], "provider");
        assert_eq!(typing["is_typing"], true);
    }
    session.provider_ws.expect_silence(SILENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_errors() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let other = stack.open_session().await;
    let session_id = session.session_id;
    let ws = &mut session.seeker_ws;

    ws.send(json!({"type": "typing_indicator", "is_typing": true, "request_id": "a"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "error", "code": "validation", "error": "session_id is required", "request_id": "a"})
    );
    ws.send(json!({"type": "typing_indicator", "session_id": session_id, "request_id": "b"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "error", "code": "validation", "error": "is_typing is required", "request_id": "b"})
    );
    for (id, bad) in [
        ("c", json!("xyz")),
        ("d", json!(Uuid::new_v4())),
        ("e", json!(other.session_id)),
    ] {
        ws.send(json!({"type": "typing_indicator", "session_id": bad, "is_typing": true, "request_id": id}))
            .await;
        assert_eq!(
            ws.recv().await,
            json!({"type": "error", "code": "not_found", "error": "Session not found", "request_id": id})
        );
    }
    session.provider_ws.expect_silence(SILENCE).await;
    assert_eq!(session_id, session.session_id);
}

/// Every chat instance learns of the end (a fan-out subscription), so typing in an ended
/// session answers `conflict` whichever instance takes it, after each has seen the session
/// open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_after_the_end_is_conflict_on_every_instance() {
    let stack = Stack::start(StackOptions {
        chat_instances: 2,
        ..StackOptions::default()
    })
    .await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    // Enough indicators that both instances (queue group) have cached the session open.
    for _ in 0..8 {
        session
            .seeker_ws
            .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}))
            .await;
        session.provider_ws.recv_type("typing_indicator").await;
    }
    session
        .provider_ws
        .send(json!({"type": "cancel_connection", "session_id": session_id}))
        .await;
    session.provider_ws.recv_type("connection_cancelled").await;
    session.seeker_ws.recv_type("connection_cancelled").await;

    let mut seeker = stack.connect(&session.seeker, Role::Seeker).await;
    for n in 0..8 {
        let request_id = format!("t-{n}");
        seeker
            .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true, "request_id": request_id}))
            .await;
        assert_eq!(
            seeker.recv_type("error").await,
            json!({"type": "error", "code": "conflict", "error": SESSION_NOT_OPEN, "request_id": request_id})
        );
    }
    stack.stop().await;
}
