//! Session activation: when a session becomes active and both positions are already
//! known, both parties get a `distance_update` at once.

use std::sync::Arc;

use chrono::Utc;
use tether_proto::events::{SessionEvent, SessionEventKind};
use uuid::Uuid;

use crate::Context;
use crate::fanout::{self, Cause};
use crate::positions::{self, Positions};

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
/// `last_distance_update` is only ever set while active, so "none yet" means nothing was
/// sent: a `location_update` or a tick that got there first (both are possible, the event
/// travels after the commit) leaves nothing to do, and nobody gets it twice. The row is
/// locked while deciding, like every writer of it. A session without a positions row has
/// no position yet: nothing to do. Recording the distance restarts the tick's interval.
async fn send_first_distance(context: &Context, session_id: Uuid) -> Result<(), sqlx::Error> {
    let mut tx = context.pool.begin().await?;
    let row: Option<Positions> = sqlx::query_as(positions::positions_select!(
        "WHERE p.session_id = $1 FOR UPDATE OF p"
    ))
    .bind(session_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut row) = row else {
        return Ok(());
    };
    if !row.is_active() || row.distance_sent {
        return Ok(());
    }
    let Some(due) = row.record_distance() else {
        return Ok(());
    };
    let interval =
        chrono::Duration::from_std(context.distance_interval).unwrap_or(chrono::Duration::MAX);
    let next = row
        .db_now
        .checked_add_signed(interval)
        .unwrap_or(Utc::now());
    positions::write(&mut tx, &[&row], Some(&[Some(next)])).await?;
    tx.commit().await?;
    fanout::send(&context.outbox, &due, Cause::Activation).await;
    Ok(())
}
