//! A session's life: mediums (rules and snapshot visibility), cancel and finish (messages,
//! statuses, chat expiry, socket closes on every device), ratings, privacy, request ids.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tether_proto::events::{SessionEvent, SessionEventKind};
use tether_tests::client::Closed;
use tether_tests::events::session_event_for;
use tether_tests::timing::{EVENTUALLY, SILENCE};
use tether_tests::{OpenSession, Role, Stack, TestUser, WsClient};
use uuid::Uuid;

const NOT_OPEN: &str = "Session is not waiting or active";
const INVALID_MEDIUMS: &str = "Invalid mediums. Select 0-3 from: telegram, whatsapp, call";

fn without(mut value: Value, keys: &[&str]) -> Value {
    for key in keys {
        if let Some(object) = value.as_object_mut() {
            object.remove(*key);
        }
    }
    value
}

fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| t.ends_with('Z') && DateTime::parse_from_rfc3339(t).is_ok())
}

async fn error_reply(ws: &mut WsClient, command: Value, code: &str, text: &str) {
    ws.send(command.clone()).await;
    let reply = ws.recv().await;
    assert_eq!(
        reply,
        json!({"type": "error", "code": code, "error": text, "request_id": command["request_id"]}),
        "{command}"
    );
}

async fn session_row(stack: &Stack, session_id: Uuid) -> SessionRow {
    stack
        .row(
            "SELECT s.connection_state, s.cancelled_by, s.cancelled_at, s.completed_by, s.completed_at,
                    s.seeker_mediums, s.provider_mediums, s.rating_stars, o.status
             FROM work_sessions s JOIN work_orders o ON o.id = s.work_id WHERE s.id = $1",
            session_id,
        )
        .await
}

#[derive(Debug, sqlx::FromRow)]
struct SessionRow {
    connection_state: String,
    cancelled_by: Option<String>,
    cancelled_at: Option<DateTime<Utc>>,
    completed_by: Option<String>,
    completed_at: Option<DateTime<Utc>>,
    seeker_mediums: Option<Value>,
    provider_mediums: Option<Value>,
    rating_stars: Option<i16>,
    status: String,
}

impl SessionRow {
    /// (connection_state, cancelled_by, the order's status).
    fn cancellation(&self) -> (&str, Option<&str>, &str) {
        (
            self.connection_state.as_str(),
            self.cancelled_by.as_deref(),
            self.status.as_str(),
        )
    }
}

/// A chat row written straight into the table, to watch the expiry the end sets.
async fn chat_row(stack: &Stack, session: &OpenSession) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO chat_messages (id, session_id, sender_id, sender_type, message)
         VALUES ($1, $2, $3, 'seeker', 'hello')",
    )
    .bind(id)
    .bind(session.session_id)
    .bind(session.seeker.id)
    .execute(&stack.db)
    .await
    .expect("chat row");
    id
}

/// How the rest of the system sees the end of session `id` at `ended_at` by `by`: its
/// chat row `message` expires 24 h later, and `events` (of the end's kind) carries the end
/// with that actor and time. Returns the event.
async fn assert_end_seen(
    stack: &Stack,
    (message, id, by, ended_at): (Uuid, Uuid, Role, DateTime<Utc>),
    events: &mut async_nats::Subscriber,
) -> SessionEvent {
    let expires_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT expires_at FROM chat_messages WHERE id = $1")
            .bind(message)
            .fetch_one(&stack.db)
            .await
            .expect("expiry");
    assert_eq!(expires_at, Some(ended_at + TimeDelta::hours(24)));
    let event = session_event_for(events, id, EVENTUALLY)
        .await
        .expect("end event");
    assert_eq!(
        (event.by, event.at.0.timestamp_millis()),
        (Some(by), ended_at.timestamp_millis())
    );
    event
}

/// Reads `ws` until it closes, which must be a normal close (1000); returns what came
/// before, without timestamps.
async fn until_closed(ws: &mut WsClient) -> Vec<Value> {
    let (messages, closed) = ws.drain_until_close().await;
    assert_eq!(closed, Closed::Code(1000));
    messages
        .into_iter()
        .map(|m| without(m, &["timestamp"]))
        .collect()
}

