//! The one handler error of every service, and the one place where a failure becomes
//! what the client sees: a client error goes out as it is; anything unexpected is logged
//! (labels, ids and codes only: sqlx shows the server's message, never the failing row)
//! and the client gets `internal`.

use tether_proto::WireError;
use tether_proto::errors::{
    PROVIDER_BUSY, PROVIDER_NOT_FOUND, SEEKER_BUSY, SELF_ORDER, WORK_ORDER_NO_LONGER_PENDING,
};

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Expected outcome (bad input, not found, wrong state): goes to the client as is.
    #[error("{0}")]
    Client(#[from] WireError),
    /// Something broke on our side (database, serialisation, a broken invariant): logged,
    /// never shown.
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
    /// A row broke an invariant the schema should guarantee (`what` names it).
    pub fn invariant(what: &'static str) -> Self {
        Self::Unexpected(anyhow::anyhow!("unexpected row: {what}"))
    }

    /// The client's view: client errors as they are; anything unexpected is logged and
    /// becomes `fallback`.
    pub fn into_wire_or(self, handler: &'static str, fallback: WireError) -> WireError {
        match self {
            Self::Client(err) => err,
            Self::Unexpected(err) => {
                tracing::error!(handler, error = %err, "handler failed");
                fallback
            }
        }
    }

    /// [`HandlerError::into_wire_or`] with `internal` as the fallback.
    pub fn into_wire(self, handler: &'static str) -> WireError {
        self.into_wire_or(handler, WireError::internal())
    }

    /// Logs an error nobody waits for (event handlers).
    pub fn log(&self, handler: &'static str) {
        match self {
            Self::Client(err) => {
                tracing::warn!(handler, code = err.code.as_str(), "handler refused")
            }
            Self::Unexpected(err) => tracing::error!(handler, error = %err, "handler failed"),
        }
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
        "work_sessions_work_id_key" => WireError::conflict(WORK_ORDER_NO_LONGER_PENDING),
        "work_orders_not_self" | "work_sessions_not_self" => WireError::conflict(SELF_ORDER),
        "work_orders_provider_id_fkey" => WireError::not_found(PROVIDER_NOT_FOUND),
        _ => return None,
    };
    Some(error)
}
