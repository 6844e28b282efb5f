//! Durability by request/reply: with no chat instance the sender gets `unavailable` and
//! nothing is stored; the retry with the same `client_message_id` succeeds once chat is
//! back, and a retry after success answers the original `message_sent`.

use std::sync::atomic::{AtomicUsize, Ordering};
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
    let total = stack.count_messages(session_id).await;
    assert_eq!(total, 2);
    stack.stop().await;
}

/// Messages one seeker sends in [`a_killed_chat_instance_loses_no_acknowledged_message`].
const PER_SENDER: usize = 25;

/// Sends `PER_SENDER` messages one after the other, each retried with the same
/// `client_message_id` until it is acknowledged (as the apps do); returns the ids the
/// `message_sent` answers carried, in order.
async fn send_until_acknowledged(
    ws: &mut tether_tests::WsClient,
    session_id: uuid::Uuid,
    progress: &AtomicUsize,
) -> Vec<uuid::Uuid> {
    let mut acknowledged = Vec::new();
    for n in 0..PER_SENDER {
        loop {
            let answer = ws
                .request(json!({"type": "chat_message", "session_id": session_id, "message": format!("m{n}"), "client_message_id": format!("k{n}"), "request_id": format!("r{n}")}))
                .await;
            match answer["type"].as_str() {
                Some("message_sent") => {
                    acknowledged.push(uuid_of(&answer, "message_id"));
                    progress.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Some("error") if answer["code"] == "unavailable" => continue,
                _ => panic!("unexpected answer {answer}"),
            }
        }
    }
    acknowledged
}

/// A chat instance killed (every task dropped at once) while batches are in flight: every
/// message that got `message_sent` is stored exactly once under its `client_message_id`,
/// with the acknowledged id, and reaches the other party; retries store nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_chat_instance_loses_no_acknowledged_message() {
    let mut options = StackOptions {
        chat_instances: 1,
        ..StackOptions::default()
    };
    // A request the killed instance took is answered `unavailable` after this.
    options.edge.request_timeout_ms = 1000;
    let stack = Stack::start(options).await;
    let killable = stack.start_killable_chat().await;
    let mut sessions = Vec::new();
    let sessions_count = 8;
    for _ in 0..sessions_count {
        sessions.push(stack.open_session().await);
    }

    let progress = AtomicUsize::new(0);
    let senders = sessions.iter_mut().map(|session| {
        let session_id = session.session_id;
        let ws = &mut session.seeker_ws;
        let progress = &progress;
        async move { send_until_acknowledged(ws, session_id, progress).await }
    });
    let total = sessions_count * PER_SENDER;
    let killer = async {
        // Kill mid-stream: a third of the messages acknowledged, the rest still to come.
        while progress.load(Ordering::SeqCst) < total / 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tokio::task::spawn_blocking(move || killable.kill())
            .await
            .expect("kill");
        progress.load(Ordering::SeqCst)
    };
    let (acknowledged, at_kill) = tokio::join!(futures::future::join_all(senders), killer);
    assert!(at_kill < total, "the kill came after the last message");

    for (session, acknowledged) in sessions.iter_mut().zip(acknowledged) {
        assert_eq!(acknowledged.len(), PER_SENDER);
        let rows: Vec<(uuid::Uuid, String, String)> = sqlx::query_as(
            "SELECT id, client_message_id, message FROM chat_messages
             WHERE session_id = $1 ORDER BY seq",
        )
        .bind(session.session_id)
        .fetch_all(&stack.db)
        .await
        .expect("rows");
        let expected: Vec<(uuid::Uuid, String, String)> = acknowledged
            .iter()
            .enumerate()
            .map(|(n, id)| (*id, format!("k{n}"), format!("m{n}")))
            .collect();
        assert_eq!(
            rows, expected,
            "one row per message, in order, with the acknowledged id"
        );

        // The provider got each one (live, or re-sent by the retry), displayed once after
        // deduplication by id.
        let mut seen = std::collections::HashSet::new();
        while seen.len() < PER_SENDER {
            let message = session.provider_ws.recv_type("chat_message").await;
            seen.insert(uuid_of(&message, "message_id"));
        }
        assert_eq!(seen, acknowledged.iter().copied().collect());
    }
    stack.stop().await;
}
