//! Every WebSocket message the server sends, and [`Owner`], the services that handle
//! client commands (the commands themselves are in [`crate::commands`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::approach::{ArrivalStage, Trend};
use crate::cadence::CadenceBand;
use crate::mediums::Mediums;
use crate::model::{ChatMessageView, ConnectionState, DeliveryStatus, Role};
use crate::presence::PeerState;
use crate::time::Timestamp;

/// Which service owns a client message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// Answered by ws-edge itself (`ping`).
    Edge,
    /// The session service.
    Session,
    /// The chat service.
    Chat,
    /// The location service.
    Location,
}

impl Owner {
    /// The service name used in subjects and queue groups.
    pub fn service_name(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Session => "session",
            Self::Chat => "chat",
            Self::Location => "location",
        }
    }
}

/// A message to a client. Serialised inside [`ServerFrame`] so answers can echo `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `ping`.
    Pong {
        /// Server time.
        timestamp: Timestamp,
    },
    /// A command failed; only to the connection that sent it.
    Error {
        /// Human message.
        error: String,
        /// Machine code.
        code: crate::ErrorCode,
        /// On `unavailable` and `rate_limited`: the least time to wait before sending the
        /// command again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// Provider: a seeker sent you a work order.
    WorkAssigned {
        /// The order.
        work_id: i64,
        /// The seeker's display name.
        seeker_name: Option<String>,
        /// The seeker's phone number.
        seeker_mobile: Option<String>,
        /// What is needed.
        service_type: String,
        /// `"2.5 km"` / `"450 meters"` from the order to your status location, or null.
        distance: Option<String>,
        /// The seeker's note.
        message: String,
        /// The seeker's picture URL.
        seeker_profile_pic: Option<String>,
        /// When the order was created.
        created_at: Timestamp,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Seeker: your pending order expired.
    WorkExpired {
        /// The order.
        work_id: i64,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Both parties: the order was accepted and the session is waiting.
    WorkAccepted {
        /// The order.
        work_id: i64,
        /// The new session.
        session_id: Uuid,
        /// Always `waiting`.
        connection_state: ConnectionState,
        /// Role-specific text.
        message: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Provider: your rejection was recorded.
    WorkRejected {
        /// The order.
        work_id: i64,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Seeker: the provider declined.
    WorkResponse {
        /// The order.
        work_id: i64,
        /// Always false.
        accepted: bool,
        /// The provider's display name.
        provider_name: Option<String>,
        /// The provider's phone number.
        provider_mobile: Option<String>,
        /// What was asked.
        service_type: String,
        /// When the provider answered.
        response_time: Timestamp,
    },
    /// Seeker: your mediums were stored; the session is active.
    MediumsSelected {
        /// The session.
        session_id: Uuid,
        /// What you selected.
        mediums: Mediums,
        /// Always `active`.
        connection_state: ConnectionState,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Provider: the seeker selected mediums; the session is active.
    SeekerMediumsSelected {
        /// The session.
        session_id: Uuid,
        /// The seeker's mediums.
        mediums: Mediums,
        /// Always `active`.
        connection_state: ConnectionState,
        /// `"Seeker has selected communication mediums"`.
        message: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Provider: your mediums were shared.
    MediumsShared {
        /// The session.
        session_id: Uuid,
        /// What you shared.
        mediums: Mediums,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Seeker: the provider shared mediums.
    ProviderMediumsShared {
        /// The session.
        session_id: Uuid,
        /// The provider's mediums.
        mediums: Mediums,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Both: the chat is open.
    ChatReady {
        /// The session.
        session_id: Uuid,
        /// Same as `session_id`.
        chat_room_id: Uuid,
        /// `"Chat started successfully"`.
        message: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Sender: your message is durably stored.
    MessageSent {
        /// The stored message.
        message_id: Uuid,
        /// The session.
        session_id: Uuid,
        /// When it was stored.
        timestamp: Timestamp,
        /// The stored text was masked (the session was waiting); absent otherwise.
        #[serde(default, skip_serializing_if = "crate::model::is_false")]
        redacted: bool,
    },
    /// Recipient: a chat message (live or re-sent on connect).
    ChatMessage(ChatMessageView),
    /// Sender: the recipient acknowledged delivery or reading.
    MessageStatusUpdate {
        /// The message.
        message_id: Uuid,
        /// `delivered` / `read`.
        status: DeliveryStatus,
        /// When it changed.
        timestamp: Timestamp,
    },
    /// The other party is (not) typing.
    TypingIndicator {
        /// The session.
        session_id: Uuid,
        /// Who types: `seeker` / `provider`.
        user_type: Role,
        /// true while typing.
        is_typing: bool,
        /// Send time.
        timestamp: Timestamp,
    },
    /// The session was cancelled; sockets close with 1000 after this.
    ConnectionCancelled {
        /// The session.
        session_id: Uuid,
        /// Only to the other party: who cancelled.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        cancelled_by: Option<Role>,
        /// Role-specific text.
        message: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// The session was completed; sockets close with 1000 after this.
    ServiceFinished {
        /// The session.
        session_id: Uuid,
        /// Only to the other party: who finished.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        finished_by: Option<Role>,
        /// Role-specific text.
        message: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// Both: the current distance.
    DistanceUpdate {
        /// The session.
        session_id: Uuid,
        /// Rounded to 0.1 m.
        distance_meters: f64,
        /// `"450 meters away"` / `"1.3 km away"`.
        distance_formatted: String,
        /// v1.1: over the distances of the last 120 s; null until they span 20 s.
        trend: Option<Trend>,
        /// v1.1: seconds to arrival while approaching at 0.3 m/s or more, else null.
        eta_seconds: Option<u64>,
        /// Send time.
        timestamp: Timestamp,
    },
    /// v1.1: the parties came closer than any stage announced before in this session.
    ArrivalUpdate {
        /// The session.
        session_id: Uuid,
        /// The closest stage reached.
        stage: ArrivalStage,
        /// The distance that reached it, rounded to 0.1 m.
        distance_meters: f64,
        /// Formatted like `distance_update`'s.
        distance_formatted: String,
        /// Send time.
        timestamp: Timestamp,
    },
    /// v1.1: the other party came online, went offline, or went stale.
    PeerStatus {
        /// The session.
        session_id: Uuid,
        /// The other party's role.
        peer_role: Role,
        /// `online`, `offline` or `stale`.
        status: PeerState,
        /// The peer's last socket transition or fix (RFC 3339), null if neither in this
        /// session.
        last_seen: Option<Timestamp>,
        /// Send time.
        timestamp: Timestamp,
    },
    /// v1.2: how often the apps of an active session should send precise fixes (on
    /// activation, when a distance changes the band, and once on connect).
    LocationCadence {
        /// The session.
        session_id: Uuid,
        /// `far`, `near`, `close` or `arrived`.
        band: CadenceBand,
        /// Seconds between precise fixes (0: stop sending until told otherwise).
        interval_s: u32,
        /// Metres of movement worth a fix before the interval is up.
        min_move_m: u32,
        /// Send time.
        timestamp: Timestamp,
    },
}

impl ServerMessage {
    /// Every server type name (metrics labels, schemas).
    pub const TYPES: [&'static str; 22] = [
        "pong",
        "error",
        "work_assigned",
        "work_expired",
        "work_accepted",
        "work_rejected",
        "work_response",
        "mediums_selected",
        "seeker_mediums_selected",
        "mediums_shared",
        "provider_mediums_shared",
        "chat_ready",
        "message_sent",
        "chat_message",
        "message_status_update",
        "typing_indicator",
        "connection_cancelled",
        "service_finished",
        "distance_update",
        "arrival_update",
        "peer_status",
        "location_cadence",
    ];

    /// The server type of a serialised frame (its leading `"type"` field), as one of
    /// [`ServerMessage::TYPES`]; `"other"` when it is not one.
    pub fn type_of_json(json: &str) -> &'static str {
        json.strip_prefix(r#"{"type":""#)
            .and_then(|rest| rest.split('"').next())
            .and_then(|name| Self::TYPES.into_iter().find(|known| *known == name))
            .unwrap_or("other")
    }

    /// An `error` message from a typed error.
    pub fn error(err: &crate::WireError) -> Self {
        Self::Error {
            error: err.error.clone(),
            code: err.code,
            retry_after_ms: err.retry_after_ms,
        }
    }

    /// v1.2: the `location_cadence` of `band` for `session_id`, stamped now.
    pub fn location_cadence(session_id: Uuid, band: CadenceBand) -> Self {
        Self::LocationCadence {
            session_id,
            band,
            interval_s: band.interval_s(),
            min_move_m: band.min_move_m(),
            timestamp: Timestamp::now(),
        }
    }

    /// The `type` of this message, for metrics and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Pong { .. } => "pong",
            Self::Error { .. } => "error",
            Self::WorkAssigned { .. } => "work_assigned",
            Self::WorkExpired { .. } => "work_expired",
            Self::WorkAccepted { .. } => "work_accepted",
            Self::WorkRejected { .. } => "work_rejected",
            Self::WorkResponse { .. } => "work_response",
            Self::MediumsSelected { .. } => "mediums_selected",
            Self::SeekerMediumsSelected { .. } => "seeker_mediums_selected",
            Self::MediumsShared { .. } => "mediums_shared",
            Self::ProviderMediumsShared { .. } => "provider_mediums_shared",
            Self::ChatReady { .. } => "chat_ready",
            Self::MessageSent { .. } => "message_sent",
            Self::ChatMessage(_) => "chat_message",
            Self::MessageStatusUpdate { .. } => "message_status_update",
            Self::TypingIndicator { .. } => "typing_indicator",
            Self::ConnectionCancelled { .. } => "connection_cancelled",
            Self::ServiceFinished { .. } => "service_finished",
            Self::DistanceUpdate { .. } => "distance_update",
            Self::ArrivalUpdate { .. } => "arrival_update",
            Self::PeerStatus { .. } => "peer_status",
            Self::LocationCadence { .. } => "location_cadence",
        }
    }

    /// Wraps the message for sending, echoing `request_id` when this is a direct answer.
    pub fn frame(self, request_id: Option<String>) -> ServerFrame {
        ServerFrame {
            message: self,
            request_id,
        }
    }
}

/// A server message as written to the socket: the message plus, for direct answers, the
/// `request_id` the client sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServerFrame {
    /// The message.
    #[serde(flatten)]
    pub message: ServerMessage,
    /// Echo of the client's `request_id` (direct answers only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
}

impl ServerFrame {
    /// The JSON text written to the socket.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising these plain data types cannot fail (string keys, finite floats
        // are checked before they get here; a non-finite float would become null).
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn frame_echoes_request_id_flat() {
        let frame = ServerMessage::Pong {
            timestamp: Timestamp(chrono::DateTime::UNIX_EPOCH),
        }
        .frame(Some("r1".into()));
        let value: Value = serde_json::from_slice(&frame.to_json()).expect("json");
        assert_eq!(
            value,
            json!({"type": "pong", "timestamp": "1970-01-01T00:00:00.000Z", "request_id": "r1"})
        );
    }

    #[test]
    fn type_of_json_reads_the_leading_tag() {
        let frame = ServerMessage::WorkExpired {
            work_id: 1,
            timestamp: Timestamp(chrono::DateTime::UNIX_EPOCH),
        }
        .frame(Some("r".into()));
        let json = String::from_utf8(frame.to_json()).expect("utf8");
        assert_eq!(ServerMessage::type_of_json(&json), "work_expired");
        assert_eq!(ServerMessage::type_of_json(r#"{"type":"nope"}"#), "other");
        assert_eq!(ServerMessage::type_of_json("[]"), "other");
    }

    #[test]
    fn chat_message_is_flat_view() {
        let id = Uuid::nil();
        let view = ChatMessageView {
            message_id: id,
            session_id: id,
            sender_type: Role::Seeker,
            message: "hi".into(),
            delivery_status: DeliveryStatus::Sent,
            timestamp: Timestamp(chrono::DateTime::UNIX_EPOCH),
            delivered_at: None,
            read_at: None,
            redacted: false,
        };
        let value =
            serde_json::to_value(ServerMessage::ChatMessage(view).frame(None)).expect("json");
        assert_eq!(value["type"], "chat_message");
        assert_eq!(value["sender_type"], "seeker");
        assert_eq!(value["message"], "hi");
        assert!(value.get("request_id").is_none());
    }
}
