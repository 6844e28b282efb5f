//! `GET /api/v1/providers/nearby`.

use tether_proto::WireError;
use tether_proto::api::{ApiReply, ApiRequest};
use tether_proto::distance::{COARSE_STEP_M, Point, coarse_meters, format_short};
use tether_proto::errors::{limit_invalid, radius_invalid};
use tether_proto::limits::{
    EARTH_RADIUS_M, NEARBY_DEFAULT_LIMIT, NEARBY_DEFAULT_RADIUS_M, NEARBY_MAX_LIMIT,
    NEARBY_MAX_RADIUS_M,
};
use tether_proto::model::{NearbyProvider, NearbyProviders};
use tether_proto::validate::coordinates;
use uuid::Uuid;

use super::{ApiResult, query_param};
use crate::context::Ctx;

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
struct NearbyQuery {
    origin: Point,
    service_type: Option<String>,
    radius_m: f64,
    limit: i64,
}

impl NearbyQuery {
    /// Validation choices: `latitude`/`longitude` required and in range; `radius_m` a
    /// number in (0, 100000], default 10000; `limit` an integer >= 1, default 20, values
    /// above 100 are served as 100 (like most paginated APIs); `service_type` matches one
    /// of the provider's types exactly, empty means any.
    fn parse(request: &ApiRequest) -> Result<Self, WireError> {
        let number = |name: &str| query_param(request, name).map(|t| t.parse().unwrap_or(f64::NAN));
        let (latitude, longitude) = coordinates(number("latitude"), number("longitude"))?;
        let radius_m = number("radius_m").unwrap_or(NEARBY_DEFAULT_RADIUS_M);
        if !radius_m.is_finite() || radius_m <= 0.0 || radius_m > NEARBY_MAX_RADIUS_M {
            return Err(WireError::validation(radius_invalid()));
        }
        let limit = match query_param(request, "limit") {
            None => NEARBY_DEFAULT_LIMIT,
            Some(text) => match text.parse::<i64>() {
                Ok(limit) if limit >= 1 => limit.min(NEARBY_MAX_LIMIT),
                _ => {
                    return Err(WireError::validation(limit_invalid(NEARBY_MAX_LIMIT)));
                }
            },
        };
        Ok(Self {
            origin: Point::new(latitude, longitude),
            service_type: query_param(request, "service_type").map(str::to_string),
            radius_m,
            limit,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct NearbyRow {
    provider_id: Uuid,
    display_name: Option<String>,
    service_types: Vec<String>,
    distance_m: f64,
}

/// Active providers near ($1, $2) within $5 metres (coarse), not $3, offering $4 (null:
/// any), nearest first, at most $6; $7 the earth's radius, $8 the search's angular radius
/// in degrees (the radius plus the coarse rounding's step), $9 the coarse step.
///
/// Only the providers inside the search's bounding box are read, through the GiST index
/// `provider_active_status_active_point`: latitude ± $8, longitude ± `b.w`, the widest
/// longitude a point within $8 of the origin can have (all of them when the cap holds a
/// pole), the box repeated 360° east and west so a search across the antimeridian finds
/// what lies beyond it. Without it every active provider on earth was measured. Names are
/// read for the page alone (every status row has its user: a foreign key), not for every
/// provider in the box.
pub const NEARBY_PROVIDERS: &str =
    "SELECT n.provider_id, COALESCE(u.display_name, u.token_name) AS display_name,
                n.service_types, n.distance_m
         FROM (
         SELECT s.provider_id, s.service_types, d.distance_m, c.coarse_m
         FROM provider_active_status s
         CROSS JOIN (
             SELECT CASE WHEN sin(radians($8)) >= cos(radians($1)) THEN 180::float8
                         ELSE degrees(asin(sin(radians($8)) / cos(radians($1)))) END AS w
         ) b
         CROSS JOIN LATERAL (
             SELECT 2 * $7::float8 * asin(least(1, sqrt(
                 power(sin(radians(s.latitude - $1) / 2), 2)
                 + cos(radians($1)) * cos(radians(s.latitude))
                   * power(sin(radians(s.longitude - $2) / 2), 2)))) AS distance_m
         ) d
         CROSS JOIN LATERAL (
             SELECT greatest($9::float8, floor(d.distance_m / $9::float8 + 0.5) * $9::float8)
                 AS coarse_m
         ) c
         WHERE s.is_active AND s.latitude IS NOT NULL AND s.provider_id <> $3
           AND ($4::text IS NULL OR $4 = ANY (s.service_types))
           AND (point(s.longitude, s.latitude)
                    <@ box(point($2 - b.w, $1 - $8), point($2 + b.w, $1 + $8))
                OR point(s.longitude, s.latitude)
                    <@ box(point($2 - b.w + 360, $1 - $8), point($2 + b.w + 360, $1 + $8))
                OR point(s.longitude, s.latitude)
                    <@ box(point($2 - b.w - 360, $1 - $8), point($2 + b.w - 360, $1 + $8)))
           AND c.coarse_m <= $5
         ORDER BY c.coarse_m, s.provider_id
         LIMIT $6
         ) n
         JOIN users u ON u.id = n.provider_id
         ORDER BY n.coarse_m, n.provider_id";

/// Active providers whose coarse distance is within the radius, nearest first, never the
/// caller and never a phone number.
///
/// Distances here are coarse (docs/protocol.md conventions): `max(100, round(d/100)*100)`, and
/// the radius and the order apply to that coarse value, ties by provider id. Ordering by
/// the exact distance would leak it: a caller with a provider account of their own at a
/// known point could bisect a rival's distance by watching which of the two comes first.
/// The coarse rounding is written in SQL too (to filter and page in the database); it
/// mirrors [`coarse_meters`], and the answer's value is computed by that function from the
/// same `distance_m`, so both agree.
pub async fn get(ctx: &Ctx, request: &ApiRequest) -> ApiResult {
    let query = NearbyQuery::parse(request)?;
    // Degrees of arc the radius spans (plus the coarse rounding's step): the bounding box
    // read before the exact maths.
    let band_deg = ((query.radius_m + COARSE_STEP_M) / EARTH_RADIUS_M).to_degrees();
    let rows: Vec<NearbyRow> = sqlx::query_as(NEARBY_PROVIDERS)
        .bind(query.origin.latitude)
        .bind(query.origin.longitude)
        .bind(request.user_id)
        .bind(query.service_type.as_deref())
        .bind(query.radius_m)
        .bind(query.limit)
        .bind(EARTH_RADIUS_M)
        .bind(band_deg)
        .bind(COARSE_STEP_M)
        .fetch_all(&ctx.pool)
        .await?;
    let providers = rows
        .into_iter()
        .map(|row| {
            let coarse_m = coarse_meters(row.distance_m);
            NearbyProvider {
                provider_id: row.provider_id,
                display_name: row.display_name,
                service_types: row.service_types,
                distance_meters: coarse_m,
                distance: format_short(coarse_m),
            }
        })
        .collect();
    Ok(ApiReply::ok(&NearbyProviders { providers }))
}
