//! `location_update`: store the sender's position on the session and, while the session
//! is active, send both parties a `distance_update` when the contract says one is due.

use std::sync::Arc;

use tether_platform::Reply;
use tether_proto::distance::Point;
use tether_proto::envelope::{CommandEnvelope, CommandMeta};
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::limits::{DISTANCE_MOVE_THRESHOLD_M, EARTH_RADIUS_M};
use tether_proto::{ClientMessage, ErrorCode, WireError, validate};
use uuid::Uuid;

use crate::Context;
use crate::fanout::{self, Cause, DistanceDue};

/// Handles one command for the location service. On success the sender gets no direct
/// answer (see the crate docs); errors are answered to the sending connection.
pub async fn handle(context: Arc<Context>, envelope: CommandEnvelope) -> Reply {
    let CommandEnvelope { meta, command } = envelope;
    let ClientMessage::LocationUpdate {
        session_id,
        latitude,
        longitude,
    } = command
    else {
        // ws-edge routes only `location_update` here; anything else is a routing bug.
        return Reply::error(
            &meta,
            &WireError::new(ErrorCode::UnknownType, "Unknown message type"),
        );
    };
    let result = async {
        let session_id = validate::session_id(session_id.as_deref())?;
        let (latitude, longitude) = validate::coordinates(latitude, longitude)?;
        store(&context, &meta, session_id, Point::new(latitude, longitude)).await
    }
    .await;
    match result {
        Ok(()) => Reply::none(),
        Err(err) => Reply::error(&meta, &err),
    }
}

/// What the statement did: whether a distance is due, and the one recorded.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    send: bool,
    #[sqlx(flatten)]
    due: DistanceDue,
}

/// Writes the position and, when the contract says so, records the new distance, in one
/// statement: the CTE locks the session row (`FOR UPDATE`, which also makes it read the
/// latest version if another instance or the other party got there first), the decision
/// is made on those locked values, and the UPDATE writes both. Two updates of one session
/// therefore apply one after the other, each deciding on what the other wrote.
///
/// The rule: only while active, only when both positions are known, and then when no
/// distance was sent yet or the sender is at least 50 m from where they were at the last
/// distance update (their anchor). Sending resets both anchors to the current positions.
async fn store(
    context: &Context,
    meta: &CommandMeta,
    session_id: Uuid,
    position: Point,
) -> Result<(), WireError> {
    let stored: Option<Stored> = sqlx::query_as(concat!(
        "WITH locked AS (
             SELECT id, seeker_id, provider_id, connection_state, last_distance_update,
                    CASE WHEN $2 = 'seeker' THEN $3 ELSE seeker_latitude END AS seeker_lat,
                    CASE WHEN $2 = 'seeker' THEN $4 ELSE seeker_longitude END AS seeker_lon,
                    CASE WHEN $2 = 'provider' THEN $3 ELSE provider_latitude END AS provider_lat,
                    CASE WHEN $2 = 'provider' THEN $4 ELSE provider_longitude END AS provider_lon,
                    CASE WHEN $2 = 'seeker' THEN seeker_anchor_latitude
                         ELSE provider_anchor_latitude END AS anchor_lat,
                    CASE WHEN $2 = 'seeker' THEN seeker_anchor_longitude
                         ELSE provider_anchor_longitude END AS anchor_lon
             FROM work_sessions
             WHERE id = $1
               AND (CASE WHEN $2 = 'seeker' THEN seeker_id ELSE provider_id END) = $5
               AND connection_state IN ('waiting', 'active')
             FOR UPDATE
         ),
         decided AS (
             SELECT locked.*,
                    connection_state = 'active'
                    AND seeker_lat IS NOT NULL AND provider_lat IS NOT NULL
                    AND (last_distance_update IS NULL OR anchor_lat IS NULL
                         OR ",
        haversine_sql!("$7", "anchor_lat", "anchor_lon", "$3", "$4"),
        " >= $6) AS send,
                    ",
        rounded_distance_sql!("$7", "seeker_lat", "seeker_lon", "provider_lat", "provider_lon"),
        " AS distance
             FROM locked
         )
         UPDATE work_sessions AS w SET
             seeker_latitude = d.seeker_lat,
             seeker_longitude = d.seeker_lon,
             provider_latitude = d.provider_lat,
             provider_longitude = d.provider_lon,
             seeker_location_at = CASE WHEN $2 = 'seeker' THEN now() ELSE w.seeker_location_at END,
             provider_location_at = CASE WHEN $2 = 'provider' THEN now() ELSE w.provider_location_at END,
             current_distance_meters = CASE WHEN d.send THEN d.distance ELSE w.current_distance_meters END,
             last_distance_update = CASE WHEN d.send THEN now() ELSE w.last_distance_update END,
             seeker_anchor_latitude = CASE WHEN d.send THEN d.seeker_lat ELSE w.seeker_anchor_latitude END,
             seeker_anchor_longitude = CASE WHEN d.send THEN d.seeker_lon ELSE w.seeker_anchor_longitude END,
             provider_anchor_latitude = CASE WHEN d.send THEN d.provider_lat ELSE w.provider_anchor_latitude END,
             provider_anchor_longitude = CASE WHEN d.send THEN d.provider_lon ELSE w.provider_anchor_longitude END
         FROM decided AS d
         WHERE w.id = d.id
         RETURNING d.send, d.id AS session_id, d.seeker_id, d.provider_id,
                   coalesce(d.distance, 0) AS distance_meters"
    ))
    .bind(session_id)
    .bind(meta.role.as_str())
    .bind(position.latitude)
    .bind(position.longitude)
    .bind(meta.user_id)
    .bind(DISTANCE_MOVE_THRESHOLD_M)
    .bind(EARTH_RADIUS_M)
    .fetch_optional(&context.pool)
    .await
    .map_err(|err| {
        tracing::error!(%session_id, error = %err, "location update failed");
        WireError::internal()
    })?;
    let Some(stored) = stored else {
        return Err(why_not_stored(context, meta, session_id).await?);
    };
    if stored.send {
        fanout::send(&context.outbox, &stored.due, Cause::Move).await;
    }
    Ok(())
}

/// Nothing was updated: either the caller is not this session's party in this role
/// (`not_found`, never revealing that the session exists) or it has ended (`conflict`).
/// Sessions only ever move forward to an end state, so the answer cannot go stale.
async fn why_not_stored(
    context: &Context,
    meta: &CommandMeta,
    session_id: Uuid,
) -> Result<WireError, WireError> {
    let party: Option<(String,)> = sqlx::query_as(
        "SELECT connection_state FROM work_sessions
         WHERE id = $1 AND (CASE WHEN $2 = 'seeker' THEN seeker_id ELSE provider_id END) = $3",
    )
    .bind(session_id)
    .bind(meta.role.as_str())
    .bind(meta.user_id)
    .fetch_optional(&context.pool)
    .await
    .map_err(|err| {
        tracing::error!(%session_id, error = %err, "location update lookup failed");
        WireError::internal()
    })?;
    Ok(match party {
        None => WireError::session_not_found(),
        Some(_) => WireError::conflict(SESSION_NOT_OPEN),
    })
}
