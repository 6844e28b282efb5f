//! Chat over real sockets: start_chat, chat_message, validation, idempotent retries and
//! anonymity (two chat instances run behind the shared stack).

use serde_json::{Value, json};
use tether_tests::chat::{assert_anonymous, chat_message_keys, keys, time_of, uuid_of};
use tether_tests::timing::SILENCE;
use tether_tests::{Role, Stack};
use uuid::Uuid;

#[derive(Debug, sqlx::FromRow)]
struct StoredMessage {
    session_id: Uuid,
    sender_id: Uuid,
    sender_type: String,
    client_message_id: Option<String>,
    message: String,
    delivery_status: String,
    created_at: chrono::DateTime<chrono::Utc>,
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    read_at: Option<chrono::DateTime<chrono::Utc>>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn stored(stack: &Stack, message_id: Uuid) -> StoredMessage {
    sqlx::query_as(
        "SELECT session_id, sender_id, sender_type, client_message_id, message, delivery_status,
                created_at, delivered_at, read_at, expires_at
         FROM chat_messages WHERE id = $1",
    )
    .bind(message_id)
    .fetch_one(&stack.db)
    .await
    .expect("stored message")
}

async fn chat_started_at(stack: &Stack, session_id: Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT chat_started_at FROM work_sessions WHERE id = $1")
        .bind(session_id)
        .fetch_one(&stack.db)
        .await
        .expect("session row")
}

fn error(code: &str, text: &str, request_id: &str) -> Value {
    json!({"type": "error", "code": code, "error": text, "request_id": request_id})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_chat_tells_both_parties_and_starts_once() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;
    assert!(chat_started_at(stack, session_id).await.is_none());

    session
        .seeker_ws
        .send(json!({"type": "start_chat", "session_id": session_id, "request_id": "s-1"}))
        .await;
    let ready = session.seeker_ws.recv_type("chat_ready").await;
    assert_eq!(
        keys(&ready),
        [
            "chat_room_id",
            "message",
            "request_id",
            "session_id",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(ready["session_id"], session_id.to_string());
    assert_eq!(ready["chat_room_id"], session_id.to_string());
    assert_eq!(ready["message"], "Chat started successfully");
    assert_eq!(ready["request_id"], "s-1");
    time_of(&ready, "timestamp");

    // The other party and the sender's other device get it too, without the request_id.
    for other in [&mut session.provider_ws, &mut seeker_phone] {
        let ready = other.recv_type("chat_ready").await;
        assert_eq!(ready["chat_room_id"], session_id.to_string());
        assert_eq!(ready["message"], "Chat started successfully");
        assert!(ready.get("request_id").is_none(), "{ready}");
    }
    let started = chat_started_at(stack, session_id)
        .await
        .expect("chat started");

    // Again, from the provider: chat_ready again, the start time stays the first one.
    session
        .provider_ws
        .send(json!({"type": "start_chat", "session_id": session_id}))
        .await;
    session.provider_ws.recv_type("chat_ready").await;
    session.seeker_ws.recv_type("chat_ready").await;
    seeker_phone.recv_type("chat_ready").await;
    assert_eq!(chat_started_at(stack, session_id).await, Some(started));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_chat_errors() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let other = stack.open_session().await;
    let ws = &mut session.seeker_ws;

    ws.send(json!({"type": "start_chat", "request_id": "a"}))
        .await;
    assert_eq!(
        ws.recv().await,
        error("validation", "session_id is required", "a")
    );
    for (id, bad) in [
        ("b", json!("not-a-uuid")),
        ("c", json!(Uuid::new_v4())),
        ("d", json!(other.session_id)),
    ] {
        ws.send(json!({"type": "start_chat", "session_id": bad, "request_id": id}))
            .await;
        assert_eq!(ws.recv().await, error("not_found", "Session not found", id));
    }
    // The seeker's own session, but on the provider endpoint: not theirs in that role.
    let mut wrong_role = stack.connect(&session.seeker, Role::Provider).await;
    wrong_role
        .send(json!({"type": "start_chat", "session_id": session.session_id, "request_id": "e"}))
        .await;
    assert_eq!(
        wrong_role.recv().await,
        error("not_found", "Session not found", "e")
    );
    session.provider_ws.expect_silence(SILENCE).await;
    assert!(chat_started_at(stack, session.session_id).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_message_is_stored_then_acknowledged_and_delivered() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;
    let mut provider_tablet = stack.connect(&session.provider, Role::Provider).await;

    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "  Hello there \n", "request_id": "m-1"}))
        .await;
    let sent = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(
        keys(&sent),
        [
            "message_id",
            "request_id",
            "session_id",
            "timestamp",
            "type"
        ]
    );
    assert_eq!(sent["session_id"], session_id.to_string());
    assert_eq!(sent["request_id"], "m-1");
    let message_id = uuid_of(&sent, "message_id");

    // Every device of the other party gets the same object. (The tablet opened just
    // before: its connect re-send may deliver the same message once more; same id.)
    for recipient in [&mut session.provider_ws, &mut provider_tablet] {
        let received = recipient.recv_type("chat_message").await;
        let mut expected = chat_message_keys();
        expected.push("type".into());
        expected.sort();
        assert_eq!(keys(&received), expected);
        assert_eq!(
            received,
            json!({
                "type": "chat_message",
                "message_id": message_id,
                "session_id": session_id,
                "sender_type": "seeker",
                "message": "Hello there",
                "delivery_status": "sent",
                "timestamp": sent["timestamp"],
                "delivered_at": null,
                "read_at": null,
            })
        );
    }
    // The sender's other device gets nothing (history has it).
    seeker_phone.expect_silence(SILENCE).await;

    // Durably stored before the answer: the row is there, trimmed, `sent`, no expiry.
    let row = stored(stack, message_id).await;
    assert_eq!(row.session_id, session_id);
    assert_eq!(row.sender_id, session.seeker.id);
    assert_eq!(row.sender_type, "seeker");
    assert_eq!(row.message, "Hello there");
    assert_eq!(row.delivery_status, "sent");
    assert_eq!(row.client_message_id, None);
    assert!(row.delivered_at.is_none() && row.read_at.is_none() && row.expires_at.is_none());
    assert!(
        (time_of(&sent, "timestamp") - row.created_at)
            .num_milliseconds()
            .abs()
            <= 1
    );
    // Sending started the chat.
    assert!(chat_started_at(stack, session_id).await.is_some());

    // And back, from the provider.
    let (sent, received) = session.chat(Role::Provider, "On my way").await;
    assert_eq!(received["sender_type"], "provider");
    assert_eq!(received["message"], "On my way");
    assert_eq!(received["session_id"], session_id.to_string());
    assert!(sent.get("request_id").is_none());
    for late in provider_tablet.recv_for(SILENCE).await {
        assert_eq!(late["type"], "chat_message", "{late}");
        assert_eq!(
            late["message_id"],
            message_id.to_string(),
            "only a duplicate"
        );
    }
    assert_eq!(stack.count_messages(session_id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_message_validation_changes_nothing() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let other = stack.open_session().await;
    let session_id = session.session_id;
    let ws = &mut session.seeker_ws;

    ws.send(json!({"type": "chat_message", "message": "hi", "request_id": "a"}))
        .await;
    assert_eq!(
        ws.recv().await,
        error("validation", "session_id is required", "a")
    );
    for (id, bad) in [
        ("b", json!("nope")),
        ("c", json!(Uuid::new_v4())),
        ("d", json!(other.session_id)),
    ] {
        ws.send(
            json!({"type": "chat_message", "session_id": bad, "message": "hi", "request_id": id}),
        )
        .await;
        assert_eq!(ws.recv().await, error("not_found", "Session not found", id));
    }
    ws.send(json!({"type": "chat_message", "session_id": session_id, "request_id": "e"}))
        .await;
    assert_eq!(
        ws.recv().await,
        error("validation", "message is required", "e")
    );
    for (id, text) in [
        ("f", String::new()),
        ("g", " \n\t ".to_string()),
        ("h", "x".repeat(2001)),
        ("i", format!(" {} ", "é".repeat(2001))),
    ] {
        ws.send(json!({"type": "chat_message", "session_id": session_id, "message": text, "request_id": id}))
            .await;
        assert_eq!(
            ws.recv().await,
            error("validation", "message must be 1 to 2000 characters", id)
        );
    }
    for (id, key) in [("j", String::new()), ("k", "k".repeat(129))] {
        ws.send(json!({"type": "chat_message", "session_id": session_id, "message": "hi", "client_message_id": key, "request_id": id}))
            .await;
        assert_eq!(
            ws.recv().await,
            error(
                "validation",
                "client_message_id must be 1 to 128 characters",
                id
            )
        );
    }
    // Wrong endpoint for the user's own session.
    let mut wrong_role = stack.connect(&session.seeker, Role::Provider).await;
    wrong_role
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "hi", "request_id": "l"}))
        .await;
    assert_eq!(
        wrong_role.recv().await,
        error("not_found", "Session not found", "l")
    );

