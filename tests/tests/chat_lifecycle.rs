//! Chat and the session's end: expiry set on cancel and finish, chat refused afterwards,
//! history still served, and chat's own expiry handler for lifecycle events.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tether_proto::events::{SessionEvent, SessionEventKind};
use tether_tests::chat::uuid_of;
use tether_tests::client::Closed;
use tether_tests::timing::SILENCE;
use tether_tests::timing::eventually;
use tether_tests::{OpenSession, Role, Stack};
use uuid::Uuid;

async fn expiries(stack: &Stack, session_id: Uuid) -> Vec<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT expires_at FROM chat_messages WHERE session_id = $1 ORDER BY seq")
        .bind(session_id)
        .fetch_all(&stack.db)
        .await
        .expect("expiry rows")
}

fn conflict(request_id: &str) -> Value {
    json!({"type": "error", "code": "conflict", "error": "Session is not waiting or active", "request_id": request_id})
}

/// Two messages each way, one of them acknowledged; returns the provider's unread one.
async fn converse(session: &mut OpenSession) -> Uuid {
    session.chat(Role::Seeker, "Hello").await;
    let (_, to_seeker) = session.chat(Role::Provider, "Hi").await;
    session.chat(Role::Seeker, "Where are you?").await;
    let (_, unread) = session.chat(Role::Provider, "Close").await;
    session
        .seeker_ws
        .send(json!({"type": "message_read", "message_id": to_seeker["message_id"]}))
        .await;
    session.provider_ws.recv_type("message_status_update").await;
    uuid_of(&unread, "message_id")
}

/// Every chat command after the end answers `conflict`; history is still served.
async fn assert_chat_closed(stack: &Stack, session: &OpenSession, unread: Uuid) {
    let session_id = session.session_id;
    let mut seeker = stack.connect(&session.seeker, Role::Seeker).await;
    // Nothing is re-sent for an ended session, although one message is still `sent`.
    seeker.expect_silence(SILENCE).await;
    for (id, command) in [
        (
            "chat",
            json!({"type": "chat_message", "session_id": session_id, "message": "Too late"}),
        ),
        (
            "retry-less",
            json!({"type": "chat_message", "session_id": session_id, "message": "x", "client_message_id": "never-sent"}),
        ),
        (
            "start",
            json!({"type": "start_chat", "session_id": session_id}),
        ),
        (
            "typing",
            json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}),
        ),
        (
            "delivered",
            json!({"type": "message_delivered", "message_id": unread}),
        ),
        (
            "read",
            json!({"type": "message_read", "message_id": unread}),
        ),
    ] {
        let mut command = command;
        command["request_id"] = json!(id);
        seeker.send(command).await;
        assert_eq!(seeker.recv().await, conflict(id));
    }
    let mut provider = stack.connect(&session.provider, Role::Provider).await;
    provider
        .send(json!({"type": "chat_message", "session_id": session_id, "message": "Bye", "request_id": "p"}))
        .await;
    assert_eq!(provider.recv().await, conflict("p"));
    provider.expect_silence(SILENCE).await;

    let count = stack.count_messages(session_id).await;
    assert_eq!(count, 4);
    let status: String =
        sqlx::query_scalar("SELECT delivery_status FROM chat_messages WHERE id = $1")
            .bind(unread)
            .fetch_one(&stack.db)
            .await
            .expect("status");
    assert_eq!(status, "sent");

    for user in [&session.seeker, &session.provider] {
        let (status, page) = stack
            .get(user, &format!("/api/v1/sessions/{session_id}/messages"))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["messages"].as_array().map(Vec::len), Some(4));
    }
}

