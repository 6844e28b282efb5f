//! What ws-edge sends to a service for each client command, and the headers of what
//! services send back.
//!
//! Commands travel as NATS request/reply: the reply body is the direct answer for the
//! connection that sent the command (a [`crate::ServerFrame`] as JSON, or empty when the
//! contract sends the sender nothing). Everything else a user must see is published on the
//! per-user outbound subject (see [`crate::subjects`]) with the headers below.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::messages::ClientMessage;
use crate::model::Role;
use crate::time::Timestamp;

/// Who sent a command. Filled in by ws-edge from the verified token and the endpoint;
/// services never take a user id from the client payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandMeta {
    /// Authenticated user id (the JWT `sub`).
    pub user_id: Uuid,
    /// Role from the WebSocket path.
    pub role: Role,
    /// The edge connection that sent it (for answers to this device only).
    pub conn_id: Uuid,
    /// The client's `request_id`, echoed by the direct answer.
    pub request_id: Option<String>,
    /// When the edge received the frame.
    pub received_at: Timestamp,
}

/// A client command on its way from ws-edge to the owning service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandEnvelope {
    /// Sender, as authenticated by the edge.
    pub meta: CommandMeta,
    /// The parsed client message.
    pub command: ClientMessage,
}

/// Header on a command reply or an outbound message: after writing the payload (if any),
/// close the socket(s) with this WebSocket close code.
pub const HEADER_CLOSE: &str = "Tether-Close";
/// Header on an outbound message: deliver only to this connection id.
pub const HEADER_ONLY_CONN: &str = "Tether-Conn";
/// Header on an outbound message: deliver to every connection but this one (the sender's
/// own device already got the direct answer).
pub const HEADER_EXCEPT_CONN: &str = "Tether-Except";

/// WebSocket close codes the system uses.
pub mod close_code {
    /// Normal end (session cancelled or finished, idle timeout).
    pub const NORMAL: u16 = 1000;
    /// Server shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation: kept exceeding the rate limit.
    pub const POLICY: u16 = 1008;
    /// Frame or message larger than the limit.
    pub const TOO_BIG: u16 = 1009;
    /// The edge may have missed messages for this socket (its NATS connection was lost
    /// and came back, or fell behind): reconnect at once, and the re-send on connect
    /// recovers what was missed.
    pub const SERVICE_RESTART: u16 = 1012;
    /// The socket could not keep up with its outbound messages.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The token expired while the socket was open.
    pub const TOKEN_EXPIRED: u16 = 4401;
}

/// Published by ws-edge when a socket opens, after it subscribed to the user's outbound
/// subject, so services can re-send what the user missed to exactly that connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectedEvent {
    /// The user.
    pub user_id: Uuid,
    /// The endpoint's role.
    pub role: Role,
    /// The new connection.
    pub conn_id: Uuid,
    /// The token's `name` claim, used as display-name fallback.
    pub token_name: Option<String>,
}
