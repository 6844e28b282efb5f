//! Work has a deadline and admission is bounded: a command whose sender stopped waiting
//! (the edge's deadline header passed) is not worked on, the re-send on connect is skipped
//! for a connection that already closed (both driven over NATS exactly as ws-edge sends
//! them, so the timing is the test's, not a loaded machine's), and a service whose slots
//! and waiting line are full refuses at once with `unavailable` and `retry_after_ms`.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tether_platform::serve::command_headers;
use tether_proto::envelope::{
    CommandMeta, ConnectedEvent, ConnectionClosed, Deadline, HEADER_DEADLINE, HEADER_ONLY_CONN,
};
use tether_proto::messages::Owner;
use tether_proto::time::Timestamp;
use tether_tests::timing::{EVENTUALLY, SILENCE, eventually};
use tether_tests::{OpenSession, Role, Stack, StackOptions};
use uuid::Uuid;

/// Sends the seeker's `chat_message` to chat as the edge would, with `deadline`.
async fn chat_message_with_deadline(
    stack: &Stack,
    session: &OpenSession,
    client_message_id: &str,
    deadline: Deadline,
) -> Result<async_nats::Message, async_nats::RequestError> {
    let meta = CommandMeta {
        user_id: session.seeker.id,
        role: Role::Seeker,
        conn_id: Uuid::new_v4(),
        request_id: Some("r-deadline".into()),
        received_at: Timestamp::now(),
    };
    let mut headers = command_headers(&meta);
    headers.insert(HEADER_DEADLINE, deadline.header_value().as_str());
    let frame = json!({
        "type": "chat_message",
        "session_id": session.session_id,
        "message": "hello before the deadline",
        "client_message_id": client_message_id,
    });
    let request = async_nats::Request::new()
        .headers(headers)
        .payload(serde_json::to_vec(&frame).expect("frame").into())
        .timeout(Some(Duration::from_secs(2)));
    stack
        .nats
        .send_request(stack.subjects.command(Owner::Chat, "chat_message"), request)
        .await
}

async fn stored(stack: &Stack, session_id: Uuid, client_message_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM chat_messages WHERE session_id = $1 AND client_message_id = $2",
    )
    .bind(session_id)
    .bind(client_message_id)
    .fetch_one(&stack.db)
    .await
    .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_past_its_deadline_is_not_worked_on() {
    let stack = Stack::shared().await;
    let session = stack.active_session().await;

    // Already past: no answer (nobody waits for one) and nothing stored.
    let late = chat_message_with_deadline(
        stack,
        &session,
        "late-1",
        Deadline::parse("1").expect("deadline"),
    )
    .await;
    assert!(late.is_err(), "a command past its deadline was answered");
    assert_eq!(stored(stack, session.session_id, "late-1").await, 0);

    // The same command in time is handled as usual.
    let answer = chat_message_with_deadline(
        stack,
        &session,
        "in-time-1",
        Deadline::after(Duration::from_secs(5)),
    )
    .await
    .expect("answer in time");
    let answer: serde_json::Value = serde_json::from_slice(&answer.payload).expect("json");
    assert_eq!(answer["type"], "message_sent", "{answer}");
    assert_eq!(answer["request_id"], "r-deadline");
    assert_eq!(stored(stack, session.session_id, "in-time-1").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resend_on_connect_is_skipped_for_a_connection_already_closed() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    // A message to the provider that stays unacknowledged (the test client sends no
    // receipt), so every connect of the provider re-sends it.
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "still there?"}))
        .await;
    session.seeker_ws.recv_type("message_sent").await;
    session.provider_ws.recv_type("chat_message").await;

    let mut outbound = stack
        .watch_outbound(Role::Provider, session.provider.id)
        .await;
    let connected = |conn_id| ConnectedEvent {
        user_id: session.provider.id,
        role: Role::Provider,
        conn_id,
        token_name: None,
        presence: None,
    };

    // A connection that closed before its connect event was handled gets nothing.
    let gone = Uuid::new_v4();
    let closed = serde_json::to_vec(&ConnectionClosed { conn_id: gone }).expect("json");
    stack
        .nats
        .publish(stack.subjects.closed(), closed.into())
        .await
        .expect("publish closed");
    stack.nats.flush().await.expect("flush");
    // Every instance hears the close on its own subscription; give them a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let event = serde_json::to_vec(&connected(gone)).expect("json");
    stack
        .nats
        .publish(stack.subjects.connected(), event.into())
        .await
        .expect("publish connected");

    // An open one gets its re-send (so the silence above means something).
    let open = Uuid::new_v4();
    let event = serde_json::to_vec(&connected(open)).expect("json");
    stack
        .nats
        .publish(stack.subjects.connected(), event.into())
        .await
        .expect("publish connected");

    let mut resent_to_open = false;
    let deadline = tokio::time::Instant::now() + EVENTUALLY;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, outbound.next()).await {
        let only = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get(HEADER_ONLY_CONN))
            .map(|value| value.as_str().to_owned());
        assert_ne!(
            only.as_deref(),
            Some(gone.to_string().as_str()),
            "work was done for a closed connection: {:?}",
            String::from_utf8_lossy(&message.payload)
        );
        if only.as_deref() == Some(open.to_string().as_str())
            && String::from_utf8_lossy(&message.payload).contains("still there?")
        {
            resent_to_open = true;
            // Whatever else is on its way for the closed connection has had the time the
            // open one's took, plus a margin.
            tokio::time::sleep(SILENCE).await;
            while let Ok(Some(message)) =
                tokio::time::timeout(Duration::from_millis(50), outbound.next()).await
            {
                let only = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(HEADER_ONLY_CONN))
                    .map(|value| value.as_str().to_owned());
                assert_ne!(only.as_deref(), Some(gone.to_string().as_str()));
            }
            break;
        }
    }
    assert!(resent_to_open, "the open connection got no re-send");
}

