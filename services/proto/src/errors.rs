//! Error codes and the exact texts clients match on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `"session_id is required"`: a command that needs a session came without one.
pub const SESSION_ID_REQUIRED: &str = "session_id is required";
/// The medium validation text kept from the seed.
pub const INVALID_MEDIUMS: &str = "Invalid mediums. Select 0-3 from: telegram, whatsapp, call";
/// Accepting a work order could not create its session.
pub const FAILED_TO_CREATE_SESSION: &str = "Failed to create work session";
/// A session id that is malformed, unknown, or not the caller's (never tell which).
pub const SESSION_NOT_FOUND: &str = "Session not found";
/// A work order that is unknown or not the caller's.
pub const WORK_ORDER_NOT_FOUND: &str = "Work order not found";
/// A chat message that is unknown or not addressed to the caller.
pub const MESSAGE_NOT_FOUND: &str = "Message not found";
/// The session has ended or is otherwise in the wrong state.
pub const SESSION_NOT_OPEN: &str = "Session is not waiting or active";
/// `conflict` for a `chat_message` in a session that holds `TETHER_CHAT_MAX_MESSAGES_PER_SESSION`.
pub const SESSION_MESSAGE_LIMIT: &str = "This session has reached its message limit";
/// The owning service did not answer in time or is not running.
pub const SERVICE_UNAVAILABLE: &str = "Service unavailable, please retry";
/// Sent with `rate_limited`.
pub const RATE_LIMITED: &str = "Too many messages, slow down";
/// A WebSocket upgrade (429) or socket (closed 1008) over `TETHER_WS_MAX_SOCKETS_PER_USER`.
pub const TOO_MANY_SOCKETS: &str = "Too many open connections for this user";

/// A provider already has a waiting or active session.
pub const PROVIDER_BUSY: &str = "Provider already has a waiting or active session";
/// A seeker already has a waiting or active session.
pub const SEEKER_BUSY: &str = "Seeker already has a waiting or active session";
/// 409 when the seeker already has `TETHER_MAX_PENDING_PER_SEEKER` pending orders.
pub const SEEKER_TOO_MANY_PENDING: &str = "You have too many pending work orders";
/// 409 when the provider already has `TETHER_MAX_PENDING_PER_PROVIDER` pending orders.
pub const PROVIDER_TOO_MANY_PENDING: &str = "Provider has too many pending work orders";
/// Ordering work from oneself.
pub const SELF_ORDER: &str = "Seeker and provider must be different users";

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
        Self::new(ErrorCode::Internal, "Internal error")
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
