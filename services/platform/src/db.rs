//! PostgreSQL bootstrap: create the database when missing, pool, migrate.

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};

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
    let pool = PgPoolOptions::new()
        .max_connections(config.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact_url(url)))?;
    MIGRATOR.run(&pool).await.context("applying migrations")?;
    Ok(pool)
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
