//! What every handler needs: the pools, the group-commit writers, the session view, the
//! outbox and the chat retention.

use std::sync::Arc;

use sqlx::PgPool;
use tether_platform::Outbox;

use crate::commands::chat_message::{MessageStore, message_store};
use crate::commands::receipts::{ReceiptStore, receipt_store};
use crate::sessions::SessionCache;

/// Shared handles of one chat instance.
#[derive(Debug, Clone)]
pub struct Chat {
    /// PostgreSQL (migrations applied), synchronous commits.
    pub pool: PgPool,
    /// Publisher to users' sockets.
    pub outbox: Outbox,
    /// Group commit of new messages (on `pool`).
    pub messages: MessageStore,
    /// Group commit of receipts (on an asynchronous-commit pool).
    pub receipts: ReceiptStore,
    /// Parties and open state of sessions, for typing indicators.
    pub sessions: Arc<SessionCache>,
    /// Unacknowledged messages re-sent to a new socket at most.
    pub resend_limit: u32,
    /// Test-only crash points.
    #[cfg(feature = "failpoints")]
    pub failpoints: crate::failpoints::Failpoints,
}

impl Chat {
    /// Handles for one instance; `receipts_pool`
    /// commits asynchronously; `push`: enqueue push events for offline recipients. Starts
    /// the writers, so call it inside the runtime.
    pub fn new(
        pool: PgPool,
        receipts_pool: PgPool,
        outbox: Outbox,
        resend_limit: u32,
        max_messages_per_session: u32,
        push: bool,
    ) -> Self {
        Self {
            messages: message_store(pool.clone(), max_messages_per_session, push),
            receipts: receipt_store(receipts_pool),
            pool,
            outbox,
            sessions: Arc::new(SessionCache::default()),
            resend_limit,
            #[cfg(feature = "failpoints")]
            failpoints: crate::failpoints::Failpoints::default(),
        }
    }
}
