//! Protocol 1.1 presence: what ws-edge reports about its sockets, and how a party's
//! `peer_status` and `last_seen` are read from what the location service stores.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Role;
use crate::time::Timestamp;

/// How often every ws-edge says it is alive (seconds).
pub const EDGE_BEAT_S: u64 = 5;

/// What a peer looks like to the other party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// At least one socket open for the session's role.
    Online,
    /// No socket open on any ws-edge.
    Offline,
    /// Sockets open, but no precise fix for `TETHER_STALE_LOCATION_S` in an active session.
    Stale,
}

/// Payload of `<p>.evt.edge.presence`: one edge's count of a user's sockets for a role went
/// from 0 to 1 (`online`) or from 1 to 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PresenceEvent {
    /// The edge process (a new id at every start).
    pub edge_id: Uuid,
    /// Grows with every event of this edge, so a late event never undoes a newer one.
    pub seq: u64,
    /// The user.
    pub user_id: Uuid,
    /// The endpoint's role.
    pub role: Role,
    /// true: the first socket opened here; false: the last one closed.
    pub online: bool,
}

/// Which transition of an edge made a user online there: carried by the connected event of
/// every socket, so that the service answering the connect applies that transition before
/// it tells the socket anything. Presence events of different edges may be handled in any
/// order; this keeps a socket that has heard from the server counted as open (a second
/// device's close handled before its "online" must not report the user offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PresenceMark {
    /// The edge process.
    pub edge_id: Uuid,
    /// The [`PresenceEvent::seq`] of the edge's "online" transition for the user and role.
    pub seq: u64,
}

/// Payload of `<p>.evt.edge.beat`, every [`EDGE_BEAT_S`]: the edge is alive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EdgeBeat {
    /// The edge process.
    pub edge_id: Uuid,
    /// When it beat.
    pub at: Timestamp,
}

/// What is stored about a party of an open session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartyPresence {
    /// Any socket for the role open on a live edge.
    pub online: bool,
    /// When `online` last changed, if it ever did.
    pub transition_at: Option<DateTime<Utc>>,
    /// "stale" was reported and no precise fix came since.
    pub stale: bool,
    /// The party's last fix in this session, precise or coarse.
    pub fix_at: Option<DateTime<Utc>>,
}

impl PartyPresence {
    /// The status to show; `None` once the session has ended.
    pub fn status(&self, session_open: bool) -> Option<PeerState> {
        session_open.then_some(match (self.online, self.stale) {
            (false, _) => PeerState::Offline,
            (true, true) => PeerState::Stale,
            (true, false) => PeerState::Online,
        })
    }

    /// `last_seen`: the latest of the party's last socket transition and last fix. A
    /// transition from before the session counts only while the party is still online
    /// (it connected before and is here now); an old disconnect says nothing about this
    /// session, so with no fix either it is null.
    pub fn last_seen(&self, session_created_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let transition = self
            .transition_at
            .filter(|at| self.online || *at >= session_created_at);
        transition.max(self.fix_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid")
    }

    #[test]
    fn status_follows_sockets_and_stale_flag() {
        let mut party = PartyPresence::default();
        assert_eq!(party.status(true), Some(PeerState::Offline));
        party.online = true;
        assert_eq!(party.status(true), Some(PeerState::Online));
        party.stale = true;
        assert_eq!(party.status(true), Some(PeerState::Stale));
        assert_eq!(party.status(false), None);
    }

    #[test]
    fn last_seen_is_the_latest_of_transition_and_fix_within_the_session() {
        let created = at(100);
        let mut party = PartyPresence::default();
        assert_eq!(party.last_seen(created), None);
        party.transition_at = Some(at(50));
        assert_eq!(party.last_seen(created), None, "old disconnect");
        party.online = true;
        assert_eq!(
            party.last_seen(created),
            Some(at(50)),
            "online since before"
        );
        party.fix_at = Some(at(120));
        assert_eq!(party.last_seen(created), Some(at(120)));
        party.transition_at = Some(at(130));
        party.online = false;
        assert_eq!(party.last_seen(created), Some(at(130)));
    }
}
