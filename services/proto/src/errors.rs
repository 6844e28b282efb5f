//! Error codes and the exact texts clients match on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::limits::{
    CHAT_MESSAGE_MAX_CHARS, CHAT_MESSAGE_MIN_CHARS, DISPLAY_NAME_MAX_CHARS,
    MAX_CLIENT_MESSAGE_ID_CHARS, MAX_REQUEST_ID_CHARS, NEARBY_MAX_RADIUS_M,
    PROFILE_PIC_URL_MAX_CHARS, RATING_DESCRIPTION_MAX_CHARS, RATING_MAX_STARS, RATING_MIN_STARS,
    RATING_WINDOW_HOURS, SERVICE_TYPE_MAX_CHARS, SERVICE_TYPES_MAX, WORK_ORDER_MESSAGE_MAX_CHARS,
};

// Every text a client can get as the `error` of an error frame or an HTTP error body,
// grouped by topic. Clients (and an independent test suite) match them byte for byte, so
// each is written once, here; a text with a value in it is a function.

// Frames, requests and the edge.

/// A WebSocket frame, or a command's bytes at its service, that does not parse as JSON.
pub const MESSAGE_NOT_JSON: &str = "Message is not valid JSON";
/// A WebSocket frame that is JSON but not an object.
pub const MESSAGE_NOT_OBJECT: &str = "Message must be a JSON object";
/// A binary WebSocket frame.
pub const BINARY_FRAME: &str = "Binary frames are not supported; send JSON text frames";
/// A WebSocket frame without a string `type`.
pub const MESSAGE_TYPE_REQUIRED: &str = "Message type is required";
/// A WebSocket frame whose `type` is unknown or not for this endpoint (`shown`: the type,
/// cut to 64 characters).
pub fn unknown_type_for_endpoint(endpoint: &str, shown: &str) -> String {
    format!("Unknown message type for the {endpoint} endpoint: {shown}")
}
/// A command that reached a service that does not handle its type (a routing bug).
pub fn unknown_type(type_name: &str) -> String {
    format!("Unknown message type: {type_name}")
}
/// A command whose fields do not fit its type (`detail`: serde's words).
pub fn invalid_command(type_name: &str, detail: impl std::fmt::Display) -> String {
    format!("Invalid {type_name}: {detail}")
}
/// A `request_id` that is not a short enough string.
pub fn request_id_invalid() -> String {
    format!("request_id must be a string of at most {MAX_REQUEST_ID_CHARS} characters")
}
/// A client text (frame or HTTP body or query) containing U+0000.
pub const NUL_IN_TEXT: &str = "Text must not contain the NUL character (U+0000)";
/// Sent with `rate_limited`.
pub const RATE_LIMITED: &str = "Too many messages, slow down";
/// A WebSocket upgrade (429) or socket (closed 1008) over `TETHER_WS_MAX_SOCKETS_PER_USER`.
pub const TOO_MANY_SOCKETS: &str = "Too many open connections for this user";
/// The owning service did not answer in time or is not running.
pub const SERVICE_UNAVAILABLE: &str = "Service unavailable, please retry";
/// `internal`: something failed on our side (the text reveals nothing).
pub const INTERNAL_ERROR: &str = "Internal error";

// HTTP and WebSocket upgrades.

/// 401: no token, or one that does not verify.
pub const INVALID_TOKEN: &str = "Missing or invalid token";
/// 403: a WebSocket upgrade from a browser origin not in `TETHER_ALLOWED_ORIGINS`.
pub const ORIGIN_NOT_ALLOWED: &str = "Origin not allowed";
/// 400: a plain HTTP request to a WebSocket endpoint.
pub const NOT_A_WEBSOCKET_UPGRADE: &str = "Expected a WebSocket upgrade request";
/// 503: a WebSocket upgrade while the edge stops.
pub const SHUTTING_DOWN: &str = "Server is shutting down";
/// 429: over `TETHER_HTTP_RATE`.
pub const HTTP_RATE_LIMITED: &str = "Too many requests, slow down";
/// 413: a request body over 64 KiB.
pub const BODY_TOO_LARGE: &str = "Request body too large (max 64 KiB)";
/// 400: a request body that could not be read.
pub const BODY_UNREADABLE: &str = "Could not read the request body";
/// 400: a request body that is not JSON.
pub const BODY_NOT_JSON: &str = "Request body is not valid JSON";
/// 400: a request body that is JSON but not an object.
pub const BODY_NOT_OBJECT: &str = "Request body must be a JSON object";
/// 400: a request body whose fields do not fit (`detail`: serde's words).
pub fn body_invalid(detail: impl std::fmt::Display) -> String {
    format!("Invalid request body: {detail}")
}
/// 408: a request body that did not arrive within `TETHER_HTTP_BODY_TIMEOUT_S`.
pub const BODY_TIMEOUT: &str = "Request body not received in time";
/// 404: an unknown path, or an operation the receiving service does not serve.
pub const NOT_FOUND: &str = "Not found";
/// `limit` of a page out of range (`max`: the endpoint's largest page).
pub fn limit_invalid(max: i64) -> String {
    format!("limit must be an integer from 1 to {max}")
}

