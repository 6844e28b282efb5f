//! Rows read back from `chat_messages` and `work_sessions`, and their wire views.

use chrono::{DateTime, Utc};
use tether_proto::model::{ChatMessageView, DeliveryStatus, Role};
use uuid::Uuid;

/// The columns of `chat_messages` a client may see (select them by these names).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Message id.
    pub id: Uuid,
    /// Session (= chat room).
    pub session_id: Uuid,
    /// Who sent it.
    pub sender_type: Role,
    /// The text.
    pub message: String,
    /// How far it got.
    pub delivery_status: DeliveryStatus,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When the recipient acknowledged delivery.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the recipient read it.
    pub read_at: Option<DateTime<Utc>>,
    /// The stored text was masked (the session was waiting).
    pub redacted: bool,
}

impl MessageRow {
    /// The wire object, identical in history, live delivery and re-sends: no name, phone
    /// or user id can be in it because the row holds none of them.
    pub fn view(self) -> ChatMessageView {
        ChatMessageView {
            message_id: self.id,
            session_id: self.session_id,
            sender_type: self.sender_type,
            message: self.message,
            delivery_status: self.delivery_status,
            timestamp: self.created_at.into(),
            delivered_at: self.delivered_at.map(Into::into),
            read_at: self.read_at.map(Into::into),
            redacted: self.redacted,
        }
    }
}
