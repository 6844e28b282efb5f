//! Running a built service: its serve loops, its own background loops and the admin
//! listener, started together and stopped together. Every service's `run` is a list of
//! [`Loops::serve`] and [`Loops::spawn`] calls ending in [`Loops::join`].

use std::future::Future;
use std::sync::Arc;

use async_nats::Client;
use bytes::Bytes;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::runtime::{Runtime, Subscribed};
use crate::serve::{Decode, Labelled, Response, confirm_subscriptions, serve_subscription};

/// The loops of one running service.
#[derive(Debug)]
pub struct Loops {
    service: &'static str,
    client: Client,
    shutdown: CancellationToken,
    admin: JoinHandle<()>,
    loops: JoinSet<anyhow::Result<()>>,
}

impl Loops {
    /// Starts the admin listener. The loops stop when `shutdown` is cancelled, or when
    /// one of them fails: they run on a child token, so a failure stops this service
    /// without cancelling the caller's token.
    pub fn start(runtime: &mut Runtime, shutdown: &CancellationToken) -> Self {
        let shutdown = shutdown.child_token();
        let mut loops = JoinSet::new();
        loops.spawn(runtime.follow_closed(shutdown.clone()));
        Self {
            service: runtime.service,
            client: runtime.client.clone(),
            admin: runtime.spawn_admin(shutdown.clone()),
            shutdown,
            loops,
        }
    }

    /// Serves the requests or events of `subscribed` with `handler(context, request)`.
    pub fn serve<C, Req, Resp, F, Fut>(
        &mut self,
        subscribed: Subscribed,
        context: &Arc<C>,
        handler: F,
    ) where
        C: Send + Sync + 'static,
        Req: Decode + Labelled + Send + 'static,
        Resp: Response,
        F: Fn(Arc<C>, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Resp> + Send + 'static,
    {
        let context = context.clone();
        self.loops.spawn(serve_subscription(
            self.client.clone(),
            subscribed.spec,
            subscribed.subscription,
            self.shutdown.clone(),
            move |request| handler(context.clone(), request),
        ));
    }

    /// Serves operator requests on `subscribed` (see [`crate::ops`]): `handler` gets the
    /// subject and the raw payload.
    pub fn serve_ops<C, F, Fut>(&mut self, subscribed: Subscribed, context: &Arc<C>, handler: F)
    where
        C: Send + Sync + 'static,
        F: Fn(Arc<C>, String, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = serde_json::Value> + Send + 'static,
    {
        let context = context.clone();
        self.loops.spawn(crate::ops::serve_ops_subscription(
            self.client.clone(),
            subscribed.spec,
            subscribed.subscription,
            self.shutdown.clone(),
            move |subject, payload| handler(context.clone(), subject, payload),
        ));
    }

    /// Runs a loop of the service's own (a ticker, a sweeper, a sender); it gets the
    /// service's token and must return once that is cancelled.
    pub fn spawn<F, Fut>(&mut self, run: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.loops.spawn(run(self.shutdown.clone()));
    }

    /// The service's token, for parts that stop with it.
    pub fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops every loop now (e.g. when a part of the service failed to start).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Waits until every loop has stopped (each drains what it already took), confirms
    /// the unsubscriptions with the NATS server, so no new request is routed to this
    /// instance (a client's next try meets a live instance, or `unavailable` at once
    /// instead of the edge's timeout), and stops the admin listener. The first loop
    /// failure is the result.
    pub async fn join(self) -> anyhow::Result<()> {
        let outcome = crate::serve::join_loops(self.service, self.loops, &self.shutdown).await;
        self.shutdown.cancel();
        if let Err(err) = confirm_subscriptions(&self.client).await {
            tracing::warn!(service = self.service, error = %err, "unsubscribe not confirmed");
        }
        let _ = self.admin.await;
        outcome
    }
}
