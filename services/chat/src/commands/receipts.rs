//! `message_delivered` / `message_read`: the recipient's receipts, forwarded to the sender.

use chrono::{DateTime, Utc};
use tether_platform::{Reply, Target};
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::{MESSAGE_NOT_FOUND, SESSION_NOT_OPEN};
use tether_proto::model::DeliveryStatus;
use tether_proto::{ServerMessage, WireError};
use uuid::Uuid;

use crate::context::Chat;
use crate::error::ChatError;
use crate::rows::{Parties, parse_role, parse_state};

/// Which receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// `message_delivered`: `sent -> delivered`.
    Delivered,
    /// `message_read`: `sent|delivered -> read`.
    Read,
}

impl Receipt {
    fn status(self) -> DeliveryStatus {
        match self {
            Self::Delivered => DeliveryStatus::Delivered,
            Self::Read => DeliveryStatus::Read,
        }
    }
}

/// The message, if the caller is its recipient (the party of the other role in its
/// session), and the status change when it moves forward. The UPDATE's own WHERE on the
/// current status is what makes two instances (or two devices) unable to both change it:
/// the second waits for the first, re-checks and changes nothing.
const MARK_DELIVERED: &str = "
WITH target AS (
    SELECT m.id, m.sender_type, s.seeker_id, s.provider_id, s.connection_state
    FROM chat_messages m
    JOIN work_sessions s ON s.id = m.session_id
    WHERE m.id = $1
      AND m.sender_type <> $3::text
      AND CASE $3::text WHEN 'seeker' THEN s.seeker_id ELSE s.provider_id END = $2
), changed AS (
    UPDATE chat_messages m
    SET delivery_status = 'delivered', delivered_at = now()
    FROM target
    WHERE m.id = target.id
      AND target.connection_state IN ('waiting', 'active')
      AND m.delivery_status = 'sent'
    RETURNING m.delivered_at AS changed_at
)
SELECT target.sender_type, target.seeker_id, target.provider_id, target.connection_state,
       changed.changed_at
FROM target LEFT JOIN changed ON true";

/// As [`MARK_DELIVERED`], for `read` (which also fills `delivered_at` when it was skipped).
const MARK_READ: &str = "
WITH target AS (
    SELECT m.id, m.sender_type, s.seeker_id, s.provider_id, s.connection_state
    FROM chat_messages m
    JOIN work_sessions s ON s.id = m.session_id
    WHERE m.id = $1
      AND m.sender_type <> $3::text
      AND CASE $3::text WHEN 'seeker' THEN s.seeker_id ELSE s.provider_id END = $2
), changed AS (
    UPDATE chat_messages m
    SET delivery_status = 'read', read_at = now(), delivered_at = COALESCE(m.delivered_at, now())
    FROM target
    WHERE m.id = target.id
      AND target.connection_state IN ('waiting', 'active')
      AND m.delivery_status <> 'read'
    RETURNING m.read_at AS changed_at
)
SELECT target.sender_type, target.seeker_id, target.provider_id, target.connection_state,
       changed.changed_at
FROM target LEFT JOIN changed ON true";

#[derive(Debug, sqlx::FromRow)]
struct ReceiptRow {
    sender_type: String,
    seeker_id: Uuid,
    provider_id: Uuid,
    connection_state: String,
    changed_at: Option<DateTime<Utc>>,
}

/// Handles a receipt. The caller gets no answer on success (the contract names none);
/// the sender's sockets get `message_status_update` once per forward step. A repeat, or a
/// `delivered` after `read`, changes nothing and sends nothing.
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    receipt: Receipt,
    message_id: Option<String>,
) -> Result<Reply, ChatError> {
    let message_id = super::message_id(message_id.as_deref())?;
    let sql = match receipt {
        Receipt::Delivered => MARK_DELIVERED,
        Receipt::Read => MARK_READ,
    };
    let row: Option<ReceiptRow> = sqlx::query_as(sql)
        .bind(message_id)
        .bind(meta.user_id)
        .bind(meta.role.as_str())
        .fetch_optional(&chat.pool)
        .await?;
    let Some(row) = row else {
        return Err(WireError::not_found(MESSAGE_NOT_FOUND).into());
    };
    if !parse_state(&row.connection_state)?.is_open() {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    }
    let Some(changed_at) = row.changed_at else {
        return Ok(Reply::none());
    };
    let sender = parse_role(&row.sender_type)?;
    let parties = Parties {
        seeker_id: row.seeker_id,
        provider_id: row.provider_id,
    };
    chat.outbox
        .send(
            sender,
            parties.user(sender),
            Target::All,
            ServerMessage::MessageStatusUpdate {
                message_id,
                status: receipt.status(),
                timestamp: changed_at.into(),
            },
        )
        .await;
    Ok(Reply::none())
}
