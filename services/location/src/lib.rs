//! Tether location service: session locations, live distance and the periodic distance tick.
//!
//! What it serves, and the decisions the contract leaves open:
//! - `location_update` (both endpoints, queue group `location`): stores the sender's
//!   position on the session ([`update`]). On success the sending connection gets **no
//!   direct answer** (like `typing_indicator`): a client that wants confirmation sees the
//!   `distance_update` when one is due. Errors are direct answers as usual.
//! - `distance_update` always goes to **every socket of both parties** (`Target::All` on
//!   each role's endpoint), the sender's own connection included; it is never a direct
//!   answer, so it never echoes a `request_id`.
//! - `distance_formatted` is formatted from the rounded `distance_meters` the message
//!   carries (and the session stores), so a client, the message and the session snapshot
//!   always agree.
//! - On session activation ([`activation`]) both parties get one `distance_update` when
//!   both positions are already known.
//! - The periodic tick ([`tick`]) sends each active session with both positions known one
//!   `distance_update` every `TETHER_DISTANCE_INTERVAL_S`, however many instances run.
//!   Every distance update (move, activation or tick) resets both parties' 50 m anchors to
//!   their positions at that moment, because that is the distance the clients last saw.
//! - Every write is one statement that locks the session row, decides and records
//!   (distance maths in SQL, identical to `tether_proto::distance`).
//! - Location writes commit without waiting for the WAL flush: positions are latest-wins
//!   and constantly replaced, so a database crash may lose the last moments of them, and
//!   nothing a client was promised as durable.
//! - Two updates of one session handled by two instances at once are decided in row-lock
//!   order but published after their commits, so in that rare race a client may get the
//!   two `distance_update`s in either order; the next update (or the tick) settles it.

#[macro_use]
mod distance_sql;

pub mod activation;
pub mod fanout;
pub mod tick;
pub mod update;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tether_platform::ops::serve_ops_subscription;
use tether_platform::runtime::{Runtime, Subscribed};
use tether_platform::serve::{confirm_subscriptions, serve_subscription};
use tether_platform::{CommonConfig, DbConfig};
use tether_proto::messages::Owner;
use tokio_util::sync::CancellationToken;

/// Settings of the location service (each also from its environment variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-location",
    version,
    about = "Tether location service: session locations, live distance and the periodic distance tick"
)]
pub struct Config {
    /// NATS and logging.
    #[command(flatten)]
    pub common: CommonConfig,
    /// PostgreSQL.
    #[command(flatten)]
    pub db: DbConfig,
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(
        long,
        env = "TETHER_LOCATION_ADMIN_ADDR",
        default_value = "127.0.0.1:9103"
    )]
    pub admin_addr: SocketAddr,
    /// Seconds between periodic distance updates of an active session (at least 1).
    #[arg(long, env = "TETHER_DISTANCE_INTERVAL_S", default_value_t = 30)]
    pub distance_interval_s: u64,
    /// How many due sessions one tick round claims at most (rounds repeat while full).
    #[arg(long, env = "TETHER_TICK_BATCH", default_value_t = 500)]
    pub tick_batch: i64,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-location"])
    }

    /// The distance interval, never below one second.
    pub fn distance_interval(&self) -> Duration {
        Duration::from_secs(self.distance_interval_s.max(1))
    }
}

/// What every handler of this service needs: the database, the outbox and the settings.
#[derive(Debug, Clone)]
pub struct Context {
    /// PostgreSQL pool.
    pub pool: sqlx::PgPool,
    /// Publisher to users' sockets.
    pub outbox: tether_platform::Outbox,
    /// Seconds between periodic distance updates.
    pub distance_interval: Duration,
    /// Largest claim of one tick round.
    pub tick_batch: i64,
}

/// A pool whose sessions commit without waiting for the WAL flush
/// (`synchronous_commit = off`): positions and distances are latest-wins data that the
/// next update replaces, so a PostgreSQL crash may lose the last moments of them and
/// nothing else, while a commit no longer waits for a disk flush. The shared pool of the
/// runtime (migrations, readiness) keeps the safe default.
async fn async_commit_pool(db: &DbConfig) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(&db.database_url)
        .context("parsing DATABASE_URL")?
        .options([("synchronous_commit", "off")]);
    PgPoolOptions::new()
        .max_connections(db.db_max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("connecting the location pool")
}

/// A built location service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    context: Arc<Context>,
    commands: Subscribed,
    session_events: Subscribed,
    operator_ticks: Subscribed,
}

impl App {
    /// Connects to NATS and PostgreSQL, binds the admin listener and subscribes, so the
    /// service answers as soon as this returns.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.tick_batch >= 1,
            "TETHER_TICK_BATCH must be at least 1"
        );
        let runtime =
            Runtime::connect("location", &config.common, &config.db, config.admin_addr).await?;
        let subjects = runtime.subjects.clone();
        let commands = Subscribed::new(&runtime, subjects.commands_of(Owner::Location)).await?;
        let session_events = Subscribed::new(&runtime, subjects.session_events()).await?;
        let operator_ticks = Subscribed::new(&runtime, subjects.location_tick()).await?;
        confirm_subscriptions(&runtime.client).await?;
        let context = Arc::new(Context {
            pool: async_commit_pool(&config.db).await?,
            outbox: runtime.outbox.clone(),
            distance_interval: config.distance_interval(),
            tick_batch: config.tick_batch,
        });
        Ok(Self {
            runtime,
            context,
            commands,
            session_events,
            operator_ticks,
        })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then drains in-flight work (a tick round in progress
    /// finishes and sends).
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        // A failing loop stops the others (and the admin listener) without touching the
        // caller's token.
        let shutdown = shutdown.child_token();
        let admin = self.runtime.spawn_admin(shutdown.clone());
        let client = self.runtime.client.clone();
        let mut loops = tokio::task::JoinSet::new();

        let context = self.context.clone();
        loops.spawn(serve_subscription(
            client.clone(),
            self.commands.spec,
            self.commands.subscription,
            shutdown.clone(),
            move |envelope| update::handle(context.clone(), envelope),
        ));
        let context = self.context.clone();
        loops.spawn(serve_subscription(
            client.clone(),
            self.session_events.spec,
            self.session_events.subscription,
            shutdown.clone(),
            move |event| activation::handle(context.clone(), event),
        ));
        let context = self.context.clone();
        loops.spawn(serve_ops_subscription(
            client.clone(),
            self.operator_ticks.spec,
            self.operator_ticks.subscription,
            shutdown.clone(),
            move |_subject, _payload| tick::handle_request(context.clone()),
        ));
        let context = self.context.clone();
        let ticker_shutdown = shutdown.clone();
        loops.spawn(async move {
            tick::run_periodic(context, ticker_shutdown).await;
            Ok(())
        });

        let outcome = tether_platform::serve::join_loops("location", loops, &shutdown).await;
        let _ = client.flush().await;
        let _ = admin.await;
        outcome
    }
}
