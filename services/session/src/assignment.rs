//! `work_assigned`: what a provider is told about a work order, live on creation and again
//! on connect while it is still pending.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use tether_proto::distance::{Point, coarse_meters, format_short, haversine_m};
use tether_proto::{ServerMessage, Timestamp};
use uuid::Uuid;

/// A pending order with what the provider is shown about its seeker.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Assignment {
    /// The order.
    pub work_id: i64,
    /// What is needed.
    pub service_type: String,
    /// The seeker's note.
    pub message: String,
    /// Where the work is.
    pub latitude: f64,
    /// Where the work is.
    pub longitude: f64,
    /// When the order was created.
    pub created_at: DateTime<Utc>,
    /// The seeker's display name (profile, else token name).
    pub seeker_name: Option<String>,
    /// The seeker's phone number.
    pub seeker_mobile: Option<String>,
    /// The seeker's picture.
    pub seeker_profile_pic: Option<String>,
    /// The provider's status location when the order was created, if set (and, for a
    /// re-send, only if it has not changed since: see [`pending_for_provider`]).
    pub provider_latitude: Option<f64>,
    /// See `provider_latitude`.
    pub provider_longitude: Option<f64>,
}

impl Assignment {
    /// The `work_assigned` message; `distance` from the order to the provider's status
    /// location, coarse (nearest 100 m, at least 100 m, as docs/protocol.md wants outside a
    /// session), null when the provider has none.
    pub fn message(&self) -> ServerMessage {
        let distance = match (self.provider_latitude, self.provider_longitude) {
            (Some(latitude), Some(longitude)) => Some(format_short(coarse_meters(haversine_m(
                Point::new(self.latitude, self.longitude),
                Point::new(latitude, longitude),
            )))),
            _ => None,
        };
        ServerMessage::WorkAssigned {
            work_id: self.work_id,
            seeker_name: self.seeker_name.clone(),
            seeker_mobile: self.seeker_mobile.clone(),
            service_type: self.service_type.clone(),
            distance,
            message: self.message.clone(),
            seeker_profile_pic: self.seeker_profile_pic.clone(),
            created_at: self.created_at.into(),
            timestamp: Timestamp::now(),
        }
    }
}

/// The statement of [`pending_for_provider`]: $1 the provider, $2 the TTL in seconds, $3
/// the cut-off, $4 the limit.
pub const PENDING_FOR_PROVIDER: &str =
    "SELECT o.id AS work_id, o.service_type, o.message, o.latitude, o.longitude, o.created_at,
                COALESCE(u.display_name, u.token_name) AS seeker_name,
                u.mobile AS seeker_mobile, u.profile_pic_url AS seeker_profile_pic,
                CASE WHEN s.updated_at <= o.created_at THEN s.latitude END AS provider_latitude,
                CASE WHEN s.updated_at <= o.created_at THEN s.longitude END AS provider_longitude
         FROM work_orders o
         JOIN users u ON u.id = o.seeker_id
         LEFT JOIN provider_active_status s ON s.provider_id = o.provider_id
         WHERE o.provider_id = $1 AND o.status = 'pending'
           AND o.created_at > now() - make_interval(secs => $2) AND o.created_at < $3
         ORDER BY o.created_at, o.id
         LIMIT $4";

/// Every order still pending for `provider_id`, younger than `ttl_secs` and created
/// before `created_before`, oldest first.
///
/// The distance of a re-sent order is measured from the provider's status position as it
/// was when the order was created, never from one set later: else a provider could move
/// its status around after seeing the order, reconnect, and trilaterate the order's point
/// from the re-sent distances. The position at creation is not stored, so the status
/// position is used only while the status has not been written since the order was
/// created (`updated_at <= created_at`, both PostgreSQL's `now()`); after any status
/// write the re-sent `distance` is null (the client keeps the one it got live; it
/// deduplicates by `work_id`). A position written by a request that started before the
/// order was created was chosen without knowing the order, so it reveals nothing.
pub async fn pending_for_provider<'e>(
    db: impl PgExecutor<'e>,
    provider_id: Uuid,
    ttl_secs: f64,
    created_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Assignment>, sqlx::Error> {
    sqlx::query_as(PENDING_FOR_PROVIDER)
        .bind(provider_id)
        .bind(ttl_secs)
        .bind(created_before)
        .bind(limit)
        .fetch_all(db)
        .await
}
