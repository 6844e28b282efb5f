//! Handler errors, and the one place database errors become client errors.

use tether_proto::WireError;

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

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Expected outcome (bad input, not found, wrong state): goes to the client as is.
    #[error("{0}")]
    Client(#[from] WireError),
    /// Something broke on our side (database, serialisation): logged, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for HandlerError {
    fn from(err: sqlx::Error) -> Self {
        match client_error_for(&err) {
            Some(wire) => Self::Client(wire),
            None => Self::Unexpected(err.into()),
        }
    }
}

impl HandlerError {
    /// The client's view: client errors as they are; anything unexpected is logged (ids
    /// and codes only: sqlx shows the server message, never the failing row) and becomes
    /// `fallback`.
    pub fn into_wire_or(self, handler: &'static str, fallback: WireError) -> WireError {
        match self {
            Self::Client(err) => err,
            Self::Unexpected(err) => {
                tracing::error!(handler, error = %err, "handler failed");
                fallback
            }
        }
    }

    /// Logs an error nobody waits for (event handlers): ids and codes only.
    pub fn log(&self, handler: &'static str) {
        match self {
            Self::Client(err) => {
                tracing::warn!(handler, code = err.code.as_str(), "handler refused")
            }
            Self::Unexpected(err) => tracing::error!(handler, error = %err, "handler failed"),
        }
    }

    /// [`HandlerError::into_wire_or`] with `internal` as the fallback.
    pub fn into_wire(self, handler: &'static str) -> WireError {
        self.into_wire_or(handler, WireError::internal())
    }
}

/// Maps a constraint violation to the client error it means. Racing writers that pass
/// every check and then meet a unique index land here, so the loser gets the same answer
/// as if it had come second.
pub fn client_error_for(err: &sqlx::Error) -> Option<WireError> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    let error = match db.constraint()? {
        "work_sessions_one_open_per_provider" => WireError::conflict(PROVIDER_BUSY),
        "work_sessions_one_open_per_seeker" => WireError::conflict(SEEKER_BUSY),
        "work_sessions_work_id_key" => WireError::conflict("Work order is no longer pending"),
        "work_orders_not_self" | "work_sessions_not_self" => WireError::conflict(SELF_ORDER),
        "work_orders_provider_id_fkey" => WireError::not_found("Provider not found"),
        _ => return None,
    };
    Some(error)
}
