//! `work_response`: the provider accepts (a session opens) or rejects a pending order.

use chrono::{DateTime, Utc};
use tether_platform::metrics_catalog::names;
use tether_platform::{Reply, timeline};
use tether_proto::WorkOrderStatus;
use tether_proto::commands::WorkResponse;
use tether_proto::envelope::CommandMeta;
use tether_proto::errors::{
    ACCEPTED_REQUIRED, FAILED_TO_CREATE_SESSION, WORK_ID_REQUIRED, WORK_ORDER_CHANGED,
    WORK_ORDER_EXPIRED, WORK_ORDER_NOT_FOUND, work_order_not_pending,
};
use tether_proto::events::SessionEventKind;
use tether_proto::timeline::{ActorRole, TimelineEventType};
use tether_proto::{ConnectionState, ErrorCode, ServerMessage, Timestamp, WireError};
use uuid::Uuid;

use super::{CommandResult, tell_both};
use crate::context::Ctx;
use crate::events::{self, SessionParties};
use tether_platform::HandlerError;
use tether_proto::model::Parties;

/// The provider's text in `work_accepted`.
pub const ACCEPTED_PROVIDER_TEXT: &str =
    "Work accepted. Waiting for seeker to select communication mediums.";
/// The seeker's text in `work_accepted`.
pub const ACCEPTED_SEEKER_TEXT: &str = "Provider accepted your request";

/// Handles `work_response {work_id, accepted}` from a provider.
pub async fn handle(
    ctx: &Ctx,
    meta: &CommandMeta,
    WorkResponse { work_id, accepted }: WorkResponse,
) -> CommandResult {
    let work_id = work_id.ok_or_else(|| WireError::validation(WORK_ID_REQUIRED))?;
    let accepted = accepted.ok_or_else(|| WireError::validation(ACCEPTED_REQUIRED))?;
    if accepted {
        accept(ctx, meta, work_id).await.map_err(|err| {
            // The contract's text for "the session could not be created" (not a rule).
            let fallback = WireError::new(ErrorCode::Internal, FAILED_TO_CREATE_SESSION);
            HandlerError::Client(err.into_wire_or("work_response", fallback))
        })
    } else {
        reject(ctx, meta, work_id).await
    }
}

/// What answering an order needs to know about it.
#[derive(Debug, sqlx::FromRow)]
struct OrderState {
    seeker_id: Uuid,
    status: WorkOrderStatus,
    /// When the seeker created it (the timeline's `work_created`).
    created_at: DateTime<Utc>,
    /// Younger than the TTL.
    fresh: bool,
}

/// Unknown or someone else's -> `not_found`; answered already or too old -> `conflict`.
fn answerable(order: Option<OrderState>) -> Result<OrderState, WireError> {
    let order = order.ok_or_else(|| WireError::not_found(WORK_ORDER_NOT_FOUND))?;
    if order.status != WorkOrderStatus::Pending {
        return Err(WireError::conflict(work_order_not_pending(
            order.status.as_str(),
        )));
    }
    if !order.fresh {
        return Err(WireError::conflict(WORK_ORDER_EXPIRED));
    }
    Ok(order)
}

/// Locks order $1 of provider $2 and reads its state ($3: the TTL in seconds).
pub const LOCK_ORDER: &str = "SELECT seeker_id, status, created_at,
                created_at > now() - make_interval(secs => $3) AS fresh
         FROM work_orders WHERE id = $1 AND provider_id = $2 FOR UPDATE";

/// Opens session $1 for order $2 between seeker $3 and provider $4.
pub const OPEN_SESSION: &str =
    "INSERT INTO work_sessions (id, work_id, seeker_id, provider_id) VALUES ($1, $2, $3, $4)";

/// Marks order $1 accepted with session $2 and takes provider $3 and seeker $4 off the
/// market; returns the answer time.
pub const ACCEPT_ORDER: &str = "WITH accepted AS (
             UPDATE work_orders SET status = 'accepted', session_id = $2, responded_at = now()
             WHERE id = $1 RETURNING responded_at
         ),
         provider_off AS (
             INSERT INTO provider_active_status (provider_id, is_active) VALUES ($3, false)
             ON CONFLICT (provider_id) DO UPDATE SET is_active = false, updated_at = now()
         ),
         seeker_off AS (
             INSERT INTO seeker_search_preference (seeker_id, is_searching) VALUES ($4, false)
             ON CONFLICT (seeker_id) DO UPDATE SET is_searching = false, updated_at = now()
         )
         SELECT responded_at FROM accepted";

