//! Protocol 1.1 over real sockets: `accuracy_m` and coarse fixes, arrival stages, trend and
//! ETA, presence (`peer_status` on transitions, on connect, stale, a dead edge) and the
//! snapshot's new fields. Every stack here runs two instances of each service.

use std::time::Duration;

use serde_json::{Value, json};
use tether_tests::geo;
use tether_tests::timing::{EVENTUALLY, SILENCE, eventually};
use tether_tests::{OpenSession, Role, Stack, StackOptions, TestUser, WsClient};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const BASE_LAT: f64 = 48.2;
const BASE_LON: f64 = 16.37;

fn north(metres: f64) -> f64 {
    geo::north(BASE_LAT, metres)
}

/// Sends a fix of `role` at `metres` north of the base, with `accuracy` when given.
async fn fix(session: &mut OpenSession, role: Role, metres: f64, accuracy: Option<Value>) {
    let mut message = json!({"type": "location_update", "session_id": session.session_id,
        "latitude": north(metres), "longitude": BASE_LON});
    if let Some(accuracy) = accuracy {
        message["accuracy_m"] = accuracy;
    }
    session.ws(role).send(message).await;
}

/// Both parties' next message is a distance update of `meters`; returns the seeker's.
async fn expect_distance(session: &mut OpenSession, meters: f64) -> Value {
    let seeker = session.seeker_ws.recv_type("distance_update").await;
    let provider = session.provider_ws.recv_type("distance_update").await;
    for update in [&seeker, &provider] {
        assert_eq!(update["distance_meters"], json!(meters), "{update}");
        let keys: Vec<&str> = update
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in ["trend", "eta_seconds"] {
            assert!(
                keys.contains(&key),
                "v1.1 field {key} always present: {update}"
            );
        }
        assert_eq!(keys.len(), 7, "exact fields: {update}");
    }
    assert_eq!(seeker["trend"], provider["trend"]);
    assert_eq!(seeker["eta_seconds"], provider["eta_seconds"]);
    seeker
}

/// Both parties' next message is `arrival_update` for `stage` at `meters`.
async fn expect_arrival(session: &mut OpenSession, stage: &str, meters: f64, formatted: &str) {
    for ws in [&mut session.seeker_ws, &mut session.provider_ws] {
        let arrival = ws.recv_type("arrival_update").await;
        assert_eq!(arrival["session_id"], json!(session.session_id));
        assert_eq!(arrival["stage"], stage, "{arrival}");
        assert_eq!(arrival["distance_meters"], json!(meters), "{arrival}");
        assert_eq!(arrival["distance_formatted"], formatted, "{arrival}");
        assert!(arrival["timestamp"].is_string(), "{arrival}");
        assert_eq!(arrival.as_object().map(|o| o.len()), Some(6), "{arrival}");
    }
}

