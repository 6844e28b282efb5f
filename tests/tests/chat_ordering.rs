//! Order under load: 250 messages from each side at once, sent without waiting, through
//! two chat instances. Each recipient gets the other's messages in send order, and
//! history (by `seq`) keeps both senders' orders.

use std::collections::HashMap;
use std::num::NonZeroU32;

use serde_json::{Value, json};
use tether_tests::chat::uuid_of;
use tether_tests::{Stack, StackOptions, WsClient};
use uuid::Uuid;

const PER_SIDE: usize = 250;

/// Sends every message without waiting, then reads until it has all its own
/// `message_sent` answers and all the other side's `chat_message`s.
/// Returns (ids acknowledged in answer order, texts received in arrival order).
async fn burst(ws: &mut WsClient, session_id: Uuid, tag: &str) -> (Vec<Uuid>, Vec<String>) {
    for i in 0..PER_SIDE {
        ws.send(json!({"type": "chat_message", "session_id": session_id, "message": format!("{tag}-{i}"), "request_id": format!("{i}")}))
            .await;
    }
    let mut acknowledged = Vec::new();
    let mut received = Vec::new();
    while acknowledged.len() < PER_SIDE || received.len() < PER_SIDE {
        let message = ws.recv().await;
        match message["type"].as_str() {
            Some("message_sent") => {
                assert_eq!(message["request_id"], acknowledged.len().to_string());
                acknowledged.push(uuid_of(&message, "message_id"));
            }
            Some("chat_message") => {
                received.push(message["message"].as_str().expect("text").to_string());
            }
            _ => panic!("unexpected message during the burst: {message}"),
        }
    }
    (acknowledged, received)
}

fn expected(tag: &str) -> Vec<String> {
    (0..PER_SIDE).map(|i| format!("{tag}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_from_both_sides_keeps_each_senders_order() {
    let mut options = StackOptions::default();
    options.edge.ws_rate = NonZeroU32::new(10_000).expect("not zero");
    options.edge.ws_burst = NonZeroU32::new(10_000).expect("not zero");
    options.edge.ws_user_rate = NonZeroU32::new(10_000).expect("not zero");
    // This test is about order, not overload: on a loaded machine a command of a
    // 250-message burst can wait behind its socket's earlier ones longer than the edge's
    // TETHER_WS_QUEUE_MAX_MS (250), and the `unavailable` the edge then answers at once
    // is right, but not what is checked here.
    options.edge.ws_queue_max_ms = 60_000;
    options.chat_instances = 2;
    let stack = Stack::start(options).await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;

    let (seeker_side, provider_side) = tokio::join!(
        burst(&mut session.seeker_ws, session_id, "s"),
        burst(&mut session.provider_ws, session_id, "p"),
    );
    assert_eq!(
        seeker_side.1,
        expected("p"),
        "seeker got the provider's messages in order"
    );
    assert_eq!(
        provider_side.1,
        expected("s"),
        "provider got the seeker's messages in order"
    );

    // History by seq: 500 messages; each sender's subsequence in send order, and the ids
    // are the acknowledged ones.
    let mut history: Vec<Value> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let query = match &before {
            Some(id) => format!("?limit=200&before={id}"),
            None => "?limit=200".to_string(),
        };
        let (status, page) = stack
            .get(
                &session.seeker,
                &format!("/api/v1/sessions/{session_id}/messages{query}"),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["messages"].as_array().expect("messages").clone();
        before = items
            .first()
            .map(|m| m["message_id"].as_str().expect("id").to_string());
        history.splice(0..0, items);
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(history.len(), 2 * PER_SIDE);
    let by_sender = |sender: &str| -> (Vec<String>, Vec<Uuid>) {
        history
            .iter()
            .filter(|m| m["sender_type"] == sender)
            .map(|m| {
                (
                    m["message"].as_str().expect("text").to_string(),
                    uuid_of(m, "message_id"),
                )
            })
            .unzip()
    };
    let (seeker_texts, seeker_ids) = by_sender("seeker");
    let (provider_texts, provider_ids) = by_sender("provider");
    assert_eq!(seeker_texts, expected("s"));
    assert_eq!(provider_texts, expected("p"));
    assert_eq!(seeker_ids, seeker_side.0);
    assert_eq!(provider_ids, provider_side.0);

    // And the database's seq order is the history order.
    let seqs: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT id, seq FROM chat_messages WHERE session_id = $1 ORDER BY seq")
            .bind(session_id)
            .fetch_all(&stack.db)
            .await
            .expect("rows");
    let position: HashMap<Uuid, usize> = seqs
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    for (i, item) in history.iter().enumerate() {
        assert_eq!(position[&uuid_of(item, "message_id")], i);
    }
    stack.stop().await;
}
