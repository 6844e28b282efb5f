//! `GET/PUT /api/v1/provider/status`.

use chrono::{DateTime, Utc};
use tether_proto::WireError;
use tether_proto::api::{ApiReply, ApiRequest, PutProviderStatusBody, parse_body};
use tether_proto::errors::{
    IS_ACTIVE_REQUIRED, LOCATION_REQUIRED_WHEN_ACTIVE, SERVICE_TYPES_REQUIRED_WHEN_ACTIVE,
    service_types_empty_when_active, service_types_invalid,
};
use tether_proto::limits::{SERVICE_TYPE_MAX_CHARS, SERVICE_TYPES_MAX};
use tether_proto::model::ProviderStatus;
use tether_proto::validate::{char_len, coordinates};

use super::ApiResult;
use crate::context::Ctx;

#[derive(Debug, sqlx::FromRow)]
struct StatusRow {
    is_active: bool,
    service_types: Vec<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    updated_at: DateTime<Utc>,
}

impl From<StatusRow> for ProviderStatus {
    fn from(row: StatusRow) -> Self {
        ProviderStatus {
            is_active: row.is_active,
            service_types: row.service_types,
            latitude: row.latitude,
            longitude: row.longitude,
            updated_at: Some(row.updated_at.into()),
        }
    }
}

/// A validated status update; `None` fields keep their stored values.
#[derive(Debug, Clone, PartialEq)]
struct StatusUpdate {
    is_active: bool,
    service_types: Option<Vec<String>>,
    location: Option<(f64, f64)>,
}

impl StatusUpdate {
    /// Validation choices: `is_active` is required. Going active needs `service_types`
    /// (1-20 names of 1-64 characters, trimmed, duplicates dropped) and both `latitude`
    /// and `longitude`, so an active provider can always be found and measured. Going
    /// inactive takes them optionally (same rules; coordinates only as a pair) and keeps
    /// the stored values of whatever is left out.
    fn parse(request: &ApiRequest) -> Result<Self, WireError> {
        let body: PutProviderStatusBody = parse_body(request.body.as_ref())?;
        let is_active = body
            .is_active
            .ok_or_else(|| WireError::validation(IS_ACTIVE_REQUIRED))?;
        let service_types = body.service_types.map(parse_service_types).transpose()?;
        let location = match (body.latitude, body.longitude) {
            (None, None) => None,
            (latitude, longitude) => Some(coordinates(latitude, longitude)?),
        };
        if is_active {
            match &service_types {
                None => {
                    return Err(WireError::validation(SERVICE_TYPES_REQUIRED_WHEN_ACTIVE));
                }
                Some(types) if types.is_empty() => {
                    return Err(WireError::validation(service_types_empty_when_active()));
                }
                Some(_) => {}
            }
            if location.is_none() {
                return Err(WireError::validation(LOCATION_REQUIRED_WHEN_ACTIVE));
            }
        }
        Ok(Self {
            is_active,
            service_types,
            location,
        })
    }
}

fn parse_service_types(types: Vec<String>) -> Result<Vec<String>, WireError> {
    let invalid = || WireError::validation(service_types_invalid());
    if types.len() > SERVICE_TYPES_MAX {
        return Err(invalid());
    }
    let mut clean: Vec<String> = Vec::with_capacity(types.len());
    for name in types {
        let name = name.trim();
        if !(1..=SERVICE_TYPE_MAX_CHARS).contains(&char_len(name)) {
            return Err(invalid());
        }
        if !clean.iter().any(|known| known == name) {
            clean.push(name.to_string());
        }
    }
    Ok(clean)
}

/// Provider $1's status: active $2, service types $3, location ($4, $5); null keeps.
pub const PUT_PROVIDER_STATUS: &str = "INSERT INTO provider_active_status AS s
                (provider_id, is_active, service_types, latitude, longitude, updated_at)
         VALUES ($1, $2, COALESCE($3, '{}'::text[]), $4, $5, now())
         ON CONFLICT (provider_id) DO UPDATE SET
             is_active = EXCLUDED.is_active,
             service_types = COALESCE($3, s.service_types),
             latitude = CASE WHEN $4::float8 IS NULL THEN s.latitude ELSE $4 END,
             longitude = CASE WHEN $4::float8 IS NULL THEN s.longitude ELSE $5 END,
             updated_at = now()
         RETURNING is_active, service_types, latitude, longitude, updated_at";

/// Provider $1's status.
pub const GET_PROVIDER_STATUS: &str =
    "SELECT is_active, service_types, latitude, longitude, updated_at
         FROM provider_active_status WHERE provider_id = $1";

/// `PUT /api/v1/provider/status`: answers the stored status.
pub async fn put(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let update = StatusUpdate::parse(request)?;
    let (latitude, longitude) = update.location.unzip();
    let row: StatusRow = sqlx::query_as(PUT_PROVIDER_STATUS)
        .bind(request.user_id)
        .bind(update.is_active)
        .bind(update.service_types)
        .bind(latitude)
        .bind(longitude)
        .fetch_one(&ctx.pool)
        .await?;
    Ok(ApiReply::ok(&ProviderStatus::from(row)))
}

/// `GET /api/v1/provider/status`. A user who never set one gets the inactive default
/// `{is_active: false, service_types: [], latitude: null, longitude: null, updated_at: null}`.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let row: Option<StatusRow> = sqlx::query_as(GET_PROVIDER_STATUS)
        .bind(request.user_id)
        .fetch_optional(&ctx.pool)
        .await?;
    let status = row.map(ProviderStatus::from).unwrap_or(ProviderStatus {
        is_active: false,
        service_types: Vec::new(),
        latitude: None,
        longitude: None,
        updated_at: None,
    });
    Ok(ApiReply::ok(&status))
}
