//! The HTTP API of docs/protocol.md: authenticate, rate-limit, parse the body, forward to the
//! owning service as an `ApiRequest`, answer with its `ApiReply`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tether_proto::ErrorCode;
use tether_proto::api::{ApiOp, ApiReply, ApiRequest};
use tether_proto::errors::{
    BODY_NOT_JSON, BODY_TOO_LARGE, BODY_UNREADABLE, HTTP_RATE_LIMITED, INTERNAL_ERROR,
    INVALID_TOKEN, NUL_IN_TEXT, SERVICE_UNAVAILABLE,
};
use tether_proto::limits::MAX_HTTP_BODY_BYTES;
use tether_proto::validate;

use crate::http_error;
use crate::relay;
use crate::state::EdgeState;

/// Routes under `/api/v1`.
pub fn router() -> Router<Arc<EdgeState>> {
    Router::new()
        .route(
            "/api/v1/profile",
            put(with_body(ApiOp::PutProfile)).get(plain(ApiOp::GetProfile)),
        )
        .route(
            "/api/v1/provider/status",
            put(with_body(ApiOp::PutProviderStatus)).get(plain(ApiOp::GetProviderStatus)),
        )
        .route(
            "/api/v1/seeker/search",
            put(with_body(ApiOp::PutSeekerSearch)).get(plain(ApiOp::GetSeekerSearch)),
        )
        .route(
            "/api/v1/providers/nearby",
            get(plain(ApiOp::NearbyProviders)),
        )
        .route(
            "/api/v1/work-orders",
            post(with_body(ApiOp::CreateWorkOrder)),
        )
        .route(
            "/api/v1/work-orders/{work_id}",
            get(with_id(ApiOp::GetWorkOrder)),
        )
        .route("/api/v1/sessions/active", get(plain(ApiOp::ActiveSession)))
        .route(
            "/api/v1/sessions/{session_id}",
            get(with_id(ApiOp::GetSession)),
        )
        .route(
            "/api/v1/sessions/{session_id}/messages",
            get(with_id(ApiOp::SessionMessages)),
        )
        .route(
            "/api/v1/sessions/{session_id}/rating",
            post(with_id_and_body(ApiOp::RateSession)),
        )
        .route(
            "/api/v1/sessions/{session_id}/timeline",
            get(with_id(ApiOp::SessionTimeline)),
        )
        .layer(DefaultBodyLimit::max(MAX_HTTP_BODY_BYTES))
}

type Q = Query<HashMap<String, String>>;
type S = State<Arc<EdgeState>>;
type Body = Result<Bytes, BytesRejection>;
type Forwarded = BoxFuture<'static, Response>;

/// The handler of `op` without path parameter or body.
fn plain(op: ApiOp) -> impl Fn(S, HeaderMap, Q) -> Forwarded + Clone + Send + Sync + 'static {
    move |state, headers, query| forward(state, headers, query, op, None, None).boxed()
}

/// The handler of `op` with a body.
fn with_body(
    op: ApiOp,
) -> impl Fn(S, HeaderMap, Q, Body) -> Forwarded + Clone + Send + Sync + 'static {
    move |state, headers, query, body| forward(state, headers, query, op, None, Some(body)).boxed()
}

/// The handler of `op` with a path parameter (`work_id` or `session_id`).
fn with_id(
    op: ApiOp,
) -> impl Fn(S, HeaderMap, Q, Path<String>) -> Forwarded + Clone + Send + Sync + 'static {
    move |state, headers, query, Path(id)| {
        forward(state, headers, query, op, Some(id), None).boxed()
    }
}

/// The handler of `op` with a path parameter and a body.
fn with_id_and_body(
    op: ApiOp,
) -> impl Fn(S, HeaderMap, Q, Path<String>, Body) -> Forwarded + Clone + Send + Sync + 'static {
    move |state, headers, query, Path(id), body| {
        forward(state, headers, query, op, Some(id), Some(body)).boxed()
    }
}

async fn forward(
    State(state): S,
    headers: HeaderMap,
    Query(mut query): Q,
    op: ApiOp,
    path_id: Option<String>,
    body: Option<Body>,
) -> Response {
    // Only the header: `?token=` is for WebSocket upgrades, which cannot set one.
    let Some(user) = state.auth.authenticate_header(&headers) else {
        return http_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            INVALID_TOKEN,
        );
    };
    // A token in the query string is ignored and never travels further than the edge.
    query.remove("token");
    if state.http_limiter.check_key(&user.user_id).is_err() {
        return http_error(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            HTTP_RATE_LIMITED,
        );
    }
    let body = match body {
        None => None,
        Some(Err(rejection)) => {
            return if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                http_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::PayloadTooLarge,
                    BODY_TOO_LARGE,
                )
            } else {
                http_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidJson,
                    BODY_UNREADABLE,
                )
            };
        }
        Some(Ok(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => None,
        Some(Ok(bytes)) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) if validate::json_has_nul(&value) => {
                return nul_in_text();
            }
            Ok(value) => Some(value),
            Err(_) => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidJson,
                    BODY_NOT_JSON,
                );
            }
        },
    };
    if query
        .iter()
        .any(|(name, value)| validate::has_nul(name) || validate::has_nul(value))
    {
        return nul_in_text();
    }
    let request = ApiRequest {
        op,
        user_id: user.user_id,
        token_name: user.token_name,
        path_id,
        query: query.into_iter().collect::<BTreeMap<_, _>>(),
        body,
    };
    let Ok(payload) = serde_json::to_vec(&request) else {
        return http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            INTERNAL_ERROR,
        );
    };
    let subject = state.subjects.api(op.owner());
    match relay::request(
        &state.client,
        subject,
        None,
        payload.into(),
        state.request_timeout(),
        op.as_str(),
    )
    .await
    {
        Ok(answer) => match serde_json::from_slice::<ApiReply>(&answer.payload) {
            Ok(reply) => {
                let status =
                    StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                // A refusal's hint, as HTTP says it too: whole seconds, rounded up.
                let retry_after = reply
                    .body
                    .get("retry_after_ms")
                    .and_then(Value::as_u64)
                    .map(|ms| ms.div_ceil(1000).to_string());
                let mut response = (status, axum::Json(reply.body)).into_response();
                if let Some(seconds) = retry_after
                    && let Ok(value) = axum::http::HeaderValue::from_str(&seconds)
                {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, value);
                }
                response
            }
            Err(_) => http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                INTERNAL_ERROR,
            ),
        },
        Err(relay::RelayError::Unavailable) => http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            SERVICE_UNAVAILABLE,
        ),
    }
}

/// 400 for a client text containing U+0000 (PostgreSQL cannot store it).
fn nul_in_text() -> Response {
    http_error(StatusCode::BAD_REQUEST, ErrorCode::Validation, NUL_IN_TEXT)
}
