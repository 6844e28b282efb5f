//! Delivery and read receipts: only the recipient, forward only, repeats silent.

use serde_json::{Value, json};
use tether_tests::chat::{keys, time_of, uuid_of};
use tether_tests::timing::SILENCE;
use tether_tests::{Role, Stack};
use uuid::Uuid;

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Status {
    delivery_status: String,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    read_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn status(stack: &Stack, message_id: Uuid) -> Status {
    sqlx::query_as("SELECT delivery_status, delivered_at, read_at FROM chat_messages WHERE id = $1")
        .bind(message_id)
        .fetch_one(&stack.db)
        .await
        .expect("message row")
}

fn not_found(request_id: &str) -> Value {
    json!({"type": "error", "code": "not_found", "error": "Message not found", "request_id": request_id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_then_read_reaches_every_sender_device() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;
    let (_, received) = session.chat(Role::Seeker, "Are you near?").await;
    let message_id = uuid_of(&received, "message_id");

    session
        .provider_ws
        .send(json!({"type": "message_delivered", "message_id": message_id, "request_id": "d-1"}))
        .await;
    for sender in [&mut session.seeker_ws, &mut seeker_phone] {
        let update = sender.recv_type("message_status_update").await;
        assert_eq!(keys(&update), ["message_id", "status", "timestamp", "type"]);
        assert_eq!(update["message_id"], message_id.to_string());
        assert_eq!(update["status"], "delivered");
    }
    // The recipient gets no answer to a receipt.
    session.provider_ws.expect_silence(SILENCE).await;
    let row = status(stack, message_id).await;
    assert_eq!(row.delivery_status, "delivered");
    assert!(row.delivered_at.is_some() && row.read_at.is_none());

    session
        .provider_ws
        .send(json!({"type": "message_read", "message_id": message_id}))
        .await;
    let update = session.seeker_ws.recv_type("message_status_update").await;
    assert_eq!(update["status"], "read");
    seeker_phone.recv_type("message_status_update").await;
    let after = status(stack, message_id).await;
    assert_eq!(after.delivery_status, "read");
    assert_eq!(after.delivered_at, row.delivered_at, "delivered_at kept");
    let read_at = after.read_at.expect("read_at");
    assert!(
        (time_of(&update, "timestamp") - read_at)
            .num_milliseconds()
            .abs()
            <= 1
    );
    session.provider_ws.expect_silence(SILENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_first_sets_delivered_too_and_nothing_downgrades() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let (_, received) = session.chat(Role::Provider, "I'm outside").await;
    let message_id = uuid_of(&received, "message_id");

    session
        .seeker_ws
        .send(json!({"type": "message_read", "message_id": message_id}))
        .await;
    let update = session.provider_ws.recv_type("message_status_update").await;
    assert_eq!(update["status"], "read");
    let row = status(stack, message_id).await;
    assert_eq!(row.delivery_status, "read");
    assert!(row.delivered_at.is_some());
    assert_eq!(row.delivered_at, row.read_at);

    // delivered after read, and read again: nothing changes, nobody hears anything.
    for kind in ["message_delivered", "message_read"] {
        session
            .seeker_ws
            .send(json!({"type": kind, "message_id": message_id}))
            .await;
    }
    session.provider_ws.expect_silence(SILENCE).await;
    session.seeker_ws.expect_silence(SILENCE).await;
    assert_eq!(status(stack, message_id).await, row);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_receipts_send_nothing() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let (_, received) = session.chat(Role::Seeker, "Ping").await;
    let message_id = uuid_of(&received, "message_id");
    // A second device of the recipient acknowledging at the same time: one update only.
    let mut provider_tablet = stack.connect(&session.provider, Role::Provider).await;
    let receipt = json!({"type": "message_delivered", "message_id": message_id});
    session.provider_ws.send(receipt.clone()).await;
    provider_tablet.send(receipt.clone()).await;
    session.seeker_ws.recv_type("message_status_update").await;
    session.seeker_ws.expect_silence(SILENCE).await;
    let row = status(stack, message_id).await;

    session.provider_ws.send(receipt).await;
    session.seeker_ws.expect_silence(SILENCE).await;
    session.provider_ws.expect_silence(SILENCE).await;
    assert_eq!(status(stack, message_id).await, row);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recipient_may_acknowledge() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let mut stranger_session = stack.open_session().await;
    let (_, received) = session.chat(Role::Seeker, "Hello").await;
    let message_id = uuid_of(&received, "message_id");

    for kind in ["message_delivered", "message_read"] {
        // The sender acknowledging their own message.
        session
            .seeker_ws
            .send(json!({"type": kind, "message_id": message_id, "request_id": "own"}))
            .await;
        assert_eq!(session.seeker_ws.recv().await, not_found("own"));
        // Parties of another session, either role.
        for role in [Role::Seeker, Role::Provider] {
            let ws = stranger_session.ws(role);
            ws.send(json!({"type": kind, "message_id": message_id, "request_id": "stranger"}))
                .await;
            assert_eq!(ws.recv().await, not_found("stranger"));
        }
        // The recipient, but on the wrong endpoint.
        let mut wrong_role = stack.connect(&session.provider, Role::Seeker).await;
        wrong_role
            .send(json!({"type": kind, "message_id": message_id, "request_id": "role"}))
            .await;
        assert_eq!(wrong_role.recv().await, not_found("role"));
        // Malformed and unknown ids look the same; a missing one is a validation error.
        let ws = &mut session.provider_ws;
        ws.send(json!({"type": kind, "message_id": "42", "request_id": "bad"}))
            .await;
        assert_eq!(ws.recv().await, not_found("bad"));
        ws.send(json!({"type": kind, "message_id": Uuid::new_v4(), "request_id": "unknown"}))
            .await;
        assert_eq!(ws.recv().await, not_found("unknown"));
        ws.send(json!({"type": kind, "request_id": "missing"}))
            .await;
        assert_eq!(
            ws.recv().await,
            json!({"type": "error", "code": "validation", "error": "message_id is required", "request_id": "missing"})
        );
    }
    session.seeker_ws.expect_silence(SILENCE).await;
    let row = status(stack, message_id).await;
    assert_eq!(row.delivery_status, "sent");
    assert!(row.delivered_at.is_none() && row.read_at.is_none());
}