// Positions.

/// A position without `latitude`.
pub const LATITUDE_REQUIRED: &str = "latitude is required";
/// A position without `longitude`.
pub const LONGITUDE_REQUIRED: &str = "longitude is required";
/// A `latitude` out of range.
pub const LATITUDE_INVALID: &str = "latitude must be a number between -90 and 90";
/// A `longitude` out of range.
pub const LONGITUDE_INVALID: &str = "longitude must be a number between -180 and 180";
/// v1.1: an `accuracy_m` that is not a number of at least 0.
pub const ACCURACY_INVALID: &str = "accuracy_m must be a number of at least 0";

// Sessions.

/// A command that needs a session came without `session_id`.
pub const SESSION_ID_REQUIRED: &str = "session_id is required";
/// A session id that is malformed, unknown, or not the caller's (never tell which).
pub const SESSION_NOT_FOUND: &str = "Session not found";
/// The session has ended or is otherwise in the wrong state.
pub const SESSION_NOT_OPEN: &str = "Session is not waiting or active";
/// `GET /sessions/active` without `role`.
pub const ROLE_REQUIRED: &str = "role is required (seeker or provider)";
/// `GET /sessions/active` with a `role` that is neither.
pub const ROLE_INVALID: &str = "role must be seeker or provider";
/// `GET /sessions/active` when the caller has no waiting or active session in that role.
pub const NO_OPEN_SESSION: &str = "No waiting or active session";
/// A provider already has a waiting or active session.
pub const PROVIDER_BUSY: &str = "Provider already has a waiting or active session";
/// A seeker already has a waiting or active session.
pub const SEEKER_BUSY: &str = "Seeker already has a waiting or active session";
/// Accepting a work order could not create its session.
pub const FAILED_TO_CREATE_SESSION: &str = "Failed to create work session";
/// The medium validation text kept from the seed.
pub const INVALID_MEDIUMS: &str = "Invalid mediums. Select 0-3 from: telegram, whatsapp, call";
/// A medium whose phone number is not one (`medium`: its key).
pub fn medium_number_invalid(medium: &str) -> String {
    format!("Invalid phone number for {medium}: expected optional + and 7 to 15 digits")
}

// Work orders.

/// `POST /work-orders` without `provider_id`.
pub const PROVIDER_ID_REQUIRED: &str = "provider_id is required";
/// `POST /work-orders` with a `provider_id` that is not a UUID.
pub const PROVIDER_ID_INVALID: &str = "provider_id must be a UUID";
/// `POST /work-orders` without `service_type`.
pub const SERVICE_TYPE_REQUIRED: &str = "service_type is required";
/// `POST /work-orders` with a `service_type` too short or too long.
pub fn service_type_invalid() -> String {
    format!("service_type must be 1 to {SERVICE_TYPE_MAX_CHARS} characters")
}
/// `POST /work-orders` with a `message` too long.
pub fn work_order_message_too_long() -> String {
    format!("message must be at most {WORK_ORDER_MESSAGE_MAX_CHARS} characters")
}
/// An order for a provider who does not exist.
pub const PROVIDER_NOT_FOUND: &str = "Provider not found";
/// An order for a provider who is not on duty.
pub const PROVIDER_NOT_ACTIVE: &str = "Provider is not active";
/// Ordering work from oneself.
pub const SELF_ORDER: &str = "Seeker and provider must be different users";
/// 409 when the seeker already has `TETHER_MAX_PENDING_PER_SEEKER` pending orders.
pub const SEEKER_TOO_MANY_PENDING: &str = "You have too many pending work orders";
/// 409 when the provider already has `TETHER_MAX_PENDING_PER_PROVIDER` pending orders.
pub const PROVIDER_TOO_MANY_PENDING: &str = "Provider has too many pending work orders";
/// A work order that is unknown or not the caller's.
pub const WORK_ORDER_NOT_FOUND: &str = "Work order not found";
/// `work_response` without `work_id`.
pub const WORK_ID_REQUIRED: &str = "work_id is required";
/// `work_response` without `accepted`.
pub const ACCEPTED_REQUIRED: &str = "accepted is required";
/// `work_response` to an order already answered, cancelled or expired (`status`: its status).
pub fn work_order_not_pending(status: &str) -> String {
    format!("Work order is no longer pending (status: {status})")
}
/// An accept that lost the race for the order to another answer.
pub const WORK_ORDER_NO_LONGER_PENDING: &str = "Work order is no longer pending";
/// `work_response` to a pending order older than `TETHER_WORK_ORDER_TTL_S`.
pub const WORK_ORDER_EXPIRED: &str = "Work order has expired";
/// A rejection whose order changed between the check and the write.
pub const WORK_ORDER_CHANGED: &str = "Work order changed, retry";

