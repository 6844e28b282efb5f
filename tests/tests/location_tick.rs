//! The periodic distance tick, with two location instances on a database of its own:
//! one `distance_update` per interval per session, never two, and the operator request.

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use tether_tests::geo::north;
use tether_tests::{OpenSession, Role, Stack, StackOptions, WsClient};

/// Cron strings that never fire during a test run.
const RARE_CRON: &str = "0 0 0 1 1 *";

fn options(interval_s: u64) -> StackOptions {
    let mut options = StackOptions {
        own_database: true,
        location_instances: 2,
        ..StackOptions::default()
    };
    options.location.distance_interval_s = NonZeroU64::new(interval_s).expect("not zero");
    for cron in [
        &mut options.cleanup.chat_cron,
        &mut options.cleanup.vacuum_cron,
        &mut options.cleanup.orders_cron,
        &mut options.cleanup.locations_cron,
    ] {
        *cron = RARE_CRON.to_string();
    }
    options
}

/// Puts the seeker at (lat, 0) and the provider `metres` north; both get the first
/// distance (a move), which is consumed here.
async fn place(session: &mut OpenSession, latitude: f64, metres: f64) {
    let sid = session.session_id;
    session
        .seeker_ws
        .send(json!({"type": "location_update", "session_id": sid, "latitude": latitude, "longitude": 0.0}))
        .await;
    session
        .provider_ws
        .send(json!({"type": "location_update", "session_id": sid, "latitude": north(latitude, metres), "longitude": 0.0}))
        .await;
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let first = ws.recv_type("distance_update").await;
        assert_eq!(first["distance_meters"], json!(metres), "{first}");
    }
}

/// Every message `ws` receives until `deadline`, with its arrival time.
async fn collect_until(ws: &mut WsClient, deadline: Instant) -> Vec<(Instant, Value)> {
    let mut got = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return got;
        }
        match tokio::time::timeout(left, ws.recv()).await {
            Ok(message) => got.push((Instant::now(), message)),
            Err(_) => return got,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_sends_each_active_session_once_per_interval() {
    let stack = Stack::start(options(1)).await;

    // Not ticked: a waiting session with both positions, an active one with one.
    let mut waiting = stack.open_session().await;
    for role in [Role::Seeker, Role::Provider] {
        let sid = waiting.session_id;
        waiting
            .ws(role)
            .send(json!({"type": "location_update", "session_id": sid, "latitude": 20.0, "longitude": 1.0}))
            .await;
    }
    let mut half_known = stack.active_session().await;
    let sid = half_known.session_id;
    half_known
        .seeker_ws
        .send(json!({"type": "location_update", "session_id": sid, "latitude": 30.0, "longitude": 1.0}))
        .await;

    // Set up last, so the timing below starts at the first distance.
    let mut active = stack.active_session().await;
    place(&mut active, 10.0, 650.0).await;
    let placed_at = Instant::now();

    let deadline = placed_at + Duration::from_millis(3700);
    let (seeker_got, provider_got) = tokio::join!(
        collect_until(&mut active.seeker_ws, deadline),
        collect_until(&mut active.provider_ws, deadline),
    );
    for got in [seeker_got, provider_got] {
        // One per interval (1 s), late by at most one round (250 ms): 3 in 3.7 s.
        assert!(
            (2..=3).contains(&got.len()),
            "{} updates: {got:?}",
            got.len()
        );
        let mut previous = placed_at;
        for (at, update) in &got {
            assert_eq!(update["type"], "distance_update", "{update}");
            assert_eq!(update["session_id"], json!(active.session_id));
            assert_eq!(update["distance_meters"], json!(650.0));
            assert_eq!(update["distance_formatted"], "650 meters away");
            let gap = at.duration_since(previous);
            // Never twice within an interval, whichever of the two instances sends.
            assert!(gap >= Duration::from_millis(850), "gap {gap:?}: {got:?}");
            assert!(gap <= Duration::from_millis(1700), "gap {gap:?}: {got:?}");
            previous = *at;
        }
    }
    for ws in [
        &mut waiting.seeker_ws,
        &mut waiting.provider_ws,
        &mut half_known.seeker_ws,
        &mut half_known.provider_ws,
    ] {
        ws.expect_silence(Duration::from_millis(50)).await;
    }
    let (recent,): (bool,) = sqlx::query_as(
        "SELECT last_distance_update > now() - interval '2 seconds' FROM session_positions
         WHERE session_id = $1",
    )
    .bind(active.session_id)
    .fetch_one(&stack.db)
    .await
    .expect("row");
    assert!(recent, "the tick records its distance");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tick_requests_send_each_due_session_once() {
    let mut options = options(3600);
    // Small rounds: a request loops rounds until one is not full.
    options.location.tick_batch = 2;
    let stack = Stack::start(options).await;
    let mut sessions = Vec::new();
    for i in 0..5 {
        let mut session = stack.active_session().await;
        place(&mut session, i as f64, 1000.0 + 100.0 * i as f64).await;
        sessions.push(session);
    }
    // The last session's provider is offline: the tick still runs, they miss it.
    let offline = sessions.pop().expect("session");
    let OpenSession {
        provider: offline_provider,
        seeker_ws: mut offline_seeker_ws,
        provider_ws: offline_provider_ws,
        ..
    } = offline;
    offline_provider_ws.close().await;

    // Make every session due, then ask both instances at once, many times.
    sqlx::query(
        "UPDATE session_positions SET last_distance_update = now() - interval '2 hours',
                                      tick_at = now() - interval '2 hours'",
    )
    .execute(&stack.db)
    .await
    .expect("age");
    let requests = (0..8).map(|_| {
        stack
            .nats
            .request(stack.subjects.location_tick(), "".into())
    });
    let mut sent = 0;
    for reply in join_all(requests).await {
        let reply = reply.expect("tick reply");
        let body: Value = serde_json::from_slice(&reply.payload).expect("json");
        sent += body["sent"].as_u64().expect("sent count");
    }
    // The instances' own rounds (every second) may take some; never more than 5 total.
    assert!(sent <= 5, "sent {sent}");

    for (i, session) in sessions.iter_mut().enumerate() {
        let metres = 1000.0 + 100.0 * i as f64;
        for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
            let update = ws.recv_type("distance_update").await;
            assert_eq!(update["distance_meters"], json!(metres), "{update}");
        }
    }
    let update = offline_seeker_ws.recv_type("distance_update").await;
    assert_eq!(update["distance_meters"], json!(1400.0));
    for session in &mut sessions {
        session
            .seeker_ws
            .expect_silence(Duration::from_millis(300))
            .await;
        session
            .provider_ws
            .expect_silence(Duration::from_millis(10))
            .await;
    }
    offline_seeker_ws
        .expect_silence(Duration::from_millis(10))
        .await;

    // Nothing is kept for the offline provider: reconnecting re-sends no distance.
    let mut back = stack.connect(&offline_provider, Role::Provider).await;
    back.expect_silence(Duration::from_millis(300)).await;
    let (due,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM session_positions
         WHERE last_distance_update < now() - interval '1 minute'",
    )
    .fetch_one(&stack.db)
    .await
    .expect("count");
    assert_eq!(due, 0, "every session was ticked");

    // Nothing is due any more: a request sends nothing.
    let reply = stack
        .nats
        .request(stack.subjects.location_tick(), "{}".into())
        .await
        .expect("tick reply");
    let body: Value = serde_json::from_slice(&reply.payload).expect("json");
    assert_eq!(body, json!({"sent": 0}));
    stack.stop().await;
}
