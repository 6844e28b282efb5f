//! Graceful shutdown: a service that is told to stop finishes the commands it already
//! took (the client gets its real answer, not `unavailable`), and only then exits.

use std::time::Duration;

use serde_json::json;
use tether_tests::timing::eventually;
use tether_tests::{Service, Stack, StackOptions};

fn one_of_each() -> StackOptions {
    StackOptions {
        session_instances: 1,
        chat_instances: 1,
        location_instances: 1,
        cleanup_instances: 1,
        ..StackOptions::default()
    }
}

/// Holds the session row locked, so a command that needs it is provably in flight
/// inside the service when the stop begins ([`wait_blocked`]).
async fn lock_session(
    stack: &Stack,
    session_id: uuid::Uuid,
) -> (sqlx::Transaction<'static, sqlx::Postgres>, i32) {
    let mut tx = stack.db.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM work_sessions WHERE id = $1 FOR UPDATE")
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .expect("lock session row");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *tx)
        .await
        .expect("backend pid");
    (tx, pid)
}

/// Waits until a statement of the service waits for the lock the test's transaction
/// (backend `pid`) holds: the command is in flight.
async fn wait_blocked(stack: &Stack, pid: i32) {
    eventually("a statement waiting for the test's row lock", async || {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        )
        .bind(pid)
        .fetch_one(&stack.db)
        .await
        .expect("blocked statements");
        waiting > 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_stop_finishes_the_message_in_flight() {
    let stack = Stack::start(one_of_each()).await;
    let mut session = stack.active_session().await;
    let (tx, pid) = lock_session(&stack, session.session_id).await;
    session
        .seeker_ws
        .send(json!({"type": "chat_message", "session_id": session.session_id, "message": "still here?", "request_id": "m1"}))
        .await;
    wait_blocked(&stack, pid).await;
    let stop = stack.stop_service(Service::Chat);
    // The lock is let go once the stop has begun (the stop is polled first and cancels
    // at once; the wait only lets the service start draining).
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.commit().await.expect("release lock");
    };
    let ((), ()) = tokio::join!(stop, release);
    let answer = session.seeker_ws.recv().await;
    assert_eq!(answer["type"], "message_sent", "{answer}");
    assert_eq!(answer["request_id"], "m1");
    let incoming = session.provider_ws.recv_type("chat_message").await;
    assert_eq!(incoming["message"], "still here?");
    // The service is gone now: the next command is refused, not lost silently.
    let refused = session
        .seeker_ws
        .request(json!({"type": "chat_message", "session_id": session.session_id, "message": "and now?"}))
        .await;
    assert_eq!(refused["code"], "unavailable");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_stop_finishes_the_transition_in_flight() {
    let stack = Stack::start(one_of_each()).await;
    let mut session = stack.active_session().await;
    let (tx, pid) = lock_session(&stack, session.session_id).await;
    session
        .provider_ws
        .send(json!({"type": "cancel_connection", "session_id": session.session_id, "request_id": "c1"}))
        .await;
    wait_blocked(&stack, pid).await;
    // The lock is let go once the stop has begun (the stop is polled first and cancels
    // at once; the wait only lets the service start draining).
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.commit().await.expect("release lock");
    };
    let ((), ()) = tokio::join!(stack.stop_service(Service::Session), release);
    let answer = session.provider_ws.recv().await;
    assert_eq!(answer["type"], "connection_cancelled", "{answer}");
    assert_eq!(answer["request_id"], "c1");
    let other = session.seeker_ws.recv_type("connection_cancelled").await;
    assert_eq!(other["cancelled_by"], "provider");
    let state: String =
        sqlx::query_scalar("SELECT connection_state FROM work_sessions WHERE id = $1")
            .bind(session.session_id)
            .fetch_one(&stack.db)
            .await
            .expect("state");
    assert_eq!(state, "cancelled");
    stack.stop().await;
}