#[tokio::test]
async fn accuracy_m_is_validated_and_coarse_fixes_change_only_last_seen() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    for bad in [json!(null), json!(-1), json!("5"), json!(true)] {
        let mut message = json!({"type": "location_update", "session_id": session.session_id,
            "latitude": BASE_LAT, "longitude": BASE_LON, "request_id": "acc"});
        message["accuracy_m"] = bad.clone();
        let answer = session.seeker_ws.request(message).await;
        assert_eq!(
            answer,
            json!({"type": "error", "error": "accuracy_m must be a number of at least 0",
                   "code": "validation", "request_id": "acc"}),
            "{bad}"
        );
    }
    let stored: (Option<f64>,) = sqlx::query_as(
        "SELECT (SELECT seeker_latitude FROM session_positions WHERE session_id = $1)",
    )
    .bind(session.session_id)
    .fetch_one(&stack.db)
    .await
    .expect("row");
    assert_eq!(stored.0, None, "a refused fix stores nothing");

    fix(&mut session, Role::Seeker, 0.0, Some(json!(0))).await;
    // Coarse (80 m > 50 m): no distance, no position, only the last-seen time.
    fix(&mut session, Role::Provider, 1000.0, Some(json!(80.5))).await;
    session.expect_both_silent().await;
    let row: (Option<f64>, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT provider_latitude, provider_seen_at FROM session_positions WHERE session_id = $1",
    )
    .bind(session.session_id)
    .fetch_one(&stack.db)
    .await
    .expect("row");
    assert_eq!(row.0, None, "a coarse fix is not a location");
    assert!(row.1.is_some(), "but it counts as seen");
    // Exactly the limit is precise.
    fix(&mut session, Role::Provider, 1000.0, Some(json!(50))).await;
    let update = expect_distance(&mut session, 1000.0).await;
    assert_eq!(update["trend"], Value::Null, "no history yet");
    assert_eq!(update["eta_seconds"], Value::Null);
    // A coarse fix right next to the seeker announces nothing and moves nothing.
    fix(&mut session, Role::Provider, 0.0, Some(json!(500))).await;
    session.expect_both_silent().await;
    let snap = stack.snapshot(&session.seeker, session.session_id).await;
    assert_eq!(snap["current_distance_meters"], json!(1000.0));
    assert_eq!(snap["arrival_stage"], Value::Null);
}

#[tokio::test]
async fn arrival_stages_are_announced_once_each_closest_first_and_go_in_the_timeline() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    fix(&mut session, Role::Seeker, 0.0, None).await;
    fix(&mut session, Role::Provider, 1000.0, None).await;
    expect_distance(&mut session, 1000.0).await;
    session.expect_both_silent().await;

    fix(&mut session, Role::Provider, 450.0, None).await;
    expect_distance(&mut session, 450.0).await;
    expect_arrival(&mut session, "approaching_500", 450.0, "450 meters away").await;
    // 450 -> 30 passes 100 m: only the closest stage reached is announced.
    fix(&mut session, Role::Provider, 30.0, None).await;
    expect_distance(&mut session, 30.0).await;
    expect_arrival(&mut session, "arrived", 30.0, "30 meters away").await;
    session.expect_both_silent().await;
    // Moving away and back again announces nothing new.
    fix(&mut session, Role::Provider, 300.0, None).await;
    expect_distance(&mut session, 300.0).await;
    fix(&mut session, Role::Provider, 35.0, None).await;
    expect_distance(&mut session, 35.0).await;
    session.expect_both_silent().await;

    for user in [&session.seeker, &session.provider] {
        assert_eq!(
            stack.snapshot(user, session.session_id).await["arrival_stage"],
            "arrived"
        );
    }
    let (status, timeline) = stack
        .get(
            &session.seeker,
            &format!("/api/v1/sessions/{}/timeline", session.session_id),
        )
        .await;
    assert_eq!(status, 200, "{timeline}");
    let arrivals: Vec<(Value, Value)> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "arrival")
        .map(|e| (e["actor_role"].clone(), e["data"].clone()))
        .collect();
    assert_eq!(
        arrivals,
        vec![
            (json!("system"), json!({"stage": "approaching_500"})),
            (json!("system"), json!({"stage": "arrived"})),
        ]
    );
}

#[tokio::test]
async fn activation_with_both_positions_known_announces_the_stage_reached() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    fix(&mut session, Role::Seeker, 0.0, None).await;
    fix(&mut session, Role::Provider, 80.0, None).await;
    session.expect_both_silent().await;
    session.activate().await;
    expect_distance(&mut session, 80.0).await;
    expect_arrival(&mut session, "approaching_100", 80.0, "80 meters away").await;
    session.expect_both_silent().await;
}

/// The trend's windows of [`trend_stack`]: the contract's 20 s a trend needs and its
/// two minutes of distances, shortened (the service's settings) so the test waits
/// seconds, not 21 s. The location crate's unit tests hold the defaults to the contract.
const TREND_MIN_SPAN_S: f64 = 3.0;
const TREND_WINDOW_S: f64 = 60.0;

