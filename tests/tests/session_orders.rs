//! Work orders: creation rules, the assignment to the provider (live and re-sent on
//! connect), accepting and rejecting with their messages, status flips and errors.

use std::time::Duration;

use serde_json::{Value, json};
use tether_proto::events::SessionEventKind;
use tether_tests::events::session_event_for;
use tether_tests::geo::M_PER_DEG;
use tether_tests::timing::{EVENTUALLY, SILENCE};
use tether_tests::{Role, Stack, TestUser};
use uuid::Uuid;

fn order_body(provider: Uuid, latitude: f64, longitude: f64) -> Value {
    json!({"provider_id": provider, "service_type": "plumbing", "message": "Kitchen sink leaks", "latitude": latitude, "longitude": longitude})
}

async fn post_order(stack: &Stack, seeker: &TestUser, body: Value) -> (u16, Value) {
    stack
        .http(Some(seeker), "POST", "/api/v1/work-orders", Some(body))
        .await
}

async fn orders_of(stack: &Stack, seeker: &TestUser) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM work_orders WHERE seeker_id = $1")
        .bind(seeker.id)
        .fetch_one(&stack.db)
        .await
        .expect("count")
}

async fn order_row(stack: &Stack, work_id: i64) -> (String, Option<Uuid>, bool) {
    sqlx::query_as(
        "SELECT status, session_id, responded_at IS NOT NULL FROM work_orders WHERE id = $1",
    )
    .bind(work_id)
    .fetch_one(&stack.db)
    .await
    .expect("order row")
}

/// Makes an order older than the default 600 s TTL.
async fn age(stack: &Stack, work_id: i64) {
    sqlx::query("UPDATE work_orders SET created_at = now() - interval '11 minutes' WHERE id = $1")
        .bind(work_id)
        .execute(&stack.db)
        .await
        .expect("age order");
}

fn work_id(body: &Value) -> i64 {
    body["work_id"].as_i64().expect("work_id")
}

fn is_timestamp(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok())
}

