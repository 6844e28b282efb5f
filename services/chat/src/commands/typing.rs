//! `typing_indicator`: latest-wins, to the other party's connected sockets only.

use chrono::{DateTime, Utc};
use tether_platform::{Reply, Target};
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::{ServerMessage, WireError, validate};
use uuid::Uuid;

use crate::context::Chat;
use crate::error::ChatError;
use crate::rows::{Parties, parse_state};

/// Upserts the sender's indicator row if they are the party of that role and the session
/// is waiting/active; the row lets the cleanup job clear stale indicators.
const UPSERT_TYPING: &str = "
WITH session AS (
    SELECT id, seeker_id, provider_id, connection_state
    FROM work_sessions
    WHERE id = $1
      AND CASE $3::text WHEN 'seeker' THEN seeker_id ELSE provider_id END = $2
), upserted AS (
    INSERT INTO typing_indicators (session_id, user_type, user_id, is_typing, last_typing_at)
    SELECT session.id, $3::text, $2, $4, now()
    FROM session
    WHERE session.connection_state IN ('waiting', 'active')
    ON CONFLICT (session_id, user_type) DO UPDATE
    SET is_typing = EXCLUDED.is_typing,
        last_typing_at = EXCLUDED.last_typing_at,
        user_id = EXCLUDED.user_id
    RETURNING last_typing_at
)
SELECT session.seeker_id, session.provider_id, session.connection_state,
       upserted.last_typing_at
FROM session LEFT JOIN upserted ON true";

#[derive(Debug, sqlx::FromRow)]
struct TypingRow {
    seeker_id: Uuid,
    provider_id: Uuid,
    connection_state: String,
    last_typing_at: Option<DateTime<Utc>>,
}

/// Handles `typing_indicator`: the other party gets it, the sender gets nothing.
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    session_id: Option<&str>,
    is_typing: Option<bool>,
) -> Result<Reply, ChatError> {
    let session_id = validate::session_id(session_id)?;
    let is_typing = is_typing.ok_or_else(|| WireError::validation("is_typing is required"))?;
    let row: Option<TypingRow> = sqlx::query_as(UPSERT_TYPING)
        .bind(session_id)
        .bind(meta.user_id)
        .bind(meta.role.as_str())
        .bind(is_typing)
        .fetch_optional(&chat.pool)
        .await?;
    let Some(row) = row else {
        return Err(WireError::session_not_found().into());
    };
    let (true, Some(typed_at)) = (
        parse_state(&row.connection_state)?.is_open(),
        row.last_typing_at,
    ) else {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    };
    let parties = Parties {
        seeker_id: row.seeker_id,
        provider_id: row.provider_id,
    };
    let other = meta.role.other();
    chat.outbox
        .send(
            other,
            parties.user(other),
            Target::All,
            ServerMessage::TypingIndicator {
                session_id,
                user_type: meta.role,
                is_typing,
                timestamp: typed_at.into(),
            },
        )
        .await;
    Ok(Reply::none())
}
