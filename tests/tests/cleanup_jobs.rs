//! The cleanup jobs, each on a database of its own (so they never touch other tests'
//! rows), set up through real flows and made due by moving timestamps back with SQL.

use std::time::Duration;

use serde_json::{Value, json};
use tether_cleanup::jobs::Job;
use tether_tests::timing::eventually;
use tether_tests::{OpenSession, Role, Stack, StackOptions, TestUser, WsClient};
use uuid::Uuid;

/// Cron strings that never fire during a test run.
const RARE_CRON: &str = "0 0 0 1 1 *";

async fn start(batch_size: i64) -> Stack {
    let mut options = StackOptions {
        own_database: true,
        ..StackOptions::default()
    };
    options.cleanup.batch_size = batch_size;
    for cron in [
        &mut options.cleanup.chat_cron,
        &mut options.cleanup.vacuum_cron,
        &mut options.cleanup.orders_cron,
        &mut options.cleanup.locations_cron,
    ] {
        *cron = RARE_CRON.to_string();
    }
    Stack::start(options).await
}

fn outcome(job: &str, removed: u64, skipped: bool) -> Value {
    json!({"job": job, "removed": removed, "skipped": skipped})
}

/// Polls `sql` (one bigint) until it returns `want`, for rows written asynchronously.
async fn wait_for_count(stack: &Stack, sql: &'static str, id: Uuid, want: i64) {
    eventually(format!("{want} from {sql}"), async || {
        let (count,): (i64,) = sqlx::query_as(sql)
            .bind(id)
            .fetch_one(&stack.db)
            .await
            .expect("count");
        count == want
    })
    .await;
}

/// Sends a chat message and returns its id, skipping the other party's messages that
/// arrive on the same socket meanwhile.
async fn chat(ws: &mut WsClient, session_id: Uuid, text: &str) -> Uuid {
    ws.send(json!({"type": "chat_message", "session_id": session_id, "message": text}))
        .await;
    let sent = loop {
        let message = ws.recv().await;
        if message["type"] != "chat_message" {
            break message;
        }
    };
    assert_eq!(sent["type"], "message_sent", "{sent}");
    Uuid::parse_str(sent["message_id"].as_str().expect("message_id")).expect("uuid")
}

