//! `chat_message`: store, acknowledge after commit, deliver to the other party.

use std::num::NonZeroUsize;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tether_platform::batch::{BatchSettings, Batcher};
use tether_platform::{Reply, Target, timeline};
use tether_proto::ConnectionState;
use tether_proto::commands::ChatMessage;
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::{
    MESSAGE_REQUIRED, SESSION_MESSAGE_LIMIT, SESSION_NOT_OPEN, chat_message_length_invalid,
    client_message_id_invalid,
};
use tether_proto::limits::{
    CHAT_MESSAGE_MAX_CHARS, CHAT_MESSAGE_MIN_CHARS, MAX_CLIENT_MESSAGE_ID_CHARS,
};
use tether_proto::model::{ChatMessageView, DeliveryStatus, Parties, Role};
use tether_proto::timeline::TimelineEventType;
use tether_proto::{ServerMessage, WireError, validate};
use uuid::Uuid;

use crate::context::Chat;
use crate::masking;
use crate::rows::MessageRow;
use tether_platform::HandlerError;
use tether_platform::batch::all_or_each;

/// A validated `chat_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The session.
    pub session_id: Uuid,
    /// The text, trimmed, 1-2000 characters.
    pub text: String,
    /// The client's idempotency key, 1-128 characters.
    pub client_message_id: Option<String>,
}

impl NewMessage {
    /// Checks the fields in the order a client reads the errors: session first.
    pub fn parse(
        ChatMessage {
            session_id,
            message,
            client_message_id,
        }: ChatMessage,
    ) -> Result<Self, WireError> {
        let session_id = validate::session_id(session_id.as_deref())?;
        let text = message.ok_or_else(|| WireError::validation(MESSAGE_REQUIRED))?;
        let text = text.trim();
        let chars = validate::char_len(text);
        if !(CHAT_MESSAGE_MIN_CHARS..=CHAT_MESSAGE_MAX_CHARS).contains(&chars) {
            return Err(WireError::validation(chat_message_length_invalid()));
        }
        if let Some(key) = &client_message_id
            && !(1..=MAX_CLIENT_MESSAGE_ID_CHARS).contains(&validate::char_len(key))
        {
            return Err(WireError::validation(client_message_id_invalid()));
        }
        Ok(Self {
            session_id,
            text: text.to_string(),
            client_message_id,
        })
    }
}

/// The store statement, with `$push` (a CTE, or nothing) between the inserts and the
/// answer, so both variants share one text.
macro_rules! store_messages {
    ($($push:literal)?) => {
        concat!("
WITH input AS (
    SELECT t.*, row_number() OVER (PARTITION BY t.session_id ORDER BY t.ord) AS rank_in_batch
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                $7::text[])
        WITH ORDINALITY AS t(id, session_id, sender_id, sender_type, client_message_id, message,
                             masked, ord)
), session AS (
    SELECT id, seeker_id, provider_id, connection_state, chat_started_at,
           coalesce((SELECT messages FROM chat_session_counts c WHERE c.session_id = s.id), 0)
               AS stored_count
    FROM work_sessions s
    WHERE id = ANY($2::uuid[])
    ORDER BY id
    FOR SHARE OF s
), stored AS (
    INSERT INTO chat_messages (id, session_id, sender_id, sender_type, client_message_id, message,
                               redacted)
    SELECT input.id, input.session_id, input.sender_id, input.sender_type,
           input.client_message_id,
           CASE WHEN session.connection_state = 'waiting' AND input.masked IS NOT NULL
                THEN input.masked ELSE input.message END,
           session.connection_state = 'waiting' AND input.masked IS NOT NULL
    FROM input
    JOIN session ON session.id = input.session_id
     AND CASE input.sender_type WHEN 'seeker' THEN session.seeker_id ELSE session.provider_id END
         = input.sender_id
    WHERE session.connection_state IN ('waiting', 'active')
      AND session.stored_count + input.rank_in_batch <= $8
    ORDER BY input.ord
    ON CONFLICT (session_id, sender_type, client_message_id) WHERE client_message_id IS NOT NULL
    DO NOTHING
    RETURNING id, session_id, created_at, redacted
), counted AS (
    INSERT INTO chat_session_counts AS c (session_id, messages)
    SELECT session_id, count(*) FROM stored GROUP BY session_id ORDER BY session_id
    ON CONFLICT (session_id) DO UPDATE SET messages = c.messages + EXCLUDED.messages
)", $($push,)? "
SELECT input.ord, session.seeker_id, session.provider_id, session.connection_state,
       session.chat_started_at IS NOT NULL AS chat_started,
       stored.created_at AS stored_at, stored.redacted,
       session.stored_count + input.rank_in_batch > $8 AS over_cap
FROM input
LEFT JOIN session ON session.id = input.session_id
 AND CASE input.sender_type WHEN 'seeker' THEN session.seeker_id ELSE session.provider_id END
     = input.sender_id
LEFT JOIN stored ON stored.id = input.id
ORDER BY input.ord")
    };
}

