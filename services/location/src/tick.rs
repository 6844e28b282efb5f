//! The periodic distance tick: every active session with both positions known gets one
//! `distance_update` per `TETHER_DISTANCE_INTERVAL_S`, however many instances run.
//!
//! Each instance runs a round every `min(1 s, interval / 4)`. A round claims, in one
//! transaction, the rows of `session_positions` whose `tick_at` has come (`FOR UPDATE
//! SKIP LOCKED`, through the index on `tick_at`, so the cost is O(due sessions), not
//! O(all sessions)), and decides for each:
//! - active, both positions known, and the last distance at least one interval old (or
//!   none yet): record the distance, send it, next look one interval from now;
//! - active and both known, but a move (or activation) sent a distance less than an
//!   interval ago: nothing now, next look one interval after that distance (so a move
//!   restarts the interval, as before);
//! - still waiting, or a position unknown: next look one interval from now;
//! - ended: never again (`tick_at = infinity`).
//!
//! `tick_at` is written only here and by activation, never by a move, so moves stay HOT
//! updates and a session costs the tick about one row update per interval. A claimed
//! row's `tick_at` moves forward before it is unlocked, so no other instance claims it
//! again within the interval: a session is sent once every `interval` to
//! `interval + min(1 s, interval / 4)`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use tether_platform::{HandlerError, Target};
use tether_proto::Role;
use tether_proto::presence::{PartyPresence, PeerState};

use crate::Context;
use crate::fanout::{self, Cause};
use crate::positions::{self, Positions};
use crate::presence;

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
        Err(err) => HandlerError::from(err).into_wire("location_tick").body(),
    }
}

/// One tick: claims and handles rounds of due sessions until a round is not full.
/// Returns how many sessions were sent.
pub async fn run_once(context: &Context) -> Result<u64, sqlx::Error> {
    let mut sent = 0;
    loop {
        let (claimed, sent_now) = run_round(context).await?;
        sent += sent_now;
        if claimed < u64::try_from(context.tick_batch).unwrap_or(u64::MAX) {
            return Ok(sent);
        }
    }
}

/// Claims up to `tick_batch` rows whose `tick_at` has come, decides, records, commits,
/// then sends. SKIP LOCKED: a row another instance (or a batch of moves) holds right now
/// stays due and is looked at by a later round. Returns (claimed, sent).
///
/// v1.1: the same visit reports a party of an active session "stale" once its sockets
/// are open and no precise fix came for `TETHER_STALE_LOCATION_S` (counted from the
/// latest of its last precise fix, the activation and its sockets going from 0 to 1).
/// Moves never write `tick_at`, so a row may be visited before its real stale deadline:
/// the visit then schedules the next look at that deadline (or at the next distance,
/// whichever comes first).
async fn run_round(context: &Context) -> Result<(u64, u64), sqlx::Error> {
    let interval =
        chrono::Duration::from_std(context.distance_interval).unwrap_or(chrono::Duration::MAX);
    let stale_after =
        chrono::Duration::from_std(context.stale_location).unwrap_or(chrono::Duration::MAX);
    let mut tx = context.pool.begin().await?;
    let mut rows: Vec<Positions> = sqlx::query_as(positions::CLAIM_DUE)
        .bind(context.tick_batch)
        .fetch_all(&mut *tx)
        .await?;
    let claimed = rows.len() as u64;
    if rows.is_empty() {
        return Ok((0, 0));
    }
    let online = presence::online_parties(&mut tx, rows.iter().filter(|r| r.is_active())).await?;
    let mut dues = Vec::new();
    let mut peers = Vec::new();
    let mut schedule = Vec::with_capacity(rows.len());
    for row in &mut rows {
        row.trend = context.trend;
        let now = row.db_now;
        let one_interval_on = |at: chrono::DateTime<chrono::Utc>| at.checked_add_signed(interval);
        let mut next = if !row.is_open() {
            None
        } else if row.is_active() && row.seeker().is_some() && row.provider().is_some() {
            match row.last_distance_update {
                Some(last) if one_interval_on(last).is_some_and(|due| due > now) => {
                    one_interval_on(last)
                }
                _ => {
                    dues.extend(row.record_distance());
                    one_interval_on(now)
                }
            }
        } else {
            one_interval_on(now)
        };
        if row.is_active() {
            for role in [Role::Seeker, Role::Provider] {
                let Some(&online_since) = online.get(&(row.party(role), role)) else {
                    continue;
                };
                if row.stale(role) {
                    continue;
                }
                let fresh_since = [row.location_at(role), row.activated_at, Some(online_since)]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(now);
                let deadline = fresh_since.checked_add_signed(stale_after);
                match deadline {
                    Some(deadline) if deadline > now => {
                        next = next.map_or(Some(deadline), |at| Some(at.min(deadline)));
                    }
                    Some(_) => {
                        row.set_stale(role, true);
                        let seen = PartyPresence {
                            online: true,
                            transition_at: Some(online_since),
                            stale: true,
                            fix_at: row.seen_at(role),
                        };
                        let last_seen = seen.last_seen(row.session_created_at);
                        peers.push(row.peer_due(role, PeerState::Stale, last_seen));
                    }
                    None => {}
                }
            }
        }
        schedule.push(next);
    }
    let all: Vec<&Positions> = rows.iter().collect();
    positions::write(&mut tx, &all, Some(&schedule)).await?;
    positions::append_arrivals(&mut tx, &mut dues, chrono::Utc::now()).await?;
    tx.commit().await?;
    for due in &dues {
        fanout::send(&context.outbox, due, Cause::Tick).await;
    }
    for peer in &peers {
        fanout::send_peer(&context.outbox, peer, Target::All).await;
    }
    if !dues.is_empty() {
        tracing::debug!(sessions = dues.len(), "distance tick round sent");
    }
    Ok((claimed, dues.len() as u64))
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
