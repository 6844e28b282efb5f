//! Contact privacy (protocol 1.1): while a session is waiting, phone numbers, messenger
//! links and handles are masked before the text is stored, and the message carries
//! `redacted: true` live, in `message_sent`, on re-send and in history. Once active, text
//! is stored as sent.

use serde_json::{Value, json};
use tether_tests::chat::{chat_message_keys, keys, uuid_of};
use tether_tests::{Role, Stack};
use uuid::Uuid;

/// (sent, stored) for each rule, sent in a waiting session.
const CASES: [(&str, &str); 9] = [
    ("call me 5551234", "call me [hidden]"),
    ("+1 (555) 123-4567 anytime", "[hidden] anytime"),
    ("my number is 555.123.4567.", "my number is [hidden]."),
    ("(030) 12 34 56 78", "[hidden]"),
    ("wa.me/15551234567 or so", "[hidden] or so"),
    ("see https://t.me/someone\nbye", "see [hidden]\nbye"),
    ("http://WA.ME/x?y=1", "[hidden]"),
    ("dm @john_doe please", "dm [hidden] please"),
    ("@abcd is short, 123456 too", "@abcd is short, 123456 too"),
];

async fn stored(stack: &Stack, message_id: Uuid) -> (String, bool) {
    sqlx::query_as("SELECT message, redacted FROM chat_messages WHERE id = $1")
        .bind(message_id)
        .fetch_one(&stack.db)
        .await
        .expect("stored message")
}

async fn history(stack: &Stack, session: &tether_tests::flows::OpenSession) -> Vec<Value> {
    let (status, page) = stack
        .get(
            &session.seeker,
            &format!("/api/v1/sessions/{}/messages?limit=200", session.session_id),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["messages"].as_array().expect("messages").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_session_masks_every_rule() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let mut ids = Vec::new();
    for (i, (sent_text, masked)) in CASES.iter().enumerate() {
        let from = if i % 2 == 0 {
            Role::Seeker
        } else {
            Role::Provider
        };
        let (sent, received) = session.chat(from, sent_text).await;
        let redacted = sent_text != masked;
        let id = uuid_of(&sent, "message_id");
        ids.push((id, *masked, redacted));
        assert_eq!(received["message"], *masked, "{sent_text:?}");
        if redacted {
            assert_eq!(sent["redacted"], true, "{sent}");
            assert_eq!(received["redacted"], true, "{received}");
            let mut expected = chat_message_keys();
            expected.push("redacted".into());
            expected.push("type".into());
            expected.sort();
            assert_eq!(keys(&received), expected);
        } else {
            // Nothing to mask: no flag at all.
            assert!(sent.get("redacted").is_none(), "{sent}");
            assert!(received.get("redacted").is_none(), "{received}");
        }
        assert_eq!(stored(stack, id).await, (masked.to_string(), redacted));
        // The sent text never reaches the database.
        if redacted {
            let hits: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM chat_messages WHERE session_id = $1 AND message = $2",
            )
            .bind(session.session_id)
            .bind(sent_text)
            .fetch_one(&stack.db)
            .await
            .expect("count");
            assert_eq!(hits, 0);
        }
    }

    let messages = history(stack, &session).await;
    assert_eq!(messages.len(), ids.len());
    for (message, (id, masked, redacted)) in messages.iter().zip(&ids) {
        assert_eq!(uuid_of(message, "message_id"), *id);
        assert_eq!(message["message"], *masked);
        if *redacted {
            assert_eq!(message["redacted"], true, "{message}");
        } else {
            assert!(message.get("redacted").is_none(), "{message}");
        }
    }

    // A re-send on connect carries the flag too (the first message is still `sent`).
    let mut phone = stack.connect(&session.provider, Role::Provider).await;
    let resent = phone.recv_type("chat_message").await;
    assert_eq!(uuid_of(&resent, "message_id"), ids[0].0);
    assert_eq!(resent["message"], "call me [hidden]");
    assert_eq!(resent["redacted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_session_stores_text_as_sent() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let (before, _) = session
        .chat(Role::Seeker, "text me at +1 555 123 4567")
        .await;
    assert_eq!(before["redacted"], true);
    session.activate().await;

    for (i, (text, _)) in CASES.iter().enumerate() {
        let from = if i % 2 == 0 {
            Role::Provider
        } else {
            Role::Seeker
        };
        let (sent, received) = session.chat(from, text).await;
        assert_eq!(received["message"], *text);
        assert!(sent.get("redacted").is_none(), "{sent}");
        assert!(received.get("redacted").is_none(), "{received}");
        let id = uuid_of(&sent, "message_id");
        assert_eq!(stored(stack, id).await, (text.to_string(), false));
    }
    let messages = history(stack, &session).await;
    assert_eq!(messages[0]["message"], "text me at [hidden]");
    assert_eq!(messages[0]["redacted"], true);
    assert!(messages[1..].iter().all(|m| m.get("redacted").is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_applies_to_the_text_as_sent_and_retries_keep_the_flag() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    // 2000 characters as sent; masked it grows past 2000 and is still stored.
    let text = "@abcde ".repeat(285) + "12345";
    assert_eq!(text.chars().count(), 2000);
    let (sent, received) = session.chat(Role::Seeker, &text).await;
    assert_eq!(sent["redacted"], true);
    let masked = received["message"].as_str().expect("text");
    assert_eq!(masked, "[hidden] ".repeat(285) + "12345");
    assert!(masked.chars().count() > 2000);

    // A retry with the same client_message_id answers the original, flag included.
    let request = json!({
        "type": "chat_message", "session_id": session.session_id,
        "message": "ring 5551234", "client_message_id": "k-1",
    });
    session.seeker_ws.send(request.clone()).await;
    let first = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(first["redacted"], true);
    session.provider_ws.recv_type("chat_message").await;
    session.activate().await;
    session.seeker_ws.send(request).await;
    let again = session.seeker_ws.recv_type("message_sent").await;
    assert_eq!(again["message_id"], first["message_id"]);
    assert_eq!(again["redacted"], true);
}
