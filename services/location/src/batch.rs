//! The batch writer of `location_update`s.
//!
//! Updates are spread over `TETHER_LOCATION_WRITERS` writer tasks by session id (the
//! platform's group-commit [`Batcher`], sharded), so all updates of one session that reach
//! this instance go through one writer, in arrival order. A writer takes everything queued
//! for it (up to `TETHER_LOCATION_BATCH_MAX`) as
//! soon as it is free, without waiting for more, and handles it as one batch: one
//! transaction that locks the sessions' rows in `session_id` order, applies each update
//! in turn in Rust (so the 50 m rule is evaluated per update, never on a merged one),
//! writes every changed row's final state in one statement and commits; then publishes
//! the distances in order and answers every update.
//!
//! An update that waited longer than `TETHER_LOCATION_MAX_AGE_MS` since the edge received
//! it is refused with `unavailable` without being applied (and counted in
//! `tether_location_updates_dropped_total{reason="stale"}`): the edge has told the client
//! `unavailable` already, or is about to, and a position applied after its sender was
//! told it failed (and may have sent a newer one) would be applied out of order.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tether_platform::batch::{BatchSettings, Batcher};
use tether_platform::metrics_catalog::names;
use tether_platform::{Outbox, Target};
use tether_proto::approach::TrendWindows;
use tether_proto::distance::Point;
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::presence::PeerState;
use tether_proto::{ConnectionState, Role, WireError};
use uuid::Uuid;

use crate::fanout::{self, Cause, DistanceDue, PeerDue};
use crate::positions::{self, Positions};

/// Sessions a writer remembers as having a positions row, at most (then it forgets all
/// and re-checks: a cheap `INSERT ... WHERE NOT EXISTS` per batch with new sessions).
const KNOWN_SESSIONS_MAX: usize = 100_000;

/// One validated `location_update`.
#[derive(Debug, Clone, Copy)]
pub struct Update {
    /// The session.
    pub session_id: Uuid,
    /// The sender's role (endpoint).
    pub role: Role,
    /// The authenticated sender.
    pub user_id: Uuid,
    /// The fix.
    pub position: Point,
    /// v1.1: a fix less accurate than `TETHER_MAX_ACCURACY_M` (only last-seen changes).
    pub coarse: bool,
    /// When the edge received it.
    pub received_at: DateTime<Utc>,
}

/// Settings of the writers.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Writer tasks (each holds at most one PostgreSQL connection at a time).
    pub writers: NonZeroUsize,
    /// Largest batch.
    pub batch_max: NonZeroUsize,
    /// Oldest update still applied.
    pub max_age: Duration,
    /// The tick interval (a new row is first ticked one interval later).
    pub distance_interval: Duration,
    /// v1.2: above this speed (m/s) from the stored fix a precise fix is implausible
    /// (0: no check).
    pub max_speed_mps: f64,
    /// The trend's windows.
    pub trend: TrendWindows,
}

/// Hands updates to the writer of their session: the platform's group-commit batcher,
/// sharded by session.
#[derive(Debug, Clone)]
pub struct Writer {
    batcher: Batcher<Update, Result<(), WireError>>,
}

/// What every writer shares.
struct Shards {
    pool: PgPool,
    outbox: Outbox,
    config: WriterConfig,
    /// Sessions known to have a positions row (locked only between statements).
    known: std::sync::Mutex<HashSet<Uuid>>,
}

impl Writer {
    /// Starts the writer tasks. They stop once every clone of the returned `Writer` is
    /// dropped and their queues are empty.
    pub fn start(pool: PgPool, outbox: Outbox, config: WriterConfig) -> Self {
        let settings = BatchSettings {
            // The same family as every group-commit batch writer's.
            name: "location_positions",
            max_batch: config.batch_max,
            writers: config.writers,
        };
        let shards = Arc::new(Shards {
            pool,
            outbox,
            config,
            known: Default::default(),
        });
        let batcher = Batcher::spawn_sharded(
            settings,
            |update: &Update| update.session_id.as_u128() as u64,
            move |updates| {
                let shards = shards.clone();
                async move { shards.handle(updates).await }
            },
        );
        Self { batcher }
    }

    /// Queues `update` behind the updates of its session that came before it, and waits
    /// for its outcome.
    pub async fn submit(&self, update: Update) -> Result<(), WireError> {
        self.batcher.submit(update).await.unwrap_or_else(|_| {
            metrics::counter!(names::LOCATION_UPDATES_DROPPED_TOTAL, "reason" => "shutdown")
                .increment(1);
            Err(WireError::unavailable())
        })
    }
}

impl Shards {
    /// One batch: the stale updates refused, the others applied in one transaction, their
    /// distances and peer states published, every outcome in the batch's order.
    async fn handle(&self, batch: Vec<Update>) -> Vec<Result<(), WireError>> {
        let now = Utc::now();
        let max_age =
            chrono::Duration::from_std(self.config.max_age).unwrap_or(chrono::Duration::MAX);
        let mut outcomes = vec![Err(WireError::unavailable()); batch.len()];
        let (fresh_at, fresh): (Vec<usize>, Vec<Update>) = batch
            .iter()
            .enumerate()
            .filter(|(_, update)| now.signed_duration_since(update.received_at) <= max_age)
            .map(|(at, update)| (at, *update))
            .unzip();
        let stale = batch.len() - fresh.len();
        if stale > 0 {
            metrics::counter!(names::LOCATION_UPDATES_DROPPED_TOTAL, "reason" => "stale")
                .increment(stale as u64);
            tracing::warn!(
                updates = stale,
                "location updates refused as stale (waited past TETHER_LOCATION_MAX_AGE_MS)"
            );
        }
        if fresh.is_empty() {
            return outcomes;
        }
        let started = Instant::now();
        match self.apply(&fresh).await {
            Ok((applied, dues, peers)) => {
                for due in &dues {
                    fanout::send(&self.outbox, due, Cause::Move).await;
                }
                for peer in &peers {
                    fanout::send_peer(&self.outbox, peer, Target::All).await;
                }
                for (at, outcome) in fresh_at.into_iter().zip(applied) {
                    outcomes[at] = outcome;
                }
            }
            Err(err) => {
                tracing::error!(updates = fresh.len(), error = %err, "location batch failed");
                for at in fresh_at {
                    outcomes[at] = Err(WireError::internal());
                }
            }
        }
        metrics::histogram!(names::LOCATION_BATCH_SECONDS).record(started.elapsed().as_secs_f64());
        outcomes
    }

