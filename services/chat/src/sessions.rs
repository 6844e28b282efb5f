//! An in-memory view of sessions' parties and whether they are open, for commands that
//! must not cost a PostgreSQL round trip (typing indicators: latest-wins, connected
//! sockets only, nothing stored).
//!
//! Kept current by the session lifecycle events, which every chat instance receives
//! (a fan-out subscription, not the queue group); a session this instance has not seen is
//! read from PostgreSQL once. An end marks the session closed even when it was never
//! cached, so a read that raced the end can never re-open it. If an end event is missed
//! (this instance was cut off from NATS at that moment), typing may be forwarded for an
//! ended session until the entry is evicted; both parties' sockets were closed by the end,
//! so nobody sees it.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgPool;
use tether_proto::ConnectionState;
use tether_proto::Role;
use tether_proto::events::{SessionEvent, SessionEventKind};
use tether_proto::model::Parties;
use uuid::Uuid;

use tether_platform::HandlerError;

/// Entries kept at most; past it the cache starts over (sessions are re-read on demand).
const MAX_ENTRIES: usize = 200_000;

/// What the cache knows of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionView {
    /// Its parties.
    pub parties: Parties,
    /// Waiting or active.
    pub open: bool,
}

impl SessionView {
    /// Whether `user_id` is this session's party in `role`.
    pub fn is_party(&self, role: Role, user_id: Uuid) -> bool {
        self.parties.user(role) == user_id
    }
}

/// The cache of one chat instance.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<Uuid, SessionView>>,
}

/// Session $1's parties and state (a cache miss).
pub const READ_SESSION: &str =
    "SELECT seeker_id, provider_id, connection_state FROM work_sessions WHERE id = $1";

impl SessionCache {
    /// The session, from memory or else from PostgreSQL; `None` when it does not exist.
    pub async fn get(
        &self,
        pool: &PgPool,
        session_id: Uuid,
    ) -> Result<Option<SessionView>, HandlerError> {
        if let Some(view) = self.lock().get(&session_id) {
            return Ok(Some(*view));
        }
        let row: Option<(Uuid, Uuid, ConnectionState)> = sqlx::query_as(READ_SESSION)
            .bind(session_id)
            .fetch_optional(pool)
            .await?;
        let Some((seeker_id, provider_id, state)) = row else {
            return Ok(None);
        };
        let view = SessionView {
            parties: Parties {
                seeker_id,
                provider_id,
            },
            open: state.is_open(),
        };
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        // An end that arrived while we read wins over what we read.
        Ok(Some(*entries.entry(session_id).or_insert(view)))
    }

    /// Applies a lifecycle event.
    pub fn apply(&self, event: &SessionEvent) {
        let open = match event.kind {
            SessionEventKind::Accepted | SessionEventKind::Activated => true,
            SessionEventKind::Cancelled | SessionEventKind::Completed => false,
        };
        let view = SessionView {
            parties: Parties {
                seeker_id: event.seeker_id,
                provider_id: event.provider_id,
            },
            open,
        };
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let entry = entries.entry(event.session_id).or_insert(view);
        // A session never re-opens: a late `activated` must not undo an end.
        entry.open &= open;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, SessionView>> {
        // Every mutation is a single insert/clear: a poisoned lock is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