    session.provider_ws.expect_silence(SILENCE).await;
    assert_eq!(stack.count_messages(session_id).await, 0);
    assert_eq!(stack.count_messages(other.session_id).await, 0);
    assert!(chat_started_at(stack, session_id).await.is_none());

    // The bounds themselves are fine: 2000 characters (after trimming), a 128-char key.
    let long = "é".repeat(2000);
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": format!("  {long}  "), "client_message_id": "k".repeat(128)}))
        .await;
    let sent = session.seeker_ws.recv_type("message_sent").await;
    let received = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(received["message"], long.as_str());
    assert_eq!(
        stored(stack, uuid_of(&sent, "message_id")).await.message,
        long
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_client_message_id_answers_the_original() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;

    let first = json!({"type": "chat_message", "session_id": session_id, "message": "Gate is open", "client_message_id": "c-1", "request_id": "try-1"});
    session.seeker_ws.send(first).await;
    let original = session.seeker_ws.recv_type("message_sent").await;
    let delivered = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(delivered["message_id"], original["message_id"]);
    let message_id = uuid_of(&original, "message_id");

    // The retry (even with other text) stores nothing and answers the original id and time.
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "Gate is open!!", "client_message_id": "c-1", "request_id": "try-2"}))
        .await;
    let retry = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(retry["message_id"], original["message_id"]);
    assert_eq!(retry["timestamp"], original["timestamp"]);
    assert_eq!(retry["session_id"], original["session_id"]);
    assert_eq!(retry["request_id"], "try-2");
    // Still unacknowledged, so the recipient gets the same message again (dedupe by id).
    let again = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(again, delivered);

    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM chat_messages WHERE session_id = $1 AND client_message_id = 'c-1'",
    )
    .bind(session_id)
    .fetch_one(&stack.db)
    .await
    .expect("count");
    assert_eq!(rows, 1);
    assert_eq!(stored(stack, message_id).await.message, "Gate is open");

    // Once acknowledged, a retry answers the original and sends the recipient nothing.
    session
        .provider_ws
        .send(json!({"type": "message_delivered", "message_id": message_id}))
        .await;
    session.seeker_ws.recv_type("message_status_update").await;
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "Gate is open", "client_message_id": "c-1"}))
        .await;
    let late_retry = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(late_retry["message_id"], original["message_id"]);
    assert_eq!(late_retry["timestamp"], original["timestamp"]);
    session.provider_ws.expect_silence(SILENCE).await;

    // The key is per sender: the provider may use the same key for their own message.
    session
        .provider_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "Thanks", "client_message_id": "c-1"}))
        .await;
    let provider_sent = session.provider_ws.recv_type("message_sent").await;
    assert_ne!(provider_sent["message_id"], original["message_id"]);
    session.seeker_ws.recv_type("chat_message").await;
    assert_eq!(stack.count_messages(session_id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_payloads_and_history_never_identify_anyone() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let session_id = session.session_id;
    let mut values = Vec::new();

    session
        .seeker_ws
        .send(json!({"type": "start_chat", "session_id": session_id}))
        .await;
    values.push(session.seeker_ws.recv_type("chat_ready").await);
    values.push(session.provider_ws.recv_type("chat_ready").await);
    let (sent, received) = session.chat(Role::Seeker, "Hi, I'm at the door").await;
    values.extend([sent, received.clone()]);
    let (sent, received_back) = session.chat(Role::Provider, "Coming down").await;
    values.extend([sent, received_back.clone()]);
    session
        .provider_ws
        .send(json!({"type": "message_read", "message_id": received["message_id"]}))
        .await;
    values.push(session.seeker_ws.recv_type("message_status_update").await);
    session
        .seeker_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}))
        .await;
    values.push(session.provider_ws.recv_type("typing_indicator").await);

    for role in [Role::Seeker, Role::Provider] {
        let user = session.user(role).clone();
        let (status, page) = stack
            .get(&user, &format!("/api/v1/sessions/{session_id}/messages"))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["messages"].as_array().map(Vec::len), Some(2));
        for item in page["messages"].as_array().into_iter().flatten() {
            assert_eq!(keys(item), chat_message_keys());
        }
        values.push(page);
    }
    for value in &values {
        assert_anonymous(value, &[&session.seeker, &session.provider]);
    }
}