/// A stack with the short trend windows, on a database of its own (the tick is
/// database-wide).
async fn trend_stack() -> Stack {
    let mut options = StackOptions {
        own_database: true,
        ..StackOptions::default()
    };
    options.location.trend_min_span_s = TREND_MIN_SPAN_S;
    options.location.trend_window_s = TREND_WINDOW_S;
    Stack::start(options).await
}

#[tokio::test]
async fn trend_and_eta_come_from_the_distances_of_the_last_two_minutes() {
    let stack = trend_stack().await;
    let mut session = stack.active_session().await;
    fix(&mut session, Role::Seeker, 0.0, None).await;
    fix(&mut session, Role::Provider, 2000.0, None).await;
    let first = expect_distance(&mut session, 2000.0).await;
    assert_eq!(first["trend"], Value::Null);
    // Under the minimum span of history: still no trend.
    fix(&mut session, Role::Provider, 1900.0, None).await;
    assert_eq!(
        expect_distance(&mut session, 1900.0).await["trend"],
        Value::Null
    );
    tokio::time::sleep(Duration::from_secs_f64(TREND_MIN_SPAN_S)).await;
    // 600 m closer than the oldest (2000 m) over T seconds: v = 600 / T, ETA = 1400 / v.
    fix(&mut session, Role::Provider, 1400.0, None).await;
    let update = expect_distance(&mut session, 1400.0).await;
    assert_eq!(update["trend"], "approaching", "{update}");
    // T as the service measured it: the times of the kept distances (PostgreSQL's).
    let (times,): (Vec<f64>,) =
        sqlx::query_as("SELECT recent_distance_at FROM session_positions WHERE session_id = $1")
            .bind(session.session_id)
            .fetch_one(&stack.db)
            .await
            .expect("recent distances");
    assert_eq!(times.len(), 3, "{times:?}");
    let span = times[2] - times[0];
    assert!(span >= TREND_MIN_SPAN_S, "{times:?}");
    let expected_eta = (1400.0 / (600.0 / span) + 0.5).floor() as u64;
    assert_eq!(
        update["eta_seconds"],
        json!(expected_eta),
        "{update} {times:?}"
    );
    // Farther than the oldest by 30 m or more: moving away, no ETA.
    fix(&mut session, Role::Provider, 2040.0, None).await;
    let away = expect_distance(&mut session, 2040.0).await;
    assert_eq!(away["trend"], "moving_away", "{away}");
    assert_eq!(away["eta_seconds"], Value::Null);
    // Within 30 m of the oldest: stationary.
    fix(&mut session, Role::Provider, 1980.0, None).await;
    let steady = expect_distance(&mut session, 1980.0).await;
    assert_eq!(steady["trend"], "stationary", "{steady}");
    assert_eq!(steady["eta_seconds"], Value::Null);
    stack.stop().await;
}

/// A stack whose parties go stale after 2 s and whose silent edges count as dead after
/// 8 s (edges beat every 5 s), on a database of its own: the tick and the sweep are
/// database-wide, and another stack's instances would publish on their own subjects.
async fn presence_stack() -> Stack {
    let mut options = StackOptions {
        own_database: true,
        ..StackOptions::default()
    };
    options.location.stale_location_s = 2;
    options.location.presence_edge_timeout_s = 8;
    Stack::start(options).await
}

/// The next `peer_status` on `ws` (which sees presence frames).
async fn peer_status(ws: &mut WsClient) -> Value {
    let message = ws.recv_type("peer_status").await;
    assert_eq!(message.as_object().map(|o| o.len()), Some(6), "{message}");
    assert!(message["timestamp"].is_string(), "{message}");
    message
}

