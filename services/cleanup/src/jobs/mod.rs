//! The cleanup jobs and the one runner they share: bounded batches, each in its own
//! transaction guarded by the job's advisory lock, so several instances never run one
//! job at the same time and a big backlog never holds row locks for long.

pub mod chat_messages;
pub mod push_events;
pub mod session_locations;
pub mod vacuum;
pub mod work_orders;

use serde::Serialize;
use sqlx::PgConnection;
use tether_platform::metrics_catalog::names;
use tether_platform::{Outbox, Target};
use tether_proto::{Role, ServerMessage, Timestamp};

use crate::Context;

/// A cleanup job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Deletes chat messages past `expires_at`.
    ChatMessages,
    /// Vacuums the tables with many dead row versions (see [`vacuum`]).
    Vacuum,
    /// Expires pending work orders older than the TTL and tells their seekers.
    WorkOrders,
    /// Clears the coordinates of sessions that ended longer ago than the retention.
    SessionLocations,
    /// Deletes finished push events older than their retention.
    PushEvents,
}

impl Job {
    /// Every job.
    pub const ALL: [Job; 5] = [
        Self::ChatMessages,
        Self::Vacuum,
        Self::WorkOrders,
        Self::SessionLocations,
        Self::PushEvents,
    ];

    /// The job's name: trigger subject token, log field and metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChatMessages => "chat_messages",
            Self::Vacuum => "vacuum",
            Self::WorkOrders => "work_orders",
            Self::SessionLocations => "session_locations",
            Self::PushEvents => "push_events",
        }
    }

    /// Parses a job name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|job| job.name() == name)
    }

    /// The PostgreSQL advisory lock key that makes one instance at a time run this job
    /// (`pg_try_advisory_xact_lock(key)`): "TETH" in the high half, the job in the low.
    pub fn lock_key(self) -> i64 {
        const BASE: i64 = 0x5445_5448_0000_0000;
        BASE + match self {
            Self::ChatMessages => 1,
            Self::Vacuum => 2,
            Self::WorkOrders => 3,
            Self::SessionLocations => 4,
            Self::PushEvents => 5,
        }
    }

    async fn batch(self, conn: &mut PgConnection, context: &Context) -> sqlx::Result<Batch> {
        match self {
            Self::ChatMessages => chat_messages::batch(conn, context.batch_size).await,
            // Not a batch job: [`run`] handles it before taking a transaction.
            Self::Vacuum => Ok(Batch::default()),
            Self::WorkOrders => {
                work_orders::batch(conn, context.work_order_ttl_s, context.batch_size).await
            }
            Self::SessionLocations => {
                session_locations::batch(conn, context.location_retention_h, context.batch_size)
                    .await
            }
            Self::PushEvents => {
                push_events::batch(conn, context.push_retention_h, context.batch_size).await
            }
        }
    }
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct Batch {
    /// Rows the batch took (a batch smaller than the limit means the backlog is done).
    pub processed: u64,
    /// Of those, how many count as removed (e.g. sessions that still held coordinates).
    pub removed: u64,
    /// Orders expired by this batch, whose seekers are told after the commit.
    pub expired_orders: Vec<work_orders::ExpiredOrder>,
}

/// The answer to a run, as the operator trigger replies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The job's name.
    pub job: &'static str,
    /// Rows removed (or orders expired, or sessions cleared).
    pub removed: u64,
    /// true when another instance held the job's lock, so this run did nothing.
    pub skipped: bool,
}

/// A run that found the job's lock held by another instance.
fn skipped(job: Job) -> Outcome {
    let name = job.name();
    tracing::info!(job = name, "cleanup job skipped: another instance runs it");
    metrics::counter!(names::CLEANUP_SKIPPED_TOTAL, "cleanup_job" => name).increment(1);
    Outcome {
        job: name,
        removed: 0,
        skipped: true,
    }
}

/// Runs `job` to the end of its backlog (or until another instance takes over), then
/// logs and counts what it removed.
pub async fn run(context: &Context, job: Job) -> sqlx::Result<Outcome> {
    let name = job.name();
    if job == Job::Vacuum {
        let Some(vacuumed) = vacuum::run(&context.pool).await? else {
            return Ok(skipped(job));
        };
        tracing::info!(job = name, tables = vacuumed, "cleanup job finished");
        metrics::counter!(names::CLEANUP_REMOVED_TOTAL, "cleanup_job" => name).increment(vacuumed);
        return Ok(Outcome {
            job: name,
            removed: vacuumed,
            skipped: false,
        });
    }
    let mut removed = 0;
    let mut first_batch = true;
    loop {
        let mut tx = context.pool.begin().await?;
        // The lock is per batch transaction: it is released with each commit, so a
        // crash never leaves it held, and no batch's row locks outlive the batch.
        let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
            .bind(job.lock_key())
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            tx.rollback().await?;
            if first_batch {
                return Ok(skipped(job));
            }
            // Another instance took the lock between two of our batches: it finishes.
            tracing::info!(job = name, "cleanup job handed over to another instance");
            break;
        }
        let batch = job.batch(&mut tx, context).await?;
        tx.commit().await?;
        notify_expired(&context.outbox, &batch.expired_orders).await;
        removed += batch.removed;
        first_batch = false;
        if batch.processed < context.batch_size.unsigned_abs() {
            break;
        }
    }
    tracing::info!(job = name, removed, "cleanup job finished");
    metrics::counter!(names::CLEANUP_REMOVED_TOTAL, "cleanup_job" => name).increment(removed);
    Ok(Outcome {
        job: name,
        removed,
        skipped: false,
    })
}

/// Tells each seeker whose order expired, on every socket of their seeker endpoint.
async fn notify_expired(outbox: &Outbox, orders: &[work_orders::ExpiredOrder]) {
    for order in orders {
        let message = ServerMessage::WorkExpired {
            work_id: order.work_id,
            timestamp: Timestamp::now(),
        };
        outbox
            .send(Role::Seeker, order.seeker_id, Target::All, message)
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_parse_back_and_lock_keys_differ() {
        for job in Job::ALL {
            assert_eq!(Job::parse(job.name()), Some(job));
        }
        assert_eq!(Job::parse("everything"), None);
        let keys: HashSet<i64> = Job::ALL.iter().map(|job| job.lock_key()).collect();
        assert_eq!(keys.len(), Job::ALL.len());
    }
}
