//! Protocol 1.2 over real sockets: the adaptive location cadence (bands, hysteresis both
//! ways, `arrived` final, `location_cadence` on activation, on connect and in the
//! snapshot) and plausible fixes (`TETHER_MAX_SPEED_MPS`: too-fast fixes ignored and
//! counted, two agreeing fixes accepted, a first fix never implausible).
//!
//! The shared stack runs with the plausibility check off (its parties teleport); the
//! plausibility tests start a stack of their own with the default limit, 70 m/s.

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::geo;
use tether_tests::timing::eventually;
use tether_tests::{OpenSession, Role, Stack, StackOptions, WsClient};
use uuid::Uuid;

const BASE_LAT: f64 = 47.1;
const BASE_LON: f64 = 8.3;

fn north(metres: f64) -> f64 {
    geo::north(BASE_LAT, metres)
}

/// Sends a precise fix of `role` at `metres` north of the base.
async fn fix(session: &mut OpenSession, role: Role, metres: f64) {
    let message = json!({"type": "location_update", "session_id": session.session_id,
        "latitude": north(metres), "longitude": BASE_LON});
    session.ws(role).send(message).await;
}

/// Both parties' next message is a `distance_update` of `meters`.
async fn expect_distance(session: &mut OpenSession, meters: f64) {
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let update = ws.recv_type("distance_update").await;
        assert_eq!(update["distance_meters"], json!(meters), "{update}");
    }
}

/// Both parties' next message is `arrival_update` for `stage`.
async fn expect_arrival(session: &mut OpenSession, stage: &str) {
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let arrival = ws.recv_type("arrival_update").await;
        assert_eq!(arrival["stage"], stage, "{arrival}");
    }
}

/// The contract's advice for `band`: `(interval_s, min_move_m)`.
fn advice(band: &str) -> (u64, u64) {
    match band {
        "far" => (60, 200),
        "near" => (15, 50),
        "close" => (5, 10),
        "arrived" => (0, 0),
        other => panic!("no band {other}"),
    }
}

/// `message` is exactly a `location_cadence` of `band` for `session_id`.
fn assert_cadence(message: &Value, session_id: Uuid, band: &str) {
    let (interval_s, min_move_m) = advice(band);
    assert_eq!(message["type"], "location_cadence", "{message}");
    assert_eq!(message["session_id"], json!(session_id), "{message}");
    assert_eq!(message["band"], band, "{message}");
    assert_eq!(message["interval_s"], json!(interval_s), "{message}");
    assert_eq!(message["min_move_m"], json!(min_move_m), "{message}");
    assert!(message["timestamp"].is_string(), "{message}");
    assert_eq!(message.as_object().map(|o| o.len()), Some(6), "{message}");
}

/// Both parties' next message is `location_cadence` of `band`.
async fn expect_cadence(session: &mut OpenSession, band: &str) {
    let id = session.session_id;
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let message = ws.recv_type("location_cadence").await;
        assert_cadence(&message, id, band);
    }
}

/// The first `location_cadence` set aside by `ws` (which does not see cadence frames),
/// waiting for it ([`eventually`]); nothing else may arrive meanwhile.
async fn set_aside_cadence(ws: &mut WsClient) -> Value {
    eventually("a location_cadence set aside", async || {
        if ws.cadence.is_empty() {
            let got = ws.recv_for(Duration::from_millis(100)).await;
            assert!(got.is_empty(), "unexpected: {got:?}");
        }
        ws.cadence.first().cloned()
    })
    .await;
    ws.cadence.remove(0)
}

/// An active session whose parties got `location_cadence: near` on activation (no
/// position known) and from now on see cadence frames in order.
async fn active_session_with_cadence(stack: &Stack) -> OpenSession {
    let mut session = stack.active_session().await;
    let id = session.session_id;
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let cadence = set_aside_cadence(ws).await;
        assert_cadence(&cadence, id, "near");
        assert!(ws.cadence.is_empty(), "once: {:?}", ws.cadence);
        ws.see_cadence = true;
    }
    session
}

