//! `cancel_connection` and `finish_service`: the two ways a session ends.
//!
//! Each is one transaction: the session row's guarded update (`connection_state IN
//! ('waiting', 'active')`) decides the single winner when both parties (or two devices)
//! act at once; the loser's update waits for the winner's row lock, finds the session
//! ended and answers `conflict`. The order status, the parties' statuses (cancel only)
//! and the chat expiry change in the same transaction, after the session row is locked,
//! so each of those statements sees every chat message committed before the end.
//!
//! After commit the actor's connection gets its answer and is closed (1000), the actor's
//! other devices get the same message and close, and the other party's sockets get
//! their message and close. Then the lifecycle event goes out.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::{Query, QueryAs};
use tether_platform::{Reply, Target, timeline};
use tether_proto::commands::{CancelConnection, FinishService};
use tether_proto::envelope::{CommandMeta, close_code};
use tether_proto::errors::ONLY_SEEKER_RATES;
use tether_proto::events::SessionEventKind;
use tether_proto::timeline::TimelineEventType;
use tether_proto::{Role, ServerMessage, Timestamp, WireError, validate};
use uuid::Uuid;

use super::{CommandResult, updated_or_explain};
use crate::context::Ctx;
use crate::events::{self, SessionParties};
use crate::rating::Rating;
use tether_platform::HandlerError;
use tether_proto::model::Parties;

/// The canceller's text.
pub const CANCELLED_OWN_TEXT: &str = "Connection cancelled successfully";
/// The finisher's text.
pub const FINISHED_OWN_TEXT: &str = "Service marked as finished successfully";

/// The other party's text when `by` cancelled.
pub fn cancelled_other_text(by: Role) -> String {
    format!("{} cancelled the connection", by.title())
}

/// The other party's text when `by` finished.
pub fn finished_other_text(by: Role) -> String {
    format!("{} marked the service as finished", by.title())
}

/// The session a transition ended.
#[derive(Debug, sqlx::FromRow)]
struct Ended {
    work_id: i64,
    seeker_id: Uuid,
    provider_id: Uuid,
    ended_at: DateTime<Utc>,
}

/// How a session ended.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Cancelled,
    Completed,
}

impl Ending {
    fn timeline(self) -> TimelineEventType {
        match self {
            Self::Cancelled => TimelineEventType::Cancelled,
            Self::Completed => TimelineEventType::Completed,
        }
    }

    fn event(self) -> SessionEventKind {
        match self {
            Self::Cancelled => SessionEventKind::Cancelled,
            Self::Completed => SessionEventKind::Completed,
        }
    }

    /// The actor's message (`by` is `None`) or the other party's (`by` the actor).
    fn message(self, session_id: Uuid, by: Option<Role>) -> ServerMessage {
        match self {
            Self::Cancelled => ServerMessage::ConnectionCancelled {
                session_id,
                cancelled_by: by,
                message: by.map_or_else(|| CANCELLED_OWN_TEXT.to_string(), cancelled_other_text),
                timestamp: Timestamp::now(),
            },
            Self::Completed => ServerMessage::ServiceFinished {
                session_id,
                finished_by: by,
                message: by.map_or_else(|| FINISHED_OWN_TEXT.to_string(), finished_other_text),
                timestamp: Timestamp::now(),
            },
        }
    }
}

/// The session row's guarded update of an ending: `SET $set` only while the session is
/// open and the actor ($2, role $3) is its party; returns [`Ended`] with `$ended_at`.
macro_rules! ending_update {
    ($set:literal, $ended_at:literal) => {
        concat!(
            "UPDATE work_sessions
         SET ",
            $set,
            "
         WHERE id = $1 AND CASE $3 WHEN 'seeker' THEN seeker_id ELSE provider_id END = $2
           AND connection_state IN ('waiting', 'active')
         RETURNING work_id, seeker_id, provider_id, ",
            $ended_at,
            " AS ended_at"
        )
    };
}

/// The cancel's guarded update ($1 session, $2 actor, $3 the actor's role).
pub const CANCEL_SESSION: &str = ending_update!(
    "connection_state = 'cancelled', cancelled_at = now(), cancelled_by = $3,
             updated_at = now()",
    "cancelled_at"
);

/// After a cancel: the order ($1) is cancelled, the provider ($2) and the seeker ($3) are
/// back on the market, and the session's ($4) chat expires in $5 hours.
pub const CANCEL_FOLLOW_UP: &str = "WITH order_cancelled AS (
                 UPDATE work_orders SET status = 'cancelled' WHERE id = $1
             ),
             provider_on AS (
                 INSERT INTO provider_active_status (provider_id, is_active) VALUES ($2, true)
                 ON CONFLICT (provider_id) DO UPDATE SET is_active = true, updated_at = now()
             ),
             seeker_on AS (
                 INSERT INTO seeker_search_preference (seeker_id, is_searching) VALUES ($3, true)
                 ON CONFLICT (seeker_id) DO UPDATE SET is_searching = true, updated_at = now()
             )
             UPDATE chat_messages SET expires_at = now() + make_interval(hours => $5)
             WHERE session_id = $4 AND expires_at IS NULL";

/// The finish's guarded update ($1 session, $2 actor, $3 the actor's role, $4 and $5 the
/// rating).
pub const FINISH_SESSION: &str = ending_update!(
    "connection_state = 'completed', completed_at = now(), completed_by = $3,
             rating_stars = $4, rating_description = $5,
             rated_at = CASE WHEN $4::int2 IS NULL THEN NULL ELSE now() END,
             updated_at = now()",
    "completed_at"
);

