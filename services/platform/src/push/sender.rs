//! The sender loop: claims due events, tries each once, records the outcome. Any number
//! of instances may run it against one database: a claim is a row lock taken with
//! `SKIP LOCKED` plus a lease ([`events::LEASE`]), so each due event goes to one sender.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::config::SenderConfig;
use super::events::{self, Claimed};
use super::webhook::{Outcome, Webhook};
use super::{MAX_TRIES, retry_delay};
use crate::metrics_catalog::names;

/// Attempts at recording a 2xx before giving up on recording it (it is then sent again
/// once the lease ends: the duplicate the contract allows, which receivers drop by
/// `event_id`).
const RECORD_SENT_ATTEMPTS: u32 = 3;

/// A push sender, ready to run.
#[derive(Debug)]
pub struct Sender {
    pool: PgPool,
    webhook: Webhook,
    config: SenderConfig,
}

impl Sender {
    /// A sender for `config`, or None when push is off. Fails on a URL without a secret
    /// (see [`SenderConfig::validate`]).
    pub fn new(pool: PgPool, config: &SenderConfig) -> anyhow::Result<Option<Self>> {
        config.validate()?;
        if !config.switch.enabled() {
            return Ok(None);
        }
        let webhook = Webhook::new(&config.switch.webhook_url, config.secret.clone())?;
        Ok(Some(Self {
            pool,
            webhook,
            config: config.clone(),
        }))
    }

    /// Sends until `shutdown`, then lets the tries in flight finish and record.
    pub async fn run(self, shutdown: CancellationToken) {
        let in_flight = self.config.in_flight as usize;
        let permits = Arc::new(Semaphore::new(in_flight));
        let tries = TaskTracker::new();
        let this = Arc::new(self);
        tracing::info!(in_flight, "push sender started");
        loop {
            // Claim only what can start now, so no claimed event waits out its lease here.
            let first = tokio::select! {
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                _ = shutdown.cancelled() => break,
            };
            let free = permits.available_permits() + 1;
            let claimed = match events::claim(&this.pool, free as i64).await {
                Ok(claimed) => claimed,
                Err(err) => {
                    tracing::warn!(error = %err, "push claim failed");
                    Vec::new()
                }
            };
            let full = claimed.len() == free;
            let mut first = Some(first);
            for event in claimed {
                let permit = match first.take() {
                    Some(permit) => permit,
                    // Only this loop takes permits, so the ones counted free are there.
                    None => match permits.clone().acquire_owned().await {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                };
                tries.spawn(this.clone().try_once(event, permit));
            }
            if !full {
                tokio::select! {
                    _ = tokio::time::sleep(this.config.poll()) => {}
                    _ = shutdown.cancelled() => break,
                }
            }
        }
        tries.close();
        tries.wait().await;
        tracing::info!("push sender stopped");
    }

    async fn try_once(self: Arc<Self>, event: Claimed, _permit: OwnedSemaphorePermit) {
        match self.webhook.post(&event.body).await {
            Outcome::Delivered(status) => self.record_sent(&event, status).await,
            Outcome::Failed(reason) => self.record_failure(&event, &reason).await,
        }
    }

    /// The 2xx is recorded before anything else happens to the event.
    async fn record_sent(&self, event: &Claimed, status: u16) {
        let event_id = event.event_id;
        for attempt in 1..=RECORD_SENT_ATTEMPTS {
            match events::record_sent(&self.pool, event_id).await {
                Ok(()) => {
                    metrics::counter!(names::PUSH_SENT_TOTAL).increment(1);
                    tracing::debug!(%event_id, tries = event.tries, status, "push sent");
                    return;
                }
                Err(err) if attempt < RECORD_SENT_ATTEMPTS => {
                    tracing::warn!(%event_id, error = %err, "recording a sent push failed; again");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(err) => {
                    tracing::error!(
                        %event_id, error = %err,
                        "sent push not recorded; it is sent again after its lease"
                    );
                }
            }
        }
    }

    async fn record_failure(&self, event: &Claimed, reason: &str) {
        let event_id = event.event_id;
        let tries = event.tries;
        let retry_in = (tries < MAX_TRIES).then(|| retry_delay(self.config.first_retry, tries));
        match events::record_failure(&self.pool, event, retry_in, reason).await {
            Ok(false) => {
                tracing::debug!(%event_id, tries, reason, "push outcome dropped: claim taken over");
            }
            Ok(true) => match retry_in {
                Some(delay) => {
                    metrics::counter!(names::PUSH_RETRIED_TOTAL).increment(1);
                    tracing::info!(
                        %event_id, tries, reason, retry_in_ms = delay.as_millis() as u64,
                        "push try failed; retrying"
                    );
                }
                None => {
                    metrics::counter!(names::PUSH_GIVEN_UP_TOTAL).increment(1);
                    tracing::warn!(%event_id, tries, reason, "push given up");
                }
            },
            Err(err) => {
                tracing::warn!(
                    %event_id, tries, error = %err,
                    "push failure not recorded; tried again after its lease"
                );
            }
        }
    }
}