#[tokio::test]
async fn far_and_near_bands_change_with_hysteresis_both_ways() {
    let stack = Stack::shared().await;
    let mut session = active_session_with_cadence(stack).await;
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 3000.0).await;
    expect_distance(&mut session, 3000.0).await;
    session.expect_both_silent().await;
    // Past 5,000 m but within 20 %: still near.
    fix(&mut session, Role::Provider, 5900.0).await;
    expect_distance(&mut session, 5900.0).await;
    session.expect_both_silent().await;
    // Past 6,000 m: far, right after the distance.
    fix(&mut session, Role::Provider, 6100.0).await;
    expect_distance(&mut session, 6100.0).await;
    expect_cadence(&mut session, "far").await;
    session.expect_both_silent().await;
    // Back under 6,000 m but over 5,000 m: still far.
    fix(&mut session, Role::Provider, 5100.0).await;
    expect_distance(&mut session, 5100.0).await;
    session.expect_both_silent().await;
    // Reaching 5,000 m: near at once.
    fix(&mut session, Role::Provider, 4999.0).await;
    expect_distance(&mut session, 4999.0).await;
    expect_cadence(&mut session, "near").await;
    // Jitter back over the bound does not flap.
    fix(&mut session, Role::Provider, 5500.0).await;
    expect_distance(&mut session, 5500.0).await;
    session.expect_both_silent().await;
    let snap = stack.snapshot(&session.seeker, session.session_id).await;
    assert_eq!(
        snap["location_cadence"],
        json!({"band": "near", "interval_s": 15, "min_move_m": 50}),
        "{snap}"
    );
}

#[tokio::test]
async fn close_band_has_hysteresis_and_arrived_is_final() {
    let stack = Stack::shared().await;
    let mut session = active_session_with_cadence(stack).await;
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 1000.0).await;
    expect_distance(&mut session, 1000.0).await;
    session.expect_both_silent().await;
    // Reaching 500 m: the stage, then the band, after the distance.
    fix(&mut session, Role::Provider, 499.0).await;
    expect_distance(&mut session, 499.0).await;
    expect_arrival(&mut session, "approaching_500").await;
    expect_cadence(&mut session, "close").await;
    session.expect_both_silent().await;
    // Within 20 % past 500 m: still close; past 600 m: near.
    fix(&mut session, Role::Provider, 560.0).await;
    expect_distance(&mut session, 560.0).await;
    session.expect_both_silent().await;
    fix(&mut session, Role::Provider, 620.0).await;
    expect_distance(&mut session, 620.0).await;
    expect_cadence(&mut session, "near").await;
    fix(&mut session, Role::Provider, 540.0).await;
    expect_distance(&mut session, 540.0).await;
    session.expect_both_silent().await;
    fix(&mut session, Role::Provider, 480.0).await;
    expect_distance(&mut session, 480.0).await;
    expect_cadence(&mut session, "close").await;
    session.expect_both_silent().await;
    // Arrived: stop sending, and for good.
    fix(&mut session, Role::Provider, 30.0).await;
    expect_distance(&mut session, 30.0).await;
    expect_arrival(&mut session, "arrived").await;
    expect_cadence(&mut session, "arrived").await;
    fix(&mut session, Role::Provider, 7000.0).await;
    expect_distance(&mut session, 7000.0).await;
    session.expect_both_silent().await;
    let snap = stack.snapshot(&session.provider, session.session_id).await;
    assert_eq!(
        snap["location_cadence"],
        json!({"band": "arrived", "interval_s": 0, "min_move_m": 0}),
        "{snap}"
    );
}

#[tokio::test]
async fn activation_with_both_positions_known_sends_the_band_of_that_distance() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    session.seeker_ws.see_cadence = true;
    session.provider_ws.see_cadence = true;
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 300.0).await;
    session.expect_both_silent().await;
    session.activate().await;
    expect_distance(&mut session, 300.0).await;
    expect_arrival(&mut session, "approaching_500").await;
    expect_cadence(&mut session, "close").await;
    session.expect_both_silent().await;
}

