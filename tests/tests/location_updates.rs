//! location_update over real sockets: validation, parties and states, the active-only and
//! 50 m rules, activation-time distance, exact formatting and the stored row (table
//! `session_positions`), in-order batches, two instances, and HOT updates.

use std::num::NonZeroU64;
use std::time::Duration;

use serde_json::{Value, json};
use tether_proto::distance::{Point, distance_meters, format_away, haversine_m};
use tether_tests::geo::north;
use tether_tests::timing::eventually;
use tether_tests::{OpenSession, Role, Stack};
use uuid::Uuid;

fn location(session_id: Uuid, latitude: f64, longitude: f64) -> Value {
    json!({"type": "location_update", "session_id": session_id, "latitude": latitude, "longitude": longitude})
}

/// Sends a location from `role` in `session` (no direct answer on success).
async fn move_to(session: &mut OpenSession, role: Role, latitude: f64, longitude: f64) {
    let message = location(session.session_id, latitude, longitude);
    session.ws(role).send(message).await;
}

/// Both parties' next message must be this distance update; returns it.
async fn expect_distance(session: &mut OpenSession, meters: f64, formatted: &str) -> Value {
    let seeker = session.seeker_ws.recv_type("distance_update").await;
    let provider = session.provider_ws.recv_type("distance_update").await;
    for update in [&seeker, &provider] {
        assert_eq!(update["session_id"], json!(session.session_id), "{update}");
        assert_eq!(update["distance_meters"], json!(meters), "{update}");
        assert_eq!(update["distance_formatted"], formatted, "{update}");
        assert!(
            update["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{update}"
        );
        assert!(
            update.get("request_id").is_none(),
            "never a direct answer: {update}"
        );
        let keys: Vec<&str> = update
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys.len(),
            7,
            "exact fields (v1.1 trend, eta_seconds): {update}"
        );
    }
    seeker
}

/// Both parties' next message is the v1.1 `arrival_update` of `stage`.
async fn expect_arrival(session: &mut OpenSession, stage: &str) {
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let arrival = ws.recv_type("arrival_update").await;
        assert_eq!(arrival["stage"], stage, "{arrival}");
    }
}

#[derive(Debug, sqlx::FromRow)]
struct LocationRow {
    seeker_latitude: Option<f64>,
    seeker_longitude: Option<f64>,
    provider_latitude: Option<f64>,
    provider_longitude: Option<f64>,
    seeker_location_at: Option<chrono::DateTime<chrono::Utc>>,
    provider_location_at: Option<chrono::DateTime<chrono::Utc>>,
    seeker_anchor_latitude: Option<f64>,
    provider_anchor_latitude: Option<f64>,
    current_distance_meters: Option<f64>,
    last_distance_update: Option<chrono::DateTime<chrono::Utc>>,
}

