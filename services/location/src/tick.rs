//! The periodic distance tick: every active session with both positions known gets one
//! `distance_update` per `TETHER_DISTANCE_INTERVAL_S`, however many instances run.
//!
//! Each instance runs a round every `min(1 s, interval / 4)`. A round claims, in one
//! statement, the sessions whose last distance update is at least one interval old
//! (`FOR UPDATE SKIP LOCKED`, through the partial index `work_sessions_tick_due`, so the
//! cost is O(due sessions), not O(all sessions)), records the new distance and sends it.
//! A claimed session's `last_distance_update` moves to now before the row is unlocked,
//! so no other instance can claim it again within the interval. A session is therefore
//! sent once every `interval` to `interval + min(1 s, interval / 4)`; a distance update
//! caused by a move or by activation also restarts its interval.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tether_proto::limits::EARTH_RADIUS_M;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::Context;
use crate::fanout::{self, Cause, DistanceDue};

/// How often an instance looks for due sessions.
pub fn round_period(interval: Duration) -> Duration {
    (interval / 4).min(Duration::from_secs(1))
}

/// Runs rounds until `shutdown`; a round in progress finishes first.
pub async fn run_periodic(context: Arc<Context>, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(round_period(context.distance_interval));
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        if let Err(err) = run_once(&context).await {
            tracing::warn!(error = %err, "distance tick failed");
        }
    }
}

/// The operator request (`<p>.ops.location.tick`): runs a tick now and answers
/// `{"sent": n}`, n being the number of sessions whose parties were sent a distance.
pub async fn handle_request(context: Arc<Context>) -> Value {
    match run_once(&context).await {
        Ok(sent) => json!({ "sent": sent }),
        Err(err) => {
            tracing::error!(error = %err, "requested distance tick failed");
            json!({ "error": "Internal error", "code": "internal" })
        }
    }
}

/// One tick: claims and sends rounds of due sessions until a round is not full.
/// Returns how many sessions were sent.
pub async fn run_once(context: &Context) -> Result<u64, sqlx::Error> {
    let mut sent = 0;
    loop {
        let claimed = run_round(context).await?;
        sent += claimed;
        if claimed < u64::try_from(context.tick_batch).unwrap_or(u64::MAX) {
            return Ok(sent);
        }
    }
}

/// Claims up to `tick_batch` due sessions and records their distances in one statement,
/// then sends. SKIP LOCKED: a session another instance (or a `location_update`) holds
/// right now is being sent by them; their commit moves `last_distance_update`, after
/// which the row is no longer due, so no session is claimed twice in one interval.
async fn run_round(context: &Context) -> Result<u64, sqlx::Error> {
    let due: Vec<DistanceDue> = sqlx::query_as(concat!(
        "WITH due AS (
             SELECT id FROM work_sessions
             WHERE connection_state = 'active'
               AND seeker_latitude IS NOT NULL AND provider_latitude IS NOT NULL
               AND seeker_longitude IS NOT NULL AND provider_longitude IS NOT NULL
               AND (last_distance_update IS NULL
                    OR last_distance_update <= now() - make_interval(secs => $1))
             ORDER BY last_distance_update NULLS FIRST
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         UPDATE work_sessions AS w SET
             current_distance_meters = ",
        rounded_distance_sql!(
            "$3",
            "w.seeker_latitude",
            "w.seeker_longitude",
            "w.provider_latitude",
            "w.provider_longitude"
        ),
        ",
             last_distance_update = now(),
             seeker_anchor_latitude = w.seeker_latitude,
             seeker_anchor_longitude = w.seeker_longitude,
             provider_anchor_latitude = w.provider_latitude,
             provider_anchor_longitude = w.provider_longitude
         FROM due
         WHERE w.id = due.id
         RETURNING w.id AS session_id, w.seeker_id, w.provider_id,
                   w.current_distance_meters AS distance_meters"
    ))
    .bind(context.distance_interval.as_secs_f64())
    .bind(context.tick_batch)
    .bind(EARTH_RADIUS_M)
    .fetch_all(&context.pool)
    .await?;
    for session in &due {
        fanout::send(&context.outbox, session, Cause::Tick).await;
    }
    if !due.is_empty() {
        tracing::debug!(sessions = due.len(), "distance tick round sent");
    }
    Ok(due.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_run_at_most_a_second_apart() {
        assert_eq!(
            round_period(Duration::from_secs(1)),
            Duration::from_millis(250)
        );
        assert_eq!(
            round_period(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(
            round_period(Duration::from_secs(30)),
            Duration::from_secs(1)
        );
    }
}
