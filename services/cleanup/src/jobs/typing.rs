//! `typing`: deletes typing indicators nobody touched for an hour (a client that vanished
//! mid-typing leaves one behind).

use sqlx::PgConnection;

use super::Batch;

/// Indicators older than this many seconds are stale.
pub const STALE_AFTER_S: f64 = 3600.0;

/// Deletes up to `limit` stale indicators, oldest first.
pub async fn batch(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Batch> {
    let deleted = sqlx::query(
        "WITH doomed AS (
             SELECT session_id, user_type FROM typing_indicators
             WHERE last_typing_at < now() - make_interval(secs => $1)
             ORDER BY last_typing_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         DELETE FROM typing_indicators AS t USING doomed
         WHERE t.session_id = doomed.session_id AND t.user_type = doomed.user_type",
    )
    .bind(STALE_AFTER_S)
    .bind(limit)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(Batch {
        processed: deleted,
        removed: deleted,
        expired_orders: Vec::new(),
    })
}