/// After a finish: the order ($1) is completed and the session's ($2) chat expires in $3
/// hours.
pub const FINISH_FOLLOW_UP: &str = "WITH order_completed AS (
                 UPDATE work_orders SET status = 'completed' WHERE id = $1
             )
             UPDATE chat_messages SET expires_at = now() + make_interval(hours => $3)
             WHERE session_id = $2 AND expires_at IS NULL";

/// `cancel_connection {session_id}` from either party.
pub async fn cancel(
    ctx: &Ctx,
    meta: &CommandMeta,
    CancelConnection { session_id }: CancelConnection,
) -> CommandResult {
    let session_id = validate::session_id(session_id.as_deref())?;
    let update = guarded_update(CANCEL_SESSION, session_id, meta);
    // Both parties are back on the market; the order and the chat follow the session.
    let follow_up = |ended: &Ended| {
        sqlx::query(CANCEL_FOLLOW_UP)
            .bind(ended.work_id)
            .bind(ended.provider_id)
            .bind(ended.seeker_id)
            .bind(session_id)
            .bind(ctx.settings.chat_ttl_h)
    };
    let ending = Ending::Cancelled;
    let ended = end_transaction(ctx, meta, session_id, update, follow_up, ending).await?;
    tracing::info!(%session_id, by = meta.role.as_str(), "session cancelled");
    Ok(announce_end(ctx, meta, session_id, &ended, ending).await)
}

/// `finish_service {session_id, rating_stars?, rating_description?}` from either party.
/// Rating fields are the seeker's alone: from the provider they are a `validation` error
/// (even if valid), and an invalid rating refuses the whole message.
pub async fn finish(
    ctx: &Ctx,
    meta: &CommandMeta,
    FinishService {
        session_id,
        rating_stars,
        rating_description,
    }: FinishService,
) -> CommandResult {
    let session_id = validate::session_id(session_id.as_deref())?;
    let rating = Rating::parse(rating_stars.as_ref(), rating_description.as_ref())?;
    if rating.is_some() && meta.role == Role::Provider {
        return Err(WireError::validation(ONLY_SEEKER_RATES).into());
    }
    let (stars, description) = match rating {
        Some(rating) => (Some(rating.stars), rating.description),
        None => (None, None),
    };
    let update = guarded_update(FINISH_SESSION, session_id, meta)
        .bind(stars)
        .bind(description);
    // Statuses are NOT re-enabled on completion: each party decides when to be available.
    let follow_up = |ended: &Ended| {
        sqlx::query(FINISH_FOLLOW_UP)
            .bind(ended.work_id)
            .bind(session_id)
            .bind(ctx.settings.chat_ttl_h)
    };
    let ending = Ending::Completed;
    let ended = end_transaction(ctx, meta, session_id, update, follow_up, ending).await?;
    tracing::info!(%session_id, by = meta.role.as_str(), rated = stars.is_some(), "session completed");
    Ok(announce_end(ctx, meta, session_id, &ended, ending).await)
}

/// The session row's guarded update `sql` with $1 the session, $2 the actor and $3 the
/// actor's role bound.
fn guarded_update(
    sql: &'static str,
    session_id: Uuid,
    meta: &CommandMeta,
) -> QueryAs<'static, Postgres, Ended, PgArguments> {
    sqlx::query_as(sql)
        .bind(session_id)
        .bind(meta.user_id)
        .bind(meta.role.as_str())
}

/// An ending's transaction: the session row's guarded `update` (returning [`Ended`]); on
/// a miss the error that explains it; else the `follow_up` statement (order status,
/// statuses, chat expiry), the timeline entry by the actor, and the commit.
async fn end_transaction<'q>(
    ctx: &Ctx,
    meta: &CommandMeta,
    session_id: Uuid,
    update: QueryAs<'q, Postgres, Ended, PgArguments>,
    follow_up: impl FnOnce(&Ended) -> Query<'q, Postgres, PgArguments>,
    ending: Ending,
) -> Result<Ended, HandlerError> {
    let mut tx = ctx.pool.begin().await?;
    let ended = update.fetch_optional(&mut *tx).await?;
    let (mut tx, ended) = updated_or_explain(ctx, meta, session_id, tx, ended).await?;
    follow_up(&ended).execute(&mut *tx).await?;
    timeline::append_plain(
        &mut tx,
        session_id,
        ending.timeline(),
        meta.role.into(),
        ended.ended_at,
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Tells everyone and closes their sockets, publishes the event, and returns the actor's
/// answer (closed after writing).
async fn announce_end(
    ctx: &Ctx,
    meta: &CommandMeta,
    session_id: Uuid,
    ended: &Ended,
    ending: Ending,
) -> Reply {
    let own = ending.message(session_id, None);
    let other = ending.message(session_id, Some(meta.role));
    let session = SessionParties {
        session_id,
        work_id: ended.work_id,
        parties: Parties {
            seeker_id: ended.seeker_id,
            provider_id: ended.provider_id,
        },
    };
    let other_role = meta.role.other();
    ctx.outbox
        .send_and_close(
            meta.role,
            meta.user_id,
            Target::Except(meta.conn_id),
            own.clone(),
            close_code::NORMAL,
        )
        .await;
    ctx.outbox
        .send_and_close(
            other_role,
            session.parties.user(other_role),
            Target::All,
            other,
            close_code::NORMAL,
        )
        .await;
    events::publish(
        ctx,
        ending.event(),
        session,
        Some(meta.role),
        ended.ended_at,
    )
    .await;
    Reply::answer(meta, own).then_close(close_code::NORMAL)
}
