//! Push for offline users (protocol 1.1): a `chat_message` or `work_assigned` addressed to
//! a user with no open socket for that role is POSTed, signed, to the webhook; failures
//! are retried with backoff (1 s, 2 s, 4 s, ... at most 6 tries; scaled down here); a recorded 2xx is never
//! sent again, across restarts of the sender and with two senders.
//!
//! Each test gets a stack with its own database (senders claim every due event of their
//! database) and a receiver of its own ([`Receiver`]). Until the presence code fills
//! `user_presence`, every user counts as offline, so `open_session` enqueues a
//! `work_assigned` too: the assertions filter by type and id.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tether_proto::push::PushEvent;
use tether_tests::chat::{time_of, uuid_of};
use tether_tests::push::{Answer, Post, Receiver};
use tether_tests::timing::eventually;
use tether_tests::{OpenSession, Role, Service, Stack, StackOptions, TestUser, WsClient};
use uuid::Uuid;

const SECRET: &str = "push-test-secret-4f1d";

/// A stack that pushes to `receiver`: one instance of each service but cleanup (two
/// senders), a fast poll.
pub(crate) async fn push_stack(receiver: &Receiver, tune: impl FnOnce(&mut StackOptions)) -> Stack {
    let mut options = StackOptions {
        own_database: true,
        session_instances: 1,
        chat_instances: 1,
        location_instances: 1,
        cleanup_instances: 2,
        ..StackOptions::default()
    }
    .with_push(&receiver.url, SECRET);
    options.cleanup.push.poll_ms = 20;
    tune(&mut options);
    Stack::start(options).await
}

/// Sends a chat message from `ws` and returns its `message_sent`.
async fn send_chat(ws: &mut WsClient, session_id: Uuid, text: &str) -> Value {
    ws.send(json!({"type": "chat_message", "session_id": session_id, "message": text}))
        .await;
    ws.recv_type("message_sent").await
}

fn is_chat_push(session_id: Uuid) -> impl Fn(&Value) -> bool {
    move |body| body["type"] == "chat_message" && body["session_id"] == session_id.to_string()
}

fn is_order_push(work_id: i64) -> impl Fn(&Value) -> bool {
    move |body| body["type"] == "work_assigned" && body["work_id"] == work_id
}

fn keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// A seeker and an active provider who never connected (offline, so pushed to).
async fn seeker_and_offline_provider(stack: &Stack) -> (TestUser, TestUser) {
    let seeker = stack.user();
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    (seeker, provider)
}

/// The `work_id` of a new order from `seeker` to `provider`.
async fn order(stack: &Stack, seeker: &TestUser, provider: &TestUser) -> i64 {
    stack.create_order(seeker, provider).await["work_id"]
        .as_i64()
        .expect("work_id")
}

/// A waiting session whose provider has closed its socket; the seeker's is open.
struct ProviderOffline {
    provider: TestUser,
    seeker_ws: WsClient,
    session_id: Uuid,
}

async fn session_with_provider_offline(stack: &Stack) -> ProviderOffline {
    let OpenSession {
        provider,
        seeker_ws,
        provider_ws,
        session_id,
        ..
    } = stack.open_session().await;
    provider_ws.close().await;
    // Presence learns of the close asynchronously (edge -> NATS -> location).
    stack
        .wait_presence(provider.id, Role::Provider, false)
        .await;
    ProviderOffline {
        provider,
        seeker_ws,
        session_id,
    }
}

