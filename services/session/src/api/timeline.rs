//! `GET /api/v1/sessions/{session_id}/timeline`: the session's hash-chained events.
//!
//! Parties only (either role, any state); a malformed id, an unknown one and someone
//! else's session all answer the same 404 as the snapshot. Events come back exactly as
//! stored (with their stored hashes), so a changed row shows as a broken chain.

use tether_platform::timeline;
use tether_proto::WireError;
use tether_proto::api::{ApiReply, ApiRequest};
use tether_proto::timeline::SessionTimeline;

use super::{ApiResult, session_path_id};
use crate::context::Ctx;

/// Whether the user is a party of the session.
pub const IS_PARTY: &str = "
SELECT EXISTS (
    SELECT 1 FROM work_sessions WHERE id = $1 AND (seeker_id = $2 OR provider_id = $2)
)";

/// Answers the request.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let session_id = session_path_id(request)?;
    let mut conn = ctx.pool.acquire().await?;
    let is_party: bool = sqlx::query_scalar(IS_PARTY)
        .bind(session_id)
        .bind(request.user_id)
        .fetch_one(&mut *conn)
        .await?;
    if !is_party {
        return Err(WireError::session_not_found().into());
    }
    let events = timeline::read(&mut conn, session_id).await?;
    Ok(ApiReply::ok(&SessionTimeline::new(session_id, events)))
}
