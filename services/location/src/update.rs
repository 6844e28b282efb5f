//! `location_update`: store the sender's position on the session and, while the session
//! is active, send both parties a `distance_update` when the contract says one is due.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tether_platform::Reply;
use tether_proto::distance::{Point, haversine_m};
use tether_proto::envelope::{CommandEnvelope, CommandMeta};
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::limits::DISTANCE_MOVE_THRESHOLD_M;
use tether_proto::{ClientMessage, ConnectionState, ErrorCode, Role, WireError, validate};
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

/// The session as it is right after the sender's position was written (row locked).
#[derive(Debug, sqlx::FromRow)]
struct UpdatedSession {
    seeker_id: Uuid,
    provider_id: Uuid,
    connection_state: String,
    seeker_latitude: Option<f64>,
    seeker_longitude: Option<f64>,
    provider_latitude: Option<f64>,
    provider_longitude: Option<f64>,
    seeker_anchor_latitude: Option<f64>,
    seeker_anchor_longitude: Option<f64>,
    provider_anchor_latitude: Option<f64>,
    provider_anchor_longitude: Option<f64>,
    last_distance_update: Option<DateTime<Utc>>,
}

impl UpdatedSession {
    fn position(&self, role: Role) -> Option<Point> {
        match role {
            Role::Seeker => point(self.seeker_latitude, self.seeker_longitude),
            Role::Provider => point(self.provider_latitude, self.provider_longitude),
        }
    }

    fn anchor(&self, role: Role) -> Option<Point> {
        match role {
            Role::Seeker => point(self.seeker_anchor_latitude, self.seeker_anchor_longitude),
            Role::Provider => point(
                self.provider_anchor_latitude,
                self.provider_anchor_longitude,
            ),
        }
    }

    /// The contract's rule: only while active, only when the other position is known,
    /// and then when no distance was sent yet or the sender moved at least 50 m from
    /// where they were at the last distance update.
    fn distance_due(&self, session_id: Uuid, sender: Role) -> Option<DistanceDue> {
        if ConnectionState::parse(&self.connection_state) != Some(ConnectionState::Active) {
            return None;
        }
        let seeker = self.position(Role::Seeker)?;
        let provider = self.position(Role::Provider)?;
        let current = self.position(sender)?;
        let moved_enough = match (self.last_distance_update, self.anchor(sender)) {
            (Some(_), Some(anchor)) => haversine_m(anchor, current) >= DISTANCE_MOVE_THRESHOLD_M,
            // Never sent, or no anchor recorded for the sender: this is the first distance.
            _ => true,
        };
        moved_enough.then(|| {
            DistanceDue::between(
                session_id,
                self.seeker_id,
                self.provider_id,
                seeker,
                provider,
            )
        })
    }
}

fn point(latitude: Option<f64>, longitude: Option<f64>) -> Option<Point> {
    Some(Point::new(latitude?, longitude?))
}

/// Writes the position and decides on a distance update in one transaction: the UPDATE
/// locks the session row, so two instances, or both parties moving at once, see each
/// other's positions and anchors in order and never both send for the same move.
async fn store(
    context: &Context,
    meta: &CommandMeta,
    session_id: Uuid,
    position: Point,
) -> Result<(), WireError> {
    let db_error = |err: sqlx::Error| {
        tracing::error!(%session_id, error = %err, "location update failed");
        WireError::internal()
    };
    let mut tx = crate::begin(&context.pool).await.map_err(db_error)?;
    // One statement for both roles: the CASEs pick the sender's columns, and the party
    // check uses the role of the endpoint, not anything the client sent.
    let updated: Option<UpdatedSession> = sqlx::query_as(
        "UPDATE work_sessions SET
             seeker_latitude = CASE WHEN $2 = 'seeker' THEN $3 ELSE seeker_latitude END,
             seeker_longitude = CASE WHEN $2 = 'seeker' THEN $4 ELSE seeker_longitude END,
             seeker_location_at = CASE WHEN $2 = 'seeker' THEN now() ELSE seeker_location_at END,
             provider_latitude = CASE WHEN $2 = 'provider' THEN $3 ELSE provider_latitude END,
             provider_longitude = CASE WHEN $2 = 'provider' THEN $4 ELSE provider_longitude END,
             provider_location_at = CASE WHEN $2 = 'provider' THEN now() ELSE provider_location_at END
         WHERE id = $1
           AND (CASE WHEN $2 = 'seeker' THEN seeker_id ELSE provider_id END) = $5
           AND connection_state IN ('waiting', 'active')
         RETURNING seeker_id, provider_id, connection_state,
                   seeker_latitude, seeker_longitude, provider_latitude, provider_longitude,
                   seeker_anchor_latitude, seeker_anchor_longitude,
                   provider_anchor_latitude, provider_anchor_longitude,
                   last_distance_update",
    )
    .bind(session_id)
    .bind(meta.role.as_str())
    .bind(position.latitude)
    .bind(position.longitude)
    .bind(meta.user_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    let Some(updated) = updated else {
        tx.rollback().await.map_err(db_error)?;
        return Err(why_not_stored(context, meta, session_id).await?);
    };
    let due = updated.distance_due(session_id, meta.role);
    if let Some(due) = &due {
        fanout::record(&mut tx, std::slice::from_ref(due))
            .await
            .map_err(db_error)?;
    }
    tx.commit().await.map_err(db_error)?;
    if let Some(due) = due {
        fanout::send(&context.outbox, &due, Cause::Move).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    const METRES_PER_DEGREE: f64 = 111_194.926_644_558_7;

    fn session(state: &str, provider_known: bool, sent_before: bool) -> UpdatedSession {
        UpdatedSession {
            seeker_id: Uuid::nil(),
            provider_id: Uuid::nil(),
            connection_state: state.to_string(),
            seeker_latitude: Some(49.0 / METRES_PER_DEGREE),
            seeker_longitude: Some(0.0),
            provider_latitude: provider_known.then_some(1000.0 / METRES_PER_DEGREE),
            provider_longitude: provider_known.then_some(0.0),
            seeker_anchor_latitude: sent_before.then_some(0.0),
            seeker_anchor_longitude: sent_before.then_some(0.0),
            provider_anchor_latitude: sent_before.then_some(1000.0 / METRES_PER_DEGREE),
            provider_anchor_longitude: sent_before.then_some(0.0),
            last_distance_update: sent_before.then(Utc::now),
        }
    }

    #[test]
    fn distance_only_while_active_with_both_positions() {
        let id = Uuid::nil();
        assert!(
            session("waiting", true, false)
                .distance_due(id, Role::Seeker)
                .is_none()
        );
        assert!(
            session("active", false, false)
                .distance_due(id, Role::Seeker)
                .is_none()
        );
        let first = session("active", true, false).distance_due(id, Role::Seeker);
        assert_eq!(first.map(|d| d.distance_meters), Some(951.0));
    }

    #[test]
    fn moves_under_50_m_from_the_anchor_send_nothing() {
        let id = Uuid::nil();
        // The seeker is 49 m from their anchor: silent.
        assert!(
            session("active", true, true)
                .distance_due(id, Role::Seeker)
                .is_none()
        );
        let mut moved = session("active", true, true);
        moved.seeker_latitude = Some(50.5 / METRES_PER_DEGREE);
        let due = moved.distance_due(id, Role::Seeker).expect("due");
        assert_eq!(due.distance_meters, 949.5);
        // The provider has not moved from their anchor.
        assert!(moved.distance_due(id, Role::Provider).is_none());
    }
}
