//! `medium_selection` (seeker; activates a waiting session) and `medium_share` (provider).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_platform::{Reply, timeline};
use tether_proto::commands::{MediumSelection, MediumShare};
use tether_proto::envelope::CommandMeta;
use tether_proto::events::SessionEventKind;
use tether_proto::mediums::Mediums;
use tether_proto::model::Parties;
use tether_proto::timeline::{ActorRole, TimelineEventType, mediums_data};
use tether_proto::validate;
use tether_proto::{ConnectionState, ServerMessage, Timestamp};
use uuid::Uuid;

use super::{CommandResult, Tx, tell_both, updated_or_explain};
use crate::context::Ctx;
use crate::events::{self, SessionParties};
use tether_platform::HandlerError;

/// The provider's text in `seeker_mediums_selected`.
pub const SEEKER_SELECTED_TEXT: &str = "Seeker has selected communication mediums";

/// The session after storing one party's mediums.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    work_id: i64,
    /// The other party.
    other_id: Uuid,
    /// Whether this selection activated the session (always false for a share).
    activated: bool,
    updated_at: DateTime<Utc>,
}

/// The selection's update. The CTE locks the row first, so `activated` reflects the state
/// this update replaced even when a cancel or another selection raced it.
pub const SELECT_MEDIUMS: &str = "WITH previous AS (
     SELECT id, connection_state FROM work_sessions
     WHERE id = $1 AND seeker_id = $2 FOR UPDATE
 )
 UPDATE work_sessions s
 SET seeker_mediums = $3, seeker_mediums_selected_at = now(),
     connection_state = 'active', updated_at = now()
 FROM previous
 WHERE s.id = previous.id AND previous.connection_state IN ('waiting', 'active')
 RETURNING s.work_id, s.provider_id AS other_id,
           previous.connection_state = 'waiting' AS activated, s.updated_at";

/// The share's update; the state stays.
pub const SHARE_MEDIUMS: &str = "UPDATE work_sessions
 SET provider_mediums = $3, provider_mediums_shared_at = now(), updated_at = now()
 WHERE id = $1 AND provider_id = $2 AND connection_state IN ('waiting', 'active')
 RETURNING work_id, seeker_id AS other_id, false AS activated, updated_at";

/// What both commands do first: validate, run `update` ($1 session, $2 the actor, $3 the
/// mediums) in a transaction and append `event` with the mediums. The transaction stays
/// open for the caller.
async fn store(
    ctx: &Ctx,
    meta: &CommandMeta,
    session_id: Option<&str>,
    mediums: Option<&Value>,
    update: &'static str,
    event: TimelineEventType,
) -> Result<(Uuid, Mediums, Stored, Tx), HandlerError> {
    let session_id = validate::session_id(session_id)?;
    let mediums = Mediums::parse(mediums)?;
    let mut tx = ctx.pool.begin().await?;
    let stored: Option<Stored> = sqlx::query_as(update)
        .bind(session_id)
        .bind(meta.user_id)
        .bind(mediums.to_value())
        .fetch_optional(&mut *tx)
        .await?;
    let (mut tx, stored) = updated_or_explain(ctx, meta, session_id, tx, stored).await?;
    timeline::append(
        &mut tx,
        session_id,
        event,
        meta.role.into(),
        mediums_data(&mediums),
        stored.updated_at,
    )
    .await?;
    Ok((session_id, mediums, stored, tx))
}

/// `medium_selection {session_id, mediums}`: stores the seeker's mediums and makes a
/// waiting session active. Selecting again on an active session replaces the mediums and
/// both sides are told again (no second `activated` event).
pub async fn select(
    ctx: &Ctx,
    meta: &CommandMeta,
    MediumSelection {
        session_id,
        mediums,
    }: MediumSelection,
) -> CommandResult {
    // The timeline events commit with the update.
    let (session_id, mediums, selected, mut tx) = store(
        ctx,
        meta,
        session_id.as_deref(),
        mediums.as_ref(),
        SELECT_MEDIUMS,
        TimelineEventType::MediumsSelected,
    )
    .await?;
    if selected.activated {
        timeline::append_plain(
            &mut tx,
            session_id,
            TimelineEventType::SessionActive,
            ActorRole::Seeker,
            selected.updated_at,
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(%session_id, activated = selected.activated, "seeker mediums selected");

    let own = ServerMessage::MediumsSelected {
        session_id,
        mediums: mediums.clone(),
        connection_state: ConnectionState::Active,
        timestamp: Timestamp::now(),
    };
    let other = ServerMessage::SeekerMediumsSelected {
        session_id,
        mediums,
        connection_state: ConnectionState::Active,
        message: SEEKER_SELECTED_TEXT.to_string(),
        timestamp: Timestamp::now(),
    };
    tell_both(ctx, meta, selected.other_id, &own, other).await;
    if selected.activated {
        let session = SessionParties {
            session_id,
            work_id: selected.work_id,
            parties: Parties {
                seeker_id: meta.user_id,
                provider_id: selected.other_id,
            },
        };
        events::publish(
            ctx,
            SessionEventKind::Activated,
            session,
            None,
            selected.updated_at,
        )
        .await;
    }
    Ok(Reply::answer(meta, own))
}

/// `medium_share {session_id, mediums}`: stores the provider's mediums; the state stays.
pub async fn share(
    ctx: &Ctx,
    meta: &CommandMeta,
    MediumShare {
        session_id,
        mediums,
    }: MediumShare,
) -> CommandResult {
    let (session_id, mediums, shared, tx) = store(
        ctx,
        meta,
        session_id.as_deref(),
        mediums.as_ref(),
        SHARE_MEDIUMS,
        TimelineEventType::MediumsShared,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%session_id, "provider mediums shared");

    let own = ServerMessage::MediumsShared {
        session_id,
        mediums: mediums.clone(),
        timestamp: Timestamp::now(),
    };
    let other = ServerMessage::ProviderMediumsShared {
        session_id,
        mediums,
        timestamp: Timestamp::now(),
    };
    tell_both(ctx, meta, shared.other_id, &own, other).await;
    Ok(Reply::answer(meta, own))
}
