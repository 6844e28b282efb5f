//! PostgreSQL bootstrap: create the database when missing, pool, migrate.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::DbConfig;
use crate::nats::redact_url;

/// The embedded migrations of `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Connects, creating the database if it does not exist, and applies migrations.
/// Safe when several instances start at once: creation tolerates "already exists" and
/// sqlx serialises migrations with a PostgreSQL advisory lock.
pub async fn connect(config: &DbConfig) -> anyhow::Result<PgPool> {
    let url = &config.database_url;
    ensure_database(url).await?;
    let pool = pool_options(config.db_max_connections)
        .connect_with(connect_options(url, &[])?)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
}

/// A second, small pool whose sessions commit without waiting for the WAL flush
/// (`synchronous_commit = off`), for writes whose loss in a PostgreSQL crash the
/// guarantees allow (receipts, positions: see each user). Everything that acknowledges
/// user data to a client uses the safe pool of [`connect`].
pub async fn connect_async_commit(
    config: &DbConfig,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    let url = &config.database_url;
    pool_options(max_connections)
        .connect_with(connect_options(url, &[("synchronous_commit", "off")])?)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))
}

/// Session settings every connection gets, plus `extra`.
///
/// `plan_cache_mode = force_generic_plan`: sqlx prepares every statement once per
/// connection, but PostgreSQL's default (`auto`) keeps planning a statement afresh on each
/// execution whenever its generic plan looks costlier than the custom ones, which our
/// batch statements over `unnest($n)` arrays always do. Re-planning those CTEs was about
/// a quarter of PostgreSQL's CPU per chat message (profiled with perf, bench/RESULTS.md).
/// Every hot statement looks rows up by key, so the generic plan is the right one.
///
/// `enable_seqscan = off`: a generic plan is made once per connection, often while a
/// table is still small (a new deployment, and without autovacuum no statistics ever
/// say otherwise), and a sequential scan chosen then stays for the connection's life: on
/// a fresh benchmark database the receipts statement kept scanning all of
/// `chat_messages`. With it off, a statement that has an index path takes it whatever
/// the table's size then; one that has none still runs its sequential scan.
///
/// `jit = off`: with sequential scans off, a plan that still needs one costs over 1e10,
/// far above `jit_above_cost`, so PostgreSQL JIT-compiled such a statement on every
/// execution (the dead-edge check: 36 ms with JIT, 0.004 ms without). Every hot statement
/// touches a handful of rows by key, where compiling never pays off.
fn connect_options(url: &str, extra: &[(&str, &str)]) -> anyhow::Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("parsing DATABASE_URL {}", redact_url(url)))?
        .options([
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_seqscan", "off"),
            ("jit", "off"),
        ])
        .options(extra.iter().copied());
    Ok(options)
}

/// Pool settings every pool shares. No `test_before_acquire`: its ping costs a round
/// trip before every statement, and a broken connection fails the statement anyway
/// (sqlx then drops it from the pool).
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
}

/// Creates the database named in `url` when it is missing.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let exists = sqlx::Postgres::database_exists(url)
        .await
        .with_context(|| format!("checking database at {}", redact_url(url)))?;
    if !exists && let Err(err) = sqlx::Postgres::create_database(url).await {
        // Another instance may have created it between our check and our create.
        if !sqlx::Postgres::database_exists(url).await.unwrap_or(false) {
            return Err(err).with_context(|| format!("creating database at {}", redact_url(url)));
        }
    }
    Ok(())
}

/// Whether PostgreSQL answers (for readiness).
pub async fn is_reachable(pool: &PgPool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}
