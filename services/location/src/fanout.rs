//! Computing, storing and sending a session's `distance_update`: one place for the maths,
//! the statement that records it and the fan-out to both parties.

use sqlx::PgConnection;
use tether_platform::{Outbox, Target};
use tether_proto::distance::{Point, distance_meters, format_away};
use tether_proto::{Role, ServerMessage, Timestamp};
use uuid::Uuid;

/// Why a distance update was sent (metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A party's `location_update` (first distance, or a move of at least 50 m).
    Move,
    /// The session just became active with both positions known.
    Activation,
    /// The periodic tick.
    Tick,
}

impl Cause {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Move => "move",
            Self::Activation => "activation",
            Self::Tick => "tick",
        }
    }
}

/// A distance that was committed and must now be sent to both parties.
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceDue {
    /// The session.
    pub session_id: Uuid,
    /// The seeker's user id.
    pub seeker_id: Uuid,
    /// The provider's user id.
    pub provider_id: Uuid,
    /// Rounded to 0.1 m, as stored and sent.
    pub distance_meters: f64,
}

impl DistanceDue {
    /// The distance between the parties' current positions, rounded as the contract says.
    pub fn between(
        session_id: Uuid,
        seeker_id: Uuid,
        provider_id: Uuid,
        seeker: Point,
        provider: Point,
    ) -> Self {
        Self {
            session_id,
            seeker_id,
            provider_id,
            distance_meters: distance_meters(seeker, provider),
        }
    }

    /// The `distance_update` message, stamped now.
    pub fn message(&self) -> ServerMessage {
        ServerMessage::DistanceUpdate {
            session_id: self.session_id,
            distance_meters: self.distance_meters,
            distance_formatted: format_away(self.distance_meters),
            timestamp: Timestamp::now(),
        }
    }
}

/// Records the distances of `due` (inside the caller's transaction, with the rows locked):
/// the distance, the time, and both anchors moved to the positions the distance was
/// computed from (the rows' current positions, unchanged while the lock is held).
pub async fn record(conn: &mut PgConnection, due: &[DistanceDue]) -> Result<(), sqlx::Error> {
    if due.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = due.iter().map(|d| d.session_id).collect();
    let distances: Vec<f64> = due.iter().map(|d| d.distance_meters).collect();
    sqlx::query(
        "UPDATE work_sessions AS w
         SET current_distance_meters = d.distance,
             last_distance_update = now(),
             seeker_anchor_latitude = w.seeker_latitude,
             seeker_anchor_longitude = w.seeker_longitude,
             provider_anchor_latitude = w.provider_latitude,
             provider_anchor_longitude = w.provider_longitude
         FROM UNNEST($1::uuid[], $2::float8[]) AS d (id, distance)
         WHERE w.id = d.id",
    )
    .bind(ids)
    .bind(distances)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends a committed distance to every socket of both parties. Disconnected parties miss
/// it: nothing is stored for them (latest-wins, connected clients only).
pub async fn send(outbox: &Outbox, due: &DistanceDue, cause: Cause) {
    let message = due.message();
    tokio::join!(
        outbox.send(Role::Seeker, due.seeker_id, Target::All, message.clone()),
        outbox.send(Role::Provider, due.provider_id, Target::All, message),
    );
    metrics::counter!("tether_distance_updates_total", "cause" => cause.as_str()).increment(1);
}