#[tokio::test]
async fn a_new_socket_gets_the_current_cadence_once_while_active() {
    let stack = Stack::shared().await;
    // Waiting: a new socket gets its peer_status and no cadence.
    let mut session = stack.open_session().await;
    let mut phone = stack.connect(&session.seeker, Role::Seeker).await;
    phone.see_cadence = true;
    eventually("a peer_status set aside", async || {
        if phone.presence.is_empty() {
            let got = phone.recv_for(Duration::from_millis(100)).await;
            assert!(got.is_empty(), "unexpected: {got:?}");
        }
        !phone.presence.is_empty()
    })
    .await;
    phone.expect_silence(Duration::from_millis(600)).await;
    phone.close().await;

    // Active and close: a new socket of either party gets `close`, once.
    session.activate().await;
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        set_aside_cadence(ws).await;
    }
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 200.0).await;
    expect_distance(&mut session, 200.0).await;
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        ws.recv_type("arrival_update").await;
        assert_cadence(&set_aside_cadence(ws).await, session.session_id, "close");
    }
    for (user, role) in [
        (&session.seeker, Role::Seeker),
        (&session.provider, Role::Provider),
    ] {
        let mut ws = stack.connect(user, role).await;
        ws.see_cadence = true;
        let cadence = ws.recv_type("location_cadence").await;
        assert_cadence(&cadence, session.session_id, "close");
        assert_eq!(ws.presence.len(), 1, "after its peer_status");
        ws.expect_silence(Duration::from_millis(600)).await;
        ws.close().await;
    }
    // The sockets already open hear nothing about it.
    session.expect_both_silent().await;
}

#[tokio::test]
async fn the_snapshot_carries_the_cadence_only_while_active() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let snap = stack.snapshot(&session.seeker, session.session_id).await;
    assert!(snap.get("location_cadence").is_some(), "{snap}");
    assert_eq!(snap["location_cadence"], Value::Null, "waiting: {snap}");
    session.activate().await;
    let near = json!({"band": "near", "interval_s": 15, "min_move_m": 50});
    for user in [&session.seeker, &session.provider] {
        assert_eq!(
            stack.snapshot(user, session.session_id).await["location_cadence"],
            near
        );
    }
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 8000.0).await;
    expect_distance(&mut session, 8000.0).await;
    let snap = stack.snapshot(&session.seeker, session.session_id).await;
    assert_eq!(
        snap["location_cadence"],
        json!({"band": "far", "interval_s": 60, "min_move_m": 200}),
        "{snap}"
    );
    session
        .seeker_ws
        .send(json!({"type": "finish_service", "session_id": session.session_id}))
        .await;
    session.seeker_ws.recv_type("service_finished").await;
    let snap = stack.snapshot(&session.seeker, session.session_id).await;
    assert_eq!(snap["connection_state"], "completed", "{snap}");
    assert_eq!(snap["location_cadence"], Value::Null, "ended: {snap}");
}

/// A stack of its own with the contract's default speed limit, 70 m/s.
async fn plausibility_stack() -> Stack {
    let mut options = StackOptions {
        session_instances: 1,
        chat_instances: 1,
        location_instances: 2,
        cleanup_instances: 0,
        ..StackOptions::default()
    };
    options.location.max_speed_mps = 70.0;
    Stack::start(options).await
}

