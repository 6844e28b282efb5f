//! Session lifecycle events: when a session ends, its chat expires at the time the event
//! carries (the session service owns `TETHER_CHAT_TTL_H`).
//!
//! The session service already sets the expiry inside the ending transaction; this is the
//! second line of defence (e.g. a message whose insert raced the end). Idempotent: only
//! rows without an expiry are touched, so a redelivered event or two instances change
//! nothing twice.

use tether_proto::events::SessionEvent;

use crate::context::Chat;

/// Sets the expiry of every message of the ended session that has none yet.
pub const EXPIRE_SESSION_CHAT: &str = "
UPDATE chat_messages SET expires_at = $2
WHERE session_id = $1 AND expires_at IS NULL";

/// Handles one lifecycle event; only `cancelled` and `completed` concern chat.
pub async fn handle(chat: &Chat, event: SessionEvent) {
    let Some(expires_at) = event.chat_expires_at else {
        return;
    };
    let expires_at = expires_at.as_datetime();
    match sqlx::query(EXPIRE_SESSION_CHAT)
        .bind(event.session_id)
        .bind(expires_at)
        .execute(&chat.pool)
        .await
    {
        Ok(done) => tracing::debug!(
            session_id = %event.session_id,
            kind = event.kind.as_str(),
            rows = done.rows_affected(),
            "chat expiry set"
        ),
        Err(err) => tracing::error!(
            session_id = %event.session_id,
            error = %err,
            "setting chat expiry failed"
        ),
    }
}
