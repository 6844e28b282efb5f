//! Domain events the session service publishes for chat and location to consume.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Role;
use crate::time::Timestamp;

/// A session lifecycle event kind; also the last subject token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionEventKind {
    /// Work order accepted, session created (waiting).
    Accepted,
    /// Seeker selected mediums (waiting -> active).
    Activated,
    /// Cancelled by either party.
    Cancelled,
    /// Completed by either party.
    Completed,
}

impl SessionEventKind {
    /// The subject token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Activated => "activated",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }
}

/// Payload of `tether.evt.session.<kind>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionEvent {
    /// What happened.
    pub kind: SessionEventKind,
    /// The session.
    pub session_id: Uuid,
    /// Its work order.
    pub work_id: i64,
    /// The seeker's user id.
    pub seeker_id: Uuid,
    /// The provider's user id.
    pub provider_id: Uuid,
    /// Who caused it (cancel/complete), if a party did.
    pub by: Option<Role>,
    /// When the transition committed.
    pub at: Timestamp,
    /// When the session's chat expires (`cancelled` and `completed`): the session service
    /// owns `TETHER_CHAT_TTL_H` and sets the same expiry in the ending transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_expires_at: Option<Timestamp>,
}