/// The `peer_status` a socket that connected right after `session_id` opened gets. The
/// edges subscribe to every user's events and pick their own sockets', so the acceptance,
/// published just before the socket connected, may still be on its way through the edge
/// and reach it first: the event its user's other socket had. Anything else fails.
async fn first_peer_status(ws: &mut WsClient, session_id: Uuid) -> Value {
    let first = ws.recv().await;
    if first["type"] != "work_accepted" {
        assert_eq!(first["type"], "peer_status", "unexpected message: {first}");
        return first;
    }
    assert_eq!(first["session_id"], json!(session_id), "{first}");
    peer_status(ws).await
}

/// Like [`peer_status`], waiting ([`eventually`]) for the stale clock and the tick's
/// rounds.
async fn later_peer_status(ws: &mut WsClient) -> Value {
    let got = eventually("a peer_status", async || {
        let got = ws.recv_for(Duration::from_millis(500)).await;
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["type"], "peer_status", "{}", got[0]);
    got[0].clone()
}

fn assert_peer(message: &Value, session_id: Uuid, peer_role: &str, status: &str) {
    assert_eq!(message["session_id"], json!(session_id), "{message}");
    assert_eq!(message["peer_role"], peer_role, "{message}");
    assert_eq!(message["status"], status, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_status_follows_sockets_on_connect_and_across_devices() {
    let stack = presence_stack().await;
    let mut session = stack.open_session().await;
    let id = session.session_id;
    session.seeker_ws.see_presence = true;
    session.provider_ws.see_presence = true;

    // A new socket gets the other party as it is now.
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;
    seeker_phone.see_presence = true;
    let on_connect = peer_status(&mut seeker_phone).await;
    assert_peer(&on_connect, id, "provider", "online");
    assert!(on_connect["last_seen"].is_string(), "{on_connect}");
    // A second seeker socket is no transition: the provider hears nothing.
    session
        .provider_ws
        .expect_silence(Duration::from_millis(600))
        .await;

    // A second provider device, then both provider sockets close: one "offline".
    let mut provider_tablet = stack.connect(&session.provider, Role::Provider).await;
    provider_tablet.see_presence = true;
    assert_peer(
        &peer_status(&mut provider_tablet).await,
        id,
        "seeker",
        "online",
    );
    provider_tablet.close().await;
    seeker_phone
        .expect_silence(Duration::from_millis(600))
        .await;
    let OpenSession {
        seeker,
        provider,
        mut seeker_ws,
        provider_ws,
        ..
    } = session;
    provider_ws.close().await;
    for ws in [&mut seeker_ws, &mut seeker_phone] {
        let offline = peer_status(ws).await;
        assert_peer(&offline, id, "provider", "offline");
        assert!(offline["last_seen"].is_string(), "{offline}");
    }
    let snap = stack.snapshot(&seeker, id).await;
    assert_eq!(snap["peer_status"], "offline", "{snap}");
    assert!(snap["peer_last_seen"].is_string(), "{snap}");
    let snap = stack.snapshot(&provider, id).await;
    assert_eq!(snap["peer_status"], "online", "{snap}");

    // Back online: the seeker's sockets hear it, the new socket hears about the seeker.
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    provider_ws.see_presence = true;
    assert_peer(&peer_status(&mut provider_ws).await, id, "seeker", "online");
    for ws in [&mut seeker_ws, &mut seeker_phone] {
        assert_peer(&peer_status(ws).await, id, "provider", "online");
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_without_precise_fixes_goes_stale_once_and_a_fix_brings_it_back() {
    let stack = presence_stack().await;
    let mut session = stack.active_session().await;
    let id = session.session_id;
    session.seeker_ws.see_presence = true;
    session.provider_ws.see_presence = true;
    // The seeker keeps sending coarse fixes only; the provider sends nothing at all.
    fix(&mut session, Role::Seeker, 0.0, Some(json!(200))).await;
    // Both are online with no precise fix since activation: after 2 s each is reported
    // stale to the other, once.
    let stale_seeker = later_peer_status(&mut session.provider_ws).await;
    assert_peer(&stale_seeker, id, "seeker", "stale");
    assert!(stale_seeker["last_seen"].is_string(), "{stale_seeker}");
    assert_peer(
        &later_peer_status(&mut session.seeker_ws).await,
        id,
        "provider",
        "stale",
    );
    session
        .seeker_ws
        .expect_silence(Duration::from_secs(3))
        .await;
    assert_eq!(
        stack.snapshot(&session.seeker, id).await["peer_status"],
        "stale"
    );
    // A precise fix: "online" again for the other party.
    fix(&mut session, Role::Provider, 500.0, None).await;
    assert_peer(
        &peer_status(&mut session.seeker_ws).await,
        id,
        "provider",
        "online",
    );
    assert_eq!(
        stack.snapshot(&session.seeker, id).await["peer_status"],
        "online"
    );
    assert_eq!(
        stack.snapshot(&session.provider, id).await["peer_status"],
        "stale"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_of_a_dead_edge_go_offline_within_the_timeout() {
    let stack = presence_stack().await;
    let (edge, ws_base, _) = stack.start_killable_edge(CancellationToken::new()).await;
    let (seeker, mut seeker_ws, _phone, id) = provider_only_on(&stack, &ws_base).await;
    edge.kill();
    // Dead 8 s after its last beat (at most 5 s before the kill), swept every 5 s: within
    // 13 s on an idle machine (not asserted: a busy one may sweep later).
    provider_goes_offline(&stack, &seeker, &mut seeker_ws, id).await;
    stack.stop().await;
}

/// The seeker hears (once) and reads in its snapshot that the provider is offline.
async fn provider_goes_offline(
    stack: &Stack,
    seeker: &TestUser,
    seeker_ws: &mut WsClient,
    id: Uuid,
) {
    let heard = eventually("the provider offline for the seeker", async || {
        let heard = seeker_ws.recv_for(Duration::from_millis(500)).await;
        (!heard.is_empty()).then_some(heard)
    })
    .await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_peer(&heard[0], id, "provider", "offline");
    assert_eq!(stack.snapshot(seeker, id).await["peer_status"], "offline");
}

/// Opens a session whose provider ends up with one socket only, on the edge at `ws_base`
/// (its first socket, on the stack's edge, closes once both are recorded); returns the
/// seeker, its socket (seeing presence), the provider's socket and the session.
async fn provider_only_on(stack: &Stack, ws_base: &str) -> (TestUser, WsClient, WsClient, Uuid) {
    let mut session = stack.open_session().await;
    let id = session.session_id;
    session.seeker_ws.see_presence = true;
    // The provider's phone is on the second edge; its laptop socket closes, so only the
    // phone keeps the provider online.
    let mut phone = stack
        .connect_to(ws_base, &session.provider, Role::Provider)
        .await;
    phone.see_presence = true;
    assert_peer(
        &first_peer_status(&mut phone, id).await,
        id,
        "seeker",
        "online",
    );
    // Presence records the phone's socket asynchronously (its connect event may be handled
    // first): wait until both edges hold one of the provider's, so that the laptop's close
    // leaves the provider online.
    eventually(
        "the provider's sockets on both edges recorded",
        async || {
            let edges: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM presence_sockets
             WHERE user_id = $1 AND role = 'provider' AND online",
            )
            .bind(session.provider.id)
            .fetch_one(&stack.db)
            .await
            .expect("presence sockets");
            edges == 2
        },
    )
    .await;
    let OpenSession {
        seeker,
        mut seeker_ws,
        provider_ws,
        ..
    } = session;
    provider_ws.close().await;
    seeker_ws.expect_silence(Duration::from_millis(800)).await;
    (seeker, seeker_ws, phone, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_of_a_stopped_edge_go_offline_as_it_stops() {
    // Dead edges are swept only after an hour here: what the seeker hears can come only
    // from the edge's own goodbye, published while it stops.
    let mut options = StackOptions {
        own_database: true,
        ..StackOptions::default()
    };
    options.location.presence_edge_timeout_s = 3600;
    let stack = Stack::start(options).await;
    let shutdown = CancellationToken::new();
    let (edge, ws_base, stopped) = stack.start_killable_edge(shutdown.clone()).await;
    let (seeker, mut seeker_ws, _phone, id) = provider_only_on(&stack, &ws_base).await;
    shutdown.cancel();
    stopped.await.expect("the edge stopped");
    // What a process does once its main returns: everything still running is dropped.
    edge.kill();
    provider_goes_offline(&stack, &seeker, &mut seeker_ws, id).await;
    stack.stop().await;
}

/// Publishes `payload` as JSON on `subject`, as an edge would.
async fn publish_as_edge(stack: &Stack, subject: String, payload: &impl serde::Serialize) {
    let bytes = serde_json::to_vec(payload).expect("json");
    stack
        .nats
        .publish(subject, bytes.into())
        .await
        .expect("publish");
    stack.nats.flush().await.expect("flush");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_heard_from_the_server_keeps_its_user_online_whatever_order_edges_report_in()
{
    use futures::StreamExt;
    use tether_proto::envelope::{ConnectedEvent, HEADER_ONLY_CONN};
    use tether_proto::presence::{EdgeBeat, PresenceEvent, PresenceMark};
    use tether_proto::time::Timestamp;

    let stack = presence_stack().await;
    let session = stack.open_session().await;
    let id = session.session_id;
    let OpenSession {
        provider,
        mut seeker_ws,
        provider_ws,
        ..
    } = session;
    seeker_ws.see_presence = true;
    // The provider's phone opens a socket on another edge ("phone_edge", played here over
    // NATS). Its connect event arrives, but that edge's presence event ("online", seq 1)
    // is late: it is handled after the laptop's close below, as can happen when two
    // edges' events go to different instances and the database is slow.
    let phone_edge = Uuid::new_v4();
    let phone = Uuid::new_v4();
    publish_as_edge(
        &stack,
        stack.subjects.edge_beat(),
        &EdgeBeat {
            edge_id: phone_edge,
            at: Timestamp::now(),
        },
    )
    .await;
    let mut outbound = stack.watch_outbound(Role::Provider, provider.id).await;
    publish_as_edge(
        &stack,
        stack.subjects.connected(),
        &ConnectedEvent {
            user_id: provider.id,
            role: Role::Provider,
            conn_id: phone,
            token_name: None,
            presence: Some(PresenceMark {
                edge_id: phone_edge,
                seq: 1,
            }),
        },
    )
    .await;
    // The phone hears from the server: its peer_status on connect.
    let heard = tokio::time::timeout(EVENTUALLY, async {
        loop {
            let message = outbound.next().await.expect("subscription open");
            let only = message
                .headers
                .as_ref()
                .and_then(|h| h.get(HEADER_ONLY_CONN));
            let body: Value = serde_json::from_slice(&message.payload).expect("json");
            if only.map(|v| v.as_str()) == Some(phone.to_string().as_str())
                && body["type"] == "peer_status"
            {
                return body;
            }
        }
    })
    .await
    .expect("the phone's peer_status on connect");
    assert_peer(&heard, id, "seeker", "online");

    // The laptop (on the stack's edge) closes: the phone still counts, nobody goes offline.
    provider_ws.close().await;
    seeker_ws.expect_silence(Duration::from_millis(1500)).await;
    // The late "online" changes nothing; the phone's close makes the provider offline.
    let online = |seq, online| PresenceEvent {
        edge_id: phone_edge,
        seq,
        user_id: provider.id,
        role: Role::Provider,
        online,
    };
    publish_as_edge(&stack, stack.subjects.presence(), &online(1, true)).await;
    seeker_ws.expect_silence(SILENCE).await;
    publish_as_edge(&stack, stack.subjects.presence(), &online(2, false)).await;
    assert_peer(
        &peer_status(&mut seeker_ws).await,
        id,
        "provider",
        "offline",
    );
    stack.stop().await;
}
