//! Session activation: when a session becomes active and both positions are already
//! known, both parties get a `distance_update` at once.

use std::sync::Arc;

use tether_proto::events::{SessionEvent, SessionEventKind};
use tether_proto::limits::EARTH_RADIUS_M;
use uuid::Uuid;

use crate::Context;
use crate::fanout::{self, Cause, DistanceDue};

/// Handles a session lifecycle event; only `activated` concerns this service.
pub async fn handle(context: Arc<Context>, event: SessionEvent) {
    if event.kind != SessionEventKind::Activated {
        return;
    }
    if let Err(err) = send_first_distance(&context, event.session_id).await {
        tracing::error!(session_id = %event.session_id, error = %err, "activation distance failed");
    }
}

/// Sends the session's first distance unless one was already sent since activation.
/// `last_distance_update` is only ever set while active, so `IS NULL` means "nothing sent
/// yet": a `location_update` or a tick that got there first (both are possible, the event
/// travels after the commit) leaves nothing to do, and nobody gets it twice. The UPDATE
/// waits for a concurrent writer of the row and re-checks these conditions on what it
/// wrote.
async fn send_first_distance(context: &Context, session_id: Uuid) -> Result<(), sqlx::Error> {
    let due: Option<DistanceDue> = sqlx::query_as(concat!(
        "UPDATE work_sessions SET
             current_distance_meters = ",
        rounded_distance_sql!(
            "$2",
            "seeker_latitude",
            "seeker_longitude",
            "provider_latitude",
            "provider_longitude"
        ),
        ",
             last_distance_update = now(),
             seeker_anchor_latitude = seeker_latitude,
             seeker_anchor_longitude = seeker_longitude,
             provider_anchor_latitude = provider_latitude,
             provider_anchor_longitude = provider_longitude
         WHERE id = $1
           AND connection_state = 'active'
           AND last_distance_update IS NULL
           AND seeker_latitude IS NOT NULL AND seeker_longitude IS NOT NULL
           AND provider_latitude IS NOT NULL AND provider_longitude IS NOT NULL
         RETURNING id AS session_id, seeker_id, provider_id,
                   current_distance_meters AS distance_meters"
    ))
    .bind(session_id)
    .bind(EARTH_RADIUS_M)
    .fetch_optional(&context.pool)
    .await?;
    if let Some(due) = due {
        fanout::send(&context.outbox, &due, Cause::Activation).await;
    }
    Ok(())
}
