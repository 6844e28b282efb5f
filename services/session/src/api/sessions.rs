//! `GET /api/v1/sessions/active?role=..` and `GET /api/v1/sessions/{session_id}`.

use tether_proto::api::{ApiReply, ApiRequest};
use tether_proto::errors::{NO_OPEN_SESSION, ROLE_INVALID, ROLE_REQUIRED};
use tether_proto::{Role, WireError};

use super::{ApiResult, query_param, session_path_id};
use crate::context::Ctx;
use crate::sessions;

/// `GET /api/v1/sessions/active?role=seeker|provider`: the caller's waiting or active
/// session in that role. `role` is required (the same user may be a seeker and a
/// provider at once); 404 when there is none.
pub async fn active(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let role = match query_param(request, "role") {
        None => return Err(WireError::validation(ROLE_REQUIRED).into()),
        Some(text) => Role::parse(text).ok_or_else(|| WireError::validation(ROLE_INVALID))?,
    };
    let row = sessions::open_for(&ctx.pool, request.user_id, role)
        .await?
        .ok_or_else(|| WireError::not_found(NO_OPEN_SESSION))?;
    Ok(ApiReply::ok(&row.snapshot(role)?))
}

/// `GET /api/v1/sessions/{session_id}`: parties only. A malformed id, an unknown one and
/// someone else's session all answer the same 404.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let session_id = session_path_id(request)?;
    let (row, role) = sessions::for_party(&ctx.pool, session_id, request.user_id)
        .await?
        .ok_or_else(WireError::session_not_found)?;
    Ok(ApiReply::ok(&row.snapshot(role)?))
}
