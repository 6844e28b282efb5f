//! `medium_selection` (seeker; activates a waiting session) and `medium_share` (provider).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tether_platform::{Reply, Target, timeline};
use tether_proto::envelope::CommandMeta;
use tether_proto::events::SessionEventKind;
use tether_proto::mediums::Mediums;
use tether_proto::timeline::{ActorRole, TimelineEventType, mediums_data};
use tether_proto::validate;
use tether_proto::{ConnectionState, Role, ServerMessage, Timestamp};
use uuid::Uuid;

use super::CommandResult;
use crate::context::Ctx;
use crate::events::{self, SessionParties};
use crate::sessions::explain_miss;
use tether_proto::model::Parties;

/// The provider's text in `seeker_mediums_selected`.
pub const SEEKER_SELECTED_TEXT: &str = "Seeker has selected communication mediums";

/// The session after a selection, and whether this selection activated it.
#[derive(Debug, sqlx::FromRow)]
struct Selected {
    work_id: i64,
    provider_id: Uuid,
    activated: bool,
    updated_at: DateTime<Utc>,
}

/// `medium_selection {session_id, mediums}`: stores the seeker's mediums and makes a
/// waiting session active. Selecting again on an active session replaces the mediums and
/// both sides are told again (no second `activated` event).
pub async fn select(
    ctx: &Ctx,
    meta: &CommandMeta,
    session_id: Option<&str>,
    mediums: Option<&Value>,
) -> CommandResult {
    let session_id = validate::session_id(session_id)?;
    let mediums = Mediums::parse(mediums)?;
    // The CTE locks the row first, so `activated` reflects the state this update
    // replaced even when a cancel or another selection raced it. The timeline events
    // commit with it.
    let mut tx = ctx.pool.begin().await?;
    let selected: Option<Selected> = sqlx::query_as(
        "WITH previous AS (
             SELECT id, connection_state FROM work_sessions
             WHERE id = $1 AND seeker_id = $2 FOR UPDATE
         )
         UPDATE work_sessions s
         SET seeker_mediums = $3, seeker_mediums_selected_at = now(),
             connection_state = 'active', updated_at = now()
         FROM previous
         WHERE s.id = previous.id AND previous.connection_state IN ('waiting', 'active')
         RETURNING s.work_id, s.provider_id, previous.connection_state = 'waiting' AS activated,
                   s.updated_at",
    )
    .bind(session_id)
    .bind(meta.user_id)
    .bind(mediums.to_value())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(selected) = selected else {
        drop(tx);
        return Err(
            explain_miss(&ctx.pool, session_id, meta.user_id, Role::Seeker)
                .await?
                .into(),
        );
    };
    timeline::append(
        &mut tx,
        session_id,
        TimelineEventType::MediumsSelected,
        ActorRole::Seeker,
        mediums_data(&mediums),
        selected.updated_at,
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
    ctx.outbox
        .send(
            Role::Seeker,
            meta.user_id,
            Target::Except(meta.conn_id),
            own.clone(),
        )
        .await;
    ctx.outbox
        .send(
            Role::Provider,
            selected.provider_id,
            Target::All,
            ServerMessage::SeekerMediumsSelected {
                session_id,
                mediums,
                connection_state: ConnectionState::Active,
                message: SEEKER_SELECTED_TEXT.to_string(),
                timestamp: Timestamp::now(),
            },
        )
        .await;
    if selected.activated {
        let session = SessionParties {
            session_id,
            work_id: selected.work_id,
            parties: Parties {
                seeker_id: meta.user_id,
                provider_id: selected.provider_id,
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
    session_id: Option<&str>,
    mediums: Option<&Value>,
) -> CommandResult {
    let session_id = validate::session_id(session_id)?;
    let mediums = Mediums::parse(mediums)?;
    let mut tx = ctx.pool.begin().await?;
    let shared: Option<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE work_sessions
         SET provider_mediums = $3, provider_mediums_shared_at = now(), updated_at = now()
         WHERE id = $1 AND provider_id = $2 AND connection_state IN ('waiting', 'active')
         RETURNING seeker_id, updated_at",
    )
    .bind(session_id)
    .bind(meta.user_id)
    .bind(mediums.to_value())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((seeker_id, shared_at)) = shared else {
        drop(tx);
        return Err(
            explain_miss(&ctx.pool, session_id, meta.user_id, Role::Provider)
                .await?
                .into(),
        );
    };
    timeline::append(
        &mut tx,
        session_id,
        TimelineEventType::MediumsShared,
        ActorRole::Provider,
        mediums_data(&mediums),
        shared_at,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(%session_id, "provider mediums shared");

    let own = ServerMessage::MediumsShared {
        session_id,
        mediums: mediums.clone(),
        timestamp: Timestamp::now(),
    };
    ctx.outbox
        .send(
            Role::Provider,
            meta.user_id,
            Target::Except(meta.conn_id),
            own.clone(),
        )
        .await;
    ctx.outbox
        .send(
            Role::Seeker,
            seeker_id,
            Target::All,
            ServerMessage::ProviderMediumsShared {
                session_id,
                mediums,
                timestamp: Timestamp::now(),
            },
        )
        .await;
    Ok(Reply::answer(meta, own))
}