fn assert_valid_push(post: &Post, kind: &str, user: &TestUser, role: Role) -> Value {
    assert!(
        post.signed_with(SECRET),
        "bad signature {:?}",
        post.signature
    );
    assert_eq!(post.content_type.as_deref(), Some("application/json"));
    let body = post.json();
    // The contract's type (unknown fields refused): exactly one of work_id / session_id.
    let event: PushEvent = serde_json::from_value(body.clone()).expect("push body shape");
    assert!(
        event.work_id.is_some() != event.session_id.is_some(),
        "{body}"
    );
    assert_eq!(body["type"], kind);
    assert_eq!(body["user_id"], user.id.to_string());
    assert_eq!(body["role"], role.as_str());
    assert!(
        body["event_id"]
            .as_str()
            .is_some_and(|id| Uuid::parse_str(id).is_ok()),
        "{body}"
    );
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_message_to_offline_recipient_posts_one_signed_event() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let mut session = session_with_provider_offline(&stack).await;
    let sent = send_chat(
        &mut session.seeker_ws,
        session.session_id,
        "call me at 5550001111",
    )
    .await;

    let posts = receiver.wait_for(1, is_chat_push(session.session_id)).await;
    let body = assert_valid_push(&posts[0], "chat_message", &session.provider, Role::Provider);
    assert_eq!(
        keys(&body),
        ["at", "event_id", "role", "session_id", "type", "user_id"],
        "no work_id, no text: {body}"
    );
    assert_eq!(time_of(&body, "at"), time_of(&sent, "timestamp"));
    assert!(!String::from_utf8_lossy(&posts[0].body).contains("5550001111"));

    // A second message is a second event with its own id.
    send_chat(&mut session.seeker_ws, session.session_id, "still there?").await;
    let posts = receiver.wait_for(2, is_chat_push(session.session_id)).await;
    assert_ne!(
        uuid_of(&posts[0].json(), "event_id"),
        uuid_of(&posts[1].json(), "event_id")
    );
    // Sent means sent: nothing more comes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.posts_where(is_chat_push(session.session_id)).len(),
        2
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_order_to_offline_provider_posts_work_id() {
    let receiver = Receiver::start(Answer::Status(204)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    let created = stack.create_order(&seeker, &provider).await;
    let work_id = created["work_id"].as_i64().expect("work_id");

    let posts = receiver.wait_for(1, is_order_push(work_id)).await;
    let body = assert_valid_push(&posts[0], "work_assigned", &provider, Role::Provider);
    assert_eq!(
        keys(&body),
        ["at", "event_id", "role", "type", "user_id", "work_id"],
        "no session_id, no name, no message: {body}"
    );
    assert_eq!(time_of(&body, "at"), time_of(&created, "created_at"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.posts_where(is_order_push(work_id)).len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_off_enqueues_nothing() {
    // The shared stack runs without TETHER_PUSH_WEBHOOK_URL.
    let stack = Stack::shared().await;
    let mut session = session_with_provider_offline(stack).await;
    send_chat(&mut session.seeker_ws, session.session_id, "hello").await;
    let (seeker, provider) = seeker_and_offline_provider(stack).await;
    stack.create_order(&seeker, &provider).await;

    let enqueued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM push_events
         WHERE (body::json->>'user_id')::uuid IN ($1, $2)",
    )
    .bind(session.provider.id)
    .bind(provider.id)
    .fetch_one(&stack.db)
    .await
    .expect("count push events");
    assert_eq!(enqueued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tries_are_retried_with_backoff_until_a_2xx() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    // 500, then no answer within the webhook's 5 s timeout, then 200.
    receiver.script([Answer::Status(500), Answer::After(Duration::from_secs(6))]);
    // The backoff scaled down 4x (1 s -> 250 ms): the doubling is the same.
    let first_retry = Duration::from_millis(250);
    let stack = push_stack(&receiver, |options| {
        options.cleanup.push.first_retry = first_retry;
    })
    .await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    let work_id = order(&stack, &seeker, &provider).await;

    let posts = receiver.wait_for(3, is_order_push(work_id)).await;
    // The same bytes and signature every try.
    for post in &posts[1..] {
        assert_eq!(post.body, posts[0].body);
        assert_eq!(post.signature, posts[0].signature);
    }
    // One backoff after the 500; the timeout (5 s) plus two backoffs after the silent try
    // began. Lower bounds only: a busy machine may send any try later.
    let first_gap = posts[1].at - posts[0].at;
    let second_gap = posts[2].at - posts[1].at;
    assert!(first_gap >= first_retry, "{first_gap:?}");
    assert!(
        second_gap >= Duration::from_secs(5) + 2 * first_retry,
        "{second_gap:?}"
    );

    // The 2xx is final: nothing more comes within several backoffs.
    tokio::time::sleep(8 * first_retry).await;
    assert_eq!(receiver.posts_where(is_order_push(work_id)).len(), 3);
    let (tries, sent): (i32, bool) =
        sqlx::query_as("SELECT tries, sent_at IS NOT NULL FROM push_events WHERE event_id = $1")
            .bind(uuid_of(&posts[0].json(), "event_id"))
            .fetch_one(&stack.db)
            .await
            .expect("event row");
    assert_eq!((tries, sent), (3, true));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_failing_receiver_gets_six_tries_then_the_event_is_given_up() {
    let receiver = Receiver::start(Answer::Status(503)).await;
    // The contract's backoff scaled down 20x (1 s -> 50 ms), so six tries take ~1.5 s.
    let stack = push_stack(&receiver, |options| {
        options.cleanup.push.first_retry = Duration::from_millis(50);
    })
    .await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    let work_id = order(&stack, &seeker, &provider).await;

    let posts = receiver.wait_for(6, is_order_push(work_id)).await;
    // Each wait at least doubles: 50, 100, 200, 400, 800 ms.
    for (i, pair) in posts.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(50 << i), "gap {i}: {gap:?}");
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(receiver.posts_where(is_order_push(work_id)).len(), 6);
    let (tries, given_up, due): (i32, bool, bool) = sqlx::query_as(
        "SELECT tries, given_up_at IS NOT NULL, due_at IS NOT NULL FROM push_events
         WHERE event_id = $1",
    )
    .bind(uuid_of(&posts[0].json(), "event_id"))
    .fetch_one(&stack.db)
    .await
    .expect("event row");
    assert_eq!((tries, given_up, due), (6, true, false));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sender_sends_what_is_due_and_never_resends_what_was_sent() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    let first = order(&stack, &seeker, &provider).await;
    receiver.wait_for(1, is_order_push(first)).await;

    // No sender runs while the second event is enqueued: it waits in the outbox.
    stack.stop_service(Service::Cleanup).await;
    let second = order(&stack, &seeker, &provider).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.posts_where(is_order_push(second)).is_empty());

    stack.start_service(Service::Cleanup, 1).await;
    receiver.wait_for(1, is_order_push(second)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.posts_where(is_order_push(first)).len(), 1);
    assert_eq!(receiver.posts_where(is_order_push(second)).len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_post_each_event_once() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let mut session = session_with_provider_offline(&stack).await;
    // Stop both senders so the events pile up, then start two at once: they race for
    // the same due rows.
    stack.stop_service(Service::Cleanup).await;
    const EVENTS: usize = 40;
    for i in 0..EVENTS {
        send_chat(
            &mut session.seeker_ws,
            session.session_id,
            &format!("message {i}"),
        )
        .await;
    }
    stack.start_service(Service::Cleanup, 2).await;

    receiver
        .wait_for(EVENTS, is_chat_push(session.session_id))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posts = receiver.posts_where(is_chat_push(session.session_id));
    let mut per_event: HashMap<Uuid, usize> = HashMap::new();
    for post in &posts {
        *per_event
            .entry(uuid_of(&post.json(), "event_id"))
            .or_default() += 1;
    }
    assert_eq!(per_event.len(), EVENTS);
    assert!(per_event.values().all(|&n| n == 1), "{per_event:?}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_marked_online_in_presence_gets_no_push() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    // What the presence code writes while a provider socket is open on some edge.
    sqlx::query(
        "INSERT INTO user_presence (user_id, role, online, seen_at)
         VALUES ($1, 'provider', true, now())",
    )
    .bind(provider.id)
    .execute(&stack.db)
    .await
    .expect("presence row");
    let online_order = order(&stack, &seeker, &provider).await;
    // Offline again: the next order is pushed (and proves the sender runs).
    sqlx::query("UPDATE user_presence SET online = false WHERE user_id = $1")
        .bind(provider.id)
        .execute(&stack.db)
        .await
        .expect("presence offline");
    let offline_order = order(&stack, &seeker, &provider).await;
    receiver.wait_for(1, is_order_push(offline_order)).await;
    assert!(receiver.posts_where(is_order_push(online_order)).is_empty());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_job_deletes_finished_events_only() {
    let receiver = Receiver::start(Answer::Status(200)).await;
    let stack = push_stack(&receiver, |_| {}).await;
    let (seeker, provider) = seeker_and_offline_provider(&stack).await;
    let work_id = order(&stack, &seeker, &provider).await;
    receiver.wait_for(1, is_order_push(work_id)).await;
    // Once the 2xx is recorded, age everything past the retention, with an unfinished
    // event just as old (due later, so no sender takes it meanwhile).
    eventually("every push event recorded as sent", async || {
        let unsent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM push_events WHERE sent_at IS NULL")
                .fetch_one(&stack.db)
                .await
                .expect("count");
        unsent == 0
    })
    .await;
    let pending = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO push_events (event_id, body, due_at) VALUES ($1, '{}', now() + interval '1 hour')",
    )
        .bind(pending)
        .execute(&stack.db)
        .await
        .expect("pending event");
    sqlx::query("UPDATE push_events SET created_at = now() - interval '25 hours'")
        .execute(&stack.db)
        .await
        .expect("age");
    let outcome = stack.run_cleanup_job("push_events").await;
    assert_eq!(outcome["job"], "push_events");
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM push_events")
        .fetch_all(&stack.db)
        .await
        .expect("left");
    assert!(left.iter().all(|id| *id == pending), "{left:?}");
    stack.stop().await;
}