fn assert_expire_a_day_after(expiries: &[Option<DateTime<Utc>>], ended_at: DateTime<Utc>) {
    assert_eq!(expiries.len(), 4);
    for expiry in expiries {
        let expiry = expiry.expect("expires_at set");
        let off = (expiry - (ended_at + TimeDelta::hours(24)))
            .num_milliseconds()
            .abs();
        assert!(
            off < 5_000,
            "expires_at {expiry} is not 24 h after {ended_at}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_sets_expiry_and_closes_the_chat() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let unread = converse(&mut session).await;
    assert!(
        expiries(stack, session.session_id)
            .await
            .iter()
            .all(Option::is_none)
    );

    session
        .seeker_ws
        .send(json!({"type": "cancel_connection", "session_id": session.session_id}))
        .await;
    let (messages, closed) = session.seeker_ws.drain_until_close().await;
    assert_eq!(
        messages.last().map(|m| m["type"].clone()),
        Some(json!("connection_cancelled"))
    );
    assert_eq!(closed, Closed::Code(1000));
    let (_, closed) = session.provider_ws.drain_until_close().await;
    assert_eq!(closed, Closed::Code(1000));

    let cancelled_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT cancelled_at FROM work_sessions WHERE id = $1")
            .bind(session.session_id)
            .fetch_one(&stack.db)
            .await
            .expect("cancelled_at");
    assert_expire_a_day_after(&expiries(stack, session.session_id).await, cancelled_at);
    assert_chat_closed(stack, &session, unread).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_sets_expiry_and_closes_the_chat() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let unread = converse(&mut session).await;

    session
        .provider_ws
        .send(json!({"type": "finish_service", "session_id": session.session_id}))
        .await;
    let (_, closed) = session.provider_ws.drain_until_close().await;
    assert_eq!(closed, Closed::Code(1000));
    let (messages, closed) = session.seeker_ws.drain_until_close().await;
    assert!(messages.iter().any(|m| m["type"] == "service_finished"));
    assert_eq!(closed, Closed::Code(1000));

    let completed_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT completed_at FROM work_sessions WHERE id = $1")
            .bind(session.session_id)
            .fetch_one(&stack.db)
            .await
            .expect("completed_at");
    assert_expire_a_day_after(&expiries(stack, session.session_id).await, completed_at);
    assert_chat_closed(stack, &session, unread).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_event_sets_missing_expiry_once() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    session.chat(Role::Seeker, "One").await;
    session.chat(Role::Provider, "Two").await;
    let session_id = session.session_id;
    assert!(
        expiries(stack, session_id)
            .await
            .iter()
            .all(Option::is_none)
    );

    // Chat's own handler, on its own: the event as the session service publishes it.
    let publish = |at: DateTime<Utc>| {
        let event = SessionEvent {
            kind: SessionEventKind::Completed,
            session_id,
            work_id: session.work_id,
            seeker_id: session.seeker.id,
            provider_id: session.provider.id,
            by: Some(Role::Seeker),
            at: at.into(),
            chat_expires_at: Some((at + TimeDelta::hours(24)).into()),
        };
        let payload = serde_json::to_vec(&event).expect("event json");
        let subject = stack.subjects.session_event(SessionEventKind::Completed);
        async move {
            stack
                .nats
                .publish(subject, payload.into())
                .await
                .expect("publish");
            stack.nats.flush().await.expect("flush");
        }
    };
    let at = Utc::now() - TimeDelta::minutes(10);
    publish(at).await;
    let expected = at + TimeDelta::hours(24);
    let set = eventually("the chat service setting every expiry", async || {
        let set = expiries(stack, session_id).await;
        set.iter().all(Option::is_some).then_some(set)
    })
    .await;
    for expiry in &set {
        let expiry = expiry.expect("expiry set by the chat service");
        assert!(
            (expiry - expected).num_milliseconds().abs() <= 1,
            "{expiry} vs {expected}"
        );
    }

    // A repeated (or later) event changes nothing that is already set.
    publish(Utc::now()).await;
    tokio::time::sleep(SILENCE).await;
    assert_eq!(expiries(stack, session_id).await, set);
}
