//! `chat_messages`: deletes chat messages whose `expires_at` has passed (set to 24 h after
//! their session ended), so chat text leaves the database on schedule.

use sqlx::PgConnection;

use super::Batch;

/// Deletes up to $1 messages past their expiry, oldest expiry first, skipping locked ones.
pub const DELETE_EXPIRED: &str = "WITH doomed AS (
             SELECT id FROM chat_messages
             WHERE expires_at < now()
             ORDER BY expires_at
             LIMIT $1
             FOR UPDATE SKIP LOCKED
         )
         DELETE FROM chat_messages AS m USING doomed WHERE m.id = doomed.id";

/// Deletes up to `limit` expired messages, oldest expiry first.
pub async fn batch(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Batch> {
    // SKIP LOCKED: a row the chat service holds right now is taken by the next run.
    let deleted = sqlx::query(DELETE_EXPIRED)
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