async fn error_reply(
    ws: &mut tether_tests::WsClient,
    command: Value,
    code: &str,
    text: Option<&str>,
) {
    ws.send(command.clone()).await;
    let reply = ws.recv_type("error").await;
    assert_eq!(reply["code"], code, "{command} -> {reply}");
    if let Some(text) = text {
        assert_eq!(reply["error"], text, "{command} -> {reply}");
    }
    assert_eq!(reply["request_id"], command["request_id"], "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_validation_is_400_and_stores_nothing() {
    let stack = Stack::shared().await;
    let seeker = stack.user();
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let good = order_body(provider.id, 52.52, 13.405);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().expect("object").remove(field);
        body
    };
    for bad in [
        without("provider_id"),
        with("provider_id", json!("not-a-uuid")),
        with("provider_id", json!(42)),
        without("service_type"),
        with("service_type", json!("  ")),
        with("service_type", json!("x".repeat(65))),
        with("message", json!("m".repeat(1001))),
        without("latitude"),
        with("latitude", json!(-90.5)),
        with("longitude", json!(180.5)),
        with("longitude", json!("13.4")),
        json!([1, 2]),
    ] {
        let (status, body) = post_order(stack, &seeker, bad.clone()).await;
        assert_eq!(status, 400, "{bad} -> {body}");
        assert_eq!(body["code"], "validation", "{body}");
    }
    assert_eq!(orders_of(stack, &seeker).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_404_and_409_rules() {
    let stack = Stack::shared().await;
    let seeker = stack.user();

    // Unknown provider.
    let (status, body) = post_order(stack, &seeker, order_body(Uuid::new_v4(), 1.0, 1.0)).await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error": "Provider not found", "code": "not_found"})
        )
    );

    // Known user who never set a provider status.
    let never = stack.user();
    assert_eq!(stack.get(&never, "/api/v1/profile").await.0, 200);
    let (status, body) = post_order(stack, &seeker, order_body(never.id, 1.0, 1.0)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("conflict")),
        "{body}"
    );

    // Inactive provider.
    let inactive = stack.user();
    stack.make_active_provider(&inactive, 1.0, 1.0).await;
    let (status, _) = stack
        .http(
            Some(&inactive),
            "PUT",
            "/api/v1/provider/status",
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = post_order(stack, &seeker, order_body(inactive.id, 1.0, 1.0)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("conflict")),
        "{body}"
    );

    // Ordering from oneself.
    let (status, body) = post_order(stack, &inactive, order_body(inactive.id, 1.0, 1.0)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (409, json!("conflict")),
        "{body}"
    );
    assert_eq!(orders_of(stack, &seeker).await, 0);

    // A provider in a waiting session, and a seeker in one.
    let session = stack.open_session().await;
    let busy_provider = &session.provider;
    // The accept turned the provider inactive; make them active again to isolate the rule.
    stack.make_active_provider(busy_provider, 52.5, 13.4).await;
    let (status, body) = post_order(stack, &seeker, order_body(busy_provider.id, 1.0, 1.0)).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"error": "Provider already has a waiting or active session", "code": "conflict"})
        )
    );
    let free = stack.user();
    stack.make_active_provider(&free, 52.5, 13.4).await;
    let (status, body) = post_order(stack, &session.seeker, order_body(free.id, 1.0, 1.0)).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"error": "Seeker already has a waiting or active session", "code": "conflict"})
        )
    );
    assert_eq!(orders_of(stack, &seeker).await, 0);
    assert_eq!(orders_of(stack, &session.seeker).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_assigned_carries_seeker_details_and_distance_to_every_device() {
    let stack = Stack::shared().await;
    let seeker = stack.user();
    let provider = stack.user();
    let (status, _) = stack
        .http(
            Some(&seeker),
            "PUT",
            "/api/v1/profile",
            Some(json!({"display_name": "Grace", "mobile": "+4915100000001", "profile_pic_url": "https://img.example.com/g.png"})),
        )
        .await;
    assert_eq!(status, 200);
    let (lat, lon) = (10.0, 20.0);
    stack.make_active_provider(&provider, lat, lon).await;
    let mut phone = stack.connect(&provider, Role::Provider).await;
    let mut tablet = stack.connect(&provider, Role::Provider).await;
    let mut seeker_ws = stack.connect(&seeker, Role::Seeker).await;

    let (status, created) = post_order(
        stack,
        &seeker,
        order_body(provider.id, lat + 2500.0 / M_PER_DEG, lon),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = work_id(&created);
    assert_eq!(created["status"], "pending");
    assert!(is_timestamp(&created["created_at"]));
    assert_eq!(created.as_object().map(|o| o.len()), Some(3), "{created}");

    for ws in [&mut phone, &mut tablet] {
        let mut assigned = ws.recv_type("work_assigned").await;
        assert!(is_timestamp(&assigned["timestamp"]));
        assigned
            .as_object_mut()
            .expect("object")
            .remove("timestamp");
        assert_eq!(
            assigned,
            json!({
                "type": "work_assigned", "work_id": id, "seeker_name": "Grace",
                "seeker_mobile": "+4915100000001", "service_type": "plumbing",
                "distance": "2.5 km", "message": "Kitchen sink leaks",
                "seeker_profile_pic": "https://img.example.com/g.png",
                "created_at": created["created_at"],
            })
        );
    }
    // Metres below 1 km, coarse: 430 m is shown as the nearest 100 m.
    let (status, near) = post_order(
        stack,
        &seeker,
        order_body(provider.id, lat + 430.0 / M_PER_DEG, lon),
    )
    .await;
    assert_eq!(status, 201);
    let assigned = phone.recv_type("work_assigned").await;
    assert_eq!(
        (assigned["work_id"].clone(), assigned["distance"].clone()),
        (near["work_id"].clone(), json!("400 meters"))
    );
    tablet.recv_type("work_assigned").await;
    seeker_ws.expect_silence(SILENCE).await;

    // The order as its parties see it; nobody else sees it.
    let expected = json!({
        "work_id": id, "seeker_id": seeker.id, "provider_id": provider.id,
        "service_type": "plumbing", "message": "Kitchen sink leaks", "status": "pending",
        "session_id": null, "created_at": created["created_at"], "responded_at": null,
    });
    for user in [&seeker, &provider] {
        assert_eq!(
            stack.get(user, &format!("/api/v1/work-orders/{id}")).await,
            (200, expected.clone())
        );
    }
    let stranger = stack.user();
    for path in [
        format!("/api/v1/work-orders/{id}"),
        "/api/v1/work-orders/abc".to_string(),
        "/api/v1/work-orders/999999999999".to_string(),
    ] {
        let (status, body) = stack.get(&stranger, &path).await;
        assert_eq!(
            (status, body),
            (
                404,
                json!({"error": "Work order not found", "code": "not_found"})
            ),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_orders_are_resent_on_connect_oldest_first() {
    let stack = Stack::shared().await;
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut ids = Vec::new();
    let mut seekers = Vec::new();
    for _ in 0..3 {
        let seeker = stack.user();
        let (status, body) =
            post_order(stack, &seeker, order_body(provider.id, 52.52, 13.405)).await;
        assert_eq!(status, 201);
        ids.push(work_id(&body));
        seekers.push(seeker);
    }
    // The third is past the TTL: no longer offered.
    age(stack, ids[2]).await;

    let mut first = stack.connect(&provider, Role::Provider).await;
    let a = first.recv_type("work_assigned").await;
    let b = first.recv_type("work_assigned").await;
    assert_eq!(
        (a["work_id"].as_i64(), b["work_id"].as_i64()),
        (Some(ids[0]), Some(ids[1]))
    );
    assert_eq!(a["seeker_name"], seekers[0].name.as_str());
    assert_eq!(a["distance"], "2.2 km");
    assert!(a.get("request_id").is_none());
    first.expect_silence(SILENCE).await;

    // Rejecting the second: a device connecting later gets only the first, and the
    // device already connected gets nothing more.
    first
        .send(json!({"type": "work_response", "work_id": ids[1], "accepted": false}))
        .await;
    first.recv_type("work_rejected").await;
    let mut second = stack.connect(&provider, Role::Provider).await;
    let again = second.recv_type("work_assigned").await;
    assert_eq!(again["work_id"].as_i64(), Some(ids[0]));
    second.expect_silence(SILENCE).await;
    first.expect_silence(Duration::from_millis(50)).await;

    // The seeker endpoint never gets assignments.
    let mut seeker_as_provider_user = stack.connect(&provider, Role::Seeker).await;
    seeker_as_provider_user.expect_silence(SILENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_opens_a_waiting_session_and_takes_both_off_the_market() {
    let stack = Stack::shared().await;
    let seeker = stack.user();
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let (status, _) = stack
        .http(
            Some(&seeker),
            "PUT",
            "/api/v1/seeker/search",
            Some(json!({"is_searching": true})),
        )
        .await;
    assert_eq!(status, 200);
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    let mut provider_tablet = stack.connect(&provider, Role::Provider).await;
    let mut seeker_ws = stack.connect(&seeker, Role::Seeker).await;
    let (_, created) = post_order(stack, &seeker, order_body(provider.id, 52.52, 13.405)).await;
    let id = work_id(&created);
    provider_ws.recv_type("work_assigned").await;
    provider_tablet.recv_type("work_assigned").await;

    let mut events = stack.watch_session_events(SessionEventKind::Accepted).await;
    provider_ws
        .send(json!({"type": "work_response", "work_id": id, "accepted": true, "request_id": "acc-1"}))
        .await;
    let mut own = provider_ws.recv_type("work_accepted").await;
    let session_id = own["session_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .expect("session_id");
    assert!(is_timestamp(&own["timestamp"]));
    own.as_object_mut().expect("object").remove("timestamp");
    assert_eq!(
        own,
        json!({"type": "work_accepted", "work_id": id, "session_id": session_id, "connection_state": "waiting",
               "message": "Work accepted. Waiting for seeker to select communication mediums.", "request_id": "acc-1"})
    );
    let mut copy = provider_tablet.recv_type("work_accepted").await;
    copy.as_object_mut().expect("object").remove("timestamp");
    own.as_object_mut().expect("object").remove("request_id");
    assert_eq!(copy, own);
    let mut told = seeker_ws.recv_type("work_accepted").await;
    told.as_object_mut().expect("object").remove("timestamp");
    assert_eq!(
        told,
        json!({"type": "work_accepted", "work_id": id, "session_id": session_id, "connection_state": "waiting",
               "message": "Provider accepted your request"})
    );

    let event = session_event_for(&mut events, session_id, EVENTUALLY)
        .await
        .expect("no session event");
    assert_eq!(
        (
            event.kind,
            event.work_id,
            event.seeker_id,
            event.provider_id,
            event.by
        ),
        (SessionEventKind::Accepted, id, seeker.id, provider.id, None)
    );

    assert_eq!(
        order_row(stack, id).await,
        ("accepted".into(), Some(session_id), true)
    );
    let (state, s_id, p_id): (String, Uuid, Uuid) = sqlx::query_as(
        "SELECT connection_state, seeker_id, provider_id FROM work_sessions WHERE id = $1 AND work_id = $2",
    )
    .bind(session_id)
    .bind(id)
    .fetch_one(&stack.db)
    .await
    .expect("session row");
    assert_eq!(
        (state.as_str(), s_id, p_id),
        ("waiting", seeker.id, provider.id)
    );
    let (_, status) = stack.get(&provider, "/api/v1/provider/status").await;
    assert_eq!(status["is_active"], false);
    assert_eq!(
        status["service_types"],
        json!(["plumbing"]),
        "other fields kept"
    );
    let (_, search) = stack.get(&seeker, "/api/v1/seeker/search").await;
    assert_eq!(search["is_searching"], false);
    let (_, order) = stack
        .get(&seeker, &format!("/api/v1/work-orders/{id}"))
        .await;
    assert_eq!(
        (order["status"].clone(), order["session_id"].clone()),
        (json!("accepted"), json!(session_id))
    );
    assert!(is_timestamp(&order["responded_at"]));

    // Answering again: conflict either way.
    for accepted in [true, false] {
        error_reply(
            &mut provider_ws,
            json!({"type": "work_response", "work_id": id, "accepted": accepted, "request_id": "again"}),
            "conflict",
            None,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_tells_the_seeker_who_declined() {
    let stack = Stack::shared().await;
    let seeker = stack.user();
    let provider = stack.user();
    let (status, _) = stack
        .http(
            Some(&provider),
            "PUT",
            "/api/v1/profile",
            Some(json!({"display_name": "Bob the Plumber", "mobile": "+15550002222"})),
        )
        .await;
    assert_eq!(status, 200);
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    let mut seeker_ws = stack.connect(&seeker, Role::Seeker).await;
    let (_, created) = post_order(stack, &seeker, order_body(provider.id, 52.52, 13.405)).await;
    let id = work_id(&created);
    provider_ws.recv_type("work_assigned").await;

    provider_ws
        .send(
            json!({"type": "work_response", "work_id": id, "accepted": false, "request_id": "no"}),
        )
        .await;
    let own = provider_ws.recv_type("work_rejected").await;
    assert!(is_timestamp(&own["timestamp"]));
    assert_eq!(own.as_object().map(|o| o.len()), Some(4), "{own}");
    assert_eq!(
        (own["work_id"].as_i64(), own["request_id"].as_str()),
        (Some(id), Some("no"))
    );
    let told = seeker_ws.recv_type("work_response").await;
    assert!(is_timestamp(&told["response_time"]));
    let mut told_rest = told.clone();
    told_rest
        .as_object_mut()
        .expect("object")
        .remove("response_time");
    assert_eq!(
        told_rest,
        json!({"type": "work_response", "work_id": id, "accepted": false, "provider_name": "Bob the Plumber",
               "provider_mobile": "+15550002222", "service_type": "plumbing"})
    );

    let (status, _, responded) = order_row(stack, id).await;
    assert_eq!((status.as_str(), responded), ("rejected", true));
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM work_sessions WHERE work_id = $1")
        .bind(id)
        .fetch_one(&stack.db)
        .await
        .expect("count");
    assert_eq!(sessions, 0);
    // Rejecting changes no status.
    let (_, status) = stack.get(&provider, "/api/v1/provider/status").await;
    assert_eq!(status["is_active"], true);
    for accepted in [true, false] {
        error_reply(
            &mut provider_ws,
            json!({"type": "work_response", "work_id": id, "accepted": accepted, "request_id": "late"}),
            "conflict",
            None,
        )
        .await;
    }
    seeker_ws.expect_silence(SILENCE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_response_errors() {
    let stack = Stack::shared().await;
    let provider = stack.user();
    let other_provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    stack
        .make_active_provider(&other_provider, 52.5, 13.4)
        .await;
    let seeker_a = stack.user();
    let seeker_b = stack.user();
    let (_, a) = post_order(stack, &seeker_a, order_body(provider.id, 52.52, 13.405)).await;
    let (_, b) = post_order(stack, &seeker_b, order_body(provider.id, 52.52, 13.405)).await;
    let (_, theirs) = post_order(
        stack,
        &seeker_a,
        order_body(other_provider.id, 52.52, 13.405),
    )
    .await;
    let (_, old) = post_order(
        stack,
        &seeker_b,
        order_body(other_provider.id, 52.52, 13.405),
    )
    .await;
    let (a, b, theirs, old) = (work_id(&a), work_id(&b), work_id(&theirs), work_id(&old));

    let mut ws = stack.connect(&provider, Role::Provider).await;
    ws.recv_type("work_assigned").await;
    ws.recv_type("work_assigned").await;
    error_reply(
        &mut ws,
        json!({"type": "work_response", "accepted": true, "request_id": "1"}),
        "validation",
        Some("work_id is required"),
    )
    .await;
    error_reply(
        &mut ws,
        json!({"type": "work_response", "work_id": a, "request_id": "2"}),
        "validation",
        Some("accepted is required"),
    )
    .await;
    error_reply(&mut ws, json!({"type": "work_response", "work_id": 999_999_999_999i64, "accepted": true, "request_id": "3"}), "not_found", Some("Work order not found")).await;
    // Someone else's order looks exactly like an unknown one.
    error_reply(
        &mut ws,
        json!({"type": "work_response", "work_id": theirs, "accepted": true, "request_id": "4"}),
        "not_found",
        Some("Work order not found"),
    )
    .await;
    error_reply(
        &mut ws,
        json!({"type": "work_response", "work_id": theirs, "accepted": false, "request_id": "5"}),
        "not_found",
        Some("Work order not found"),
    )
    .await;
    assert_eq!(order_row(stack, theirs).await.0, "pending");

    // Past the TTL: conflict, and the order is left for the expiry job.
    let mut other_ws = stack.connect(&other_provider, Role::Provider).await;
    other_ws.recv_type("work_assigned").await;
    other_ws.recv_type("work_assigned").await;
    age(stack, old).await;
    for accepted in [true, false] {
        error_reply(&mut other_ws, json!({"type": "work_response", "work_id": old, "accepted": accepted, "request_id": "6"}), "conflict", Some("Work order has expired")).await;
    }
    assert_eq!(order_row(stack, old).await, ("pending".into(), None, false));

    // The provider accepts A; B then meets "provider already in a session".
    ws.send(json!({"type": "work_response", "work_id": a, "accepted": true}))
        .await;
    ws.recv_type("work_accepted").await;
    error_reply(
        &mut ws,
        json!({"type": "work_response", "work_id": b, "accepted": true, "request_id": "7"}),
        "conflict",
        Some("Provider already has a waiting or active session"),
    )
    .await;
    assert_eq!(order_row(stack, b).await, ("pending".into(), None, false));

    // Seeker A is now in a session: the other provider cannot open a second one for them.
    error_reply(
        &mut other_ws,
        json!({"type": "work_response", "work_id": theirs, "accepted": true, "request_id": "8"}),
        "conflict",
        Some("Seeker already has a waiting or active session"),
    )
    .await;
    assert_eq!(
        order_row(stack, theirs).await,
        ("pending".into(), None, false)
    );
    let (_, status) = stack.get(&other_provider, "/api/v1/provider/status").await;
    assert_eq!(
        status["is_active"], true,
        "a refused accept changed the status"
    );

    // The seeker endpoint does not take work_response (the edge's answer).
    let mut seeker_ws = stack.connect(&seeker_a, Role::Seeker).await;
    error_reply(
        &mut seeker_ws,
        json!({"type": "work_response", "work_id": b, "accepted": true, "request_id": "9"}),
        "unknown_type",
        None,
    )
    .await;
}
