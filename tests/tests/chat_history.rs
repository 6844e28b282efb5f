//! `GET /api/v1/sessions/{id}/messages`: parties only, pages by `seq`, edges and errors.

use serde_json::{Value, json};
use tether_tests::chat::{chat_message_keys, keys, uuid_of};
use tether_tests::{Role, Stack, TestUser};
use uuid::Uuid;

async fn page(stack: &Stack, user: &TestUser, session_id: Uuid, query: &str) -> (u16, Value) {
    stack
        .get(
            user,
            &format!("/api/v1/sessions/{session_id}/messages{query}"),
        )
        .await
}

async fn ok_page(stack: &Stack, user: &TestUser, session_id: Uuid, query: &str) -> Value {
    let (status, body) = page(stack, user, session_id, query).await;
    assert_eq!(status, 200, "{query}: {body}");
    assert_eq!(keys(&body), ["has_more", "messages"]);
    body
}

fn texts(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["message"].as_str().expect("text").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_history() {
    let stack = Stack::shared().await;
    let session = stack.open_session().await;
    for user in [&session.seeker, &session.provider] {
        let body = ok_page(stack, user, session.session_id, "").await;
        assert_eq!(body, json!({"messages": [], "has_more": false}));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_newest_first_each_oldest_first() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let mut sent = Vec::new();
    for i in 0..5 {
        let role = if i % 2 == 0 {
            Role::Seeker
        } else {
            Role::Provider
        };
        let (ack, received) = session.chat(role, &format!("m{i}")).await;
        sent.push((ack, received));
    }
    // Acknowledge the first one, so statuses show in history.
    session
        .provider_ws
        .send(json!({"type": "message_read", "message_id": sent[0].1["message_id"]}))
        .await;
    session.seeker_ws.recv_type("message_status_update").await;

    // Default limit: everything, oldest first, each item the full chat message object.
    let all = ok_page(stack, &session.seeker, session_id, "").await;
    assert_eq!(texts(&all), ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(all["has_more"], false);
    for (item, (ack, received)) in all["messages"].as_array().expect("items").iter().zip(&sent) {
        assert_eq!(keys(item), chat_message_keys());
        assert_eq!(item["message_id"], ack["message_id"]);
        assert_eq!(item["timestamp"], ack["timestamp"]);
        assert_eq!(item["sender_type"], received["sender_type"]);
        assert_eq!(item["session_id"], session_id.to_string());
    }
    let first = &all["messages"][0];
    assert_eq!(first["delivery_status"], "read");
    assert!(first["delivered_at"].is_string() && first["read_at"].is_string());
    let second = &all["messages"][1];
    assert_eq!(second["delivery_status"], "sent");
    assert!(second["delivered_at"].is_null() && second["read_at"].is_null());
    // The other party sees the same history.
    assert_eq!(ok_page(stack, &session.provider, session_id, "").await, all);

    // Exactly `limit` messages: no more.
    let exact = ok_page(stack, &session.seeker, session_id, "?limit=5").await;
    assert_eq!(exact, all);
    // One fewer: the newest four, and older ones exist.
    let newest = ok_page(stack, &session.seeker, session_id, "?limit=4").await;
    assert_eq!(texts(&newest), ["m1", "m2", "m3", "m4"]);
    assert_eq!(newest["has_more"], true);

    // Walk back with `before`.
    let top = ok_page(stack, &session.seeker, session_id, "?limit=2").await;
    assert_eq!(texts(&top), ["m3", "m4"]);
    assert_eq!(top["has_more"], true);
    let before = uuid_of(&top["messages"][0], "message_id");
    let middle = ok_page(
        stack,
        &session.seeker,
        session_id,
        &format!("?limit=2&before={before}"),
    )
    .await;
    assert_eq!(texts(&middle), ["m1", "m2"]);
    assert_eq!(middle["has_more"], true);
    let before = uuid_of(&middle["messages"][0], "message_id");
    let last = ok_page(
        stack,
        &session.seeker,
        session_id,
        &format!("?limit=2&before={before}"),
    )
    .await;
    assert_eq!(texts(&last), ["m0"]);
    assert_eq!(last["has_more"], false);
    // Before the oldest: empty, nothing older.
    let oldest = uuid_of(&last["messages"][0], "message_id");
    let past = ok_page(
        stack,
        &session.seeker,
        session_id,
        &format!("?before={oldest}"),
    )
    .await;
    assert_eq!(past, json!({"messages": [], "has_more": false}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_200_and_more_than_200_messages() {
    let stack = Stack::shared().await;
    let session = stack.open_session().await;
    let session_id = session.session_id;
    // 205 stored messages (inserted directly: the socket rate limit would make this slow).
    sqlx::query(
        "INSERT INTO chat_messages (id, session_id, sender_id, sender_type, message)
         SELECT gen_random_uuid(), $1, $2, 'seeker', 'bulk ' || g
         FROM generate_series(1, 205) AS g ORDER BY g",
    )
    .bind(session_id)
    .bind(session.seeker.id)
    .execute(&stack.db)
    .await
    .expect("bulk insert");

    let top = ok_page(stack, &session.provider, session_id, "?limit=200").await;
    let top_texts = texts(&top);
    assert_eq!(top_texts.len(), 200);
    assert_eq!(top_texts[0], "bulk 6");
    assert_eq!(top_texts[199], "bulk 205");
    assert_eq!(top["has_more"], true);
    let before = uuid_of(&top["messages"][0], "message_id");
    let rest = ok_page(
        stack,
        &session.provider,
        session_id,
        &format!("?limit=200&before={before}"),
    )
    .await;
    assert_eq!(
        texts(&rest),
        ["bulk 1", "bulk 2", "bulk 3", "bulk 4", "bulk 5"]
    );
    assert_eq!(rest["has_more"], false);
    // Default page: the newest 50.
    let default = ok_page(stack, &session.provider, session_id, "").await;
    assert_eq!(texts(&default).len(), 50);
    assert_eq!(texts(&default)[0], "bulk 156");
    assert_eq!(default["has_more"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_and_strangers() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let mut other = stack.open_session().await;
    let session_id = session.session_id;
    session.chat(Role::Seeker, "mine").await;
    let (_, foreign) = other.chat(Role::Seeker, "theirs").await;
    let foreign_id = uuid_of(&foreign, "message_id");

    let limit_error =
        json!({"error": "limit must be an integer from 1 to 200", "code": "validation"});
    for bad in ["201", "0", "-1", "abc", "", "2.5", "1e3"] {
        let (status, body) =
            page(stack, &session.seeker, session_id, &format!("?limit={bad}")).await;
        assert_eq!((status, &body), (400, &limit_error), "limit={bad}");
    }
    let (status, body) = page(stack, &session.seeker, session_id, "?limit=1").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = page(stack, &session.seeker, session_id, "?before=nope").await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": "before must be a message_id", "code": "validation"})
        )
    );
    for before in [Uuid::new_v4(), foreign_id] {
        let (status, body) = page(
            stack,
            &session.seeker,
            session_id,
            &format!("?before={before}"),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error": "Message not found", "code": "not_found"})
            )
        );
    }

    // Not a party (a party of another session, or anyone), unknown or malformed: 404.
    let session_404 = json!({"error": "Session not found", "code": "not_found"});
    let stranger = stack.user();
    for user in [&other.seeker, &other.provider, &stranger] {
        let (status, body) = page(stack, user, session_id, "").await;
        assert_eq!((status, &body), (404, &session_404));
        // A bad query does not reveal more to a stranger.
        let (status, body) = page(stack, user, session_id, "?limit=0").await;
        assert_eq!((status, &body), (404, &session_404));
    }
    let (status, body) = page(stack, &session.seeker, Uuid::new_v4(), "").await;
    assert_eq!((status, &body), (404, &session_404));
    let (status, body) = stack
        .get(&session.seeker, "/api/v1/sessions/not-a-uuid/messages")
        .await;
    assert_eq!((status, &body), (404, &session_404));
}
