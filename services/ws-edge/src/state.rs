//! What every request handler of the edge shares.

use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tether_proto::subjects::Subjects;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::auth::Authenticator;
use crate::config::Config;
use crate::hub::Hub;

/// Shared edge state.
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
    /// Cancelled on shutdown: sockets close with 1001.
    pub shutdown: CancellationToken,
    /// Open socket tasks, awaited on shutdown.
    pub sockets: TaskTracker,
}

impl EdgeState {
    /// Builds the state.
    pub fn new(config: Config, client: Client, shutdown: CancellationToken) -> Arc<Self> {
        let subjects = Subjects::new(config.common.subject_prefix.clone());
        let auth = Authenticator::new(
            &config.jwt_secret,
            config.jwt_audience.as_deref(),
            config.jwt_issuer.as_deref(),
        );
        let hub = Hub::new(client.clone(), subjects.clone());
        let rate =
            std::num::NonZeroU32::new(config.http_rate.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        let http_limiter = RateLimiter::keyed(Quota::per_second(rate).allow_burst(
            rate.saturating_mul(std::num::NonZeroU32::new(2).unwrap_or(std::num::NonZeroU32::MIN)),
        ));
        Arc::new(Self {
            config,
            client,
            subjects,
            auth,
            hub,
            http_limiter,
            shutdown,
            sockets: TaskTracker::new(),
        })
    }

    /// How long to wait for a service's answer.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.config.request_timeout_ms)
    }
}
