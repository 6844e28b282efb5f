//! Operations: logs of a whole session never carry phone numbers, chat text, tokens or
//! exact coordinates; every service answers the NATS service API.
//!
//! The whole stack runs in-process; the test process's log capture
//! (`tether_tests::logs::Capture`) keeps what every service logs meanwhile.

use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};
use tether_tests::logs::Capture;
use tether_tests::timing::{EVENTUALLY, SILENCE};
use tether_tests::{Role, Stack, StackOptions};

const SEEKER_PHONE: &str = "+4915112345678";
const PROVIDER_PHONE: &str = "+4917687654321";
const MEDIUM_PHONE: &str = "+4915199998888";
const SHARED_PHONE: &str = "+4915577776666";
const CHAT_TEXT: &str = "meet me behind the blue pineapple";
// Negative (Santiago de Chile): a minus sign never appears in a timestamp or a duration, so
// the search below cannot mistake a log line's clock digits for a coordinate.
const LAT: f64 = -33.448891;
const LON: f64 = -70.669265;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_whole_session_hold_no_private_data() {
    // Every line the process logs meanwhile, at the most verbose level an operator could
    // ask for (other tests' lines included: none may hold this test's values either).
    let capture = Capture::start().await;

    let stack = Stack::start(StackOptions::default()).await;
    let seeker = stack.user();
    let provider = stack.user();
    for (user, phone) in [(&seeker, SEEKER_PHONE), (&provider, PROVIDER_PHONE)] {
        let (status, body) = stack
            .http(
                Some(user),
                "PUT",
                "/api/v1/profile",
                Some(json!({"display_name": user.name, "mobile": phone})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    stack
        .make_active_provider(&provider, LAT + 0.01, LON + 0.01)
        .await;
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    let mut seeker_ws = stack.connect(&seeker, Role::Seeker).await;
    let (status, order) = stack
        .http(
            Some(&seeker),
            "POST",
            "/api/v1/work-orders",
            Some(json!({"provider_id": provider.id, "service_type": "plumbing", "message": CHAT_TEXT, "latitude": LAT, "longitude": LON})),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    let assigned = provider_ws.recv_type("work_assigned").await;
    assert_eq!(assigned["seeker_mobile"], SEEKER_PHONE);
    provider_ws
        .send(json!({"type": "work_response", "work_id": order["work_id"], "accepted": true}))
        .await;
    let accepted = provider_ws.recv_type("work_accepted").await;
    seeker_ws.recv_type("work_accepted").await;
    let session_id = accepted["session_id"].clone();

    seeker_ws.send(json!({"type": "location_update", "session_id": session_id, "latitude": LAT, "longitude": LON})).await;
    provider_ws
        .send(json!({"type": "location_update", "session_id": session_id, "latitude": LAT + 0.02, "longitude": LON - 0.02}))
        .await;
    seeker_ws.send(json!({"type": "medium_selection", "session_id": session_id, "mediums": {"whatsapp": MEDIUM_PHONE}})).await;
    let mut seen_seeker = collect_until(&mut seeker_ws, "mediums_selected").await;
    provider_ws.send(json!({"type": "medium_share", "session_id": session_id, "mediums": {"call": SHARED_PHONE}})).await;
    let mut seen_provider = collect_until(&mut provider_ws, "mediums_shared").await;
    seeker_ws
        .send(json!({"type": "chat_message", "session_id": session_id, "message": CHAT_TEXT}))
        .await;
    seen_seeker.extend(collect_until(&mut seeker_ws, "message_sent").await);
    seen_provider.extend(collect_until(&mut provider_ws, "chat_message").await);
    let (status, _) = stack
        .get(
            &seeker,
            &format!(
                "/api/v1/sessions/{}/messages",
                session_id.as_str().unwrap_or_default()
            ),
        )
        .await;
    assert_eq!(status, 200);
    seeker_ws.send(json!({"type": "finish_service", "session_id": session_id, "rating_stars": 5, "rating_description": CHAT_TEXT})).await;
    seeker_ws.drain_until_close().await;
    provider_ws.drain_until_close().await;
    stack.stop().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A canary: a value logged now must be found, so the search below can fail.
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    tracing::trace!(target: "tether_tests", value = %canary, "privacy test canary");
    let logs = capture.text();
    drop(capture);
    assert!(
        logs.lines().any(|line| line.contains(&canary)),
        "the capture missed a line logged at trace"
    );
    assert!(
        logs.lines().count() > 10,
        "expected captured logs, got:\n{logs}"
    );
    let mut forbidden: Vec<String> = vec![
        CHAT_TEXT.to_string(),
        "pineapple".to_string(),
        seeker.token.clone(),
        provider.token.clone(),
        LAT.to_string(),
        LON.to_string(),
        format!("{:.4}", LAT),
        format!("{:.4}", LON),
    ];
    for phone in [SEEKER_PHONE, PROVIDER_PHONE, MEDIUM_PHONE, SHARED_PHONE] {
        forbidden.push(phone.to_string());
        forbidden.push(phone.trim_start_matches('+').to_string());
    }
    for needle in &forbidden {
        let hit = logs.lines().find(|line| line.contains(needle.as_str()));
        assert!(
            hit.is_none(),
            "log line leaks {needle:?}: {}",
            hit.unwrap_or_default()
        );
    }
    // The flow really carried those values (so the absence above means something).
    let _ = (seen_seeker, seen_provider);
}

async fn collect_until(ws: &mut tether_tests::WsClient, wanted: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..20 {
        let message = ws.recv().await;
        let done = message["type"] == wanted;
        seen.push(message);
        if done {
            return seen;
        }
    }
    panic!("no {wanted} within 20 messages: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_answers_the_nats_service_api() {
    let stack = Stack::shared().await;
    let inbox = stack.nats.new_inbox();
    let mut replies = stack
        .nats
        .subscribe(inbox.clone())
        .await
        .expect("subscribe");
    stack
        .nats
        .publish_with_reply("$SRV.PING", inbox, "".into())
        .await
        .expect("ping");
    let expected: std::collections::BTreeMap<String, usize> = [
        ("tether-ws-edge", 1),
        ("tether-session", 2),
        ("tether-chat", 2),
        ("tether-location", 2),
        ("tether-cleanup", 2),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_string(), count))
    .collect();
    // Every answer this stack's instances give: until all expected ones came (or
    // EVENTUALLY passed), then for SILENCE more, so that an extra one is seen too.
    let mut names = std::collections::BTreeMap::<String, usize>::new();
    let mut until = tokio::time::Instant::now() + EVENTUALLY;
    let mut complete = false;
    while let Ok(Some(reply)) = tokio::time::timeout_at(until, replies.next()).await {
        let ping: Value = serde_json::from_slice(&reply.payload).expect("ping json");
        if ping["metadata"]["subject_prefix"] == stack.subjects.prefix() {
            *names
                .entry(ping["name"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
        if !complete && names == expected {
            complete = true;
            until = tokio::time::Instant::now() + SILENCE;
        }
    }
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_sockets_frames_and_commands() {
    let stack = Stack::shared().await;
    let mut session = stack.active_session().await;
    session.seeker_ws.send(json!({"type": "ping"})).await;
    session.seeker_ws.recv_type("pong").await;
    let metrics = stack.metrics_text().await;
    for expected in [
        r#"tether_ws_connections{role="seeker"}"#,
        r#"tether_ws_frames_in_total{type="ping"}"#,
        r#"tether_ws_frames_out_total{type="pong"}"#,
        r#"tether_requests_total{service="session",kind="work_response",outcome="ok"}"#,
        r#"tether_requests_total{service="session",kind="create_work_order",outcome="ok"}"#,
        "tether_edge_relay_seconds_bucket",
        "tether_request_duration_seconds_bucket",
    ] {
        assert!(
            metrics.contains(expected),
            "/metrics lacks {expected}:\n{metrics}"
        );
    }
    // Labels are fixed names, never ids or payloads.
    assert!(!metrics.contains(&session.seeker.id.to_string()));
    assert!(!metrics.contains(&session.session_id.to_string()));
}
