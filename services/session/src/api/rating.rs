//! `POST /api/v1/sessions/{session_id}/rating`.

use chrono::{DateTime, Utc};
use tether_proto::api::{ApiReply, ApiRequest, RatingBody, parse_body};
use tether_proto::errors::{
    ALREADY_RATED, ONLY_SEEKER_RATES, RATING_NOT_COMPLETED, RATING_STARS_REQUIRED,
    rating_window_closed,
};
use tether_proto::limits::RATING_WINDOW_HOURS;
use tether_proto::model::RatingSaved;
use tether_proto::{ConnectionState, Role, WireError};

use super::{ApiResult, session_path_id};
use crate::context::Ctx;
use crate::rating::Rating;
use crate::sessions::{self, SessionRow};

#[derive(Debug, sqlx::FromRow)]
struct SavedRow {
    rating_stars: i16,
    rating_description: Option<String>,
    rated_at: DateTime<Utc>,
}

/// Seeker $2 rates completed session $1 ($3 stars, $4 text) within $5 hours of completion,
/// once.
pub const RATE_SESSION: &str = "UPDATE work_sessions
         SET rating_stars = $3, rating_description = $4, rated_at = now(), updated_at = now()
         WHERE id = $1 AND seeker_id = $2 AND connection_state = 'completed'
           AND rating_stars IS NULL AND completed_at > now() - make_interval(hours => $5)
         RETURNING rating_stars, rating_description, rated_at";

/// Rates a completed session: its seeker only (404 when not a party, 403 for its
/// provider), then the body (400), then the state: completed, not yet rated, within 24 h
/// of completion (409 otherwise). The guarded update makes "only once" hold even for two
/// requests at once.
pub async fn rate(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let session_id = session_path_id(request)?;
    let (_, role) = sessions::for_party(&ctx.pool, session_id, request.user_id)
        .await?
        .ok_or_else(WireError::session_not_found)?;
    if role != Role::Seeker {
        return Err(WireError::forbidden(ONLY_SEEKER_RATES).into());
    }
    let body: RatingBody = parse_body(request.body.as_ref())?;
    let rating = Rating::parse(body.rating_stars.as_ref(), body.rating_description.as_ref())?
        .ok_or_else(|| WireError::validation(RATING_STARS_REQUIRED))?;
    let saved: Option<SavedRow> = sqlx::query_as(RATE_SESSION)
        .bind(session_id)
        .bind(request.user_id)
        .bind(rating.stars)
        .bind(rating.description.as_deref())
        .bind(RATING_WINDOW_HOURS as i32)
        .fetch_optional(&ctx.pool)
        .await?;
    let Some(saved) = saved else {
        let current = sessions::for_party(&ctx.pool, session_id, request.user_id).await?;
        return Err(match current {
            Some((row, _)) => why_not_rateable(&row),
            None => WireError::session_not_found(),
        }
        .into());
    };
    Ok(ApiReply::ok(&RatingSaved {
        session_id,
        rating_stars: i64::from(saved.rating_stars),
        rating_description: saved.rating_description,
        rated_at: saved.rated_at.into(),
    }))
}

fn why_not_rateable(row: &SessionRow) -> WireError {
    if row.connection_state != ConnectionState::Completed {
        WireError::conflict(RATING_NOT_COMPLETED)
    } else if row.rating_stars.is_some() {
        WireError::conflict(ALREADY_RATED)
    } else {
        WireError::conflict(rating_window_closed())
    }
}