// Ratings.

/// A rating by the provider (`forbidden` on the endpoint, `validation` in `finish_service`).
pub const ONLY_SEEKER_RATES: &str = "Only the seeker can rate a session";
/// `POST /sessions/{id}/rating` without `rating_stars`.
pub const RATING_STARS_REQUIRED: &str = "rating_stars is required";
/// A `rating_description` without `rating_stars`.
pub const RATING_STARS_REQUIRED_WITH_DESCRIPTION: &str =
    "rating_stars is required with rating_description";
/// `rating_stars` that is not an integer in range.
pub fn rating_stars_invalid() -> String {
    format!("rating_stars must be an integer from {RATING_MIN_STARS} to {RATING_MAX_STARS}")
}
/// A `rating_description` that is not a short enough string.
pub fn rating_description_invalid() -> String {
    format!(
        "rating_description must be a string of at most {RATING_DESCRIPTION_MAX_CHARS} characters"
    )
}
/// Rating a session that is not completed.
pub const RATING_NOT_COMPLETED: &str = "Only a completed session can be rated";
/// Rating a session a second time.
pub const ALREADY_RATED: &str = "Session has already been rated";
/// Rating a session longer than `RATING_WINDOW_HOURS` after its completion.
pub fn rating_window_closed() -> String {
    format!("Ratings are accepted only within {RATING_WINDOW_HOURS} h of completion")
}

// Profiles, provider status and search.

/// `PUT /profile` without `display_name`.
pub const DISPLAY_NAME_REQUIRED: &str = "display_name is required";
/// `PUT /profile` with a `display_name` too short or too long.
pub fn display_name_invalid() -> String {
    format!("display_name must be 1 to {DISPLAY_NAME_MAX_CHARS} characters")
}
/// `PUT /profile` with a `mobile` that is not a phone number.
pub const MOBILE_INVALID: &str = "mobile must be an optional + followed by 7 to 15 digits";
/// `PUT /profile` with a `profile_pic_url` that is not a short enough http(s) URL.
pub fn profile_pic_url_invalid() -> String {
    format!(
        "profile_pic_url must be an http(s) URL of at most {PROFILE_PIC_URL_MAX_CHARS} characters"
    )
}
/// `PUT /provider/status` without `is_active`.
pub const IS_ACTIVE_REQUIRED: &str = "is_active is required";
/// `PUT /provider/status` going on duty without `service_types`.
pub const SERVICE_TYPES_REQUIRED_WHEN_ACTIVE: &str =
    "service_types is required when is_active is true";
/// `PUT /provider/status` going on duty with an empty `service_types`.
pub fn service_types_empty_when_active() -> String {
    format!("service_types must list 1 to {SERVICE_TYPES_MAX} service types when is_active is true")
}
/// `PUT /provider/status` with too many `service_types`, or one too short or too long.
pub fn service_types_invalid() -> String {
    format!(
        "service_types must list at most {SERVICE_TYPES_MAX} names of 1 to {SERVICE_TYPE_MAX_CHARS} characters"
    )
}
/// `PUT /provider/status` going on duty without a position.
pub const LOCATION_REQUIRED_WHEN_ACTIVE: &str = "latitude is required when is_active is true";
/// `PUT /seeker/search` without `is_searching`.
pub const IS_SEARCHING_REQUIRED: &str = "is_searching is required";
/// `GET /providers/nearby` with a `radius_m` out of range.
pub fn radius_invalid() -> String {
    format!("radius_m must be a number greater than 0 and at most {NEARBY_MAX_RADIUS_M}")
}

