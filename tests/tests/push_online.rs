//! Push for offline users, the other half: a user with an open socket for the role gets
//! no push. "Open socket on any ws-edge" is `user_presence`, which the location service
//! fills from ws-edge's presence events (protocol 1.1 presence).

use std::time::Duration;

use serde_json::json;
use tether_tests::Role;
use tether_tests::push::{Answer, Receiver};

use crate::push::push_stack;

/// Long enough for the sender (20 ms poll) to have POSTed anything enqueued.
const QUIET: Duration = Duration::from_millis(800);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_provider_gets_no_push_for_a_work_order() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let seeker = stack.user();
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    // Presence is recorded asynchronously after the connect (edge -> NATS -> service).
    stack.wait_presence(provider.id, Role::Provider, true).await;
    let work_id = stack.create_order(&seeker, &provider).await["work_id"]
        .as_i64()
        .expect("work_id");
    provider_ws.recv_type("work_assigned").await;
    tokio::time::sleep(QUIET).await;
    assert!(
        receiver
            .posts_where(|body| body["work_id"] == work_id)
            .is_empty(),
        "a connected provider was pushed"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connected_recipient_gets_no_push_for_a_chat_message() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let mut session = stack.open_session().await;
    stack
        .wait_presence(session.provider.id, Role::Provider, true)
        .await;
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "hi"}))
        .await;
    session.seeker_ws.recv_type("message_sent").await;
    session.provider_ws.recv_type("chat_message").await;
    tokio::time::sleep(QUIET).await;
    assert!(
        receiver.posts().is_empty(),
        "connected users were pushed: {:?}",
        receiver
            .posts()
            .iter()
            .map(|post| post.json())
            .collect::<Vec<_>>()
    );
    stack.stop().await;
}