/// The texts stored in `session_id`'s chat, in order.
async fn stored_texts(stack: &Stack, session_id: Uuid) -> Vec<String> {
    sqlx::query_scalar("SELECT message FROM chat_messages WHERE session_id = $1 ORDER BY seq")
        .bind(session_id)
        .fetch_all(&stack.db)
        .await
        .expect("messages")
}

/// Holds chat's first message after its commit (a slow statement) until the second flag
/// is set; the first flag tells when it is held.
fn hold_first_commit(options: &mut StackOptions) -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    let held = Arc::new(AtomicBool::new(false));
    let released = Arc::new(AtomicBool::new(false));
    let (hold_once, release) = (held.clone(), released.clone());
    options.chat.failpoints.after_commit = Some(Arc::new(move || {
        if !hold_once.swap(true, Ordering::SeqCst) {
            let until = std::time::Instant::now() + EVENTUALLY;
            while !release.load(Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        false
    }));
    (held, released)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_service_refuses_at_once_with_a_retry_hint() {
    // One chat instance with one slot and no waiting line; its first message is held
    // after commit (a slow statement) until the test lets it go, so the next one finds it
    // full.
    let mut options = StackOptions {
        chat_instances: 1,
        ..StackOptions::default()
    };
    options.chat.service.common.concurrency = NonZeroUsize::MIN;
    options.chat.service.common.backlog = 0;
    let (held, released) = hold_first_commit(&mut options);
    let stack = Stack::start(options).await;
    let mut session = stack.active_session().await;

    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "first", "request_id": "a"}))
        .await;
    eventually("the first message held", async || {
        held.load(Ordering::SeqCst)
    })
    .await;
    session
        .provider_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "second", "request_id": "b"}))
        .await;
    let refused = session.provider_ws.recv_type("error").await;
    // Refused at once: while the first is still held (it is let go only now), not after
    // it, nor after the edge's timeout (which gives no retry hint).
    released.store(true, Ordering::SeqCst);
    assert_eq!(refused["code"], "unavailable", "{refused}");
    assert_eq!(refused["request_id"], "b", "{refused}");
    assert!(
        refused["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms >= 100),
        "{refused}"
    );
    // Nothing was stored for the refused one; the held one completes.
    let sent = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(sent["request_id"], "a");
    let delivered = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(delivered["message"], "first");
    let texts = stored_texts(&stack, session.session_id).await;
    assert_eq!(texts, ["first"]);
    // Once the slot is free, the retry goes through.
    session
        .provider_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "second", "request_id": "b2"}))
        .await;
    let sent = session.provider_ws.recv_type("message_sent").await;
    assert_eq!(sent["request_id"], "b2");
    drop(session);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_that_would_wait_too_long_behind_its_socket_is_refused_at_once() {
    // The seeker's first message is held after commit (a slow statement) until the test
    // lets it go; the edge relays a socket's commands one at a time, so the next ones
    // wait behind it at the edge.
    let mut options = StackOptions {
        chat_instances: 1,
        ..StackOptions::default()
    };
    let (held, released) = hold_first_commit(&mut options);
    let max_wait = options.edge.ws_queue_max();
    let stack = Stack::start(options).await;
    let mut session = stack.active_session().await;
    let send = |text: &str, request_id: &str| json!({"type": "chat_message", "session_id": session.session_id, "message": text, "request_id": request_id});
    session.seeker_ws.send(send("first", "a")).await;
    eventually("the first message held", async || {
        held.load(Ordering::SeqCst)
    })
    .await;
    // The second waits its turn; once it has waited longer than the edge allows, a third
    // is refused at once, while the first is still held.
    session.seeker_ws.send(send("second", "b")).await;
    tokio::time::sleep(max_wait + Duration::from_millis(150)).await;
    session.seeker_ws.send(send("third", "c")).await;
    let refused = session.seeker_ws.recv_type("error").await;
    released.store(true, Ordering::SeqCst);
    assert_eq!(refused["code"], "unavailable", "{refused}");
    assert_eq!(refused["request_id"], "c", "{refused}");
    assert_eq!(
        refused["retry_after_ms"].as_u64(),
        Some(u64::try_from(max_wait.as_millis()).expect("ms")),
        "{refused}"
    );
    // The first and the second complete, in order; the third was never stored.
    for request_id in ["a", "b"] {
        let sent = session.seeker_ws.recv_type("message_sent").await;
        assert_eq!(sent["request_id"], request_id, "{sent}");
    }
    let texts = stored_texts(&stack, session.session_id).await;
    assert_eq!(texts, ["first", "second"]);
    drop(session);
    stack.stop().await;
}
