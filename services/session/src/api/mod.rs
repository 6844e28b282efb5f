//! The HTTP API over NATS: one module per resource, one `match` to dispatch.

pub mod nearby;
pub mod profile;
pub mod provider_status;
pub mod rating;
pub mod seeker_search;
pub mod sessions;
pub mod timeline;
pub mod work_orders;

use tether_proto::WireError;
use tether_proto::api::{ApiOp, ApiReply, ApiRequest};
use tether_proto::errors::NOT_FOUND;
use uuid::Uuid;

use crate::context::Ctx;
use tether_platform::HandlerError;

/// What an operation handler returns.
pub type ApiResult = Result<ApiReply, HandlerError>;

/// Answers one API request. The caller is created (or their token name refreshed) first:
/// every authenticated contact counts.
pub async fn handle(ctx: &Ctx, request: ApiRequest) -> ApiReply {
    let op = request.op;
    match dispatch(ctx, &request).await {
        Ok(reply) => reply,
        Err(err) => ApiReply::error(&err.into_wire(op.as_str())),
    }
}

async fn dispatch(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    ctx.known_users
        .ensure(&ctx.pool, request.user_id, request.token_name.as_deref())
        .await?;
    match request.op {
        ApiOp::PutProfile => profile::put(ctx, request).await,
        ApiOp::GetProfile => profile::get(ctx, request).await,
        ApiOp::PutProviderStatus => provider_status::put(ctx, request).await,
        ApiOp::GetProviderStatus => provider_status::get(ctx, request).await,
        ApiOp::PutSeekerSearch => seeker_search::put(ctx, request).await,
        ApiOp::GetSeekerSearch => seeker_search::get(ctx, request).await,
        ApiOp::NearbyProviders => nearby::get(ctx, request).await,
        ApiOp::CreateWorkOrder => work_orders::create(ctx, request).await,
        ApiOp::GetWorkOrder => work_orders::get(ctx, request).await,
        ApiOp::ActiveSession => sessions::active(ctx, request).await,
        ApiOp::GetSession => sessions::get(ctx, request).await,
        ApiOp::RateSession => rating::rate(ctx, request).await,
        ApiOp::SessionTimeline => timeline::get(ctx, request).await,
        // Owned by the chat service; only a misrouted request gets here.
        ApiOp::SessionMessages => Err(WireError::not_found(NOT_FOUND).into()),
    }
}

/// A query parameter, trimmed; empty counts as absent.
pub fn query_param<'a>(request: &'a ApiRequest, name: &str) -> Option<&'a str> {
    request
        .query
        .get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

/// The session id in the path. A malformed one answers the same 404 as an unknown one.
pub fn session_path_id(request: &ApiRequest) -> Result<Uuid, WireError> {
    request
        .path_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id.trim()).ok())
        .ok_or_else(WireError::session_not_found)
}

/// Whether the JSON body has `field` at all (to tell "absent" from `null`).
pub fn body_has(request: &ApiRequest, field: &str) -> bool {
    request
        .body
        .as_ref()
        .and_then(|body| body.get(field))
        .is_some()
}
