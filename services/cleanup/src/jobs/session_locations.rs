//! `session_locations`: sessions that ended (cancelled or completed) longer ago than
//! `TETHER_LOCATION_RETENTION_H` lose every coordinate: their `session_positions` row
//! (positions, anchors and their times) is deleted, and the location columns
//! `work_sessions` held before positions moved out are cleared too. The last distance
//! stays (it is not a location): it is kept in `work_sessions.current_distance_meters`,
//! which the session snapshot falls back to once the positions row is gone.
//!
//! The same retention covers what else could locate or identify a party: the session's
//! mediums (phone numbers) leave the snapshot, and its work order loses its point and
//! description. Orders that never became a session (rejected, expired) lose them the same
//! time after their answer.

use sqlx::PgConnection;

use super::Batch;

/// Clears up to $2 sessions ended more than $1 hours ago, oldest end first: positions,
/// mediums, the order's point and description; answers whether each held a coordinate.
/// The positions rows are found by `= ANY (ARRAY(...))`, an index condition: joined to
/// `due`, a generic plan read all of `session_positions` to hash-join it.
pub const CLEAR_SESSIONS: &str = "WITH due AS (
             SELECT id,
                    num_nonnulls(seeker_latitude, seeker_longitude, provider_latitude,
                                 provider_longitude, seeker_anchor_latitude,
                                 seeker_anchor_longitude, provider_anchor_latitude,
                                 provider_anchor_longitude) > 0 AS had_coordinates
             FROM work_sessions
             WHERE connection_state IN ('cancelled', 'completed')
               AND location_cleared_at IS NULL
               AND coalesce(completed_at, cancelled_at) < now() - make_interval(hours => $1)
             ORDER BY coalesce(completed_at, cancelled_at)
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         ),
         orders AS (
             UPDATE work_orders AS o SET latitude = NULL, longitude = NULL, message = ''
             FROM due WHERE o.session_id = due.id
         ),
         positions AS (
             DELETE FROM session_positions AS p
             WHERE p.session_id = ANY (ARRAY(SELECT id FROM due))
             RETURNING p.session_id, p.current_distance_meters,
                       num_nonnulls(p.seeker_latitude, p.seeker_longitude,
                                    p.provider_latitude, p.provider_longitude,
                                    p.seeker_anchor_latitude, p.seeker_anchor_longitude,
                                    p.provider_anchor_latitude,
                                    p.provider_anchor_longitude) > 0 AS had_coordinates
         )
         UPDATE work_sessions AS w SET
             seeker_latitude = NULL, seeker_longitude = NULL, seeker_location_at = NULL,
             provider_latitude = NULL, provider_longitude = NULL, provider_location_at = NULL,
             seeker_anchor_latitude = NULL, seeker_anchor_longitude = NULL,
             provider_anchor_latitude = NULL, provider_anchor_longitude = NULL,
             current_distance_meters = coalesce(p.current_distance_meters,
                                                w.current_distance_meters),
             seeker_mediums = NULL, provider_mediums = NULL,
             location_cleared_at = now()
         FROM due LEFT JOIN positions AS p ON p.session_id = due.id
         WHERE w.id = due.id
         RETURNING due.had_coordinates OR coalesce(p.had_coordinates, false)";

/// Clears the point and description of up to $2 orders without a session answered more
/// than $1 hours ago.
pub const CLEAR_UNANSWERED_ORDERS: &str = "WITH due AS (
             SELECT id FROM work_orders
             WHERE session_id IS NULL AND latitude IS NOT NULL AND status <> 'pending'
               AND responded_at < now() - make_interval(hours => $1)
             ORDER BY responded_at
             LIMIT $2
             FOR UPDATE SKIP LOCKED
         )
         UPDATE work_orders AS o SET latitude = NULL, longitude = NULL, message = ''
         FROM due WHERE o.id = due.id";

/// Clears up to `limit` ended sessions, oldest end first. Every such session gets
/// `location_cleared_at` (taking it out of the job's partial index, so it is never
/// looked at again); only those that still held a coordinate count as removed.
pub async fn batch(conn: &mut PgConnection, retention_h: u32, limit: i64) -> sqlx::Result<Batch> {
    let cleared: Vec<(bool,)> = sqlx::query_as(CLEAR_SESSIONS)
        .bind(i32::try_from(retention_h).unwrap_or(i32::MAX))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let orders_cleared = sqlx::query(CLEAR_UNANSWERED_ORDERS)
        .bind(i32::try_from(retention_h).unwrap_or(i32::MAX))
        .bind(limit)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(Batch {
        // The larger of the two: a full batch of either means more may be due.
        processed: (cleared.len() as u64).max(orders_cleared),
        removed: cleared.iter().filter(|(had,)| *had).count() as u64 + orders_cleared,
        expired_orders: Vec::new(),
    })
}