/// (provider `is_active`, seeker `is_searching`) as the parties' own API shows them.
async fn on_the_market(stack: &Stack, session: &OpenSession) -> (Value, Value) {
    let (active, provider) = stack
        .get(&session.provider, "/api/v1/provider/status")
        .await;
    let (searching, seeker) = stack.get(&session.seeker, "/api/v1/seeker/search").await;
    assert_eq!((active, searching), (200, 200));
    (
        provider["is_active"].clone(),
        seeker["is_searching"].clone(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_selection_activates_and_reveals_mediums_to_the_provider_only_after() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;

    let provider_view = stack.snapshot(&session.provider, id).await;
    assert_eq!(provider_view["role"], "provider");
    assert_eq!(provider_view["connection_state"], "waiting");
    assert_eq!(provider_view["seeker_mediums"], Value::Null);
    for key in ["rating_stars", "rating_description", "rated_at"] {
        assert!(provider_view.get(key).is_none(), "provider sees {key}");
    }
    let seeker_view = stack.snapshot(&session.seeker, id).await;
    assert_eq!(
        without(
            seeker_view.clone(),
            &[
                "created_at",
                "arrival_stage",
                "peer_status",
                "peer_last_seen"
            ]
        ),
        json!({
            "session_id": id, "work_id": session.work_id, "role": "seeker",
            "connection_state": "waiting", "seeker_mediums": null, "provider_mediums": null,
            "current_distance_meters": null, "distance_formatted": null, "chat_room_id": id,
            "chat_started_at": null, "cancelled_at": null, "cancelled_by": null,
            "completed_at": null, "completed_by": null,
            "rating_stars": null, "rating_description": null, "rated_at": null,
            "location_cadence": null,
        })
    );
    assert!(is_timestamp(&seeker_view["created_at"]));

    let mut activated = stack
        .watch_session_events(SessionEventKind::Activated)
        .await;
    let mediums = json!({"whatsapp": "+4915100000009", "call": "4915100000009"});
    session
        .seeker_ws
        .send(json!({"type": "medium_selection", "session_id": id, "mediums": mediums, "request_id": "pick"}))
        .await;
    let own = session.seeker_ws.recv_type("mediums_selected").await;
    assert!(is_timestamp(&own["timestamp"]));
    assert_eq!(
        without(own, &["timestamp"]),
        json!({"type": "mediums_selected", "session_id": id, "mediums": mediums, "connection_state": "active", "request_id": "pick"})
    );
    let told = session
        .provider_ws
        .recv_type("seeker_mediums_selected")
        .await;
    assert_eq!(
        without(told, &["timestamp"]),
        json!({"type": "seeker_mediums_selected", "session_id": id, "mediums": mediums, "connection_state": "active",
               "message": "Seeker has selected communication mediums"})
    );
    let row = session_row(stack, id).await;
    assert_eq!(
        (row.connection_state.as_str(), row.seeker_mediums),
        ("active", Some(mediums.clone()))
    );
    let event = session_event_for(&mut activated, id, EVENTUALLY)
        .await
        .expect("activated event");
    assert_eq!(
        (event.kind, event.seeker_id, event.provider_id),
        (
            SessionEventKind::Activated,
            session.seeker.id,
            session.provider.id
        )
    );
    assert_eq!(
        stack.snapshot(&session.provider, id).await["seeker_mediums"],
        mediums
    );

    // Selecting again on an active session replaces the mediums and tells both again,
    // without a second activation.
    let fewer = json!({"telegram": "+4915100000010"});
    session
        .seeker_ws
        .send(json!({"type": "medium_selection", "session_id": id, "mediums": fewer}))
        .await;
    assert_eq!(
        session.seeker_ws.recv_type("mediums_selected").await["mediums"],
        fewer
    );
    assert_eq!(
        session
            .provider_ws
            .recv_type("seeker_mediums_selected")
            .await["mediums"],
        fewer
    );
    assert_eq!(session_row(stack, id).await.connection_state, "active");
    assert_eq!(
        stack.snapshot(&session.provider, id).await["seeker_mediums"],
        fewer
    );
    assert!(
        session_event_for(&mut activated, id, SILENCE)
            .await
            .is_none(),
        "second activated event"
    );
    // Zero mediums is a valid selection.
    session
        .seeker_ws
        .send(json!({"type": "medium_selection", "session_id": id, "mediums": {}}))
        .await;
    assert_eq!(
        session.seeker_ws.recv_type("mediums_selected").await["mediums"],
        json!({})
    );
    assert_eq!(
        session
            .provider_ws
            .recv_type("seeker_mediums_selected")
            .await["mediums"],
        json!({})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_share_reveals_mediums_to_the_seeker_only_after_and_keeps_the_state() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;
    assert_eq!(
        stack.snapshot(&session.seeker, id).await["provider_mediums"],
        Value::Null
    );

    let mediums =
        json!({"telegram": "+15550003333", "whatsapp": "+15550003333", "call": "+15550003333"});
    session
        .provider_ws
        .send(json!({"type": "medium_share", "session_id": id, "mediums": mediums, "request_id": "share"}))
        .await;
    let own = session.provider_ws.recv_type("mediums_shared").await;
    assert!(is_timestamp(&own["timestamp"]));
    assert_eq!(
        without(own, &["timestamp"]),
        json!({"type": "mediums_shared", "session_id": id, "mediums": mediums, "request_id": "share"})
    );
    let told = session.seeker_ws.recv_type("provider_mediums_shared").await;
    assert_eq!(
        without(told, &["timestamp"]),
        json!({"type": "provider_mediums_shared", "session_id": id, "mediums": mediums})
    );
    let row = session_row(stack, id).await;
    assert_eq!(
        (row.connection_state.as_str(), row.provider_mediums),
        ("waiting", Some(mediums.clone()))
    );
    assert_eq!(
        stack.snapshot(&session.seeker, id).await["provider_mediums"],
        mediums
    );
    assert_eq!(
        stack.snapshot(&session.provider, id).await["provider_mediums"],
        mediums
    );
    // The provider still sees no seeker mediums (none selected).
    assert_eq!(
        stack.snapshot(&session.provider, id).await["seeker_mediums"],
        Value::Null
    );

    // Sharing works on an active session too.
    session.activate().await;
    session
        .provider_ws
        .send(
            json!({"type": "medium_share", "session_id": id, "mediums": {"call": "+15550004444"}}),
        )
        .await;
    session.provider_ws.recv_type("mediums_shared").await;
    session.seeker_ws.recv_type("provider_mediums_shared").await;
    assert_eq!(session_row(stack, id).await.connection_state, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_errors_change_nothing() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;
    let seeker = &mut session.seeker_ws;
    for (n, mediums) in [
        json!({"signal": "+15550001111"}),
        json!({"telegram": "+15550001111", "whatsapp": "+15550001111", "call": "+15550001111", "sms": "+15550001111"}),
        json!(["call"]),
        json!("call"),
        json!(null),
    ]
    .into_iter()
    .enumerate()
    {
        error_reply(
            seeker,
            json!({"type": "medium_selection", "session_id": id, "mediums": mediums, "request_id": format!("bad-{n}")}),
            "validation",
            INVALID_MEDIUMS,
        )
        .await;
    }
    error_reply(
        seeker,
        json!({"type": "medium_selection", "session_id": id, "request_id": "none"}),
        "validation",
        INVALID_MEDIUMS,
    )
    .await;
    for (n, phone) in [
        json!("12345"),
        json!("+1234567890123456"),
        json!("+1 555 000"),
        json!(5550001111i64),
    ]
    .into_iter()
    .enumerate()
    {
        error_reply(
            seeker,
            json!({"type": "medium_selection", "session_id": id, "mediums": {"call": phone}, "request_id": format!("phone-{n}")}),
            "validation",
            "Invalid phone number for call: expected optional + and 7 to 15 digits",
        )
        .await;
    }
    error_reply(
        seeker,
        json!({"type": "medium_selection", "mediums": {}, "request_id": "sid"}),
        "validation",
        "session_id is required",
    )
    .await;
    for (n, bad) in [json!("not-a-uuid"), json!(Uuid::new_v4())]
        .into_iter()
        .enumerate()
    {
        error_reply(
            seeker,
            json!({"type": "medium_selection", "session_id": bad, "mediums": {}, "request_id": format!("nf-{n}")}),
            "not_found",
            "Session not found",
        )
        .await;
    }
    error_reply(
        &mut session.provider_ws,
        json!({"type": "medium_share", "mediums": {}, "request_id": "p-sid"}),
        "validation",
        "session_id is required",
    )
    .await;
    error_reply(&mut session.provider_ws, json!({"type": "medium_share", "session_id": id, "mediums": {"fax": "+15550001111"}, "request_id": "p-bad"}), "validation", INVALID_MEDIUMS).await;

    // Not a party, or a party in the other role: not_found, exactly like an unknown id.
    let stranger = stack.user();
    let mut stranger_seeker = stack.connect(&stranger, Role::Seeker).await;
    error_reply(
        &mut stranger_seeker,
        json!({"type": "medium_selection", "session_id": id, "mediums": {}, "request_id": "s"}),
        "not_found",
        "Session not found",
    )
    .await;
    let mut stranger_provider = stack.connect(&stranger, Role::Provider).await;
    error_reply(
        &mut stranger_provider,
        json!({"type": "medium_share", "session_id": id, "mediums": {}, "request_id": "s2"}),
        "not_found",
        "Session not found",
    )
    .await;
    let mut seeker_as_provider = stack.connect(&session.seeker, Role::Provider).await;
    error_reply(
        &mut seeker_as_provider,
        json!({"type": "medium_share", "session_id": id, "mediums": {}, "request_id": "role"}),
        "not_found",
        "Session not found",
    )
    .await;

    // Wrong endpoint: the edge refuses the type.
    let provider = &mut session.provider_ws;
    provider
        .send(json!({"type": "medium_selection", "session_id": id, "mediums": {}, "request_id": "ep"}))
        .await;
    let reply = provider.recv_type("error").await;
    assert_eq!(
        (reply["code"].as_str(), reply["request_id"].as_str()),
        (Some("unknown_type"), Some("ep"))
    );
    session
        .seeker_ws
        .send(json!({"type": "medium_share", "session_id": id, "mediums": {}, "request_id": "ep2"}))
        .await;
    assert_eq!(
        session.seeker_ws.recv_type("error").await["code"],
        "unknown_type"
    );

    let row = session_row(stack, id).await;
    assert_eq!(
        (
            row.connection_state.as_str(),
            row.seeker_mediums,
            row.provider_mediums
        ),
        ("waiting", None, None)
    );
    session.provider_ws.expect_silence(SILENCE).await;

    // After the end: conflict.
    session
        .seeker_ws
        .send(json!({"type": "cancel_connection", "session_id": id}))
        .await;
    session.seeker_ws.drain_until_close().await;
    session.provider_ws.drain_until_close().await;
    let mut seeker = stack.connect(&session.seeker, Role::Seeker).await;
    error_reply(
        &mut seeker,
        json!({"type": "medium_selection", "session_id": id, "mediums": {}, "request_id": "late"}),
        "conflict",
        NOT_OPEN,
    )
    .await;
    let mut provider = stack.connect(&session.provider, Role::Provider).await;
    error_reply(
        &mut provider,
        json!({"type": "medium_share", "session_id": id, "mediums": {}, "request_id": "late"}),
        "conflict",
        NOT_OPEN,
    )
    .await;
    assert_eq!(session_row(stack, id).await.seeker_mediums, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_closes_every_socket_of_both_parties_and_reenables_statuses() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    // The chat row exists before the second devices connect, so the provider's tablet
    // deterministically gets it as the on-connect re-send (not racing the insert).
    let message = chat_row(stack, &session).await;
    let mut seeker_tablet = stack.connect(&session.seeker, Role::Seeker).await;
    let mut provider_tablet = stack.connect(&session.provider, Role::Provider).await;
    let resent = provider_tablet.recv_type("chat_message").await;
    assert_eq!(resent["message_id"], message.to_string());
    let mut cancelled = stack
        .watch_session_events(SessionEventKind::Cancelled)
        .await;

    session
        .seeker_ws
        .send(json!({"type": "cancel_connection", "session_id": id, "request_id": "bye"}))
        .await;
    let (own, closed) = session.seeker_ws.drain_until_close().await;
    assert_eq!(closed, Closed::Code(1000));
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(is_timestamp(&own[0]["timestamp"]));
    assert_eq!(
        without(own[0].clone(), &["timestamp"]),
        json!({"type": "connection_cancelled", "session_id": id, "message": "Connection cancelled successfully", "request_id": "bye"})
    );
    assert_eq!(
        until_closed(&mut seeker_tablet).await,
        [
            json!({"type": "connection_cancelled", "session_id": id, "message": "Connection cancelled successfully"})
        ]
    );
    for ws in [&mut session.provider_ws, &mut provider_tablet] {
        assert_eq!(
            until_closed(ws).await,
            [
                json!({"type": "connection_cancelled", "session_id": id, "cancelled_by": "seeker", "message": "Seeker cancelled the connection"})
            ]
        );
    }

    let row = session_row(stack, id).await;
    assert_eq!(
        row.cancellation(),
        ("cancelled", Some("seeker"), "cancelled")
    );
    let cancelled_at = row.cancelled_at.expect("cancelled_at");
    let ended = (message, id, Role::Seeker, cancelled_at);
    let event = assert_end_seen(stack, ended, &mut cancelled).await;
    assert_eq!(event.kind, SessionEventKind::Cancelled);
    assert_eq!(
        on_the_market(stack, &session).await,
        (json!(true), json!(true))
    );

    let view = stack.snapshot(&session.provider, id).await;
    assert_eq!(
        (
            view["connection_state"].as_str(),
            view["cancelled_by"].as_str()
        ),
        (Some("cancelled"), Some("seeker"))
    );
    assert!(is_timestamp(&view["cancelled_at"]));
    for role in ["seeker", "provider"] {
        let user = if role == "seeker" {
            &session.seeker
        } else {
            &session.provider
        };
        let (status, _) = stack
            .get(user, &format!("/api/v1/sessions/active?role={role}"))
            .await;
        assert_eq!(status, 404);
    }
    // Ending twice: conflict, and nothing moves.
    let mut provider = stack.connect(&session.provider, Role::Provider).await;
    error_reply(
        &mut provider,
        json!({"type": "cancel_connection", "session_id": id, "request_id": "again"}),
        "conflict",
        NOT_OPEN,
    )
    .await;
    error_reply(
        &mut provider,
        json!({"type": "finish_service", "session_id": id, "request_id": "again2"}),
        "conflict",
        NOT_OPEN,
    )
    .await;
    assert_eq!(
        session_row(stack, id).await.cancelled_at,
        Some(cancelled_at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_cancels_a_waiting_session() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;
    session
        .provider_ws
        .send(json!({"type": "cancel_connection", "session_id": id}))
        .await;
    let own = until_closed(&mut session.provider_ws).await;
    assert_eq!(
        (own.len(), own[0]["message"].as_str()),
        (1, Some("Connection cancelled successfully"))
    );
    assert_eq!(
        until_closed(&mut session.seeker_ws).await,
        [
            json!({"type": "connection_cancelled", "session_id": id, "cancelled_by": "provider", "message": "Provider cancelled the connection"})
        ]
    );
    assert_eq!(
        session_row(stack, id).await.cancellation(),
        ("cancelled", Some("provider"), "cancelled")
    );
    assert_eq!(
        on_the_market(stack, &session).await,
        (json!(true), json!(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_finish_keeps_statuses_off_and_refuses_a_rating() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    let mut seeker_tablet = stack.connect(&session.seeker, Role::Seeker).await;
    let message = chat_row(stack, &session).await;
    let mut completed = stack
        .watch_session_events(SessionEventKind::Completed)
        .await;

    for (n, command) in [
        json!({"type": "finish_service", "session_id": id, "rating_stars": 5}),
        json!({"type": "finish_service", "session_id": id, "rating_description": "nice"}),
    ]
    .into_iter()
    .enumerate()
    {
        let mut command = command;
        command["request_id"] = json!(format!("rate-{n}"));
        session.provider_ws.send(command).await;
        let reply = session.provider_ws.recv_type("error").await;
        assert_eq!(reply["code"], "validation", "{reply}");
    }
    error_reply(
        &mut session.provider_ws,
        json!({"type": "finish_service", "request_id": "sid"}),
        "validation",
        "session_id is required",
    )
    .await;
    assert_eq!(session_row(stack, id).await.connection_state, "active");

    session
        .provider_ws
        .send(json!({"type": "finish_service", "session_id": id, "request_id": "done"}))
        .await;
    assert_eq!(
        until_closed(&mut session.provider_ws).await,
        [
            json!({"type": "service_finished", "session_id": id, "message": "Service marked as finished successfully", "request_id": "done"})
        ]
    );
    for ws in [&mut session.seeker_ws, &mut seeker_tablet] {
        assert_eq!(
            until_closed(ws).await,
            [
                json!({"type": "service_finished", "session_id": id, "finished_by": "provider", "message": "Provider marked the service as finished"})
            ]
        );
    }
    let row = session_row(stack, id).await;
    assert_eq!(
        (
            row.connection_state.as_str(),
            row.completed_by.as_deref(),
            row.status.as_str(),
            row.rating_stars
        ),
        ("completed", Some("provider"), "completed", None)
    );
    let completed_at = row.completed_at.expect("completed_at");
    let ended = (message, id, Role::Provider, completed_at);
    assert_end_seen(stack, ended, &mut completed).await;
    // Finishing does not put anyone back on the market.
    assert_eq!(
        on_the_market(stack, &session).await,
        (json!(false), json!(false))
    );
    let view = stack.snapshot(&session.seeker, id).await;
    assert_eq!(
        (
            view["connection_state"].as_str(),
            view["completed_by"].as_str()
        ),
        (Some("completed"), Some("provider"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeker_finish_with_rating_visible_to_the_seeker_only() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    for (n, (stars, description)) in [
        (json!(6), json!(null)),
        (json!(0), json!(null)),
        (json!(4.5), json!(null)),
        (json!("5"), json!(null)),
        (json!(4), json!("d".repeat(1001))),
        (json!(null), json!("text without stars")),
    ]
    .into_iter()
    .enumerate()
    {
        session
            .seeker_ws
            .send(json!({"type": "finish_service", "session_id": id, "rating_stars": stars, "rating_description": description, "request_id": format!("bad-{n}")}))
            .await;
        let reply = session.seeker_ws.recv_type("error").await;
        assert_eq!(
            (reply["code"].as_str(), reply["request_id"].as_str()),
            (Some("validation"), Some(format!("bad-{n}").as_str())),
            "{reply}"
        );
    }
    let row = session_row(stack, id).await;
    assert_eq!(
        (row.connection_state.as_str(), row.rating_stars),
        ("active", None)
    );

    session
        .seeker_ws
        .send(json!({"type": "finish_service", "session_id": id, "rating_stars": 4, "rating_description": "Quick and tidy"}))
        .await;
    let own = until_closed(&mut session.seeker_ws).await;
    assert_eq!(
        (own.len(), own[0]["message"].as_str()),
        (1, Some("Service marked as finished successfully"))
    );
    assert_eq!(
        until_closed(&mut session.provider_ws).await,
        [
            json!({"type": "service_finished", "session_id": id, "finished_by": "seeker", "message": "Seeker marked the service as finished"})
        ]
    );
    let seeker_view = stack.snapshot(&session.seeker, id).await;
    assert_eq!(
        (
            seeker_view["rating_stars"].clone(),
            seeker_view["rating_description"].clone()
        ),
        (json!(4), json!("Quick and tidy"))
    );
    assert!(is_timestamp(&seeker_view["rated_at"]));
    assert_eq!(seeker_view["completed_by"], "seeker");
    let provider_view = stack.snapshot(&session.provider, id).await;
    for key in ["rating_stars", "rating_description", "rated_at"] {
        assert!(
            provider_view.get(key).is_none(),
            "provider sees {key}: {provider_view}"
        );
    }
    assert!(!provider_view.to_string().contains("Quick and tidy"));

    // Rated once already.
    let path = format!("/api/v1/sessions/{id}/rating");
    let (status, body) = stack
        .http(
            Some(&session.seeker),
            "POST",
            &path,
            Some(json!({"rating_stars": 5})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"error": "Session has already been rated", "code": "conflict"})
        )
    );
    let (status, body) = stack
        .http(
            Some(&session.provider),
            "POST",
            &path,
            Some(json!({"rating_stars": 1})),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (403, json!("forbidden")));
    assert_eq!(session_row(stack, id).await.rating_stars, Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rating_endpoint_rules() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    let path = format!("/api/v1/sessions/{id}/rating");
    let rate = |user: &TestUser, body: Value| {
        let user = user.clone();
        let path = path.clone();
        async move { stack.http(Some(&user), "POST", &path, Some(body)).await }
    };

    // Not completed yet.
    assert_eq!(
        rate(&session.seeker, json!({"rating_stars": 5})).await,
        (
            409,
            json!({"error": "Only a completed session can be rated", "code": "conflict"})
        )
    );
    session
        .provider_ws
        .send(json!({"type": "finish_service", "session_id": id}))
        .await;
    session.provider_ws.drain_until_close().await;
    session.seeker_ws.drain_until_close().await;

    let stranger = stack.user();
    assert_eq!(
        rate(&stranger, json!({"rating_stars": 5})).await,
        (
            404,
            json!({"error": "Session not found", "code": "not_found"})
        )
    );
    let (status, body) = stack
        .http(
            Some(&session.seeker),
            "POST",
            "/api/v1/sessions/nope/rating",
            Some(json!({"rating_stars": 5})),
        )
        .await;
    assert_eq!((status, body["code"].clone()), (404, json!("not_found")));
    assert_eq!(
        rate(&session.provider, json!({"rating_stars": 5})).await,
        (
            403,
            json!({"error": "Only the seeker can rate a session", "code": "forbidden"})
        )
    );
    for bad in [
        json!({}),
        json!({"rating_stars": 0}),
        json!({"rating_stars": 6}),
        json!({"rating_stars": 3.5}),
        json!({"rating_stars": "4"}),
        json!({"rating_stars": 4, "rating_description": "x".repeat(1001)}),
        json!({"rating_stars": 4, "rating_description": 7}),
        json!({"rating_description": "no stars"}),
    ] {
        let (status, body) = rate(&session.seeker, bad.clone()).await;
        assert_eq!(
            (status, body["code"].clone()),
            (400, json!("validation")),
            "{bad} -> {body}"
        );
    }
    assert_eq!(session_row(stack, id).await.rating_stars, None);

    let (status, body) = rate(
        &session.seeker,
        json!({"rating_stars": 5, "rating_description": "Great"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(is_timestamp(&body["rated_at"]));
    assert_eq!(
        without(body, &["rated_at"]),
        json!({"session_id": id, "rating_stars": 5, "rating_description": "Great"})
    );
    assert_eq!(
        rate(&session.seeker, json!({"rating_stars": 1})).await,
        (
            409,
            json!({"error": "Session has already been rated", "code": "conflict"})
        )
    );
    let view = stack.snapshot(&session.seeker, id).await;
    assert_eq!(
        (
            view["rating_stars"].clone(),
            view["rating_description"].clone()
        ),
        (json!(5), json!("Great"))
    );
    assert!(
        stack
            .snapshot(&session.provider, id)
            .await
            .get("rating_stars")
            .is_none()
    );

    // More than 24 h after completion: too late. A cancelled session: never.
    let mut late = stack.active_session().await;
    late.seeker_ws
        .send(json!({"type": "finish_service", "session_id": late.session_id}))
        .await;
    late.seeker_ws.drain_until_close().await;
    late.provider_ws.drain_until_close().await;
    sqlx::query(
        "UPDATE work_sessions SET completed_at = now() - interval '25 hours' WHERE id = $1",
    )
    .bind(late.session_id)
    .execute(&stack.db)
    .await
    .expect("age completion");
    let (status, body) = stack
        .http(
            Some(&late.seeker),
            "POST",
            &format!("/api/v1/sessions/{}/rating", late.session_id),
            Some(json!({"rating_stars": 3})),
        )
        .await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("conflict")),
        "{body}"
    );
    assert_eq!(session_row(stack, late.session_id).await.rating_stars, None);

    let mut gone = stack.open_session().await;
    gone.seeker_ws
        .send(json!({"type": "cancel_connection", "session_id": gone.session_id}))
        .await;
    gone.seeker_ws.drain_until_close().await;
    let (status, body) = stack
        .http(
            Some(&gone.seeker),
            "POST",
            &format!("/api/v1/sessions/{}/rating", gone.session_id),
            Some(json!({"rating_stars": 3})),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"error": "Only a completed session can be rated", "code": "conflict"})
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_session_is_invisible() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    let stranger = stack.user();
    let not_found = json!({"error": "Session not found", "code": "not_found"});
    for path in [
        format!("/api/v1/sessions/{id}"),
        format!("/api/v1/sessions/{}", Uuid::new_v4()),
        "/api/v1/sessions/not-a-uuid".to_string(),
    ] {
        assert_eq!(
            stack.get(&stranger, &path).await,
            (404, not_found.clone()),
            "{path}"
        );
    }
    let (status, _) = stack
        .get(
            &stranger,
            &format!("/api/v1/work-orders/{}", session.work_id),
        )
        .await;
    assert_eq!(status, 404);

    for role in [Role::Seeker, Role::Provider] {
        let mut ws = stack.connect(&stranger, role).await;
        for (n, kind) in ["cancel_connection", "finish_service"]
            .into_iter()
            .enumerate()
        {
            error_reply(
                &mut ws,
                json!({"type": kind, "session_id": id, "request_id": format!("x{n}")}),
                "not_found",
                "Session not found",
            )
            .await;
        }
    }
    // The session's own provider, on the seeker endpoint, is not its seeker.
    let mut wrong_role = stack.connect(&session.provider, Role::Seeker).await;
    error_reply(
        &mut wrong_role,
        json!({"type": "cancel_connection", "session_id": id, "request_id": "r"}),
        "not_found",
        "Session not found",
    )
    .await;
    let (status, _) = stack
        .get(&session.provider, "/api/v1/sessions/active?role=seeker")
        .await;
    assert_eq!(status, 404);

    assert_eq!(session_row(stack, id).await.connection_state, "active");
    session.seeker_ws.expect_silence(SILENCE).await;
    session
        .provider_ws
        .expect_silence(Duration::from_millis(50))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_session_snapshot_follows_the_role() {
    let stack = Stack::shared().await;
    let session = stack.open_session().await;
    let (status, seeker_view) = stack
        .get(&session.seeker, "/api/v1/sessions/active?role=seeker")
        .await;
    assert_eq!(status, 200, "{seeker_view}");
    assert_eq!(
        (
            seeker_view["session_id"].clone(),
            seeker_view["role"].as_str()
        ),
        (json!(session.session_id), Some("seeker"))
    );
    assert_eq!(
        seeker_view,
        stack.snapshot(&session.seeker, session.session_id).await
    );
    let (status, provider_view) = stack
        .get(&session.provider, "/api/v1/sessions/active?role=provider")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            provider_view["work_id"].as_i64(),
            provider_view["role"].as_str()
        ),
        (Some(session.work_id), Some("provider"))
    );
    assert!(provider_view.get("rating_stars").is_none());
    let (status, _) = stack
        .get(&session.seeker, "/api/v1/sessions/active?role=provider")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_id_is_echoed_on_direct_answers_only() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;
    let rid = "r".repeat(64);
    session
        .provider_ws
        .send(json!({"type": "medium_share", "session_id": id, "mediums": {}, "request_id": rid}))
        .await;
    assert_eq!(
        session.provider_ws.recv_type("mediums_shared").await["request_id"],
        rid.as_str()
    );
    assert!(
        session
            .seeker_ws
            .recv_type("provider_mediums_shared")
            .await
            .get("request_id")
            .is_none()
    );
    error_reply(
        &mut session.seeker_ws,
        json!({"type": "cancel_connection", "request_id": "e-1"}),
        "validation",
        "session_id is required",
    )
    .await;
    // Without a request_id, answers carry none.
    session
        .seeker_ws
        .send(json!({"type": "cancel_connection"}))
        .await;
    let reply = session.seeker_ws.recv_type("error").await;
    assert!(reply.get("request_id").is_none(), "{reply}");
}
