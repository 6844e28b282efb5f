//! Durability by request/reply: with no chat instance the sender gets `unavailable` and
//! nothing is stored; the retry with the same `client_message_id` succeeds once chat is
//! back, and a retry after success answers the original `message_sent`.

use std::time::Duration;

use serde_json::json;
use tether_tests::chat::uuid_of;
use tether_tests::{Role, Service, Stack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_down_answers_unavailable_and_the_retry_is_safe() {
    // Its own stack: this test stops the chat service.
    let stack = Stack::start(StackOptions::default()).await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    session.chat(Role::Seeker, "Before the outage").await;

    stack.stop_service(Service::Chat).await;
    let message = json!({"type": "chat_message", "session_id": session_id, "message": "During the outage", "client_message_id": "out-1", "request_id": "r-1"});
    session.seeker_ws.send(message.clone()).await;
    let answer = session.seeker_ws.recv().await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "unavailable");
    assert_eq!(answer["request_id"], "r-1");
    // Other chat commands too; the socket stays open.
    session
        .provider_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}))
        .await;
    assert_eq!(session.provider_ws.recv().await["code"], "unavailable");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM chat_messages WHERE session_id = $1 AND client_message_id = 'out-1'",
    )
    .bind(session_id)
    .fetch_one(&stack.db)
    .await
    .expect("count");
    assert_eq!(stored, 0);
    session
        .provider_ws
        .expect_silence(Duration::from_millis(200))
        .await;

    stack.start_service(Service::Chat, 2).await;
    session.seeker_ws.send(message.clone()).await;
    let sent = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(sent["request_id"], "r-1");
    let received = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(received["message_id"], sent["message_id"]);
    assert_eq!(received["message"], "During the outage");

    // The reply was lost (say): the retry answers the original, and nothing new is stored.
    session.seeker_ws.send(message).await;
    let again = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(again["message_id"], sent["message_id"]);
    assert_eq!(again["timestamp"], sent["timestamp"]);
    let stored: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT id FROM chat_messages WHERE session_id = $1 AND client_message_id = 'out-1'",
    )
    .bind(session_id)
    .fetch_all(&stack.db)
    .await
    .expect("rows");
    assert_eq!(stored, [uuid_of(&sent, "message_id")]);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM chat_messages WHERE session_id = $1")
        .bind(session_id)
        .fetch_one(&stack.db)
        .await
        .expect("count");
    assert_eq!(total, 2);
    stack.stop().await;
}
