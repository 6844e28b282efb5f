//! Typing indicators: to the other party only, latest wins, one row per party.

use std::time::Duration;

use serde_json::json;
use tether_tests::chat::{keys, time_of};
use tether_tests::{Role, Stack};
use uuid::Uuid;

const SILENCE: Duration = Duration::from_millis(300);

#[derive(Debug, sqlx::FromRow)]
struct Indicator {
    user_type: String,
    user_id: Uuid,
    is_typing: bool,
    last_typing_at: chrono::DateTime<chrono::Utc>,
}

async fn indicators(stack: &Stack, session_id: Uuid) -> Vec<Indicator> {
    sqlx::query_as(
        "SELECT user_type, user_id, is_typing, last_typing_at FROM typing_indicators
         WHERE session_id = $1 ORDER BY user_type",
    )
    .bind(session_id)
    .fetch_all(&stack.db)
    .await
    .expect("typing rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_party_only_and_upserts() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let session_id = session.session_id;
    let mut seeker_phone = stack.connect(&session.seeker, Role::Seeker).await;

    session
        .seeker_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true, "request_id": "t-1"}))
        .await;
    let typing = session.provider_ws.recv_type("typing_indicator").await;
    assert_eq!(
        keys(&typing),
        ["is_typing", "session_id", "timestamp", "type", "user_type"]
    );
    assert_eq!(typing["session_id"], session_id.to_string());
    assert_eq!(typing["user_type"], "seeker");
    assert_eq!(typing["is_typing"], true);
    let first_at = time_of(&typing, "timestamp");
    // The sender, and the sender's other devices, get nothing.
    session.seeker_ws.expect_silence(SILENCE).await;
    seeker_phone.expect_silence(Duration::from_millis(10)).await;

    let rows = indicators(stack, session_id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_type, "seeker");
    assert_eq!(rows[0].user_id, session.seeker.id);
    assert!(rows[0].is_typing);

    session
        .seeker_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": false}))
        .await;
    let stopped = session.provider_ws.recv_type("typing_indicator").await;
    assert_eq!(stopped["is_typing"], false);
    assert!(time_of(&stopped, "timestamp") >= first_at);
    let rows = indicators(stack, session_id).await;
    assert_eq!(rows.len(), 1, "upserted, not appended");
    assert!(!rows[0].is_typing);
    assert!(rows[0].last_typing_at >= first_at);

    // The provider's indicator is its own row and goes to the seeker (every device).
    session
        .provider_ws
        .send(json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}))
        .await;
    for seeker in [&mut session.seeker_ws, &mut seeker_phone] {
        let typing = seeker.recv_type("typing_indicator").await;
        assert_eq!(typing["user_type"], "provider");
        assert_eq!(typing["is_typing"], true);
    }
    session.provider_ws.expect_silence(SILENCE).await;
    let rows = indicators(stack, session_id).await;
    assert_eq!(
        rows.iter()
            .map(|r| (r.user_type.as_str(), r.is_typing))
            .collect::<Vec<_>>(),
        [("provider", true), ("seeker", false)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_errors() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let other = stack.open_session().await;
    let session_id = session.session_id;
    let ws = &mut session.seeker_ws;

    ws.send(json!({"type": "typing_indicator", "is_typing": true, "request_id": "a"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "error", "code": "validation", "error": "session_id is required", "request_id": "a"})
    );
    ws.send(json!({"type": "typing_indicator", "session_id": session_id, "request_id": "b"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "error", "code": "validation", "error": "is_typing is required", "request_id": "b"})
    );
    for (id, bad) in [
        ("c", json!("xyz")),
        ("d", json!(Uuid::new_v4())),
        ("e", json!(other.session_id)),
    ] {
        ws.send(json!({"type": "typing_indicator", "session_id": bad, "is_typing": true, "request_id": id}))
            .await;
        assert_eq!(
            ws.recv().await,
            json!({"type": "error", "code": "not_found", "error": "Session not found", "request_id": id})
        );
    }
    session.provider_ws.expect_silence(SILENCE).await;
    assert!(indicators(stack, session_id).await.is_empty());
    assert!(indicators(stack, other.session_id).await.is_empty());
}
