//! `push_events`: deletes push events that are finished (sent or given up) and older than
//! `TETHER_PUSH_RETENTION_H`. Unfinished events are never deleted here: the sender owns
//! them until they are sent or given up (at most about a minute of retries).

use sqlx::PgConnection;
use tether_platform::push::events;

use super::Batch;

/// Deletes up to `limit` finished events created more than `retention_h` hours ago.
pub async fn batch(conn: &mut PgConnection, retention_h: u32, limit: i64) -> sqlx::Result<Batch> {
    let deleted = events::purge_finished(conn, retention_h, limit).await?;
    Ok(Batch {
        processed: deleted,
        removed: deleted,
        expired_orders: Vec::new(),
    })
}
