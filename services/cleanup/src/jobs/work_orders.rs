//! `work_orders`: pending orders older than `TETHER_WORK_ORDER_TTL_S` become `expired`;
//! their seekers get `work_expired` after the commit.

use sqlx::PgConnection;
use uuid::Uuid;

use super::Batch;

/// An order this job expired.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExpiredOrder {
    /// The order.
    pub work_id: i64,
    /// Who to tell.
    pub seeker_id: Uuid,
}

/// Expires up to $2 orders pending for more than $1 seconds, oldest first.
pub const EXPIRE_ORDERS: &str = "WITH due AS (
             SELECT id FROM work_orders
             WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)
             ORDER BY created_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         UPDATE work_orders AS w SET status = 'expired', responded_at = now()
         FROM due WHERE w.id = due.id
         RETURNING w.id AS work_id, w.seeker_id";

/// Expires up to `limit` overdue pending orders, oldest first.
pub async fn batch(conn: &mut PgConnection, ttl_s: u64, limit: i64) -> sqlx::Result<Batch> {
    // The row lock makes this and a concurrent `work_response` exclusive: whichever comes
    // second no longer sees `pending` (SKIP LOCKED here; a re-check of the status there).
    let expired: Vec<ExpiredOrder> = sqlx::query_as(EXPIRE_ORDERS)
        .bind(ttl_s as f64)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    let count = expired.len() as u64;
    Ok(Batch {
        processed: count,
        removed: count,
        expired_orders: expired,
    })
}
