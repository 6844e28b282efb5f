//! HTTP API over NATS: ws-edge authenticates the HTTP request and forwards it to the
//! owning service as an [`ApiRequest`]; the service answers with an [`ApiReply`].
//! Also the typed request bodies, for validation and JSON Schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::errors::{BODY_NOT_OBJECT, WireError, body_invalid};

/// Which HTTP operation a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiOp {
    /// `PUT /api/v1/profile`
    PutProfile,
    /// `GET /api/v1/profile`
    GetProfile,
    /// `PUT /api/v1/provider/status`
    PutProviderStatus,
    /// `GET /api/v1/provider/status`
    GetProviderStatus,
    /// `PUT /api/v1/seeker/search`
    PutSeekerSearch,
    /// `GET /api/v1/seeker/search`
    GetSeekerSearch,
    /// `GET /api/v1/providers/nearby`
    NearbyProviders,
    /// `POST /api/v1/work-orders`
    CreateWorkOrder,
    /// `GET /api/v1/work-orders/{work_id}`
    GetWorkOrder,
    /// `GET /api/v1/sessions/active`
    ActiveSession,
    /// `GET /api/v1/sessions/{session_id}`
    GetSession,
    /// `GET /api/v1/sessions/{session_id}/messages` (chat service)
    SessionMessages,
    /// `POST /api/v1/sessions/{session_id}/rating`
    RateSession,
    /// `GET /api/v1/sessions/{session_id}/timeline`
    SessionTimeline,
}

impl ApiOp {
    /// The snake_case name (metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PutProfile => "put_profile",
            Self::GetProfile => "get_profile",
            Self::PutProviderStatus => "put_provider_status",
            Self::GetProviderStatus => "get_provider_status",
            Self::PutSeekerSearch => "put_seeker_search",
            Self::GetSeekerSearch => "get_seeker_search",
            Self::NearbyProviders => "nearby_providers",
            Self::CreateWorkOrder => "create_work_order",
            Self::GetWorkOrder => "get_work_order",
            Self::ActiveSession => "active_session",
            Self::GetSession => "get_session",
            Self::SessionMessages => "session_messages",
            Self::RateSession => "rate_session",
            Self::SessionTimeline => "session_timeline",
        }
    }

    /// The service that owns the operation.
    pub fn owner(self) -> crate::messages::Owner {
        match self {
            Self::SessionMessages => crate::messages::Owner::Chat,
            _ => crate::messages::Owner::Session,
        }
    }
}

/// An authenticated HTTP request forwarded to a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiRequest {
    /// The operation.
    pub op: ApiOp,
    /// Authenticated user id.
    pub user_id: Uuid,
    /// The token's `name` claim (display-name fallback; creates the user on first contact).
    pub token_name: Option<String>,
    /// The path parameter (`work_id` or `session_id`), unparsed.
    pub path_id: Option<String>,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// Parsed JSON body, when the method has one.
    pub body: Option<Value>,
}

/// A service's answer to an [`ApiRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl ApiReply {
    /// 200 with a serialisable body.
    pub fn ok<T: Serialize>(body: &T) -> Self {
        Self::with_status(200, body)
    }
    /// Any status with a serialisable body.
    pub fn with_status<T: Serialize>(status: u16, body: &T) -> Self {
        match serde_json::to_value(body) {
            Ok(body) => Self { status, body },
            Err(_) => Self::error(&WireError::internal()),
        }
    }
    /// The error body `{error, code}` with the code's status.
    pub fn error(err: &WireError) -> Self {
        Self {
            status: err.code.http_status(),
            body: err.body(),
        }
    }
}

impl From<Result<ApiReply, WireError>> for ApiReply {
    fn from(result: Result<ApiReply, WireError>) -> Self {
        result.unwrap_or_else(|err| Self::error(&err))
    }
}

/// `PUT /api/v1/profile` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PutProfileBody {
    /// 1-100 characters after trimming.
    pub display_name: Option<String>,
    /// Optional `+` and 7-15 digits; null clears it.
    pub mobile: Option<String>,
    /// http(s) URL, at most 2048 characters; null clears it.
    pub profile_pic_url: Option<String>,
}

/// `PUT /api/v1/provider/status` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PutProviderStatusBody {
    /// Whether the provider takes work now.
    pub is_active: Option<bool>,
    /// 1-20 names of 1-64 characters when active.
    pub service_types: Option<Vec<String>>,
    /// Degrees; required when active.
    pub latitude: Option<f64>,
    /// Degrees; required when active.
    pub longitude: Option<f64>,
}

/// `PUT /api/v1/seeker/search` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PutSeekerSearchBody {
    /// Whether the seeker is looking.
    pub is_searching: Option<bool>,
}

/// `POST /api/v1/work-orders` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreateWorkOrderBody {
    /// The provider (UUID).
    pub provider_id: Option<String>,
    /// 1-64 characters.
    pub service_type: Option<String>,
    /// The seeker's note, at most 1000 characters (may be empty).
    pub message: Option<String>,
    /// Where the work is, degrees.
    pub latitude: Option<f64>,
    /// Where the work is, degrees.
    pub longitude: Option<f64>,
}

/// `POST /api/v1/sessions/{id}/rating` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RatingBody {
    /// Integer 1-5.
    #[schemars(with = "i64")]
    pub rating_stars: Option<Value>,
    /// At most 1000 characters.
    #[schemars(with = "Option<String>")]
    pub rating_description: Option<Value>,
}

/// Parses a JSON body into a typed body; wrong field types give a `validation` error.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: Option<&Value>) -> Result<T, WireError> {
    let body = body
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if !body.is_object() {
        return Err(WireError::validation(BODY_NOT_OBJECT));
    }
    serde_json::from_value(body).map_err(|err| WireError::validation(body_invalid(err)))
}
