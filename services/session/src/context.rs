//! What every handler needs: the pool, NATS, the outbox and the settings.

use async_nats::Client;
use sqlx::PgPool;
use tether_platform::Outbox;
use tether_proto::subjects::Subjects;

/// The settings handlers use, in the units SQL wants.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// A pending order older than this (seconds) can no longer be accepted or rejected.
    pub work_order_ttl_s: i64,
    /// Chat messages expire this many hours after their session ends.
    pub chat_ttl_h: i32,
    /// Pending orders one seeker may have at once.
    pub max_pending_per_seeker: i64,
    /// Pending orders one provider may have at once (and re-sent on connect at most).
    pub max_pending_per_provider: i64,
    /// Enqueue push events for new orders whose provider is offline.
    pub push: bool,
}

impl Settings {
    /// The order TTL as the `double precision` seconds `make_interval(secs => ..)` takes.
    pub fn order_ttl_secs(&self) -> f64 {
        self.work_order_ttl_s as f64
    }
}

/// Shared handles of one service instance.
#[derive(Debug)]
pub struct Ctx {
    /// PostgreSQL (migrated).
    pub pool: PgPool,
    /// NATS, for lifecycle events.
    pub client: Client,
    /// Subject names.
    pub subjects: Subjects,
    /// Publisher to users' sockets.
    pub outbox: Outbox,
    /// Settings.
    pub settings: Settings,
    /// Users known to exist (skips the per-request upsert).
    pub known_users: crate::users::KnownUsers,
}
