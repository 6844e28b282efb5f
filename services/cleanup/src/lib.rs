//! Tether cleanup service: scheduled expiry of chat messages, pending orders and ended
//! sessions' coordinates, and vacuum of the tables that need it; and the push sender.
//!
//! Five jobs ([`jobs::Job`]), each on its own cron schedule ([`schedule`]) and each
//! runnable on demand by an operator ([`trigger`]). Every instance schedules every job;
//! a PostgreSQL advisory lock ([`jobs::Job::lock_key`]) taken in each batch's transaction
//! makes one instance at a time run a job, and the others skip and say so. Work happens
//! in batches of `TETHER_CLEANUP_BATCH` rows, one transaction each.
//!
//! The push sender ([`tether_platform::push::Sender`]) runs here as a loop beside the
//! jobs when `TETHER_PUSH_WEBHOOK_URL` is set: it POSTs the events the chat and session
//! services enqueue for offline users. Every instance runs it; they share the due events
//! through row locks, so each event is tried by one sender at a time. The `push_events`
//! job deletes finished events after `TETHER_PUSH_RETENTION_H`.

pub mod jobs;
pub mod schedule;
pub mod trigger;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tether_platform::ServiceConfig;
use tether_platform::config::admin;
use tether_platform::push::Sender;
use tether_platform::runner::Loops;
use tether_platform::runtime::{Runtime, Subscribed};
use tether_platform::serve::confirm_subscriptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::jobs::Job;

/// Settings of the cleanup service (each also from its environment variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-cleanup",
    version,
    about = "Tether cleanup service: scheduled expiry of chat messages, pending orders and ended sessions' coordinates, and vacuum"
)]
pub struct Config {
    /// NATS, logging, PostgreSQL and the admin listener.
    #[command(flatten)]
    pub service: ServiceConfig<admin::Cleanup>,
    /// Cron (sec min hour day month weekday) of the expired chat messages job.
    #[arg(
        long,
        env = "TETHER_CLEANUP_CHAT_CRON",
        default_value = "0 */5 * * * *"
    )]
    pub chat_cron: String,
    /// Cron of the vacuum job (tables with many dead row versions).
    #[arg(
        long,
        env = "TETHER_CLEANUP_VACUUM_CRON",
        default_value = "20 */2 * * * *"
    )]
    pub vacuum_cron: String,
    /// Cron of the pending work order expiry job.
    #[arg(
        long,
        env = "TETHER_CLEANUP_ORDERS_CRON",
        default_value = "*/30 * * * * *"
    )]
    pub orders_cron: String,
    /// Cron of the ended sessions' coordinates job.
    #[arg(
        long,
        env = "TETHER_CLEANUP_LOCATIONS_CRON",
        default_value = "40 */10 * * * *"
    )]
    pub locations_cron: String,
    /// Seconds a work order may stay pending before it expires.
    #[arg(long, env = "TETHER_WORK_ORDER_TTL_S", default_value_t = 600)]
    pub work_order_ttl_s: u64,
    /// Hours an ended session keeps its coordinates.
    #[arg(long, env = "TETHER_LOCATION_RETENTION_H", default_value_t = 24)]
    pub location_retention_h: u32,
    /// Rows one batch (one transaction) of a job handles at most.
    #[arg(long, env = "TETHER_CLEANUP_BATCH", default_value_t = 1000)]
    pub batch_size: i64,
    /// Cron of the finished push events job.
    #[arg(
        long,
        env = "TETHER_CLEANUP_PUSH_CRON",
        default_value = "50 */10 * * * *"
    )]
    pub push_cron: String,
    /// Hours a push event is kept after it was created, once sent or given up.
    #[arg(long, env = "TETHER_PUSH_RETENTION_H", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub push_retention_h: u32,
    /// The push sender.
    #[command(flatten)]
    pub push: tether_platform::push::SenderConfig,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-cleanup"])
    }

    /// Each job with its cron string.
    pub fn schedules(&self) -> Vec<(Job, String)> {
        vec![
            (Job::ChatMessages, self.chat_cron.clone()),
            (Job::Vacuum, self.vacuum_cron.clone()),
            (Job::WorkOrders, self.orders_cron.clone()),
            (Job::SessionLocations, self.locations_cron.clone()),
            (Job::PushEvents, self.push_cron.clone()),
        ]
    }
}

/// What the jobs need: the database, the outbox and the settings.
#[derive(Debug, Clone)]
pub struct Context {
    /// PostgreSQL pool.
    pub pool: sqlx::PgPool,
    /// Publisher to users' sockets (`work_expired`).
    pub outbox: tether_platform::Outbox,
    /// Seconds a work order may stay pending.
    pub work_order_ttl_s: u64,
    /// Hours an ended session keeps its coordinates.
    pub location_retention_h: u32,
    /// Rows per batch.
    pub batch_size: i64,
    /// Hours a finished push event is kept.
    pub push_retention_h: u32,
}

/// A built cleanup service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    config: Config,
    context: Arc<Context>,
    triggers: Subscribed,
    push: Option<Sender>,
}

impl App {
    /// Checks the schedules, connects to NATS and PostgreSQL, binds the admin listener and
    /// subscribes to operator triggers, so a trigger works as soon as this returns.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.batch_size >= 1,
            "TETHER_CLEANUP_BATCH must be at least 1"
        );
        for (job, cron) in config.schedules() {
            schedule::validate(job, &cron)?;
        }
        config.push.validate()?;
        let runtime = Runtime::connect("cleanup", &config.service).await?;
        let triggers = Subscribed::new(&runtime, runtime.subjects.cleanup_triggers()).await?;
        confirm_subscriptions(&runtime.client).await?;
        let context = Arc::new(Context {
            pool: runtime.pool.clone(),
            outbox: runtime.outbox.clone(),
            work_order_ttl_s: config.work_order_ttl_s,
            location_retention_h: config.location_retention_h,
            batch_size: config.batch_size,
            push_retention_h: config.push_retention_h,
        });
        let push = Sender::new(runtime.pool.clone(), &config.push)?;
        Ok(Self {
            runtime,
            config,
            context,
            triggers,
            push,
        })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then lets job runs in progress finish.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut loops = Loops::start(&mut self.runtime, &shutdown);
        let subjects = self.runtime.subjects.clone();
        loops.serve_ops(self.triggers, &self.context, move |context, subject, _| {
            trigger::handle(context, subjects.clone(), subject)
        });
        if let Some(sender) = self.push.take() {
            loops.spawn(|shutdown| async move {
                sender.run(shutdown).await;
                Ok(())
            });
        }
        let runs = TaskTracker::new();
        let scheduled = schedule::start(
            self.context.clone(),
            &self.config.schedules(),
            runs.clone(),
            loops.token(),
        )
        .await;
        let mut scheduler = match scheduled {
            Ok(scheduler) => scheduler,
            Err(err) => {
                loops.stop();
                let _ = loops.join().await;
                return Err(err);
            }
        };
        // Job runs in progress finish before the service stops.
        loops.spawn(|shutdown| async move {
            shutdown.cancelled().await;
            if let Err(err) = scheduler.shutdown().await {
                tracing::warn!(error = ?err, "job scheduler shutdown failed");
            }
            runs.close();
            runs.wait().await;
            Ok(())
        });
        loops.join().await
    }
}
