//! Every WebSocket message of the contract, client -> server and server -> client.
//!
//! Client fields are `Option` where the contract prescribes a specific error for a missing
//! value (e.g. `session_id is required`), so the service, not serde, words the answer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::approach::{ArrivalStage, Trend};
use crate::cadence::CadenceBand;
use crate::errors::{ErrorCode, WireError};
use crate::mediums::Mediums;
use crate::model::{ChatMessageView, ConnectionState, DeliveryStatus, Role};
use crate::presence::PeerState;
use crate::time::Timestamp;

/// Deserialises a field that is present, `null` included, as `Some` (absent stays `None`
/// through `#[serde(default)]`), so a validator can refuse an explicit `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

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

/// Which service owns each client command, as patterns: each service's dispatcher matches
/// its own types one by one and the others' through these, with no `_` arm, so a new
/// command does not compile until its owner's handler exists. [`ClientMessage::owner`]
/// checks that every type has exactly one owner.
#[macro_export]
macro_rules! session_commands {
    () => {
        $crate::ClientMessage::WorkResponse { .. }
            | $crate::ClientMessage::MediumSelection { .. }
            | $crate::ClientMessage::MediumShare { .. }
            | $crate::ClientMessage::CancelConnection { .. }
            | $crate::ClientMessage::FinishService { .. }
    };
}

/// The chat service's commands (see [`session_commands!`]).
#[macro_export]
macro_rules! chat_commands {
    () => {
        $crate::ClientMessage::StartChat { .. }
            | $crate::ClientMessage::ChatMessage { .. }
            | $crate::ClientMessage::MessageDelivered { .. }
            | $crate::ClientMessage::MessageRead { .. }
            | $crate::ClientMessage::TypingIndicator { .. }
    };
}

/// The location service's commands (see [`session_commands!`]).
#[macro_export]
macro_rules! location_commands {
    () => {
        $crate::ClientMessage::LocationUpdate { .. }
    };
}

/// The commands ws-edge answers itself (see [`session_commands!`]).
#[macro_export]
macro_rules! edge_commands {
    () => {
        $crate::ClientMessage::Ping {}
    };
}

/// A message from a client. `request_id` travels beside it in the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Keep-alive; answered with `pong`.
    Ping {},
    /// Provider accepts or rejects a pending work order.
    WorkResponse {
        /// The order.
        work_id: Option<i64>,
        /// true to accept.
        accepted: Option<bool>,
    },
    /// Either party reports where they are.
    LocationUpdate {
        /// The session.
        session_id: Option<String>,
        /// Degrees, [-90, 90].
        latitude: Option<f64>,
        /// Degrees, [-180, 180].
        longitude: Option<f64>,
        /// v1.1: the fix's accuracy radius in metres, a finite number ≥ 0. Absent: a
        /// precise fix. Above `TETHER_MAX_ACCURACY_M`: a coarse fix (only the last-seen
        /// time is kept). `null` is refused like any other non-number.
        #[serde(
            default,
            deserialize_with = "present",
            skip_serializing_if = "Option::is_none"
        )]
        #[schemars(with = "Option<f64>")]
        accuracy_m: Option<Value>,
    },
    /// Seeker selects mediums; activates a waiting session.
    MediumSelection {
        /// The session.
        session_id: Option<String>,
        /// Object with 0-3 keys of telegram/whatsapp/call, each a phone number.
        #[schemars(with = "Option<Mediums>")]
        mediums: Option<Value>,
    },
    /// Provider shares mediums.
    MediumShare {
        /// The session.
        session_id: Option<String>,
        /// Object with 0-3 keys of telegram/whatsapp/call, each a phone number.
        #[schemars(with = "Option<Mediums>")]
        mediums: Option<Value>,
    },
    /// Opens the session's chat.
    StartChat {
        /// The session.
        session_id: Option<String>,
    },
    /// Sends a chat message.
    ChatMessage {
        /// The session.
        session_id: Option<String>,
        /// 1-2000 characters after trimming.
        message: Option<String>,
        /// Client's idempotency key; a retry with the same key stores nothing new.
        client_message_id: Option<String>,
    },
    /// Recipient's device has the message.
    MessageDelivered {
        /// The message.
        message_id: Option<String>,
    },
    /// Recipient has read the message.
    MessageRead {
        /// The message.
        message_id: Option<String>,
    },
    /// Typing started or stopped.
    TypingIndicator {
        /// The session.
        session_id: Option<String>,
        /// true while typing.
        is_typing: Option<bool>,
    },
    /// Ends the session as cancelled.
    CancelConnection {
        /// The session.
        session_id: Option<String>,
    },
    /// Ends the session as completed, optionally rating it (seeker only).
    FinishService {
        /// The session.
        session_id: Option<String>,
        /// Integer 1-5, seeker only.
        #[schemars(with = "Option<i64>")]
        rating_stars: Option<Value>,
        /// At most 1000 characters, seeker only.
        #[schemars(with = "Option<String>")]
        rating_description: Option<Value>,
    },
}