    /// The sessions of `sessions` not known to have a positions row yet.
    fn unknown(&self, sessions: &[Uuid]) -> Vec<Uuid> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .iter()
            .filter(|id| !known.contains(id))
            .copied()
            .collect()
    }

    /// Remembers that `sessions` have a positions row (or forgets one that may not).
    fn remember(&self, sessions: Vec<Uuid>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() + sessions.len() > KNOWN_SESSIONS_MAX {
            known.clear();
        }
        known.extend(sessions);
    }

    fn forget(&self, session: &Uuid) {
        self.known
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session);
    }

    /// The batch's transaction: every update's outcome, the distances to send, and the
    /// `peer_status: online` of parties whose precise fix ended their "stale".
    async fn apply(&self, jobs: &[Update]) -> sqlx::Result<Applied> {
        let mut sessions: Vec<Uuid> = jobs.iter().map(|job| job.session_id).collect();
        sessions.sort_unstable();
        sessions.dedup();

        let mut conn = self.pool.acquire().await?;
        let new = self.unknown(&sessions);
        if !new.is_empty() {
            positions::create_missing(&mut conn, &new, self.config.distance_interval.as_secs_f64())
                .await?;
            self.remember(new);
        }

        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut rows: HashMap<Uuid, Positions> =
            positions::lock(&mut tx, &sessions, self.config.trend)
                .await?
                .into_iter()
                .map(|row| (row.session_id, row))
                .collect();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut dues = Vec::new();
        let mut peers = Vec::new();
        let mut missing = Vec::new();
        let mut implausible = 0u64;
        for job in jobs {
            let Some(row) = rows.get_mut(&job.session_id) else {
                // Not open, unknown, or (rarely) its row was just removed: decided below.
                missing.push(outcomes.len());
                outcomes.push(Ok(()));
                continue;
            };
            if row.party(job.role) != job.user_id {
                outcomes.push(Err(WireError::session_not_found()));
            } else if !row.is_open() {
                outcomes.push(Err(WireError::conflict(SESSION_NOT_OPEN)));
            } else if job.coarse {
                row.apply_coarse(job.role);
                outcomes.push(Ok(()));
            } else if !row.plausible(job.role, job.position, self.config.max_speed_mps) {
                // Like a coarse fix, and no error to the sender.
                row.apply_implausible(job.role, job.position);
                implausible += 1;
                outcomes.push(Ok(()));
            } else {
                let was_stale = row.stale(job.role);
                dues.extend(row.apply_move(job.role, job.position));
                if was_stale {
                    peers.push(row.peer_due(job.role, PeerState::Online, Some(row.db_now)));
                }
                outcomes.push(Ok(()));
            }
        }
        let changed: Vec<&Positions> = {
            let mut changed: Vec<&Positions> = rows.values().filter(|r| r.changed()).collect();
            changed.sort_unstable_by_key(|r| r.session_id);
            changed
        };
        positions::write(&mut tx, &changed, None).await?;
        positions::append_arrivals(&mut tx, &mut dues, Utc::now()).await?;
        tx.commit().await?;
        if implausible > 0 {
            metrics::counter!(names::LOCATION_FIXES_IMPLAUSIBLE_TOTAL).increment(implausible);
        }

        if !missing.is_empty() {
            let ids: Vec<Uuid> = missing.iter().map(|&i| jobs[i].session_id).collect();
            let found: HashMap<Uuid, (Uuid, Uuid, ConnectionState)> =
                sqlx::query_as(SESSIONS_WITHOUT_POSITIONS)
                    .bind(&ids)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(
                        |(id, seeker, provider, state): (Uuid, Uuid, Uuid, ConnectionState)| {
                            (id, (seeker, provider, state))
                        },
                    )
                    .collect();
            for index in missing {
                let job = &jobs[index];
                outcomes[index] = Err(match found.get(&job.session_id) {
                    Some((seeker, provider, state)) => {
                        let party = match job.role {
                            Role::Seeker => *seeker,
                            Role::Provider => *provider,
                        };
                        if party != job.user_id {
                            WireError::session_not_found()
                        } else if state.is_open() {
                            // Open, yet no row: its row was created by another batch that
                            // had not committed when this one looked. Rare: ask to retry.
                            self.forget(&job.session_id);
                            WireError::unavailable()
                        } else {
                            WireError::conflict(SESSION_NOT_OPEN)
                        }
                    }
                    None => WireError::session_not_found(),
                });
            }
        }
        Ok((outcomes, dues, peers))
    }
}

/// Sessions $1 (those of a batch that had no positions row): parties and state.
pub const SESSIONS_WITHOUT_POSITIONS: &str = "SELECT id, seeker_id, provider_id, connection_state
                 FROM work_sessions WHERE id = ANY($1)";

/// What a batch's transaction decided: each update's outcome, then what to send.
type Applied = (Vec<Result<(), WireError>>, Vec<DistanceDue>, Vec<PeerDue>);
