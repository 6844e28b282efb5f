//! `start_chat`: opens the session's chat and tells both parties `chat_ready`.

use tether_platform::{Reply, Target, timeline};
use tether_proto::ConnectionState;
use tether_proto::commands::StartChat;
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::model::Parties;
use tether_proto::timeline::TimelineEventType;
use tether_proto::{ServerMessage, Timestamp, WireError, validate};
use uuid::Uuid;

use crate::context::Chat;
use tether_platform::HandlerError;

/// Locks the caller's session row (`FOR NO KEY UPDATE`, so a concurrent cancel/finish is
/// ordered with us and we see its outcome) and sets `chat_started_at` the first time only
/// (`started_at` is then set, and the same transaction appends `chat_started`).
pub const START_CHAT: &str = "
WITH session AS (
    SELECT id, seeker_id, provider_id, connection_state, chat_started_at
    FROM work_sessions
    WHERE id = $1
      AND CASE $3::text WHEN 'seeker' THEN seeker_id ELSE provider_id END = $2
    FOR NO KEY UPDATE
), started AS (
    UPDATE work_sessions w
    SET chat_started_at = now()
    FROM session
    WHERE w.id = session.id
      AND session.connection_state IN ('waiting', 'active')
      AND w.chat_started_at IS NULL
    RETURNING w.chat_started_at
)
SELECT session.seeker_id, session.provider_id, session.connection_state,
       started.chat_started_at AS started_at
FROM session LEFT JOIN started ON true";

#[derive(Debug, sqlx::FromRow)]
struct StartRow {
    seeker_id: Uuid,
    provider_id: Uuid,
    connection_state: ConnectionState,
    started_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Handles `start_chat`: the sender gets `chat_ready` as the answer, the sender's other
/// devices and every socket of the other party get it too. Sending it again is harmless
/// (the start time stays the first one) and answers `chat_ready` again.
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    StartChat { session_id }: StartChat,
) -> Result<Reply, HandlerError> {
    let session_id = validate::session_id(session_id.as_deref())?;
    let mut tx = chat.pool.begin().await?;
    let row: Option<StartRow> = sqlx::query_as(START_CHAT)
        .bind(session_id)
        .bind(meta.user_id)
        .bind(meta.role.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(started_at) = row.as_ref().and_then(|row| row.started_at) {
        timeline::append_plain(
            &mut tx,
            session_id,
            TimelineEventType::ChatStarted,
            meta.role.into(),
            started_at,
        )
        .await?;
    }
    tx.commit().await?;
    let Some(row) = row else {
        return Err(WireError::session_not_found().into());
    };
    if !row.connection_state.is_open() {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    }
    let parties = Parties {
        seeker_id: row.seeker_id,
        provider_id: row.provider_id,
    };
    let ready = ServerMessage::ChatReady {
        session_id,
        chat_room_id: session_id,
        message: "Chat started successfully".to_string(),
        timestamp: Timestamp::now(),
    };
    let other = meta.role.other();
    chat.outbox
        .send(other, parties.user(other), Target::All, ready.clone())
        .await;
    chat.outbox
        .send(
            meta.role,
            meta.user_id,
            Target::Except(meta.conn_id),
            ready.clone(),
        )
        .await;
    Ok(Reply::answer(meta, ready))
}
