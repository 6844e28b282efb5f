//! Sending a recorded distance to both parties as `distance_update`.

use tether_platform::{Outbox, Target};
use tether_proto::distance::format_away;
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
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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
    /// The `distance_update` message, stamped now. The text is formatted from the rounded
    /// value the message carries, so it always agrees with `distance_meters` and with the
    /// session snapshot.
    pub fn message(&self) -> ServerMessage {
        ServerMessage::DistanceUpdate {
            session_id: self.session_id,
            distance_meters: self.distance_meters,
            distance_formatted: format_away(self.distance_meters),
            timestamp: Timestamp::now(),
        }
    }
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