impl ClientMessage {
    /// Parses a client's frame as ws-edge forwarded it (the edge checked that it is a JSON
    /// object of a known type for the sender's endpoint, and its `request_id`). Errors
    /// are the `validation` answers the sender gets.
    pub fn from_frame(frame: &[u8]) -> Result<Self, WireError> {
        // U+0000 can only arrive escaped; the exact check runs only when the escape is there.
        let maybe_nul = frame.windows(6).any(|window| window == br"\u0000");
        if !maybe_nul && let Ok(command) = serde_json::from_slice(frame) {
            return Ok(command);
        }
        // The slow path, on failures only, words the answer from the parsed object, as the
        // edge did when it parsed commands itself (no line and column in the text).
        let mut value: Value = serde_json::from_slice(frame)
            .map_err(|_| WireError::new(ErrorCode::InvalidJson, "Message is not valid JSON"))?;
        if let Some(fields) = value.as_object_mut() {
            fields.remove("request_id");
        }
        if crate::validate::json_has_nul(&value) {
            return Err(WireError::validation(crate::validate::NUL_IN_TEXT));
        }
        let type_name = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let type_name = Self::TYPES
            .into_iter()
            .find(|known| *known == type_name)
            .unwrap_or("message");
        serde_json::from_value(value)
            .map_err(|err| WireError::validation(format!("Invalid {type_name}: {err}")))
    }

    /// The service that owns this command.
    pub fn owner(&self) -> Owner {
        match self {
            crate::edge_commands!() => Owner::Edge,
            crate::session_commands!() => Owner::Session,
            crate::chat_commands!() => Owner::Chat,
            crate::location_commands!() => Owner::Location,
        }
    }

    /// The answer of a service handed a command it does not own: ws-edge routes by type
    /// and endpoint, so this is a routing bug upstream, answered the same way everywhere.
    pub fn not_routed_here(&self) -> WireError {
        WireError::new(
            ErrorCode::UnknownType,
            format!("Unknown message type: {}", self.type_name()),
        )
    }

    /// Every client type name, for parsing and schemas.
    pub const TYPES: [&'static str; 12] = [
        "ping",
        "work_response",
        "location_update",
        "medium_selection",
        "medium_share",
        "start_chat",
        "chat_message",
        "message_delivered",
        "message_read",
        "typing_indicator",
        "cancel_connection",
        "finish_service",
    ];

    /// The `type` of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Ping {} => "ping",
            Self::WorkResponse { .. } => "work_response",
            Self::LocationUpdate { .. } => "location_update",
            Self::MediumSelection { .. } => "medium_selection",
            Self::MediumShare { .. } => "medium_share",
            Self::StartChat { .. } => "start_chat",
            Self::ChatMessage { .. } => "chat_message",
            Self::MessageDelivered { .. } => "message_delivered",
            Self::MessageRead { .. } => "message_read",
            Self::TypingIndicator { .. } => "typing_indicator",
            Self::CancelConnection { .. } => "cancel_connection",
            Self::FinishService { .. } => "finish_service",
        }
    }

    /// Which service handles a type, and whether `role`'s endpoint accepts it.
    /// `None` means the endpoint does not accept it (`unknown_type`).
    pub fn route(type_name: &str, role: Role) -> Option<Owner> {
        let owner = match type_name {
            "ping" => Owner::Edge,
            "work_response" if role == Role::Provider => Owner::Session,
            "medium_selection" if role == Role::Seeker => Owner::Session,
            "medium_share" if role == Role::Provider => Owner::Session,
            "cancel_connection" | "finish_service" => Owner::Session,
            "location_update" => Owner::Location,
            "start_chat" | "chat_message" | "message_delivered" | "message_read"
            | "typing_indicator" => Owner::Chat,
            _ => return None,
        };
        Some(owner)
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
    #[test]
    fn every_type_has_one_owner_and_the_route_table_agrees() {
        for type_name in ClientMessage::TYPES {
            let message: ClientMessage =
                serde_json::from_value(serde_json::json!({ "type": type_name })).expect(type_name);
            assert_eq!(message.type_name(), type_name);
            let routes: Vec<Owner> = [Role::Seeker, Role::Provider]
                .into_iter()
                .filter_map(|role| ClientMessage::route(type_name, role))
                .collect();
            assert!(!routes.is_empty(), "{type_name} is accepted nowhere");
            assert!(
                routes.iter().all(|owner| *owner == message.owner()),
                "{type_name}"
            );
        }
    }

    use super::*;
    use serde_json::json;

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

    #[test]
    fn parses_client_messages_and_routes() {
        let msg: ClientMessage =
            serde_json::from_value(json!({"type": "start_chat", "session_id": "x", "extra": 1}))
                .expect("parse");
        assert_eq!(msg.type_name(), "start_chat");
        assert_eq!(ClientMessage::route("work_response", Role::Seeker), None);
        assert_eq!(
            ClientMessage::route("medium_selection", Role::Provider),
            None
        );
        assert_eq!(ClientMessage::route("medium_share", Role::Seeker), None);
        assert_eq!(
            ClientMessage::route("finish_service", Role::Seeker),
            Some(Owner::Session)
        );
        assert_eq!(ClientMessage::route("nope", Role::Seeker), None);
        for name in ClientMessage::TYPES {
            assert!(
                ClientMessage::route(name, Role::Seeker).is_some()
                    || ClientMessage::route(name, Role::Provider).is_some()
            );
        }
    }
}
