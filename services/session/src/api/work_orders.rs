//! `POST /api/v1/work-orders` and `GET /api/v1/work-orders/{work_id}`.

use chrono::{DateTime, Utc};
use tether_platform::Target;
use tether_proto::api::{ApiReply, ApiRequest, CreateWorkOrderBody, parse_body};
use tether_proto::limits::{SERVICE_TYPE_MAX_CHARS, WORK_ORDER_MESSAGE_MAX_CHARS};
use tether_proto::model::{WorkOrder, WorkOrderCreated};
use tether_proto::validate::{char_len, coordinates};
use tether_proto::{Role, WireError, WorkOrderStatus};
use uuid::Uuid;

use super::ApiResult;
use crate::assignment::Assignment;
use crate::context::Ctx;
use tether_platform::HandlerError;
use tether_proto::errors::{
    PROVIDER_BUSY, PROVIDER_ID_INVALID, PROVIDER_ID_REQUIRED, PROVIDER_NOT_ACTIVE,
    PROVIDER_NOT_FOUND, PROVIDER_TOO_MANY_PENDING, SEEKER_BUSY, SEEKER_TOO_MANY_PENDING,
    SELF_ORDER, SERVICE_TYPE_REQUIRED, WORK_ORDER_NOT_FOUND, service_type_invalid,
    work_order_message_too_long,
};

/// A validated order.
#[derive(Debug, Clone, PartialEq)]
struct NewOrder {
    provider_id: Uuid,
    service_type: String,
    message: String,
    latitude: f64,
    longitude: f64,
}

impl NewOrder {
    /// Validation choices: `provider_id` a UUID; `service_type` 1-64 characters after
    /// trimming (any name: the provider decides whether they do it); `message` at most
    /// 1000 characters, trimmed, may be empty or left out; `latitude`/`longitude` required
    /// and in range.
    fn parse(request: &ApiRequest) -> Result<Self, WireError> {
        let body: CreateWorkOrderBody = parse_body(request.body.as_ref())?;
        let provider_id = body
            .provider_id
            .ok_or_else(|| WireError::validation(PROVIDER_ID_REQUIRED))?;
        let provider_id = Uuid::parse_str(provider_id.trim())
            .map_err(|_| WireError::validation(PROVIDER_ID_INVALID))?;
        let service_type = body
            .service_type
            .ok_or_else(|| WireError::validation(SERVICE_TYPE_REQUIRED))?;
        let service_type = service_type.trim();
        if !(1..=SERVICE_TYPE_MAX_CHARS).contains(&char_len(service_type)) {
            return Err(WireError::validation(service_type_invalid()));
        }
        let message = body.message.unwrap_or_default();
        let message = message.trim();
        if char_len(message) > WORK_ORDER_MESSAGE_MAX_CHARS {
            return Err(WireError::validation(work_order_message_too_long()));
        }
        let (latitude, longitude) = coordinates(body.latitude, body.longitude)?;
        Ok(Self {
            provider_id,
            service_type: service_type.to_string(),
            message: message.to_string(),
            latitude,
            longitude,
        })
    }
}

/// The facts the creation rules need, and the new order when they all held.
#[derive(Debug, sqlx::FromRow)]
struct CreateOutcome {
    provider_exists: bool,
    provider_active: bool,
    provider_busy: bool,
    seeker_busy: bool,
    seeker_full: bool,
    provider_full: bool,
    work_id: Option<i64>,
    created_at: Option<DateTime<Utc>>,
    seeker_name: Option<String>,
    seeker_mobile: Option<String>,
    seeker_profile_pic: Option<String>,
    provider_latitude: Option<f64>,
    provider_longitude: Option<f64>,
}

/// The creation rules and the insert in one statement: provider $1, seeker $2, service
/// type $3, message $4, point ($5, $6), TTL $7 seconds, at most $8 pending per seeker and
/// $9 per provider, $10 push on.
pub const CREATE_WORK_ORDER: &str = "WITH facts AS (
             SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS provider_exists,
                    COALESCE((SELECT is_active FROM provider_active_status WHERE provider_id = $1), false)
                        AS provider_active,
                    EXISTS (SELECT 1 FROM work_sessions
                            WHERE provider_id = $1 AND connection_state IN ('waiting', 'active')) AS provider_busy,
                    EXISTS (SELECT 1 FROM work_sessions
                            WHERE seeker_id = $2 AND connection_state IN ('waiting', 'active')) AS seeker_busy,
                    (SELECT count(*) FROM work_orders
                     WHERE seeker_id = $2 AND status = 'pending'
                       AND created_at > now() - make_interval(secs => $7)) >= $8 AS seeker_full,
                    (SELECT count(*) FROM work_orders
                     WHERE provider_id = $1 AND status = 'pending'
                       AND created_at > now() - make_interval(secs => $7)) >= $9 AS provider_full
         ),
         created AS (
             INSERT INTO work_orders (seeker_id, provider_id, service_type, message, latitude, longitude)
             SELECT $2, $1, $3, $4, $5, $6 FROM facts
             WHERE provider_active AND NOT provider_busy AND NOT seeker_busy
               AND NOT seeker_full AND NOT provider_full
             RETURNING id, created_at
         ),
         pushed AS (
             INSERT INTO push_events (event_id, body)
             SELECT event.id,
                    push_event_body(event.id, 'work_assigned', $1, 'provider', c.id, NULL,
                                    c.created_at)
             FROM created c CROSS JOIN LATERAL (SELECT gen_random_uuid() AS id) AS event
             WHERE $10
               AND NOT EXISTS (SELECT 1 FROM user_presence p
                               WHERE p.user_id = $1 AND p.role = 'provider' AND p.online)
         )
         SELECT f.provider_exists, f.provider_active, f.provider_busy, f.seeker_busy,
                f.seeker_full, f.provider_full,
                c.id AS work_id, c.created_at,
                COALESCE(u.display_name, u.token_name) AS seeker_name,
                u.mobile AS seeker_mobile, u.profile_pic_url AS seeker_profile_pic,
                s.latitude AS provider_latitude, s.longitude AS provider_longitude
         FROM facts f
         LEFT JOIN created c ON true
         LEFT JOIN users u ON u.id = $2
         LEFT JOIN provider_active_status s ON s.provider_id = $1";