/// One statement (so one transaction) for a whole batch of messages, in arrival order:
/// lock each session row `FOR SHARE` (once per session per batch, in id order so two
/// batches never deadlock), and insert each message whose sender is the session's party
/// of that role while the session is waiting/active and under its message cap ($8). A
/// cancel/finish updates that row, so it waits for our commit and then sets the expiry of
/// every message including ours; or it committed first and we see the ended state and
/// insert nothing. A repeated `client_message_id` hits the unique index and inserts
/// nothing (also within one batch). Rows are inserted in `ord` order, so `seq` follows
/// arrival order. The session's count in `chat_session_counts` grows by what was inserted,
/// in session order (two batches never wait on each other crosswise); two writers may
/// overshoot the cap by what they insert at the same moment.
pub const STORE_MESSAGES: &str = store_messages!();

/// [`STORE_MESSAGES`] while push is on: also enqueues a push event for each stored message
/// whose recipient has no open socket for that role now (no `user_presence` row online),
/// in the same statement, so an event exists exactly when its message does.
pub const STORE_MESSAGES_AND_PUSH: &str = store_messages!(
    ", pushed AS (
    INSERT INTO push_events (event_id, body)
    SELECT event.id,
           push_event_body(event.id, 'chat_message', event.user_id, event.role, NULL,
                           event.session_id, event.at)
    FROM (
        SELECT gen_random_uuid() AS id, stored.session_id, stored.created_at AS at,
               CASE input.sender_type WHEN 'seeker' THEN session.provider_id
                                      ELSE session.seeker_id END AS user_id,
               CASE input.sender_type WHEN 'seeker' THEN 'provider' ELSE 'seeker' END AS role
        FROM stored
        JOIN input ON input.id = stored.id
        JOIN session ON session.id = stored.session_id
    ) AS event
    WHERE NOT EXISTS (SELECT 1 FROM user_presence AS p
                      WHERE p.user_id = event.user_id AND p.role = event.role AND p.online)
)"
);

/// The original of a retried message (the unique key's columns).
pub const ORIGINAL_MESSAGE: &str = "
SELECT id, session_id, sender_type, message, delivery_status, created_at, delivered_at, read_at,
       redacted
FROM chat_messages
WHERE session_id = $1 AND sender_type = $2::text AND client_message_id = $3";

/// The implicit chat start, after the message committed: only the first message writes
/// the session row, and it does so outside the insert's transaction, so two first
/// messages holding `FOR SHARE` never wait on each other's upgrade (no deadlock). Its
/// own transaction appends the timeline's `chat_started` (see [`start_chat_once`]).
pub const START_CHAT_ONCE: &str = "
UPDATE work_sessions SET chat_started_at = now()
WHERE id = $1 AND chat_started_at IS NULL AND connection_state IN ('waiting', 'active')
RETURNING chat_started_at";

/// A message on its way into the group commit.
#[derive(Debug)]
pub struct PendingMessage {
    message_id: Uuid,
    session_id: Uuid,
    sender_id: Uuid,
    sender_type: Role,
    client_message_id: Option<String>,
    text: String,
    /// `text` masked, when it holds anything to mask (stored instead while waiting).
    masked: Option<String>,
}

/// What the store found for one message of a batch.
#[derive(Debug, sqlx::FromRow)]
pub struct StoreRow {
    ord: i64,
    seeker_id: Option<Uuid>,
    provider_id: Option<Uuid>,
    connection_state: Option<ConnectionState>,
    chat_started: Option<bool>,
    stored_at: Option<DateTime<Utc>>,
    redacted: Option<bool>,
    over_cap: Option<bool>,
}

