//! What every handler needs: the pool, the outbox and the chat retention.

use sqlx::PgPool;
use tether_platform::Outbox;

/// Shared handles of one chat instance.
#[derive(Debug, Clone)]
pub struct Chat {
    /// PostgreSQL (migrations applied).
    pub pool: PgPool,
    /// Publisher to users' sockets.
    pub outbox: Outbox,
    /// How long messages are kept after their session ends.
    pub ttl: chrono::TimeDelta,
}

impl Chat {
    /// Handles for one instance; `ttl_hours` is `TETHER_CHAT_TTL_H`.
    pub fn new(pool: PgPool, outbox: Outbox, ttl_hours: u32) -> Self {
        Self {
            pool,
            outbox,
            ttl: chrono::TimeDelta::hours(i64::from(ttl_hours)),
        }
    }
}
