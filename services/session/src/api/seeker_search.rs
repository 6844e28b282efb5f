//! `GET/PUT /api/v1/seeker/search`.

use chrono::{DateTime, Utc};
use tether_proto::WireError;
use tether_proto::api::{ApiReply, ApiRequest, PutSeekerSearchBody, parse_body};
use tether_proto::errors::IS_SEARCHING_REQUIRED;
use tether_proto::model::SeekerSearch;

use super::ApiResult;
use crate::context::Ctx;

#[derive(Debug, sqlx::FromRow)]
struct SearchRow {
    is_searching: bool,
    updated_at: DateTime<Utc>,
}

impl From<SearchRow> for SeekerSearch {
    fn from(row: SearchRow) -> Self {
        SeekerSearch {
            is_searching: row.is_searching,
            updated_at: Some(row.updated_at.into()),
        }
    }
}

/// Seeker $1 searching or not ($2).
pub const PUT_SEEKER_SEARCH: &str = "INSERT INTO seeker_search_preference (seeker_id, is_searching, updated_at)
         VALUES ($1, $2, now())
         ON CONFLICT (seeker_id) DO UPDATE SET is_searching = EXCLUDED.is_searching, updated_at = now()
         RETURNING is_searching, updated_at";

/// Seeker $1's search preference.
pub const GET_SEEKER_SEARCH: &str =
    "SELECT is_searching, updated_at FROM seeker_search_preference WHERE seeker_id = $1";

/// `PUT /api/v1/seeker/search` with `{is_searching}` (required): answers the stored state.
pub async fn put(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let body: PutSeekerSearchBody = parse_body(request.body.as_ref())?;
    let is_searching = body
        .is_searching
        .ok_or_else(|| WireError::validation(IS_SEARCHING_REQUIRED))?;
    let row: SearchRow = sqlx::query_as(PUT_SEEKER_SEARCH)
        .bind(request.user_id)
        .bind(is_searching)
        .fetch_one(&ctx.pool)
        .await?;
    Ok(ApiReply::ok(&SeekerSearch::from(row)))
}

/// `GET /api/v1/seeker/search`; never set -> `{is_searching: false, updated_at: null}`.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let row: Option<SearchRow> = sqlx::query_as(GET_SEEKER_SEARCH)
        .bind(request.user_id)
        .fetch_optional(&ctx.pool)
        .await?;
    let search = row.map(SeekerSearch::from).unwrap_or(SeekerSearch {
        is_searching: false,
        updated_at: None,
    });
    Ok(ApiReply::ok(&search))
}