/// The group-commit writer of chat messages.
pub type MessageStore = Batcher<PendingMessage, Result<StoreRow, HandlerError>>;

/// Starts the writers of [`MessageStore`] on `pool`; a session holds at most
/// `max_per_session` messages; with `push`, messages to offline recipients enqueue a push
/// event in the same statement.
pub fn message_store(pool: PgPool, max_per_session: u32, push: bool) -> MessageStore {
    let cap = i64::from(max_per_session);
    let statement = if push {
        STORE_MESSAGES_AND_PUSH
    } else {
        STORE_MESSAGES
    };
    Batcher::spawn(
        BatchSettings {
            name: "chat_messages",
            max_batch: NonZeroUsize::new(256).expect("not zero"),
            writers: NonZeroUsize::new(2).expect("not zero"),
        },
        move |batch| {
            let pool = pool.clone();
            async move {
                all_or_each("chat_messages", &batch, |group| {
                    store(&pool, statement, group, cap)
                })
                .await
            }
        },
    )
}

async fn store(
    pool: &PgPool,
    statement: &'static str,
    batch: &[PendingMessage],
    cap: i64,
) -> sqlx::Result<Vec<StoreRow>> {
    let column = |f: fn(&PendingMessage) -> Uuid| batch.iter().map(f).collect::<Vec<_>>();
    let roles: Vec<&str> = batch.iter().map(|m| m.sender_type.as_str()).collect();
    let keys: Vec<Option<&str>> = batch
        .iter()
        .map(|m| m.client_message_id.as_deref())
        .collect();
    let texts: Vec<&str> = batch.iter().map(|m| m.text.as_str()).collect();
    let masked: Vec<Option<&str>> = batch.iter().map(|m| m.masked.as_deref()).collect();
    let rows: Vec<StoreRow> = sqlx::query_as(statement)
        .bind(column(|m| m.message_id))
        .bind(column(|m| m.session_id))
        .bind(column(|m| m.sender_id))
        .bind(roles)
        .bind(keys)
        .bind(texts)
        .bind(masked)
        .bind(cap)
        .fetch_all(pool)
        .await?;
    debug_assert!(
        rows.iter()
            .enumerate()
            .all(|(i, row)| row.ord == i as i64 + 1)
    );
    Ok(rows)
}

/// Handles a validated `chat_message`: `message_sent` to the sender only after the row is
/// committed; the other party's sockets get the `chat_message`; the sender's other devices
/// get nothing (history has it).
pub async fn handle(
    chat: &Chat,
    meta: &CommandMeta,
    command: ChatMessage,
) -> Result<Reply, HandlerError> {
    let request = NewMessage::parse(command)?;
    // v7: time-ordered ids keep the primary key index append-mostly.
    let message_id = Uuid::now_v7();
    // Masked up front (the state is known only under the store's lock), cheap: a few
    // linear passes over at most 2000 characters.
    let masked = masking::mask(&request.text);
    let row = chat
        .messages
        .submit(PendingMessage {
            message_id,
            session_id: request.session_id,
            sender_id: meta.user_id,
            sender_type: meta.role,
            client_message_id: request.client_message_id.clone(),
            masked: masked.clone(),
            text: request.text.clone(),
        })
        .await
        .map_err(|_| HandlerError::invariant("chat writer stopped"))??;
    let (Some(seeker_id), Some(provider_id), Some(state)) =
        (row.seeker_id, row.provider_id, row.connection_state)
    else {
        return Err(WireError::session_not_found().into());
    };
    let parties = Parties {
        seeker_id,
        provider_id,
    };
    let open = state.is_open();

    if let Some(stored_at) = row.stored_at {
        #[cfg(feature = "failpoints")]
        if chat.failpoints.crash_after_commit() {
            // The instance dies here: committed, neither published nor answered.
            std::future::pending::<()>().await;
        }
        let redacted = row.redacted == Some(true);
        let message = match (redacted, masked) {
            (true, Some(masked)) => masked,
            _ => request.text,
        };
        let view = ChatMessageView {
            message_id,
            session_id: request.session_id,
            sender_type: meta.role,
            message,
            delivery_status: DeliveryStatus::Sent,
            timestamp: stored_at.into(),
            delivered_at: None,
            read_at: None,
            redacted,
        };
        // Published before the reply on the same connection: see the crate docs on order.
        deliver(chat, meta, &parties, view).await;
        if row.chat_started == Some(false)
            && let Err(err) = start_chat_once(&chat.pool, request.session_id, meta.role).await
        {
            // The message is stored; a missing start time must not turn it into an error.
            tracing::warn!(session_id = %request.session_id, error = %err, "implicit chat start failed");
        }
        return Ok(Reply::answer(
            meta,
            message_sent(message_id, request.session_id, stored_at, redacted),
        ));
    }

    // Nothing inserted: a retry of a stored message, or the session has ended.
    if let Some(key) = request.client_message_id.as_deref() {
        let original: Option<MessageRow> = sqlx::query_as(ORIGINAL_MESSAGE)
            .bind(request.session_id)
            .bind(meta.role.as_str())
            .bind(key)
            .fetch_optional(&chat.pool)
            .await?;
        if let Some(original) = original {
            let answer = message_sent(
                original.id,
                original.session_id,
                original.created_at,
                original.redacted,
            );
            // The first attempt may have died between commit and publish; re-sending an
            // unacknowledged message is safe because recipients dedupe by message_id.
            if open && original.delivery_status == DeliveryStatus::Sent {
                deliver(chat, meta, &parties, original.view()).await;
            }
            return Ok(Reply::answer(meta, answer));
        }
    }
    if !open {
        return Err(WireError::conflict(SESSION_NOT_OPEN).into());
    }
    if row.over_cap == Some(true) {
        return Err(WireError::conflict(SESSION_MESSAGE_LIMIT).into());
    }
    // Open, no insert and no original: only possible if the row vanished in between.
    Err(HandlerError::invariant(
        "chat message neither stored nor found",
    ))
}

