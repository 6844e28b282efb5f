//! A socket opened: re-send, to that connection only, the messages addressed to the user
//! in their waiting/active session for that role that are still `sent`, oldest first, at
//! most `TETHER_CHAT_RESEND_LIMIT` of them: a backlog never floods the socket past its
//! outbound queue. The rest stay `sent`: the next connect re-sends the oldest of them once
//! these are acknowledged, and history (`GET .../messages`) serves all of them at any time.
//!
//! Delivery is at least once: a message stored while the socket was opening may arrive
//! both live and here; clients dedupe by `message_id`.

use tether_platform::Target;
use tether_proto::envelope::ConnectedEvent;
use tether_proto::{Role, ServerMessage};

use crate::context::Chat;
use crate::rows::MessageRow;

/// Unacknowledged messages to the user whose id is the session's `$party` column, from
/// the other party (`$sender`). The walk starts from the user's open session (at most one
/// per role, by a unique index) and reads that session's messages alone, through
/// `chat_messages_session_seq`, inside a `LATERAL`: whatever plan PostgreSQL picks and
/// whatever its statistics say, it cannot walk other sessions' messages (a join let a
/// generic plan walk the whole table in `seq` order, even for a user with no session).
/// Its cost is bounded by one session's chat, which the per-session cap bounds.
macro_rules! undelivered {
    ($party:literal, $sender:literal) => {
        concat!(
            "
SELECT m.id, m.session_id, m.sender_type, m.message, m.delivery_status, m.created_at,
       m.delivered_at, m.read_at, m.redacted
FROM work_sessions s
CROSS JOIN LATERAL (
    SELECT m.id, m.session_id, m.sender_type, m.message, m.delivery_status, m.created_at,
           m.delivered_at, m.read_at, m.redacted, m.seq
    FROM chat_messages m
    WHERE m.session_id = s.id
      AND m.delivery_status = 'sent'
      AND m.sender_type = '",
            $sender,
            "'
    ORDER BY m.seq
    LIMIT $2
) m
WHERE s.",
            $party,
            " = $1
  AND s.connection_state IN ('waiting', 'active')
ORDER BY m.seq
LIMIT $2"
        )
    };
}

/// Unacknowledged messages from the provider to this seeker.
pub const UNDELIVERED_TO_SEEKER: &str = undelivered!("seeker_id", "provider");
/// Unacknowledged messages from the seeker to this provider.
pub const UNDELIVERED_TO_PROVIDER: &str = undelivered!("provider_id", "seeker");

/// Re-sends what the new connection missed.
pub async fn handle(chat: &Chat, event: ConnectedEvent) {
    let sql = match event.role {
        Role::Seeker => UNDELIVERED_TO_SEEKER,
        Role::Provider => UNDELIVERED_TO_PROVIDER,
    };
    let rows: Vec<MessageRow> = match sqlx::query_as(sql)
        .bind(event.user_id)
        .bind(i64::from(chat.resend_limit))
        .fetch_all(&chat.pool)
        .await
    {
        Ok(rows) => rows,
        Err(err) => {
            tracing::error!(conn_id = %event.conn_id, error = %err, "reading undelivered chat failed");
            return;
        }
    };
    let count = rows.len();
    for row in rows {
        let view = row.view();
        // One publisher, one subject: the edge gets them in this (seq) order.
        chat.outbox
            .send(
                event.role,
                event.user_id,
                Target::Only(event.conn_id),
                ServerMessage::ChatMessage(view),
            )
            .await;
    }
    if count > 0 {
        tracing::debug!(conn_id = %event.conn_id, count, "undelivered chat re-sent");
    }
}