// Chat.

/// `chat_message` without `message`.
pub const MESSAGE_REQUIRED: &str = "message is required";
/// `chat_message` whose text (trimmed) is too short or too long.
pub fn chat_message_length_invalid() -> String {
    format!("message must be {CHAT_MESSAGE_MIN_CHARS} to {CHAT_MESSAGE_MAX_CHARS} characters")
}
/// `chat_message` with a `client_message_id` too short or too long.
pub fn client_message_id_invalid() -> String {
    format!("client_message_id must be 1 to {MAX_CLIENT_MESSAGE_ID_CHARS} characters")
}
/// `conflict` for a `chat_message` in a session that holds `TETHER_CHAT_MAX_MESSAGES_PER_SESSION`.
pub const SESSION_MESSAGE_LIMIT: &str = "This session has reached its message limit";
/// A receipt without `message_id`.
pub const MESSAGE_ID_REQUIRED: &str = "message_id is required";
/// A chat message that is unknown or not addressed to the caller.
pub const MESSAGE_NOT_FOUND: &str = "Message not found";
/// `typing_indicator` without `is_typing`.
pub const IS_TYPING_REQUIRED: &str = "is_typing is required";
/// A history page whose `before` is not a message id.
pub const BEFORE_INVALID: &str = "before must be a message_id";

// Operator requests.

/// A cleanup trigger for a job that does not exist.
pub const UNKNOWN_CLEANUP_JOB: &str = "Unknown cleanup job";

/// Machine-readable error code, shared by the WebSocket `error` message and HTTP bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a JSON object.
    InvalidJson,
    /// Missing `type`, an unknown type, or one this endpoint does not accept.
    UnknownType,
    /// A field is missing or out of range.
    Validation,
    /// Unknown, or not the caller's (indistinguishable on purpose).
    NotFound,
    /// Known and visible, but the caller may not do this.
    Forbidden,
    /// The current state does not allow the action.
    Conflict,
    /// Too many messages or requests.
    RateLimited,
    /// The owning service is not reachable; retry.
    Unavailable,
    /// Missing or bad credentials (HTTP only).
    Unauthorized,
    /// HTTP body larger than the limit.
    PayloadTooLarge,
    /// Something failed on our side.
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidJson | Self::UnknownType | Self::Validation => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::RateLimited => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// The snake_case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::UnknownType => "unknown_type",
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Unauthorized => "unauthorized",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Internal => "internal",
        }
    }
}

/// A typed error on its way to a client: code plus human text. Services return this from
/// handlers; the edge or the HTTP layer turns it into the wire shape in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WireError {
    /// Human-readable message.
    pub error: String,
    /// Machine-readable code.
    pub code: ErrorCode,
    /// On `unavailable` and `rate_limited`: wait at least this long before sending the
    /// command again (HTTP answers carry it as `Retry-After` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl WireError {
    /// An error with this code and text.
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code,
            retry_after_ms: None,
        }
    }
    /// The same error with a retry hint.
    pub fn retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after_ms = Some(u64::try_from(after.as_millis()).unwrap_or(u64::MAX));
        self
    }
    /// `validation`.
    pub fn validation(error: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, error)
    }
    /// `not_found`.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, error)
    }
    /// `conflict`.
    pub fn conflict(error: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, error)
    }
    /// `forbidden`.
    pub fn forbidden(error: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, error)
    }
    /// `internal`, with a text that reveals nothing.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, INTERNAL_ERROR)
    }
    /// `unavailable`.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::Unavailable, SERVICE_UNAVAILABLE)
    }
    /// The JSON body of every error answer outside a WebSocket frame (HTTP, operator
    /// requests): `{"error": text, "code": code}`.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({"error": self.error, "code": self.code});
        if let Some(after) = self.retry_after_ms {
            body["retry_after_ms"] = after.into();
        }
        body
    }
    /// `not_found` for sessions, with the one text that never reveals existence.
    pub fn session_not_found() -> Self {
        Self::not_found(SESSION_NOT_FOUND)
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.error)
    }
}

impl std::error::Error for WireError {}