/// Sends the message to every socket of the other party.
async fn deliver(chat: &Chat, meta: &CommandMeta, parties: &Parties, view: ChatMessageView) {
    let recipient = meta.role.other();
    chat.outbox
        .send(
            recipient,
            parties.user(recipient),
            Target::All,
            ServerMessage::ChatMessage(view),
        )
        .await;
}

fn message_sent(
    message_id: Uuid,
    session_id: Uuid,
    stored_at: DateTime<Utc>,
    redacted: bool,
) -> ServerMessage {
    ServerMessage::MessageSent {
        message_id,
        session_id,
        timestamp: stored_at.into(),
        redacted,
    }
}

/// Sets `chat_started_at` if no one has, and appends `chat_started` by `role` in the same
/// transaction. Whoever sets it (this or `start_chat`) appends the event, so it is there
/// exactly once.
async fn start_chat_once(pool: &PgPool, session_id: Uuid, role: Role) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    let started: Option<DateTime<Utc>> = sqlx::query_scalar(START_CHAT_ONCE)
        .bind(session_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(started_at) = started {
        timeline::append_plain(
            &mut tx,
            session_id,
            TimelineEventType::ChatStarted,
            role.into(),
            started_at,
        )
        .await?;
    }
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "6f1c1f9e-1d3c-4a57-9b53-0b7b0f0e8a11";

    fn parse(message: Option<&str>, key: Option<&str>) -> Result<NewMessage, WireError> {
        NewMessage::parse(ChatMessage {
            session_id: Some(SESSION.into()),
            message: message.map(Into::into),
            client_message_id: key.map(Into::into),
        })
    }

    #[test]
    fn trims_and_bounds_text() {
        assert_eq!(parse(Some("  hi \n"), None).expect("valid").text, "hi");
        assert!(parse(Some("   "), None).is_err());
        assert!(parse(None, None).is_err());
        assert!(parse(Some(&"é".repeat(2000)), None).is_ok());
        assert!(parse(Some(&"é".repeat(2001)), None).is_err());
        assert!(parse(Some(&format!("  {}  ", "a".repeat(2000))), None).is_ok());
    }

    #[test]
    fn bounds_client_message_id() {
        assert!(parse(Some("hi"), Some("")).is_err());
        assert!(parse(Some("hi"), Some(&"k".repeat(128))).is_ok());
        assert!(parse(Some("hi"), Some(&"k".repeat(129))).is_err());
    }

    #[test]
    fn session_first() {
        let empty = ChatMessage {
            session_id: None,
            message: None,
            client_message_id: None,
        };
        let err = NewMessage::parse(empty).expect_err("missing session");
        assert_eq!(err.error, tether_proto::errors::SESSION_ID_REQUIRED);
    }
}
