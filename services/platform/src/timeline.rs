//! Appending to a session's timeline (`session_timeline`), inside the caller's
//! transaction, so an event exists exactly when the transition it records committed.
//!
//! Every append locks the session's `work_sessions` row `FOR NO KEY UPDATE` and reads the
//! last event in the same statement, so appends to one session are serialized (a
//! transition that already updated the row holds that lock; taking it again is free).
//! The hash is computed here with the chain rules of [`tether_proto::timeline`].
//!
//! For the location service's arrival stages (not wired yet), call, in the transaction
//! that records the announced stage:
//!
//! ```ignore
//! tether_platform::timeline::append_arrival(&mut *tx, session_id, "approaching_500", at).await?;
//! ```
//!
//! Nothing may be appended after `cancelled`/`completed`: such an append fails (the
//! caller's transaction should roll back), so check the session is active first.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use tether_proto::timeline::{
    ActorRole, GENESIS_HASH, TimelineEvent, TimelineEventType, arrival_data,
};
use uuid::Uuid;

/// Locks the session row ($1) and reads the last event (if any).
pub const LOCK_AND_LAST: &str = "
SELECT last.seq, last.type, last.hash
FROM work_sessions w
LEFT JOIN LATERAL (
    SELECT seq, type, hash FROM session_timeline t
    WHERE t.session_id = w.id ORDER BY seq DESC LIMIT 1
) last ON true
WHERE w.id = $1
FOR NO KEY UPDATE OF w";

/// Appends one event to session $1.
pub const INSERT: &str = "
INSERT INTO session_timeline (session_id, seq, type, at, actor_role, data, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

#[derive(sqlx::FromRow)]
struct Last {
    seq: Option<i64>,
    #[sqlx(rename = "type")]
    kind: Option<TimelineEventType>,
    hash: Option<String>,
}

/// Appends one event to `session_id`'s timeline on `conn` (an open transaction) and
/// returns it. `at` is truncated to the millisecond.
pub async fn append(
    conn: &mut PgConnection,
    session_id: Uuid,
    kind: TimelineEventType,
    actor_role: ActorRole,
    data: Map<String, Value>,
    at: DateTime<Utc>,
) -> sqlx::Result<TimelineEvent> {
    let last: Option<Last> = sqlx::query_as(LOCK_AND_LAST)
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await?;
    let last = last.ok_or(sqlx::Error::RowNotFound)?;
    if last.kind.is_some_and(TimelineEventType::is_terminal) {
        return Err(sqlx::Error::Protocol(format!(
            "session {session_id} timeline already ended; {} not appended",
            kind.as_str()
        )));
    }
    let seq = last.seq.unwrap_or(0) + 1;
    let prev_hash = last.hash.as_deref().unwrap_or(GENESIS_HASH);
    let event = TimelineEvent::new(seq, kind, at, actor_role, data, prev_hash);
    sqlx::query(INSERT)
        .bind(session_id)
        .bind(event.seq)
        .bind(event.kind.as_str())
        .bind(event.at.as_datetime())
        .bind(event.actor_role.as_str())
        .bind(Value::Object(event.data.clone()))
        .bind(&event.prev_hash)
        .bind(&event.hash)
        .execute(&mut *conn)
        .await?;
    Ok(event)
}

/// Appends an event whose `data` is `{}`.
pub async fn append_plain(
    conn: &mut PgConnection,
    session_id: Uuid,
    kind: TimelineEventType,
    actor_role: ActorRole,
    at: DateTime<Utc>,
) -> sqlx::Result<TimelineEvent> {
    append(conn, session_id, kind, actor_role, Map::new(), at).await
}

/// Appends `arrival {"stage": stage}` by `system`: one per announced stage (the caller
/// guarantees once per stage per session, as for the `arrival_update` itself).
pub async fn append_arrival(
    conn: &mut PgConnection,
    session_id: Uuid,
    stage: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<TimelineEvent> {
    append(
        conn,
        session_id,
        TimelineEventType::Arrival,
        ActorRole::System,
        arrival_data(stage),
        at,
    )
    .await
}

/// Session $1's events, oldest first.
pub const READ: &str = "SELECT seq, type, at, actor_role, data, prev_hash, hash
         FROM session_timeline WHERE session_id = $1 ORDER BY seq";

/// A session's events, oldest first.
pub async fn read(conn: &mut PgConnection, session_id: Uuid) -> sqlx::Result<Vec<TimelineEvent>> {
    let rows: Vec<Row> = sqlx::query_as(READ)
        .bind(session_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(Row::event).collect()
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    #[sqlx(rename = "type")]
    kind: TimelineEventType,
    at: DateTime<Utc>,
    actor_role: ActorRole,
    data: Value,
    prev_hash: String,
    hash: String,
}

impl Row {
    fn event(self) -> sqlx::Result<TimelineEvent> {
        let bad = |what: &str| sqlx::Error::Protocol(format!("session_timeline.{what}"));
        Ok(TimelineEvent {
            seq: self.seq,
            kind: self.kind,
            at: self.at.into(),
            actor_role: self.actor_role,
            data: match self.data {
                Value::Object(data) => data,
                _ => return Err(bad("data")),
            },
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}