/// A session's chat holds at most `TETHER_CHAT_MAX_MESSAGES_PER_SESSION` messages, both
/// parties together: one more answers `conflict` and stores nothing; a retry of a stored
/// message still gets its `message_sent`; other sessions are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_holds_at_most_the_message_cap() {
    let mut options = tether_tests::StackOptions::default();
    options.chat.max_messages_per_session = 3;
    let stack = Stack::start(options).await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    session.chat(Role::Seeker, "one").await;
    session.chat(Role::Provider, "two").await;
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "three", "client_message_id": "k3"}))
        .await;
    let third = session.seeker_ws.recv_type("message_sent").await;
    session.provider_ws.recv_type("chat_message").await;

    let refused = session
        .provider_ws
        .request(json!({"type": "chat_message", "session_id": session_id, "message": "four", "request_id": "r4"}))
        .await;
    assert_eq!(
        refused,
        json!({"type": "error", "code": "conflict", "error": "This session has reached its message limit", "request_id": "r4"})
    );
    let retry = session
        .seeker_ws
        .request(json!({"type": "chat_message", "session_id": session_id, "message": "three", "client_message_id": "k3"}))
        .await;
    assert_eq!(retry["message_id"], third["message_id"]);
    let stored = stack.count_messages(session_id).await;
    assert_eq!(stored, 3);

    let mut other = stack.open_session().await;
    other.chat(Role::Seeker, "elsewhere").await;
    stack.stop().await;
}
