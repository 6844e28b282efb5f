//! Sending a recorded distance to both parties as `distance_update`.

use chrono::{DateTime, Utc};
use tether_platform::metrics_catalog::names;
use tether_platform::{Outbox, Target};
use tether_proto::approach::{ArrivalStage, Trend};
use tether_proto::cadence::CadenceBand;
use tether_proto::distance::format_away;
use tether_proto::presence::PeerState;
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
    /// v1.1 trend over the last 120 s.
    pub trend: Option<Trend>,
    /// v1.1 seconds to arrival.
    pub eta_seconds: Option<u64>,
    /// v1.1: a stage this distance announces (recorded in the same transaction).
    pub arrival: Option<ArrivalStage>,
    /// v1.2: the cadence band this distance moved the session to (recorded in the same
    /// transaction), sent after the distance and the arrival stage.
    pub cadence: Option<CadenceBand>,
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
            trend: self.trend,
            eta_seconds: self.eta_seconds,
            timestamp: Timestamp::now(),
        }
    }

    /// The `arrival_update` that follows the `distance_update`, if a stage was reached.
    pub fn arrival_message(&self) -> Option<ServerMessage> {
        Some(ServerMessage::ArrivalUpdate {
            session_id: self.session_id,
            stage: self.arrival?,
            distance_meters: self.distance_meters,
            distance_formatted: format_away(self.distance_meters),
            timestamp: Timestamp::now(),
        })
    }
}

/// A `peer_status` for one party about the other.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerDue {
    /// The session.
    pub session_id: Uuid,
    /// Who is told.
    pub to_role: Role,
    /// Their user id.
    pub to_user: Uuid,
    /// What the peer is now.
    pub status: PeerState,
    /// The peer's last transition or fix.
    pub last_seen: Option<DateTime<Utc>>,
}

impl PeerDue {
    /// The message, stamped now.
    pub fn message(&self) -> ServerMessage {
        ServerMessage::PeerStatus {
            session_id: self.session_id,
            peer_role: self.to_role.other(),
            status: self.status,
            last_seen: self.last_seen.map(Timestamp::from),
            timestamp: Timestamp::now(),
        }
    }
}

/// Sends a `peer_status` to every socket of its addressee (or only `target`).
pub async fn send_peer(outbox: &Outbox, due: &PeerDue, target: Target) {
    outbox
        .send(due.to_role, due.to_user, target, due.message())
        .await;
    metrics::counter!(names::PEER_STATUS_TOTAL, "status" => match due.status {
        PeerState::Online => "online",
        PeerState::Offline => "offline",
        PeerState::Stale => "stale",
    })
    .increment(1);
}

/// Sends a committed distance to every socket of both parties, then the arrival stage it
/// reached if any, then the cadence band it moved the session to if any (one publisher
/// connection keeps that order per subject). Disconnected parties miss them: nothing is
/// stored for them (latest-wins, connected clients only).
pub async fn send(outbox: &Outbox, due: &DistanceDue, cause: Cause) {
    let mut messages = vec![due.message()];
    messages.extend(due.arrival_message());
    messages.extend(
        due.cadence
            .map(|band| ServerMessage::location_cadence(due.session_id, band)),
    );
    let to = |role: Role, user: Uuid, messages: Vec<ServerMessage>| async move {
        for message in messages {
            outbox.send(role, user, Target::All, message).await;
        }
    };
    tokio::join!(
        to(Role::Seeker, due.seeker_id, messages.clone()),
        to(Role::Provider, due.provider_id, messages),
    );
    metrics::counter!(names::DISTANCE_UPDATES_TOTAL, "cause" => cause.as_str()).increment(1);
}

/// v1.2: sends `band` as `location_cadence` to every socket of both parties of a session
/// (on activation without a distance).
pub async fn send_cadence(
    outbox: &Outbox,
    session_id: Uuid,
    parties: [(Role, Uuid); 2],
    band: CadenceBand,
) {
    let message = ServerMessage::location_cadence(session_id, band);
    let [first, second] = parties;
    tokio::join!(
        outbox.send(first.0, first.1, Target::All, message.clone()),
        outbox.send(second.0, second.1, Target::All, message.clone()),
    );
}