/// The implausible-fix counter as the metrics endpoint shows it (0 before the first).
async fn implausible_count(stack: &Stack) -> f64 {
    let metrics = stack.metrics_text().await;
    metrics
        .lines()
        .filter(|line| {
            line.strip_prefix("tether_location_fixes_implausible_total")
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The provider's stored latitude and remembered implausible latitude, once
/// `provider_seen_at` is later than `after` (the fix was handled).
async fn provider_row(
    stack: &Stack,
    session_id: Uuid,
    after: Option<chrono::DateTime<chrono::Utc>>,
) -> (
    Option<f64>,
    Option<f64>,
    Option<chrono::DateTime<chrono::Utc>>,
) {
    eventually("the provider's fix handled", async || {
        let row: (
            Option<f64>,
            Option<f64>,
            Option<chrono::DateTime<chrono::Utc>>,
        ) = sqlx::query_as(
            "SELECT provider_latitude, provider_implausible_latitude, provider_seen_at
                 FROM session_positions WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_one(&stack.db)
        .await
        .expect("row");
        (row.2.is_some() && row.2 > after).then_some(row)
    })
    .await
}

fn assert_close_to(latitude: Option<f64>, metres: f64) {
    let latitude = latitude.expect("a latitude");
    assert!(
        (latitude - north(metres)).abs() < 1e-9,
        "{latitude} is not {metres} m north"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_too_fast_from_the_stored_one_is_ignored_without_error_and_counted() {
    let stack = plausibility_stack().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 1000.0).await;
    expect_distance(&mut session, 1000.0).await;
    let (_, _, seen) = provider_row(&stack, id, None).await;
    let before = implausible_count(&stack).await;

    // 4 km within a second or so: far above 70 m/s. Nothing to anyone, no error.
    fix(&mut session, Role::Provider, 5000.0).await;
    session.expect_both_silent().await;
    let (stored, remembered, seen) = provider_row(&stack, id, seen).await;
    assert_close_to(stored, 1000.0);
    assert_close_to(remembered, 5000.0);
    assert!(
        implausible_count(&stack).await >= before + 1.0,
        "counted in tether_location_fixes_implausible_total"
    );
    let snap = stack.snapshot(&session.seeker, id).await;
    assert_eq!(snap["current_distance_meters"], json!(1000.0), "{snap}");
    assert_eq!(snap["arrival_stage"], Value::Null, "{snap}");

    // A real move (60 m) is stored as usual and forgets the implausible fix.
    fix(&mut session, Role::Provider, 940.0).await;
    expect_distance(&mut session, 940.0).await;
    let (stored, remembered, _) = provider_row(&stack, id, seen).await;
    assert_close_to(stored, 940.0);
    assert_eq!(remembered, None);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_fixes_are_never_implausible_and_two_agreeing_fixes_are_accepted() {
    let stack = plausibility_stack().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    // First fixes, 100 km apart: both stored.
    fix(&mut session, Role::Seeker, 0.0).await;
    fix(&mut session, Role::Provider, 100_000.0).await;
    expect_distance(&mut session, 100_000.0).await;
    let (_, _, seen) = provider_row(&stack, id, None).await;
    let before = implausible_count(&stack).await;

    // A jump of 80 km: implausible. Another of 20 km from it: implausible too (the
    // memory is the previous precise fix only).
    fix(&mut session, Role::Provider, 20_000.0).await;
    session.expect_both_silent().await;
    let (_, remembered, seen) = provider_row(&stack, id, seen).await;
    assert_close_to(remembered, 20_000.0);
    fix(&mut session, Role::Provider, 40_000.0).await;
    session.expect_both_silent().await;
    let (stored, remembered, seen) = provider_row(&stack, id, seen).await;
    assert_close_to(stored, 100_000.0);
    assert_close_to(remembered, 40_000.0);
    assert!(implausible_count(&stack).await >= before + 2.0);

    // Within 100 m of the previous (implausible) fix: the two agree, it is a real move.
    fix(&mut session, Role::Provider, 40_080.0).await;
    expect_distance(&mut session, 40_080.0).await;
    let (stored, remembered, _) = provider_row(&stack, id, seen).await;
    assert_close_to(stored, 40_080.0);
    assert_eq!(remembered, None, "cleared when a fix is stored");
    let snap = stack.snapshot(&session.provider, id).await;
    assert_eq!(snap["current_distance_meters"], json!(40_080.0), "{snap}");
    stack.stop().await;
}
