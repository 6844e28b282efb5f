//! Session activation: when a session becomes active and both positions are already
//! known, both parties get a `distance_update` at once; v1.2: and, in any case, the
//! session's `location_cadence` (`near`, or the band of that distance), right after it.

use std::sync::Arc;

use chrono::Utc;
use tether_proto::Role;
use tether_proto::cadence::CadenceBand;
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
/// locked while deciding, like every writer of it. v1.1: the activation time is recorded
/// (the stale clock of presence starts there; the row is created if no position came
/// yet) and the tick looks at the session again when a party could first go stale.
async fn send_first_distance(context: &Context, session_id: Uuid) -> Result<(), sqlx::Error> {
    let mut conn = context.pool.acquire().await?;
    positions::create_missing(
        &mut conn,
        &[session_id],
        context.distance_interval.as_secs_f64(),
    )
    .await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let row: Option<Positions> = sqlx::query_as(positions::LOCK_ONE)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(mut row) = row else {
        return Ok(());
    };
    if !row.is_active() || row.activated_at.is_some() {
        return Ok(());
    }
    row.activated_at = Some(row.db_now);
    row.trend = context.trend;
    row.flags_changed = true;
    let mut dues: Vec<_> = if row.distance_sent {
        Vec::new()
    } else {
        row.record_distance().into_iter().collect()
    };
    // v1.2: the cadence goes to both parties on activation, whether or not the band
    // changed: `near`, or the band of the activation's distance.
    let band = row.cadence().unwrap_or(CadenceBand::INITIAL);
    row.set_cadence(band);
    let first_look = context.distance_interval.min(context.stale_location);
    let next = chrono::Duration::from_std(first_look)
        .ok()
        .and_then(|wait| row.db_now.checked_add_signed(wait))
        .unwrap_or_else(Utc::now);
    positions::write(&mut tx, &[&row], Some(&[Some(next)])).await?;
    positions::append_arrivals(&mut tx, &mut dues, Utc::now()).await?;
    tx.commit().await?;
    if let Some(due) = dues.first_mut() {
        due.cadence = Some(band);
    } else {
        let parties = [
            (Role::Seeker, row.seeker_id),
            (Role::Provider, row.provider_id),
        ];
        fanout::send_cadence(&context.outbox, session_id, parties, band).await;
    }
    for due in &dues {
        fanout::send(&context.outbox, due, Cause::Activation).await;
    }
    Ok(())
}
