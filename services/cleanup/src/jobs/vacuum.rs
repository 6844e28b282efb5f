//! `vacuum`: reclaims dead row versions of the tables that have many, so the database
//! stays fast where autovacuum is off or cannot keep up (as on the machines Tether is
//! measured on). Hot-path updates are HOT and pruned in place; what remains (deleted
//! expired messages, ended sessions, expired orders) is bounded by this job.
//!
//! `VACUUM` cannot run inside a transaction, so this job does not use the batch runner:
//! it takes the job's advisory lock at session level on one connection, vacuums each
//! table over the threshold with `SKIP_LOCKED` (never waiting on a lock a request holds),
//! and releases the lock.

use sqlx::{AssertSqlSafe, PgPool};

use super::Job;

/// A table is vacuumed when it holds at least this many dead row versions ...
pub const MIN_DEAD: i64 = 1000;
/// ... and they are at least this share of its live rows.
pub const MIN_DEAD_SHARE: f64 = 0.05;

/// Tables of this database over the thresholds, as quoted identifiers.
const DUE_TABLES: &str = "
SELECT quote_ident(schemaname) || '.' || quote_ident(relname)
FROM pg_stat_user_tables
WHERE schemaname = current_schema()
  AND n_dead_tup >= $1
  AND n_dead_tup >= $2 * n_live_tup
ORDER BY n_dead_tup DESC";

/// Runs the job; `None` when another instance holds its lock. Returns the tables vacuumed.
pub async fn run(pool: &PgPool) -> sqlx::Result<Option<u64>> {
    let mut pooled = pool.acquire().await?;
    let conn: &mut sqlx::PgConnection = &mut pooled;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(Job::Vacuum.lock_key())
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Ok(None);
    }
    let outcome = vacuum_due(conn).await;
    // Released even when a VACUUM failed; a lost connection releases it anyway.
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(Job::Vacuum.lock_key())
        .execute(&mut *conn)
        .await;
    outcome.map(Some)
}

async fn vacuum_due(conn: &mut sqlx::PgConnection) -> sqlx::Result<u64> {
    let tables: Vec<(String,)> = sqlx::query_as(DUE_TABLES)
        .bind(MIN_DEAD)
        .bind(MIN_DEAD_SHARE)
        .fetch_all(&mut *conn)
        .await?;
    let mut vacuumed = 0;
    for (table,) in tables {
        // The name comes from the catalog, quoted by quote_ident: nothing a client sent.
        sqlx::query(AssertSqlSafe(format!("VACUUM (SKIP_LOCKED) {table}")))
            .execute(&mut *conn)
            .await?;
        tracing::info!(table = %table, "vacuumed");
        vacuumed += 1;
    }
    Ok(vacuumed)
}
