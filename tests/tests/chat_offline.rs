//! Offline delivery: on connect, every message to that user (that role) still `sent` in
//! their open session is re-sent to the new connection only, oldest first.

use std::time::Duration;

use serde_json::json;
use tether_tests::chat::{assert_anonymous, uuid_of};
use tether_tests::timing::SILENCE;
use tether_tests::{OpenSession, Role, Stack, TestUser, WsClient};
use uuid::Uuid;

/// Reads `count` `chat_message`s and returns their ids and texts.
async fn read_chat(ws: &mut WsClient, count: usize) -> Vec<(Uuid, String)> {
    let mut got = Vec::new();
    for _ in 0..count {
        let message = ws.recv_type("chat_message").await;
        got.push((
            uuid_of(&message, "message_id"),
            message["message"].as_str().expect("text").to_string(),
        ));
    }
    got
}

/// An open session whose provider went offline (socket closed) while the seeker wrote.
struct ProviderAway {
    seeker: TestUser,
    provider: TestUser,
    seeker_ws: WsClient,
    session_id: Uuid,
    /// The ids of the seeker's messages, in the order written.
    ids: Vec<Uuid>,
}

/// Opens a session; the provider goes offline; the seeker keeps writing `texts`.
async fn provider_away(stack: &Stack, texts: &[String]) -> ProviderAway {
    let OpenSession {
        seeker,
        provider,
        mut seeker_ws,
        provider_ws,
        session_id,
        ..
    } = stack.open_session().await;
    provider_ws.close().await;
    let mut ids = Vec::new();
    for text in texts {
        seeker_ws
            .send(json!({"type": "chat_message", "session_id": session_id, "message": text}))
            .await;
        let sent = seeker_ws.recv_type("message_sent").await;
        ids.push(uuid_of(&sent, "message_id"));
    }
    ProviderAway {
        seeker,
        provider,
        seeker_ws,
        session_id,
        ids,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resends_unacknowledged_messages_oldest_first() {
    let stack = Stack::shared().await;
    let texts = ["first", "second", "third"].map(String::from);
    let ProviderAway {
        seeker,
        provider,
        mut seeker_ws,
        session_id,
        ids,
    } = provider_away(stack, &texts).await;

    let mut provider_back = stack.connect(&provider, Role::Provider).await;
    let resent = read_chat(&mut provider_back, 3).await;
    assert_eq!(
        resent,
        [
            (ids[0], "first".to_string()),
            (ids[1], "second".to_string()),
            (ids[2], "third".to_string())
        ]
    );
    for message in &provider_back.received {
        assert_eq!(message["sender_type"], "seeker");
        assert_eq!(message["delivery_status"], "sent");
        assert_eq!(message["session_id"], session_id.to_string());
        assert_anonymous(message, &[&seeker, &provider]);
    }
    provider_back.expect_silence(SILENCE).await;

    // Acknowledge two of them; the provider's own message is never re-sent to them.
    provider_back
        .send(json!({"type": "message_delivered", "message_id": ids[0]}))
        .await;
    provider_back
        .send(json!({"type": "message_read", "message_id": ids[1]}))
        .await;
    seeker_ws.recv_type("message_status_update").await;
    seeker_ws.recv_type("message_status_update").await;
    provider_back
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "mine"}))
        .await;
    provider_back.recv_type("message_sent").await;
    let mine = seeker_ws.recv_type("chat_message").await;

    // A second device connecting gets only what is still `sent`; the open one gets nothing.
    let mut provider_phone = stack.connect(&provider, Role::Provider).await;
    assert_eq!(
        read_chat(&mut provider_phone, 1).await,
        [(ids[2], "third".to_string())]
    );
    provider_phone.expect_silence(SILENCE).await;
    provider_back
        .expect_silence(Duration::from_millis(10))
        .await;

    // The seeker's new socket gets the provider's unacknowledged message only.
    let mut seeker_phone = stack.connect(&seeker, Role::Seeker).await;
    let got = read_chat(&mut seeker_phone, 1).await;
    assert_eq!(got, [(uuid_of(&mine, "message_id"), "mine".to_string())]);
    seeker_phone.expect_silence(SILENCE).await;

    // The same user on the other endpoint is another role: nothing for them there.
    let mut provider_as_seeker = stack.connect(&provider, Role::Seeker).await;
    provider_as_seeker.expect_silence(SILENCE).await;
}

/// A backlog larger than `TETHER_CHAT_RESEND_LIMIT` is re-sent a page at a time: the oldest
/// `limit` on connect, the next ones on a later connect once those are acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resends_a_bounded_page_oldest_first() {
    let mut options = tether_tests::StackOptions::default();
    options.chat.resend_limit = 3;
    let stack = Stack::start(options).await;
    let texts: Vec<String> = (0..5).map(|n| format!("m{n}")).collect();
    let ProviderAway {
        provider,
        mut seeker_ws,
        ids,
        ..
    } = provider_away(&stack, &texts).await;

    let mut first = stack.connect(&provider, Role::Provider).await;
    let page: Vec<Uuid> = read_chat(&mut first, 3)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(page, ids[..3]);
    first.expect_silence(SILENCE).await;
    for id in &page {
        first
            .send(json!({"type": "message_delivered", "message_id": id}))
            .await;
        seeker_ws.recv_type("message_status_update").await;
    }

    let mut second = stack.connect(&provider, Role::Provider).await;
    let rest: Vec<Uuid> = read_chat(&mut second, 2)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(rest, ids[3..]);
    second.expect_silence(SILENCE).await;
    stack.stop().await;
}
