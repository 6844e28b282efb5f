//! The statements on `push_events` that the sender and the retention job use (the
//! enqueuing statements live beside the code that stores what they announce).

use std::time::Duration;

use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

/// A claimed event, ready for one try.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// The event.
    pub event_id: Uuid,
    /// The exact bytes to sign and send.
    pub body: String,
    /// Tries started so far, this one included: also the claim's token, so an outcome is
    /// recorded only by the sender whose claim is still current.
    pub tries: i32,
}

/// How long a claim lasts: if its sender has recorded nothing by then (it died, or its
/// database calls stalled), another may try the event again. Longer than a try
/// ([`super::TIMEOUT`]) plus recording it.
pub const LEASE: Duration = Duration::from_secs(30);

/// Claims up to `limit` due events, oldest due first, skipping rows another sender holds
/// at this instant: each gets one more try counted and its due time moved to the end of
/// the lease, so no other sender takes it while this try runs.
pub const CLAIM: &str = "
WITH due AS (
    SELECT event_id FROM push_events
    WHERE due_at <= now()
    ORDER BY due_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE push_events AS e
SET tries = e.tries + 1, due_at = now() + make_interval(secs => $2)
FROM due
WHERE e.event_id = due.event_id
RETURNING e.event_id, e.body, e.tries";

/// A 2xx: the event is finished for good, whoever's claim is current (a second try of
/// it, if any is running, can only record a failure, which the guard below ignores).
pub const RECORD_SENT: &str = "
UPDATE push_events SET sent_at = now(), due_at = NULL, given_up_at = NULL
WHERE event_id = $1 AND sent_at IS NULL";

/// A failed try: retried after $4 seconds, or given up ($3). Only by the current claim
/// ($2) and only while no 2xx is recorded, so a stale sender can neither revive a sent
/// event nor cut another's try short.
pub const RECORD_FAILURE: &str = "
UPDATE push_events SET
    due_at = CASE WHEN $3 THEN NULL ELSE now() + make_interval(secs => $4) END,
    given_up_at = CASE WHEN $3 THEN now() END,
    last_failure = $5
WHERE event_id = $1 AND tries = $2 AND sent_at IS NULL";

/// Deletes up to $2 finished (sent or given up) events created more than $1 hours ago.
pub const PURGE_FINISHED: &str = "
DELETE FROM push_events
WHERE event_id IN (
    SELECT event_id FROM push_events
    WHERE due_at IS NULL AND created_at < now() - make_interval(hours => $1)
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)";

/// See [`CLAIM`].
pub async fn claim(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    sqlx::query_as(CLAIM)
        .bind(limit)
        .bind(LEASE.as_secs_f64())
        .fetch_all(pool)
        .await
}

/// See [`RECORD_SENT`].
pub async fn record_sent(pool: &PgPool, event_id: Uuid) -> sqlx::Result<()> {
    sqlx::query(RECORD_SENT)
        .bind(event_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// See [`RECORD_FAILURE`]; `retry_in` is None when the event is given up. Returns whether
/// this claim was still current (false: another sender's outcome stands).
pub async fn record_failure(
    pool: &PgPool,
    event: &Claimed,
    retry_in: Option<Duration>,
    reason: &str,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(RECORD_FAILURE)
        .bind(event.event_id)
        .bind(event.tries)
        .bind(retry_in.is_none())
        .bind(retry_in.unwrap_or_default().as_secs_f64())
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(updated.rows_affected() == 1)
}

/// See [`PURGE_FINISHED`]; returns how many were deleted.
pub async fn purge_finished<'c>(
    executor: impl PgExecutor<'c>,
    retention_h: u32,
    limit: i64,
) -> sqlx::Result<u64> {
    let deleted = sqlx::query(PURGE_FINISHED)
        .bind(i32::try_from(retention_h).unwrap_or(i32::MAX))
        .bind(limit)
        .execute(executor)
        .await?;
    Ok(deleted.rows_affected())
}
