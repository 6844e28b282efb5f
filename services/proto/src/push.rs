//! The body of a push webhook (protocol 1.1, "Push for offline users"). The server builds
//! it in SQL when it enqueues the event (`push_event_body` in the migrations) and sends
//! those exact bytes; this type is its contract for receivers and for the JSON Schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Role, Timestamp};

/// What a push event announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushEventType {
    /// A new work order for a provider (`work_id` set).
    WorkAssigned,
    /// A new chat message in a session (`session_id` set).
    ChatMessage,
}

/// POSTed to `TETHER_PUSH_WEBHOOK_URL` when a `work_assigned` or `chat_message` is
/// addressed to a user with no open socket for that role, signed in `X-Tether-Signature:
/// sha256=<hex HMAC-SHA256 of the exact body>`. No text, no name, no phone. Receivers
/// deduplicate by `event_id` (a crash between a 2xx and recording it sends it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PushEvent {
    /// This event's own id (UUID); the same on every try.
    pub event_id: Uuid,
    /// What it announces.
    #[serde(rename = "type")]
    pub kind: PushEventType,
    /// The addressee.
    pub user_id: Uuid,
    /// The addressee's role (the endpoint with no open socket).
    pub role: Role,
    /// The work order, for `work_assigned` only (absent otherwise, never null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "i64")]
    pub work_id: Option<i64>,
    /// The session, for `chat_message` only (absent otherwise, never null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Uuid")]
    pub session_id: Option<Uuid>,
    /// When the order or message was stored.
    pub at: Timestamp,
}
