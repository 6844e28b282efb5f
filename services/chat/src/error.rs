//! The one place where a handler's failure becomes what the client sees.

use tether_proto::WireError;

/// Why a chat handler failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The client gets exactly this (validation, not_found, conflict).
    #[error("{0}")]
    Client(#[from] WireError),
    /// PostgreSQL failed; the client gets `internal`.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A row broke an invariant the schema should guarantee; the client gets `internal`.
    #[error("unexpected row: {0}")]
    Invariant(&'static str),
}

impl ChatError {
    /// The wire error for the client. Server-side failures are logged here, with the
    /// operation's label only (never chat text or user data).
    pub fn into_wire(self, kind: &'static str) -> WireError {
        match self {
            Self::Client(err) => err,
            Self::Database(err) => {
                tracing::error!(kind, error = %err, "chat database error");
                WireError::internal()
            }
            Self::Invariant(what) => {
                tracing::error!(kind, what, "chat invariant broken");
                WireError::internal()
            }
        }
    }
}
