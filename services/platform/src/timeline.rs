//! Appending to a session's timeline (`session_timeline`), inside the caller's
//! transaction, so an event exists exactly when the transition it records committed.
//!
//! An append is one statement ([`APPEND`]): it reads the session's last event, refuses to
//! go on after `cancelled`/`completed` (the caller's transaction should then roll back),
//! and inserts the next event with its hash, computed by PostgreSQL from the canonical
//! form [`tether_proto::timeline::canonical_parts`] prepared around the two values only the
//! database knows (the previous hash and the sequence number): the chain rules stay those
//! of [`tether_proto::timeline`], and the SQL only concatenates and hashes.
//!
//! Appends to one session are serialized by the session's `work_sessions` row lock: the
//! caller's transaction must already hold it (every transition does: its guarded
//! `UPDATE` or `SELECT ... FOR NO KEY UPDATE` of the row comes first), so the statement,
//! whose snapshot is taken after the lock was granted, sees every event committed before
//! and no other append can be under way. Code that does not hold it (the location
//! service's arrival stages) takes it with [`append_arrival`]'s [`LOCK_SESSION`] first. A
//! caller that forgot the lock cannot fork the chain: two appends racing for one `seq`
//! meet the primary key, and one fails.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use tether_proto::time::Timestamp;
use tether_proto::timeline::{
    ActorRole, GENESIS_HASH, TimelineEvent, TimelineEventType, arrival_data, canonical_parts,
    truncate_to_millis,
};
use uuid::Uuid;

/// Locks session $1's row, for an append by code that holds no lock on it yet.
pub const LOCK_SESSION: &str = "SELECT 1 FROM work_sessions WHERE id = $1 FOR NO KEY UPDATE";

/// Appends the next event to session $1 (type $2, at $3, actor $4, data $5) unless its
/// last event's type is one of $10 (the terminal ones); $6, $7, $8 are the event's
/// canonical form around `prev_hash` and `seq`, $9 the genesis hash. Returns the event's
/// `seq`, `prev_hash` and `hash`; no row when the timeline has ended. The caller holds the
/// session's row lock (see the module docs).
pub const APPEND: &str = "
WITH last AS (
    SELECT seq, type, hash FROM session_timeline
    WHERE session_id = $1 ORDER BY seq DESC LIMIT 1
), next AS (
    SELECT coalesce((SELECT seq FROM last), 0) + 1 AS seq,
           coalesce((SELECT hash FROM last), $9::text) AS prev_hash
    WHERE NOT EXISTS (SELECT 1 FROM last WHERE type = ANY($10::text[]))
)
INSERT INTO session_timeline (session_id, seq, type, at, actor_role, data, prev_hash, hash)
SELECT $1, next.seq, $2, $3, $4, $5, next.prev_hash,
       encode(sha256(convert_to(
           next.prev_hash || $6::text || next.prev_hash || $7::text || next.seq::text || $8::text,
           'UTF8')), 'hex')
FROM next
RETURNING seq, prev_hash, hash";

/// The event types after which nothing may be appended, as the database spells them.
fn terminal_types() -> Vec<&'static str> {
    TimelineEventType::ALL
        .iter()
        .filter(|kind| kind.is_terminal())
        .map(|kind| kind.as_str())
        .collect()
}

/// Appends one event to `session_id`'s timeline on `conn` (an open transaction that holds
/// the session's row lock) and returns it. `at` is truncated to the millisecond.
pub async fn append(
    conn: &mut PgConnection,
    session_id: Uuid,
    kind: TimelineEventType,
    actor_role: ActorRole,
    data: Map<String, Value>,
    at: DateTime<Utc>,
) -> sqlx::Result<TimelineEvent> {
    let at = truncate_to_millis(at);
    let [before, between, after] = canonical_parts(kind, at, actor_role, &data);
    let appended: Option<(i64, String, String)> = sqlx::query_as(APPEND)
        .bind(session_id)
        .bind(kind.as_str())
        .bind(at)
        .bind(actor_role.as_str())
        .bind(Value::Object(data.clone()))
        .bind(before)
        .bind(between)
        .bind(after)
        .bind(GENESIS_HASH)
        .bind(terminal_types())
        .fetch_optional(&mut *conn)
        .await?;
    let Some((seq, prev_hash, hash)) = appended else {
        return Err(sqlx::Error::Protocol(format!(
            "session {session_id} timeline already ended; {} not appended",
            kind.as_str()
        )));
    };
    let event = TimelineEvent {
        seq,
        kind,
        at: Timestamp(at),
        actor_role,
        data,
        prev_hash,
        hash,
    };
    debug_assert_eq!(
        event.compute_hash(),
        event.hash,
        "the database hashed what the chain rule hashes"
    );
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
/// guarantees once per stage per session, as for the `arrival_update` itself). Takes the
/// session's row lock first: the location service holds only its positions row.
pub async fn append_arrival(
    conn: &mut PgConnection,
    session_id: Uuid,
    stage: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<TimelineEvent> {
    sqlx::query(LOCK_SESSION)
        .bind(session_id)
        .execute(&mut *conn)
        .await?;
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