async fn location_row(stack: &Stack, session_id: Uuid) -> LocationRow {
    stack
        .row(
            "SELECT p.seeker_latitude, p.seeker_longitude, p.provider_latitude,
                    p.provider_longitude, p.seeker_location_at, p.provider_location_at,
                    p.seeker_anchor_latitude, p.provider_anchor_latitude,
                    p.current_distance_meters, p.last_distance_update
             FROM work_sessions w LEFT JOIN session_positions p ON p.session_id = w.id
             WHERE w.id = $1",
            session_id,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_updates_get_exact_errors_and_change_nothing() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let ws = &mut session.seeker_ws;

    let cases = [
        (
            json!({"type": "location_update", "latitude": 1.0, "longitude": 2.0, "request_id": "r1"}),
            "validation",
            Some("session_id is required"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "longitude": 2.0, "request_id": "r2"}),
            "validation",
            Some("latitude is required"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": 2.0, "request_id": "r3"}),
            "validation",
            Some("longitude is required"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": 90.5, "longitude": 2.0, "request_id": "r4"}),
            "validation",
            Some("latitude must be a number between -90 and 90"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": -90.01, "longitude": 2.0, "request_id": "r5"}),
            "validation",
            Some("latitude must be a number between -90 and 90"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": 1.0, "longitude": -181, "request_id": "r6"}),
            "validation",
            Some("longitude must be a number between -180 and 180"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": 1.0, "longitude": 180.5, "request_id": "r7"}),
            "validation",
            Some("longitude must be a number between -180 and 180"),
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": "north", "longitude": 2.0, "request_id": "r8"}),
            "validation",
            None,
        ),
        (
            json!({"type": "location_update", "session_id": sid, "latitude": 1.0, "longitude": null, "request_id": "r9"}),
            "validation",
            Some("longitude is required"),
        ),
        (
            json!({"type": "location_update", "session_id": "not-a-uuid", "latitude": 1.0, "longitude": 2.0, "request_id": "r10"}),
            "not_found",
            Some("Session not found"),
        ),
        (
            json!({"type": "location_update", "session_id": Uuid::new_v4(), "latitude": 1.0, "longitude": 2.0, "request_id": "r11"}),
            "not_found",
            Some("Session not found"),
        ),
    ];
    for (message, code, text) in cases {
        let request_id = message["request_id"].clone();
        let answer = ws.request(message.clone()).await;
        assert_eq!(answer["type"], "error", "{message} -> {answer}");
        assert_eq!(answer["code"], code, "{message} -> {answer}");
        assert_eq!(answer["request_id"], request_id, "{message} -> {answer}");
        if let Some(text) = text {
            assert_eq!(answer["error"], text, "{message} -> {answer}");
        }
    }
    // Numbers no finite float can hold (1e999 overflows), sent as raw text. The edge
    // currently rejects the whole frame as `invalid_json` (its JSON parser gives up on
    // the number before it sees the type); `validation` would do as well. Either way it
    // is an error for this connection and nothing is stored.
    for raw in [
        format!(
            r#"{{"type":"location_update","session_id":"{sid}","latitude":1e999,"longitude":2,"request_id":"x1"}}"#
        ),
        format!(
            r#"{{"type":"location_update","session_id":"{sid}","latitude":1,"longitude":-1e999,"request_id":"x2"}}"#
        ),
    ] {
        ws.send_text(&raw).await;
        let answer = ws.recv().await;
        assert_eq!(answer["type"], "error", "{raw} -> {answer}");
        assert!(
            ["validation", "invalid_json"].contains(&answer["code"].as_str().unwrap_or("")),
            "{raw} -> {answer}"
        );
    }

    let row = location_row(stack, sid).await;
    assert_eq!(row.seeker_latitude, None);
    assert_eq!(row.seeker_longitude, None);
    assert_eq!(row.seeker_location_at, None);
    assert_eq!(row.current_distance_meters, None);
    session.expect_both_silent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_and_wrong_role_get_not_found() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;

    // A user who is no party, on either endpoint.
    let stranger = stack.user();
    for role in [Role::Seeker, Role::Provider] {
        let mut ws = stack.connect(&stranger, role).await;
        let answer = ws.request(location(sid, 1.0, 1.0)).await;
        assert_eq!(
            answer,
            json!({"type": "error", "error": "Session not found", "code": "not_found"})
        );
    }
    // The parties, each on the other role's endpoint.
    let mut seeker_as_provider = stack.connect(&session.seeker, Role::Provider).await;
    let answer = seeker_as_provider.request(location(sid, 1.0, 1.0)).await;
    assert_eq!(answer["code"], "not_found", "{answer}");
    let mut provider_as_seeker = stack.connect(&session.provider, Role::Seeker).await;
    let answer = provider_as_seeker.request(location(sid, 1.0, 1.0)).await;
    assert_eq!(answer["code"], "not_found", "{answer}");

    let row = location_row(stack, sid).await;
    assert_eq!((row.seeker_latitude, row.provider_latitude), (None, None));
    session.expect_both_silent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_session_gets_conflict() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    move_to(&mut session, Role::Seeker, 10.0, 10.0).await;
    session
        .seeker_ws
        .expect_silence(Duration::from_millis(200))
        .await;

    session
        .seeker_ws
        .send(json!({"type": "cancel_connection", "session_id": sid}))
        .await;
    session.seeker_ws.drain_until_close().await;
    session.provider_ws.drain_until_close().await;

    for (user, role) in [
        (&session.seeker, Role::Seeker),
        (&session.provider, Role::Provider),
    ] {
        let mut ws = stack.connect(user, role).await;
        let mut message = location(sid, 11.0, 11.0);
        message["request_id"] = json!("late");
        let answer = ws.request(message).await;
        assert_eq!(
            answer,
            json!({"type": "error", "error": "Session is not waiting or active", "code": "conflict", "request_id": "late"})
        );
    }
    let row = location_row(stack, sid).await;
    assert_eq!(
        row.seeker_latitude,
        Some(10.0),
        "the earlier position stays"
    );
    assert_eq!(row.provider_latitude, None, "nothing stored after the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_session_stores_silently_then_activation_sends_distance() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let sid = session.session_id;

    // Waiting: both positions stored, no distance, no direct answer.
    move_to(&mut session, Role::Seeker, 10.0, 20.0).await;
    move_to(&mut session, Role::Provider, north(10.0, 450.0), 20.0).await;
    session.expect_both_silent().await;
    let row = location_row(stack, sid).await;
    assert_eq!(
        (row.seeker_latitude, row.seeker_longitude),
        (Some(10.0), Some(20.0))
    );
    assert_eq!(row.provider_latitude, Some(north(10.0, 450.0)));
    assert_eq!(row.provider_longitude, Some(20.0));
    assert!(row.seeker_location_at.is_some() && row.provider_location_at.is_some());
    assert_eq!(row.current_distance_meters, None);
    assert_eq!(row.last_distance_update, None);

    // Activation: right after the selection messages, both get the distance.
    session.activate().await;
    expect_distance(&mut session, 450.0, "450 meters away").await;
    // v1.1: 450 m is within the first arrival stage, announced right after.
    expect_arrival(&mut session, "approaching_500").await;
    session.expect_both_silent().await;

    let row = location_row(stack, sid).await;
    assert_eq!(row.current_distance_meters, Some(450.0));
    assert!(row.last_distance_update.is_some());
    assert_eq!(row.seeker_anchor_latitude, Some(10.0));
    assert_eq!(row.provider_anchor_latitude, Some(north(10.0, 450.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_without_locations_sends_nothing() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    // Only the seeker's position is known: the order's and the provider status'
    // positions never count as session locations.
    move_to(&mut session, Role::Seeker, 52.52, 13.405).await;
    session.activate().await;
    session.expect_both_silent().await;
    let row = location_row(stack, session.session_id).await;
    assert_eq!(row.provider_latitude, None);
    assert_eq!(row.current_distance_meters, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_of_50_m_or_more_update_both_and_smaller_moves_are_silent() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let base = -33.0;

    // Seeker first: the provider's position is unknown, so nothing is sent.
    move_to(&mut session, Role::Seeker, base, 151.0).await;
    session.expect_both_silent().await;
    // Provider's first position: the first distance goes to both.
    move_to(&mut session, Role::Provider, north(base, 1000.0), 151.0).await;
    expect_distance(&mut session, 1000.0, "1.0 km away").await;

    // 30 m, then 19 m more: 49 m from the anchor, stored but silent.
    move_to(&mut session, Role::Seeker, north(base, 30.0), 151.0).await;
    move_to(&mut session, Role::Seeker, north(base, 49.0), 151.0).await;
    session.expect_both_silent().await;
    let row = location_row(stack, sid).await;
    assert_eq!(row.seeker_latitude, Some(north(base, 49.0)));
    assert_eq!(
        row.seeker_anchor_latitude,
        Some(base),
        "small moves keep the anchor"
    );
    assert_eq!(row.current_distance_meters, Some(1000.0));

    // 51 m from the anchor (2 m from the last position): both get the new distance.
    move_to(&mut session, Role::Seeker, north(base, 51.0), 151.0).await;
    expect_distance(&mut session, 949.0, "949 meters away").await;
    let row = location_row(stack, sid).await;
    assert_eq!(row.current_distance_meters, Some(949.0));
    assert_eq!(row.seeker_anchor_latitude, Some(north(base, 51.0)));
    assert_eq!(row.provider_anchor_latitude, Some(north(base, 1000.0)));

    // The provider has an anchor of their own: 40 m is silent, 50.01 m is not.
    move_to(&mut session, Role::Provider, north(base, 960.0), 151.0).await;
    session.expect_both_silent().await;
    move_to(
        &mut session,
        Role::Provider,
        north(base, 950.0 - 0.01),
        151.0,
    )
    .await;
    expect_distance(&mut session, 899.0, "899 meters away").await;
    session.expect_both_silent().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distances_are_formatted_exactly() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let base = 45.0;
    move_to(&mut session, Role::Seeker, base, 7.0).await;
    session
        .seeker_ws
        .expect_silence(Duration::from_millis(200))
        .await;

    // Each provider position is >= 50 m from the previous anchor, so each is sent,
    // except the 0.4 m move (None), which is stored silently. The v1.1 arrival stage a
    // distance reaches for the first time follows it.
    let cases = [
        (450.0, Some("450 meters away"), Some("approaching_500")),
        (450.4, None, None),
        (999.6, Some("1.0 km away"), None),
        (1250.5, Some("1.3 km away"), None),
        (12_000.0, Some("12.0 km away"), None),
        (0.0, Some("0 meters away"), Some("arrived")),
    ];
    for (metres, formatted, stage) in cases {
        move_to(&mut session, Role::Provider, north(base, metres), 7.0).await;
        let Some(formatted) = formatted else {
            session.expect_both_silent().await;
            continue;
        };
        expect_distance(&mut session, metres, formatted).await;
        if let Some(stage) = stage {
            expect_arrival(&mut session, stage).await;
        }
        let row = location_row(stack, sid).await;
        assert_eq!(row.current_distance_meters, Some(metres));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_device_of_both_parties_gets_the_update_and_the_sender_no_answer() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let mut seeker_tablet = stack.connect(&session.seeker, Role::Seeker).await;
    let mut provider_tablet = stack.connect(&session.provider, Role::Provider).await;

    move_to(&mut session, Role::Provider, 0.0, 0.0).await;
    let mut first = location(sid, north(0.0, 12_000.0), 0.0);
    first["request_id"] = json!("mine");
    session.seeker_ws.send(first).await;
    expect_distance(&mut session, 12_000.0, "12.0 km away").await;
    for tablet in [&mut seeker_tablet, &mut provider_tablet] {
        let update = tablet.recv_type("distance_update").await;
        assert_eq!(update["distance_meters"], json!(12_000.0));
        assert!(update.get("request_id").is_none(), "{update}");
    }
    session.expect_both_silent().await;
    seeker_tablet
        .expect_silence(Duration::from_millis(50))
        .await;
    provider_tablet
        .expect_silence(Duration::from_millis(50))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_parties_moving_at_once_stay_consistent() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    move_to(&mut session, Role::Seeker, 0.0, 30.0).await;
    move_to(&mut session, Role::Provider, north(0.0, 5000.0), 30.0).await;
    expect_distance(&mut session, 5000.0, "5.0 km away").await;

    // Both move 100 m towards each other at the same moment, several times.
    for step in 1..=5 {
        let seeker_lat = north(0.0, 100.0 * step as f64);
        let provider_lat = north(0.0, 5000.0 - 100.0 * step as f64);
        let seeker_msg = location(sid, seeker_lat, 30.0);
        let provider_msg = location(sid, provider_lat, 30.0);
        tokio::join!(
            session.seeker_ws.send(seeker_msg),
            session.provider_ws.send(provider_msg),
        );
        // Each move is >= 50 m from its own anchor, so each sends: first the distance
        // with one party moved, then with both. The two are published after two commits,
        // possibly by two instances, so their arrival order is not fixed: compare sets.
        let expected = [5100.0 - 200.0 * step as f64, 5000.0 - 200.0 * step as f64];
        for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
            let mut got = Vec::new();
            for _ in 0..2 {
                let update = ws.recv_type("distance_update").await;
                got.push(update["distance_meters"].as_f64().expect("distance"));
            }
            got.sort_by(|a, b| b.total_cmp(a));
            assert_eq!(got, expected, "step {step}");
        }
        let row = location_row(stack, sid).await;
        assert_eq!(
            row.current_distance_meters,
            Some(expected[1]),
            "step {step}"
        );
    }
    session.expect_both_silent().await;
    let row = location_row(stack, sid).await;
    assert_eq!(row.current_distance_meters, Some(4000.0));
}

/// A small deterministic generator (the tests crate has no `rand`), seeded per run.
struct Xorshift(u64);

impl Xorshift {
    fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The longitude east of (lat, lon) whose Haversine distance is `metres`, by bisection
/// on the shared Rust maths.
fn east_by(latitude: f64, longitude: f64, metres: f64) -> f64 {
    let origin = Point::new(latitude, longitude);
    let (mut low, mut high) = (0.0, 1.0);
    for _ in 0..200 {
        let mid = (low + high) / 2.0;
        if haversine_m(origin, Point::new(latitude, longitude + mid)) < metres {
            low = mid;
        } else {
            high = mid;
        }
    }
    longitude + high
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn distances_match_the_shared_maths_on_random_points() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let mut random = Xorshift(
        u64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().expect("8 bytes")) | 1,
    );
    let seeker = Point::new(
        random.next_unit() * 160.0 - 80.0,
        random.next_unit() * 360.0 - 180.0,
    );
    move_to(
        &mut session,
        Role::Seeker,
        seeker.latitude,
        seeker.longitude,
    )
    .await;
    session
        .seeker_ws
        .expect_silence(Duration::from_millis(100))
        .await;
    for _ in 0..25 {
        let provider = Point::new(
            random.next_unit() * 180.0 - 90.0,
            random.next_unit() * 360.0 - 180.0,
        );
        move_to(
            &mut session,
            Role::Provider,
            provider.latitude,
            provider.longitude,
        )
        .await;
        let metres = distance_meters(seeker, provider);
        let update = expect_distance(&mut session, metres, &format_away(metres)).await;
        assert_eq!(
            update["distance_meters"].as_f64(),
            Some(metres),
            "{seeker:?} {provider:?}"
        );
    }

    // The 50 m threshold on an arbitrary bearing agrees with the shared maths too.
    let last = Point::new(10.0, 20.0);
    move_to(&mut session, Role::Provider, last.latitude, last.longitude).await;
    let _ = expect_distance(
        &mut session,
        distance_meters(seeker, last),
        &format_away(distance_meters(seeker, last)),
    )
    .await;
    let just_under = Point::new(10.0, east_by(10.0, 20.0, 49.99));
    move_to(
        &mut session,
        Role::Provider,
        just_under.latitude,
        just_under.longitude,
    )
    .await;
    session.expect_both_silent().await;
    let just_over = Point::new(10.0, east_by(10.0, 20.0, 50.01));
    move_to(
        &mut session,
        Role::Provider,
        just_over.latitude,
        just_over.longitude,
    )
    .await;
    let metres = distance_meters(seeker, just_over);
    expect_distance(&mut session, metres, &format_away(metres)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_updates_of_one_session_apply_in_order_under_the_50_m_rule() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let base = 12.0;
    move_to(&mut session, Role::Provider, north(base, 1000.0), 3.0).await;
    move_to(&mut session, Role::Seeker, base, 3.0).await;
    expect_distance(&mut session, 1000.0, "1.0 km away").await;

    // Sent back to back, without waiting: 30 and 49 m are silent, 51 m from the anchor is
    // sent, 80 m is 29 m from that new anchor (silent), 200 m is sent. Merged into one
    // update, only the last would have been announced.
    for metres in [30.0, 49.0, 51.0, 80.0, 200.0] {
        move_to(&mut session, Role::Seeker, north(base, metres), 3.0).await;
    }
    expect_distance(&mut session, 949.0, "949 meters away").await;
    expect_distance(&mut session, 800.0, "800 meters away").await;
    session.expect_both_silent().await;
    let row = location_row(stack, sid).await;
    assert_eq!(row.seeker_latitude, Some(north(base, 200.0)));
    assert_eq!(row.seeker_anchor_latitude, Some(north(base, 200.0)));
    assert_eq!(row.current_distance_meters, Some(800.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_announce_every_move_exactly_once() {
    // The shared stack runs two location instances; both parties move at once, quickly.
    let stack = Stack::shared().await;
    assert!(stack.options.location_instances >= 2);
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    let base = -5.0;
    move_to(&mut session, Role::Seeker, base, 9.0).await;
    move_to(&mut session, Role::Provider, north(base, 1000.0), 9.0).await;
    expect_distance(&mut session, 1000.0, "1.0 km away").await;

    // Every move takes its mover 60 m further from the other, so whichever order the two
    // parties' moves apply in, the k-th applied move announces 1000 + 60 k: each k once.
    const MOVES: usize = 20;
    let seeker_moves: Vec<Value> = (1..=MOVES)
        .map(|i| location(sid, north(base, -60.0 * i as f64), 9.0))
        .collect();
    let provider_moves: Vec<Value> = (1..=MOVES)
        .map(|i| location(sid, north(base, 1000.0 + 60.0 * i as f64), 9.0))
        .collect();
    let OpenSession {
        seeker_ws,
        provider_ws,
        ..
    } = &mut session;
    tokio::join!(
        async {
            for message in seeker_moves {
                seeker_ws.send(message).await;
            }
        },
        async {
            for message in provider_moves {
                provider_ws.send(message).await;
            }
        },
    );
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let mut steps = Vec::new();
        for _ in 0..2 * MOVES {
            let update = ws.recv_type("distance_update").await;
            let metres = update["distance_meters"].as_f64().expect("distance");
            steps.push(((metres - 1000.0) / 60.0).round() as usize);
        }
        steps.sort_unstable();
        assert_eq!(steps, (1..=2 * MOVES).collect::<Vec<_>>());
    }
    session.expect_both_silent().await;
    let row = location_row(stack, sid).await;
    assert_eq!(
        row.current_distance_meters.map(f64::round),
        Some(1000.0 + 120.0 * MOVES as f64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_are_hot_updates_of_session_positions() {
    // A database of its own, so the table's counters count only this test; the tick never
    // looks at the row within the hour, so only activation (once) and moves write it.
    let mut options = tether_tests::StackOptions {
        own_database: true,
        location_instances: 1,
        cleanup_instances: 0,
        ..tether_tests::StackOptions::default()
    };
    options.location.distance_interval_s = NonZeroU64::new(3600).expect("not zero");
    options.location.stale_location_s = 3600;
    let stack = Stack::start(options).await;
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    move_to(&mut session, Role::Seeker, 0.0, 0.0).await;
    // The first update creates the row (an insert); wait until it holds the position.
    eventually("the seeker's position stored", async || {
        let (stored,): (Option<f64>,) = sqlx::query_as(
            "SELECT max(seeker_latitude) FROM session_positions WHERE session_id = $1",
        )
        .bind(sid)
        .fetch_one(&stack.db)
        .await
        .expect("row");
        stored.is_some()
    })
    .await;
    // Then every move is a distance update, waited for, so each is its own row update.
    const MOVES: i64 = 30;
    for i in 0..MOVES {
        let metres = 1000.0 + 100.0 * i as f64;
        move_to(&mut session, Role::Provider, north(0.0, metres), 0.0).await;
        expect_distance(&mut session, metres, &format_away(metres)).await;
    }
    // Backends report their counters when idle (within about 10 s); wait for all of them.
    let (updates, hot) = eventually("the row updates of every move counted", async || {
        let (updates, hot): (i64, i64) = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
             WHERE relname = 'session_positions'",
        )
        .fetch_one(&stack.db)
        .await
        .expect("stats");
        (updates > MOVES + 1).then_some((updates, hot))
    })
    .await;
    // Activation creates the row and writes its activation time and first tick (an
    // indexed column, so not HOT) once; then one HOT update per move.
    assert_eq!(
        updates,
        MOVES + 2,
        "one row update per move, plus activation's"
    );
    // Every move (the seeker's first and the provider's 30) writes no indexed column, so
    // each can be HOT. A HOT update also needs room on the row's page, which depends on
    // when PostgreSQL could prune the dead versions (other transactions' snapshots), so on
    // a loaded machine one may now and then go to another page; a move that wrote an
    // indexed column would make every one of them non-HOT.
    let moves = MOVES + 1;
    assert!(
        hot >= moves - 3,
        "every move is a HOT update: {hot} of {moves} were"
    );
    stack.stop().await;
}
