//! Session activation: when a session becomes active and both positions are already
//! known, both parties get a `distance_update` at once.

use std::sync::Arc;

use tether_proto::distance::Point;
use tether_proto::events::{SessionEvent, SessionEventKind};
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

#[derive(Debug, sqlx::FromRow)]
struct Positions {
    seeker_id: Uuid,
    provider_id: Uuid,
    seeker_latitude: f64,
    seeker_longitude: f64,
    provider_latitude: f64,
    provider_longitude: f64,
}

/// Sends the session's first distance unless one was already sent since activation.
/// `last_distance_update` is only ever set while active, so `IS NULL` means "nothing sent
/// yet": a `location_update` or a tick that got there first (both are possible, the event
/// travels after the commit) leaves nothing to do, and nobody gets it twice.
async fn send_first_distance(context: &Context, session_id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = crate::begin(&context.pool).await?;
    let positions: Option<Positions> = sqlx::query_as(
        "SELECT seeker_id, provider_id,
                seeker_latitude, seeker_longitude, provider_latitude, provider_longitude
         FROM work_sessions
         WHERE id = $1
           AND connection_state = 'active'
           AND last_distance_update IS NULL
           AND seeker_latitude IS NOT NULL AND seeker_longitude IS NOT NULL
           AND provider_latitude IS NOT NULL AND provider_longitude IS NOT NULL
         FOR UPDATE",
    )
    .bind(session_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(positions) = positions else {
        return Ok(());
    };
    let due = DistanceDue::between(
        session_id,
        positions.seeker_id,
        positions.provider_id,
        Point::new(positions.seeker_latitude, positions.seeker_longitude),
        Point::new(positions.provider_latitude, positions.provider_longitude),
    );
    fanout::record(&mut tx, std::slice::from_ref(&due)).await?;
    tx.commit().await?;
    fanout::send(&context.outbox, &due, Cause::Activation).await;
    Ok(())
}
