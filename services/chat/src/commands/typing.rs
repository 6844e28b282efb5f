//! `typing_indicator`: latest-wins, to the other party's connected sockets only. Nothing
//! is stored: the sender is authorised from the instance's session view ([`crate::sessions`]),
//! so an indicator costs no PostgreSQL round trip once the session is known.

use tether_platform::{Reply, Target};
use tether_proto::commands::TypingIndicator;
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::{IS_TYPING_REQUIRED, SESSION_NOT_OPEN};
use tether_proto::{ServerMessage, Timestamp, WireError, validate};

use crate::context::Chat;
use tether_platform::HandlerError;

/// Handles `typing_indicator`: the other party gets it, the sender gets nothing.
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    TypingIndicator {
        session_id,
        is_typing,
    }: TypingIndicator,
) -> Result<Reply, HandlerError> {
    let session_id = validate::session_id(session_id.as_deref())?;
    let is_typing = is_typing.ok_or_else(|| WireError::validation(IS_TYPING_REQUIRED))?;
    let session = chat.sessions.get(&chat.pool, session_id).await?;
    let Some(session) = session.filter(|s| s.is_party(meta.role, meta.user_id)) else {
        return Err(WireError::session_not_found().into());
    };
    if !session.open {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    }
    let other = meta.role.other();
    chat.outbox
        .send(
            other,
            session.parties.user(other),
            Target::All,
            ServerMessage::TypingIndicator {
                session_id,
                user_type: meta.role,
                is_typing,
                timestamp: Timestamp::now(),
            },
        )
        .await;
    Ok(Reply::none())
}
