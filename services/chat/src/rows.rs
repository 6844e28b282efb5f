//! Rows read back from `chat_messages` and `work_sessions`, and their wire views.

use chrono::{DateTime, Utc};
use tether_proto::ConnectionState;
use tether_proto::model::{ChatMessageView, DeliveryStatus, Role};
use uuid::Uuid;

use tether_platform::HandlerError;

/// The columns of `chat_messages` a client may see (select them by these names).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Message id.
    pub id: Uuid,
    /// Session (= chat room).
    pub session_id: Uuid,
    /// `seeker` / `provider`.
    pub sender_type: String,
    /// The text.
    pub message: String,
    /// `sent` / `delivered` / `read`.
    pub delivery_status: String,
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
    /// The delivery status as a type.
    pub fn status(&self) -> Result<DeliveryStatus, HandlerError> {
        DeliveryStatus::parse(&self.delivery_status)
            .ok_or_else(|| HandlerError::invariant("chat_messages.delivery_status"))
    }

    /// The wire object, identical in history, live delivery and re-sends: no name, phone
    /// or user id can be in it because the row holds none of them.
    pub fn view(self) -> Result<ChatMessageView, HandlerError> {
        let delivery_status = self.status()?;
        Ok(ChatMessageView {
            message_id: self.id,
            session_id: self.session_id,
            sender_type: parse_role(&self.sender_type)?,
            message: self.message,
            delivery_status,
            timestamp: self.created_at.into(),
            delivered_at: self.delivered_at.map(Into::into),
            read_at: self.read_at.map(Into::into),
            redacted: self.redacted,
        })
    }
}

/// A `seeker`/`provider` column as a [`Role`].
pub fn parse_role(text: &str) -> Result<Role, HandlerError> {
    Role::parse(text).ok_or_else(|| HandlerError::invariant("role column"))
}

/// A `connection_state` column as a [`ConnectionState`].
pub fn parse_state(text: &str) -> Result<ConnectionState, HandlerError> {
    ConnectionState::parse(text)
        .ok_or_else(|| HandlerError::invariant("work_sessions.connection_state"))
}
