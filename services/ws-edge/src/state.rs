//! What every request handler of the edge shares.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tether_platform::tasks::Tasks;
use tether_proto::Role;
use tether_proto::subjects::Subjects;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::hub::Hub;

/// Shared edge state. `Debug` shows no secret: [`Config`]'s redacts it and the
/// [`Authenticator`] shows no key.
#[derive(Debug)]
pub struct EdgeState {
    /// Settings.
    pub config: Config,
    /// NATS.
    pub client: Client,
    /// Subject names.
    pub subjects: Subjects,
    /// Token verification.
    pub auth: Authenticator,
    /// Per-user socket routing.
    pub hub: Arc<Hub>,
    /// HTTP API rate limit, per user.
    pub http_limiter: DefaultKeyedRateLimiter<Uuid>,
    /// WebSocket message rate limit, per user and role across their sockets.
    pub ws_user_limiter: DefaultKeyedRateLimiter<(Role, Uuid)>,
    /// Cancelled on shutdown: sockets close with 1001.
    pub shutdown: CancellationToken,
    /// Open socket tasks, awaited on shutdown.
    pub sockets: TaskTracker,
    /// The edge's background tasks (the hub's subscription, presence, limiter pruning),
    /// stopped on shutdown once the sockets have closed.
    pub tasks: Tasks,
}

impl EdgeState {
    /// Builds the state.
    pub fn new(
        config: Config,
        client: Client,
        nats_gaps: watch::Receiver<u64>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let subjects = Subjects::new(config.common.subject_prefix.clone());
        let auth = Authenticator::new(
            &config.jwt_secret,
            config.jwt_audience.as_deref(),
            config.jwt_issuer.as_deref(),
        );
        let tasks = Tasks::new();
        let hub = Hub::new(client.clone(), subjects.clone(), nats_gaps, &tasks);
        let http_limiter = keyed_limiter(config.http_rate);
        let ws_user_limiter = keyed_limiter(config.ws_user_rate);
        Arc::new(Self {
            config,
            client,
            subjects,
            auth,
            hub,
            http_limiter,
            ws_user_limiter,
            shutdown,
            sockets: TaskTracker::new(),
            tasks,
        })
    }

    /// How long to wait for a service's answer.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.config.request_timeout_ms)
    }

    /// Forgets the users whose HTTP rate-limit bucket is full again (not seen for a
    /// couple of seconds): they are indistinguishable from new ones. Run on a timer.
    pub fn prune_limiters(&self) {
        prune(&self.http_limiter);
        prune(&self.ws_user_limiter);
    }
}

/// `rate` per second per key, bursts of twice that.
fn keyed_limiter<K: std::hash::Hash + Eq + Clone>(rate: NonZeroU32) -> DefaultKeyedRateLimiter<K> {
    RateLimiter::keyed(Quota::per_second(rate).allow_burst(rate.saturating_add(rate.get())))
}

fn prune<K: std::hash::Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>) {
    limiter.retain_recent();
    limiter.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_forgets_users_not_seen_lately() {
        // 50/s with bursts of 100: a bucket that was emptied is full again 2 s later.
        let limiter = keyed_limiter::<Uuid>(NonZeroU32::new(50).expect("not zero"));
        for _ in 0..500 {
            assert!(limiter.check_key(&Uuid::new_v4()).is_ok());
        }
        assert_eq!(limiter.len(), 500);
        std::thread::sleep(Duration::from_millis(100));
        let active = Uuid::new_v4();
        while limiter.check_key(&active).is_ok() {}
        prune(&limiter);
        assert_eq!(limiter.len(), 1, "only the user seen lately is left");
    }
}