async fn end_session(session: &mut OpenSession, how: &str) {
    let sid = session.session_id;
    session
        .seeker_ws
        .send(json!({"type": how, "session_id": sid}))
        .await;
    session.seeker_ws.drain_until_close().await;
    session.provider_ws.drain_until_close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_answer_on_request_and_unknown_jobs_are_not_found() {
    let stack = start(1000).await;
    for job in Job::ALL {
        assert_eq!(
            stack.run_cleanup_job(job.name()).await,
            outcome(job.name(), 0, false)
        );
    }
    let unknown = stack.run_cleanup_job("everything").await;
    assert_eq!(unknown["code"], "not_found", "{unknown}");
    assert!(
        unknown["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{unknown}"
    );
    // An empty payload works too (`nats req <subject> ''`).
    let reply = stack
        .nats
        .request(stack.subjects.cleanup_trigger("vacuum"), "".into())
        .await
        .expect("trigger");
    let body: Value = serde_json::from_slice(&reply.payload).expect("json");
    assert_eq!(body, outcome("vacuum", 0, false));
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_job_deletes_only_expired_messages() {
    let stack = start(2).await;
    let mut ended = stack.active_session().await;
    let old: Vec<Uuid> = [
        chat(&mut ended.seeker_ws, ended.session_id, "one").await,
        chat(&mut ended.provider_ws, ended.session_id, "two").await,
        chat(&mut ended.seeker_ws, ended.session_id, "three").await,
    ]
    .to_vec();
    let recent = chat(&mut ended.seeker_ws, ended.session_id, "four").await;
    end_session(&mut ended, "cancel_connection").await;
    // The chat service sets the expiry (24 h after the end) when it hears of the end.
    wait_for_count(
        &stack,
        "SELECT count(*) FROM chat_messages WHERE session_id = $1 AND expires_at IS NOT NULL",
        ended.session_id,
        4,
    )
    .await;
    let mut open = stack.active_session().await;
    let open_message = chat(&mut open.seeker_ws, open.session_id, "still here").await;

    sqlx::query(
        "UPDATE chat_messages SET expires_at = now() - interval '1 minute' WHERE id = ANY($1)",
    )
    .bind(&old)
    .execute(&stack.db)
    .await
    .expect("expire");
    // Batches of 2: three expired rows take two batches, all in one run.
    assert_eq!(
        stack.run_cleanup_job("chat_messages").await,
        outcome("chat_messages", 3, false)
    );
    let left: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM chat_messages ORDER BY seq")
        .fetch_all(&stack.db)
        .await
        .expect("rows");
    assert_eq!(left, vec![(recent,), (open_message,)]);
    assert_eq!(
        stack.run_cleanup_job("chat_messages").await,
        outcome("chat_messages", 0, false)
    );
    stack.stop().await;
}

/// Dead row versions of a table, once `until` holds for them (statistics arrive late).
async fn dead_tuples(stack: &Stack, table: &str, until: impl Fn(i64) -> bool) -> i64 {
    eventually(format!("{table}: the expected count of dead tuples"), async || {
        let dead: i64 = sqlx::query_scalar(
            "SELECT coalesce(sum(n_dead_tup), 0)::bigint FROM pg_stat_user_tables WHERE relname = $1",
        )
        .bind(table)
        .fetch_one(&stack.db)
        .await
        .expect("stats");
        until(dead).then_some(dead)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vacuum_job_reclaims_tables_with_many_dead_rows() {
    let stack = start(1000).await;
    for sql in [
        "CREATE TABLE vacuum_probe (n int)",
        "INSERT INTO vacuum_probe SELECT generate_series(1, 5000)",
        "DELETE FROM vacuum_probe",
    ] {
        sqlx::query(sql).execute(&stack.db).await.expect(sql);
    }
    dead_tuples(&stack, "vacuum_probe", |dead| dead >= 5000).await;
    let outcome = stack.run_cleanup_job("vacuum").await;
    assert_eq!(outcome["skipped"], false, "{outcome}");
    assert!(
        outcome["removed"].as_u64().is_some_and(|n| n >= 1),
        "{outcome}"
    );
    dead_tuples(&stack, "vacuum_probe", |dead| dead == 0).await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_job_expires_overdue_orders_and_tells_each_seeker() {
    // Batches of 2: three overdue orders take two batches.
    let stack = start(2).await;
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    let mut orders: Vec<(TestUser, WsClient, i64)> = Vec::new();
    for _ in 0..4 {
        let seeker = stack.user();
        let ws = stack.connect(&seeker, Role::Seeker).await;
        let order = stack.create_order(&seeker, &provider).await;
        let work_id = order["work_id"].as_i64().expect("work_id");
        assert_eq!(
            provider_ws.recv_type("work_assigned").await["work_id"],
            work_id
        );
        orders.push((seeker, ws, work_id));
    }
    let overdue: Vec<i64> = orders[..3].iter().map(|(_, _, id)| *id).collect();
    let fresh = orders[3].2;
    // The default TTL is 600 s: 601 s old is overdue, 599 s is not.
    sqlx::query(
        "UPDATE work_orders SET created_at = now() - interval '601 seconds' WHERE id = ANY($1)",
    )
    .bind(&overdue)
    .execute(&stack.db)
    .await
    .expect("age");
    sqlx::query("UPDATE work_orders SET created_at = now() - interval '599 seconds' WHERE id = $1")
        .bind(fresh)
        .execute(&stack.db)
        .await
        .expect("age");

    assert_eq!(
        stack.run_cleanup_job("work_orders").await,
        outcome("work_orders", 3, false)
    );
    for (_, ws, work_id) in &mut orders[..3] {
        let expired = ws.recv_type("work_expired").await;
        assert_eq!(expired["work_id"], json!(*work_id), "{expired}");
        assert!(
            expired["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert_eq!(expired.as_object().map(|o| o.len()), Some(3), "{expired}");
    }
    orders[3].1.expect_silence(Duration::from_millis(300)).await;
    provider_ws.expect_silence(Duration::from_millis(10)).await;

    let rows: Vec<(i64, String, bool)> =
        sqlx::query_as("SELECT id, status, responded_at IS NOT NULL FROM work_orders ORDER BY id")
            .fetch_all(&stack.db)
            .await
            .expect("rows");
    let expected: Vec<(i64, String, bool)> = overdue
        .iter()
        .map(|id| (*id, "expired".to_string(), true))
        .chain([(fresh, "pending".to_string(), false)])
        .collect();
    assert_eq!(rows, expected);
    let (status, body) = stack
        .get(&orders[0].0, &format!("/api/v1/work-orders/{}", overdue[0]))
        .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("expired")),
        "{body}"
    );

    // The provider can no longer accept an expired order; the fresh one still works.
    provider_ws
        .send(json!({"type": "work_response", "work_id": overdue[0], "accepted": true}))
        .await;
    assert_eq!(provider_ws.recv_type("error").await["code"], "conflict");
    assert_eq!(
        stack.run_cleanup_job("work_orders").await,
        outcome("work_orders", 0, false)
    );
    stack.stop().await;
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Coordinates {
    seeker_latitude: Option<f64>,
    seeker_longitude: Option<f64>,
    seeker_location_at: Option<chrono::DateTime<chrono::Utc>>,
    provider_latitude: Option<f64>,
    provider_longitude: Option<f64>,
    provider_location_at: Option<chrono::DateTime<chrono::Utc>>,
    seeker_anchor_latitude: Option<f64>,
    seeker_anchor_longitude: Option<f64>,
    provider_anchor_latitude: Option<f64>,
    provider_anchor_longitude: Option<f64>,
    current_distance_meters: Option<f64>,
    location_cleared: bool,
}

async fn coordinates(stack: &Stack, session_id: Uuid) -> Coordinates {
    sqlx::query_as(
        // Positions live in session_positions (one row per session, deleted by the job);
        // work_sessions' old location columns only hold positions from before.
        "SELECT coalesce(p.seeker_latitude, w.seeker_latitude) AS seeker_latitude,
                coalesce(p.seeker_longitude, w.seeker_longitude) AS seeker_longitude,
                coalesce(p.seeker_location_at, w.seeker_location_at) AS seeker_location_at,
                coalesce(p.provider_latitude, w.provider_latitude) AS provider_latitude,
                coalesce(p.provider_longitude, w.provider_longitude) AS provider_longitude,
                coalesce(p.provider_location_at, w.provider_location_at) AS provider_location_at,
                coalesce(p.seeker_anchor_latitude, w.seeker_anchor_latitude)
                    AS seeker_anchor_latitude,
                coalesce(p.seeker_anchor_longitude, w.seeker_anchor_longitude)
                    AS seeker_anchor_longitude,
                coalesce(p.provider_anchor_latitude, w.provider_anchor_latitude)
                    AS provider_anchor_latitude,
                coalesce(p.provider_anchor_longitude, w.provider_anchor_longitude)
                    AS provider_anchor_longitude,
                coalesce(p.current_distance_meters, w.current_distance_meters)
                    AS current_distance_meters,
                w.location_cleared_at IS NOT NULL AS location_cleared
         FROM work_sessions w LEFT JOIN session_positions p ON p.session_id = w.id
         WHERE w.id = $1",
    )
    .bind(session_id)
    .fetch_one(&stack.db)
    .await
    .expect("session row")
}

/// An active session whose parties are 1 km apart (both got the distance).
async fn located_session(stack: &Stack) -> OpenSession {
    let mut session = stack.active_session().await;
    let sid = session.session_id;
    session
        .seeker_ws
        .send(json!({"type": "location_update", "session_id": sid, "latitude": 1.0, "longitude": 1.0}))
        .await;
    session
        .provider_ws
        .send(json!({"type": "location_update", "session_id": sid, "latitude": 1.0 + 1000.0 / 111_194.926_644_558_7, "longitude": 1.0}))
        .await;
    session.seeker_ws.recv_type("distance_update").await;
    session.provider_ws.recv_type("distance_update").await;
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_job_clears_coordinates_of_sessions_ended_long_ago() {
    let stack = start(1000).await;
    let mut cancelled_old = located_session(&stack).await;
    let mut completed_old = located_session(&stack).await;
    let mut cancelled_recent = located_session(&stack).await;
    let active = located_session(&stack).await;
    let mut never_located = stack.active_session().await;
    end_session(&mut cancelled_old, "cancel_connection").await;
    end_session(&mut completed_old, "finish_service").await;
    end_session(&mut cancelled_recent, "cancel_connection").await;
    end_session(&mut never_located, "cancel_connection").await;
    // The default retention is 24 h.
    sqlx::query(
        "UPDATE work_sessions SET
             cancelled_at = CASE WHEN cancelled_at IS NULL THEN NULL ELSE now() - interval '25 hours' END,
             completed_at = CASE WHEN completed_at IS NULL THEN NULL ELSE now() - interval '25 hours' END
         WHERE id = ANY($1)",
    )
    .bind(vec![
        cancelled_old.session_id,
        completed_old.session_id,
        never_located.session_id,
    ])
    .execute(&stack.db)
    .await
    .expect("age");
    sqlx::query(
        "UPDATE work_sessions SET cancelled_at = now() - interval '23 hours' WHERE id = $1",
    )
    .bind(cancelled_recent.session_id)
    .execute(&stack.db)
    .await
    .expect("age");
    let before_recent = coordinates(&stack, cancelled_recent.session_id).await;
    let before_active = coordinates(&stack, active.session_id).await;

    // Only sessions that still held coordinates count as removed.
    assert_eq!(
        stack.run_cleanup_job("session_locations").await,
        outcome("session_locations", 2, false)
    );
    let cleared = Coordinates {
        seeker_latitude: None,
        seeker_longitude: None,
        seeker_location_at: None,
        provider_latitude: None,
        provider_longitude: None,
        provider_location_at: None,
        seeker_anchor_latitude: None,
        seeker_anchor_longitude: None,
        provider_anchor_latitude: None,
        provider_anchor_longitude: None,
        current_distance_meters: Some(1000.0),
        location_cleared: true,
    };
    assert_eq!(coordinates(&stack, cancelled_old.session_id).await, cleared);
    assert_eq!(coordinates(&stack, completed_old.session_id).await, cleared);
    let never = coordinates(&stack, never_located.session_id).await;
    assert!(never.location_cleared && never.current_distance_meters.is_none());
    assert_eq!(
        coordinates(&stack, cancelled_recent.session_id).await,
        before_recent
    );
    assert_eq!(coordinates(&stack, active.session_id).await, before_active);
    assert!(before_recent.seeker_latitude.is_some() && !before_recent.location_cleared);
    assert!(before_active.provider_anchor_latitude.is_some());
    assert_eq!(
        stack.run_cleanup_job("session_locations").await,
        outcome("session_locations", 0, false)
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_lock_is_held_elsewhere_skips_and_changes_nothing() {
    let stack = start(1000).await;
    let seeker = stack.user();
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut seeker_ws = stack.connect(&seeker, Role::Seeker).await;
    let order = stack.create_order(&seeker, &provider).await;
    let work_id = order["work_id"].as_i64().expect("work_id");
    sqlx::query("UPDATE work_orders SET created_at = now() - interval '1 hour' WHERE id = $1")
        .bind(work_id)
        .execute(&stack.db)
        .await
        .expect("age");

    // Another "instance" holds every job's lock in its transaction.
    let mut holder = stack.db.begin().await.expect("begin");
    for job in Job::ALL {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(job.lock_key())
            .execute(&mut *holder)
            .await
            .expect("lock");
    }
    for job in Job::ALL {
        assert_eq!(
            stack.run_cleanup_job(job.name()).await,
            outcome(job.name(), 0, true)
        );
    }
    let (status,): (String,) = sqlx::query_as("SELECT status FROM work_orders WHERE id = $1")
        .bind(work_id)
        .fetch_one(&stack.db)
        .await
        .expect("order");
    assert_eq!(status, "pending");
    seeker_ws.expect_silence(Duration::from_millis(200)).await;

    // Released: the next run does the work.
    holder.rollback().await.expect("rollback");
    assert_eq!(
        stack.run_cleanup_job("work_orders").await,
        outcome("work_orders", 1, false)
    );
    assert_eq!(
        seeker_ws.recv_type("work_expired").await["work_id"],
        work_id
    );
    stack.stop().await;
}

/// The order's point and text, as stored.
async fn order_point(stack: &Stack, work_id: i64) -> (Option<f64>, Option<f64>, String) {
    stack
        .row(
            "SELECT latitude, longitude, message FROM work_orders WHERE id = $1",
            work_id,
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_job_clears_order_points_texts_and_phones_after_the_retention() {
    let stack = start(1000).await;
    // A session that ended 25 h ago, and one that ended 23 h ago.
    let mut old = stack.active_session().await;
    let mut recent = stack.active_session().await;
    let work_of = |body: &Value| body["work_id"].as_i64().expect("work_id");
    let (_, old_snapshot) = stack
        .get(&old.seeker, &format!("/api/v1/sessions/{}", old.session_id))
        .await;
    assert!(old_snapshot["seeker_mediums"].is_object(), "{old_snapshot}");
    let old_work = work_of(&old_snapshot);
    let recent_work = {
        let (_, snapshot) = stack
            .get(
                &recent.seeker,
                &format!("/api/v1/sessions/{}", recent.session_id),
            )
            .await;
        work_of(&snapshot)
    };
    end_session(&mut old, "finish_service").await;
    end_session(&mut recent, "cancel_connection").await;
    sqlx::query(
        "UPDATE work_sessions SET
             completed_at = CASE WHEN id = $1 THEN now() - interval '25 hours' ELSE completed_at END,
             cancelled_at = CASE WHEN id = $2 THEN now() - interval '23 hours' ELSE cancelled_at END
         WHERE id = ANY(ARRAY[$1, $2])",
    )
    .bind(old.session_id)
    .bind(recent.session_id)
    .execute(&stack.db)
    .await
    .expect("age");

    // An order that was rejected 25 h ago, and one rejected just now.
    let provider = stack.user();
    stack.make_active_provider(&provider, 52.5, 13.4).await;
    let mut provider_ws = stack.connect(&provider, Role::Provider).await;
    let mut rejected = Vec::new();
    for _ in 0..2 {
        let work_id = work_of(&stack.create_order(&stack.user(), &provider).await);
        provider_ws.recv_type("work_assigned").await;
        provider_ws
            .send(json!({"type": "work_response", "work_id": work_id, "accepted": false}))
            .await;
        provider_ws.recv_type("work_rejected").await;
        rejected.push(work_id);
    }
    sqlx::query("UPDATE work_orders SET responded_at = now() - interval '25 hours' WHERE id = $1")
        .bind(rejected[0])
        .execute(&stack.db)
        .await
        .expect("age");

    // Two orders cleared (the old session's and the old rejected one); the old session
    // held no coordinate, so it counts only through its order.
    assert_eq!(
        stack.run_cleanup_job("session_locations").await,
        outcome("session_locations", 1, false)
    );
    assert_eq!(
        order_point(&stack, old_work).await,
        (None, None, String::new())
    );
    assert_eq!(
        order_point(&stack, rejected[0]).await,
        (None, None, String::new())
    );
    for kept in [recent_work, rejected[1]] {
        let (latitude, longitude, message) = order_point(&stack, kept).await;
        assert!(
            latitude.is_some() && longitude.is_some(),
            "order {kept} kept its point"
        );
        assert_eq!(message, "Kitchen sink leaks");
    }
    let (_, snapshot) = stack
        .get(&old.seeker, &format!("/api/v1/sessions/{}", old.session_id))
        .await;
    assert_eq!(snapshot["seeker_mediums"], Value::Null, "{snapshot}");
    assert_eq!(snapshot["provider_mediums"], Value::Null, "{snapshot}");
    let (_, snapshot) = stack
        .get(
            &recent.seeker,
            &format!("/api/v1/sessions/{}", recent.session_id),
        )
        .await;
    assert!(snapshot["seeker_mediums"].is_object(), "{snapshot}");
    stack.stop().await;
}
