//! What every service with a database starts with: NATS, PostgreSQL (migrated), subjects,
//! an outbox and a bound admin listener.

use std::net::SocketAddr;

use anyhow::Context;
use async_nats::Client;
use sqlx::PgPool;
use tether_proto::subjects::{Subjects, is_valid_prefix};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{AdminListener, CommonConfig, ServiceConfig};
use crate::outbox::Outbox;

/// A connected service's shared handles.
#[derive(Debug)]
pub struct Runtime {
    /// Service name (metrics, logs, NATS client name).
    pub service: &'static str,
    /// NATS client.
    pub client: Client,
    /// PostgreSQL pool (migrations applied).
    pub pool: PgPool,
    /// Subject names under the configured prefix.
    pub subjects: Subjects,
    /// Publisher to users' sockets.
    pub outbox: Outbox,
    /// Common settings.
    pub common: CommonConfig,
    /// Connections known to be closed (every serve loop skips work for them alone).
    pub closed: std::sync::Arc<crate::closed::ClosedConns>,
    /// The subscription that fills `closed`, until [`crate::runner::Loops`] follows it.
    closed_events: Option<async_nats::Subscriber>,
    admin: Option<TcpListener>,
    admin_addr: SocketAddr,
    _announcement: crate::nats::Announcement,
}

impl Runtime {
    /// Connects to NATS and PostgreSQL, applies migrations and binds the admin listener.
    pub async fn connect<A: AdminListener>(
        service: &'static str,
        config: &ServiceConfig<A>,
    ) -> anyhow::Result<Self> {
        let ServiceConfig {
            common,
            db,
            admin_addr,
            ..
        } = config;
        let admin_addr = *admin_addr;
        anyhow::ensure!(
            is_valid_prefix(&common.subject_prefix),
            "TETHER_SUBJECT_PREFIX must be dot-separated tokens of letters, digits, - and _"
        );
        // Install the recorder before anything is counted (else early counts are lost).
        crate::telemetry::metrics_handle();
        let client = crate::nats::connect(&common.nats_url, &format!("tether-{service}")).await?;
        let pool = crate::db::connect(db).await?;
        let admin = TcpListener::bind(admin_addr)
            .await
            .with_context(|| format!("binding admin listener on {admin_addr}"))?;
        let subjects = Subjects::new(common.subject_prefix.clone());
        let outbox = Outbox::new(client.clone(), subjects.clone());
        let admin_addr = admin.local_addr()?;
        let announcement = crate::nats::announce(&client, service, &common.subject_prefix).await?;
        // Every instance hears every close (no queue group).
        let closed_events = client.subscribe(subjects.closed()).await?;
        Ok(Self {
            service,
            client,
            pool,
            subjects,
            outbox,
            common: common.clone(),
            closed: Default::default(),
            closed_events: Some(closed_events),
            admin: Some(admin),
            admin_addr,
            _announcement: announcement,
        })
    }

    /// The admin listener's bound address (port 0 resolved).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// Serves `/healthz`, `/readyz` and `/metrics` until `shutdown`, in the background.
    /// Takes the listener, so call it once.
    pub fn spawn_admin(&mut self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let Some(listener) = self.admin.take() else {
            return tokio::spawn(async {});
        };
        let router = crate::admin::router_with_pool(
            crate::admin::nats_and_db(self.client.clone(), self.pool.clone()),
            Some(self.pool.clone()),
        );
        let service = self.service;
        tokio::spawn(async move {
            if let Err(err) = crate::admin::serve(listener, router, shutdown).await {
                tracing::error!(service, error = %err, "admin listener failed");
            }
        })
    }

    /// A serve spec for this service's queue group.
    pub fn spec(&self, subject: String, queue: bool) -> crate::serve::ServeSpec {
        crate::serve::ServeSpec {
            service: self.service,
            subject,
            queue: queue.then(|| self.service.to_string()),
            concurrency: self.common.concurrency,
            backlog: self.common.backlog,
            max_wait: std::time::Duration::from_millis(self.common.max_queue_ms),
            closed: Some(self.closed.clone()),
        }
    }

    /// Records the closes announced by ws-edge into [`Runtime::closed`] until `shutdown`.
    /// Takes the subscription, so call it once.
    pub fn follow_closed(
        &mut self,
        shutdown: CancellationToken,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
        let closed = self.closed.clone();
        let events = self.closed_events.take();
        async move {
            match events {
                Some(events) => closed.follow(events, shutdown).await,
                None => Ok(()),
            }
        }
    }
}

/// A queue subscription made while a service is built (so it is reachable as soon as
/// `build` returns), with the spec it is served with.
#[derive(Debug)]
pub struct Subscribed {
    /// How it is served.
    pub spec: crate::serve::ServeSpec,
    /// The subscription itself.
    pub subscription: async_nats::Subscriber,
}

impl Subscribed {
    /// Subscribes to `subject` in the service's queue group.
    pub async fn new(runtime: &Runtime, subject: String) -> anyhow::Result<Self> {
        Self::make(runtime, subject, true).await
    }

    /// Subscribes to `subject` outside any queue group: every instance gets every message
    /// (for state each instance keeps, such as a cache).
    pub async fn fan_out(runtime: &Runtime, subject: String) -> anyhow::Result<Self> {
        Self::make(runtime, subject, false).await
    }

    async fn make(runtime: &Runtime, subject: String, queue: bool) -> anyhow::Result<Self> {
        let spec = runtime.spec(subject, queue);
        let subscription = crate::serve::subscribe(&runtime.client, &spec).await?;
        Ok(Self { spec, subscription })
    }
}