/// Accepting: one transaction locks the order, opens the session (the one-open-session
/// indexes refuse a provider or seeker who already has one, even when racing), marks the
/// order accepted and takes both parties off the market.
async fn accept(ctx: &Ctx, meta: &CommandMeta, work_id: i64) -> CommandResult {
    let provider_id = meta.user_id;
    let mut tx = ctx.pool.begin().await?;
    let order: Option<OrderState> = sqlx::query_as(LOCK_ORDER)
        .bind(work_id)
        .bind(provider_id)
        .bind(ctx.settings.order_ttl_secs())
        .fetch_optional(&mut *tx)
        .await?;
    let order = answerable(order)?;
    let session_id = Uuid::now_v7();
    // Its own statement, before the status rows are touched: waiting here on a racing
    // session (unique index) while holding no status row keeps lock order deadlock-free.
    sqlx::query(OPEN_SESSION)
        .bind(session_id)
        .bind(work_id)
        .bind(order.seeker_id)
        .bind(provider_id)
        .execute(&mut *tx)
        .await?;
    let accepted_at: DateTime<Utc> = sqlx::query_scalar(ACCEPT_ORDER)
        .bind(work_id)
        .bind(session_id)
        .bind(provider_id)
        .bind(order.seeker_id)
        .fetch_one(&mut *tx)
        .await?;
    // The timeline starts with the order's creation (there was no session to append to
    // before) and the acceptance, in the transaction that opened the session.
    timeline::append_plain(
        &mut tx,
        session_id,
        TimelineEventType::WorkCreated,
        ActorRole::Seeker,
        order.created_at,
    )
    .await?;
    timeline::append_plain(
        &mut tx,
        session_id,
        TimelineEventType::WorkAccepted,
        ActorRole::Provider,
        accepted_at,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(work_id, %session_id, "work order accepted");

    let session = SessionParties {
        session_id,
        work_id,
        parties: Parties {
            seeker_id: order.seeker_id,
            provider_id,
        },
    };
    let accepted = |message: &str| ServerMessage::WorkAccepted {
        work_id,
        session_id,
        connection_state: ConnectionState::Waiting,
        message: message.to_string(),
        timestamp: Timestamp::now(),
    };
    let own = accepted(ACCEPTED_PROVIDER_TEXT);
    tell_both(
        ctx,
        meta,
        order.seeker_id,
        &own,
        accepted(ACCEPTED_SEEKER_TEXT),
    )
    .await;
    events::publish(ctx, SessionEventKind::Accepted, session, None, accepted_at).await;
    Ok(Reply::answer(meta, own))
}

/// What the seeker is told about a rejection.
#[derive(Debug, sqlx::FromRow)]
struct Rejected {
    seeker_id: Uuid,
    service_type: String,
    responded_at: DateTime<Utc>,
    provider_name: Option<String>,
    provider_mobile: Option<String>,
}

/// Rejects order $1 of provider $2 while pending and younger than $3 seconds; returns what
/// the seeker is told.
pub const REJECT_ORDER: &str = "UPDATE work_orders o SET status = 'rejected', responded_at = now()
         FROM users p
         WHERE o.id = $1 AND o.provider_id = $2 AND o.status = 'pending'
           AND o.created_at > now() - make_interval(secs => $3) AND p.id = o.provider_id
         RETURNING o.seeker_id, o.service_type, o.responded_at,
                   COALESCE(p.display_name, p.token_name) AS provider_name,
                   p.mobile AS provider_mobile";

/// Order $1 of provider $2 as it is now ($3: the TTL in seconds), when a rejection missed.
pub const ORDER_STATE: &str = "SELECT seeker_id, status, created_at,
                created_at > now() - make_interval(secs => $3) AS fresh
             FROM work_orders WHERE id = $1 AND provider_id = $2";

/// Rejecting: one guarded update; when it misses, a read says why.
async fn reject(ctx: &Ctx, meta: &CommandMeta, work_id: i64) -> CommandResult {
    let provider_id = meta.user_id;
    let rejected: Option<Rejected> = sqlx::query_as(REJECT_ORDER)
        .bind(work_id)
        .bind(provider_id)
        .bind(ctx.settings.order_ttl_secs())
        .fetch_optional(&ctx.pool)
        .await?;
    let Some(rejected) = rejected else {
        let order: Option<OrderState> = sqlx::query_as(ORDER_STATE)
            .bind(work_id)
            .bind(provider_id)
            .bind(ctx.settings.order_ttl_secs())
            .fetch_optional(&ctx.pool)
            .await?;
        answerable(order)?;
        // Pending and fresh now, so it changed under us: report the race as a conflict.
        return Err(WireError::conflict(WORK_ORDER_CHANGED).into());
    };
    tracing::info!(work_id, "work order rejected");

    let own = ServerMessage::WorkRejected {
        work_id,
        timestamp: Timestamp::now(),
    };
    let other = ServerMessage::WorkResponse {
        work_id,
        accepted: false,
        provider_name: rejected.provider_name,
        provider_mobile: rejected.provider_mobile,
        service_type: rejected.service_type,
        response_time: rejected.responded_at.into(),
    };
    tell_both(ctx, meta, rejected.seeker_id, &own, other).await;
    metrics::counter!(names::SESSION_TRANSITIONS_TOTAL, "kind" => "rejected").increment(1);
    Ok(Reply::answer(meta, own))
}