/// `POST /api/v1/work-orders` (201). 409 when the provider is not active (or never set a
/// status), when either party is in a waiting/active session, or when ordering from
/// oneself; 404 for an unknown provider. The provider's sockets get `work_assigned`; with
/// push on and no provider socket open, the same statement enqueues a push event ($10).
///
/// The checks and the insert are one statement; a session that opens right after it is
/// caught when the provider answers (accepting then meets the one-open-session index).
pub async fn create(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let order = NewOrder::parse(request)?;
    if order.provider_id == request.user_id {
        return Err(WireError::conflict(SELF_ORDER).into());
    }
    let outcome: CreateOutcome = sqlx::query_as(CREATE_WORK_ORDER)
        .bind(order.provider_id)
        .bind(request.user_id)
        .bind(&order.service_type)
        .bind(&order.message)
        .bind(order.latitude)
        .bind(order.longitude)
        .bind(ctx.settings.order_ttl_secs())
        .bind(ctx.settings.max_pending_per_seeker)
        .bind(ctx.settings.max_pending_per_provider)
        .bind(ctx.settings.push)
        .fetch_one(&ctx.pool)
        .await?;

    let (Some(work_id), Some(created_at)) = (outcome.work_id, outcome.created_at) else {
        return Err(refusal(&outcome).into());
    };
    tracing::info!(work_id, provider_id = %order.provider_id, "work order created");
    let assignment = Assignment {
        work_id,
        service_type: order.service_type,
        message: order.message,
        latitude: order.latitude,
        longitude: order.longitude,
        created_at,
        seeker_name: outcome.seeker_name,
        seeker_mobile: outcome.seeker_mobile,
        seeker_profile_pic: outcome.seeker_profile_pic,
        provider_latitude: outcome.provider_latitude,
        provider_longitude: outcome.provider_longitude,
    };
    ctx.outbox
        .send(
            Role::Provider,
            order.provider_id,
            Target::All,
            assignment.message(),
        )
        .await;
    Ok(ApiReply::with_status(
        201,
        &WorkOrderCreated {
            work_id,
            status: WorkOrderStatus::Pending,
            created_at: created_at.into(),
        },
    ))
}

/// The answer when a rule stopped the insert, most specific first.
fn refusal(outcome: &CreateOutcome) -> WireError {
    if !outcome.provider_exists {
        WireError::not_found(PROVIDER_NOT_FOUND)
    } else if !outcome.provider_active {
        WireError::conflict(PROVIDER_NOT_ACTIVE)
    } else if outcome.provider_busy {
        WireError::conflict(PROVIDER_BUSY)
    } else if outcome.seeker_busy {
        WireError::conflict(SEEKER_BUSY)
    } else if outcome.seeker_full {
        WireError::conflict(SEEKER_TOO_MANY_PENDING)
    } else if outcome.provider_full {
        WireError::conflict(PROVIDER_TOO_MANY_PENDING)
    } else {
        WireError::internal()
    }
}

#[derive(Debug, sqlx::FromRow)]
struct OrderRow {
    id: i64,
    seeker_id: Uuid,
    provider_id: Uuid,
    service_type: String,
    message: String,
    status: WorkOrderStatus,
    session_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    responded_at: Option<DateTime<Utc>>,
}

/// Order $1 if user $2 is its seeker or provider.
pub const GET_WORK_ORDER: &str =
    "SELECT id, seeker_id, provider_id, service_type, message, status, session_id,
                created_at, responded_at
         FROM work_orders WHERE id = $1 AND (seeker_id = $2 OR provider_id = $2)";

/// `GET /api/v1/work-orders/{work_id}`: only its seeker or provider; anything else, and
/// an id that is not an integer, is 404.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let not_found = || HandlerError::from(WireError::not_found(WORK_ORDER_NOT_FOUND));
    let work_id: i64 = request
        .path_id
        .as_deref()
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(not_found)?;
    let row: Option<OrderRow> = sqlx::query_as(GET_WORK_ORDER)
        .bind(work_id)
        .bind(request.user_id)
        .fetch_optional(&ctx.pool)
        .await?;
    let row = row.ok_or_else(not_found)?;
    let status = row.status;
    Ok(ApiReply::ok(&WorkOrder {
        work_id: row.id,
        seeker_id: row.seeker_id,
        provider_id: row.provider_id,
        service_type: row.service_type,
        message: row.message,
        status,
        session_id: row.session_id,
        created_at: row.created_at.into(),
        responded_at: row.responded_at.map(Into::into),
    }))
}
