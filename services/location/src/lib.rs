//! Tether location service: session locations, live distance and the periodic distance tick.
//!
//! What it serves, and the decisions the contract leaves open:
//! - `location_update` (both endpoints, queue group `location`): stores the sender's
//!   position ([`commands`], [`batch`]). On success the sending connection gets **no
//!   direct answer** (like `typing_indicator`): a client that wants confirmation sees the
//!   `distance_update` when one is due. Errors are direct answers as usual.
//! - `distance_update` always goes to **every socket of both parties** (`Target::All` on
//!   each role's endpoint), the sender's own connection included; it is never a direct
//!   answer, so it never echoes a `request_id`.
//! - `distance_formatted` is formatted from the rounded `distance_meters` the message
//!   carries (and the session snapshot shows), so a client, the message and the session
//!   snapshot always agree.
//! - On session activation ([`activation`]) both parties get one `distance_update` when
//!   both positions are already known.
//! - The periodic tick ([`tick`]) sends each active session with both positions known one
//!   `distance_update` every `TETHER_DISTANCE_INTERVAL_S`, however many instances run.
//!   Every distance update (move, activation or tick) resets both parties' 50 m anchors to
//!   their positions at that moment, because that is the distance the clients last saw.
//!
//! Protocol 1.2 ([`tether_proto::cadence`]): every distance computed moves the session's
//! adaptive cadence band (stored in `session_positions.cadence_band`, unindexed); a change
//! is sent as `location_cadence` right after that distance (and its arrival stage). The
//! activation sends the band in any case, and a new socket of a party of an active
//! session gets it once ([`presence`]). A precise fix that would take a speed above
//! `TETHER_MAX_SPEED_MPS` from the party's stored location is implausible and handled
//! like a coarse fix ([`positions::Positions::plausible`]), counted in
//! `tether_location_fixes_implausible_total`.
//!
//! Storage ([`positions`]): positions live in the narrow table `session_positions`, one
//! row per session (created by its first `location_update`), never in `work_sessions`
//! (whose location columns are not written). A move changes only unindexed
//! fixed-width columns of a row on a page kept 40 % free, so it is a HOT update and needs
//! no vacuum; the tick finds its due sessions through `tick_at`, which moves never write.
//! The distance maths run in Rust (`tether_proto::distance`) on rows locked by the
//! writer's transaction.
//!
//! Batching ([`batch`]): updates are queued per session to one of
//! `TETHER_LOCATION_WRITERS` writers, which takes everything queued as soon as it is free
//! and writes it in one transaction (lock rows in `session_id` order, apply each update in
//! arrival order under the 50 m rule, one `UPDATE ... FROM unnest` for the final states).
//! The sender's answer comes after the commit and after its distances were published, so
//! one connection's updates (the edge has one command in flight per socket) apply in the
//! order sent, across any number of instances.
//!
//! Overload (G12, G14): what happens to updates the stack cannot serve in time.
//! - ws-edge reads a socket's frames ahead (up to 16, in order) and refuses at once, with
//!   `unavailable` and `retry_after_ms`, a command that finds the oldest one queued
//!   waiting longer than `TETHER_WS_QUEUE_MAX_MS`: a client's updates do not pile up
//!   unseen in its socket.
//! - This service's serve loop admits what it can handle and refuses the rest at once
//!   (`TETHER_CONCURRENCY`, `TETHER_BACKLOG`, `TETHER_MAX_QUEUE_MS`; see
//!   `tether_platform::admission`).
//! - An update older than `TETHER_LOCATION_MAX_AGE_MS` (default 4 s, below the edge's
//!   request timeout) when its writer takes it is **refused with `unavailable` and not
//!   applied**, and counted in `tether_location_updates_dropped_total{reason="stale"}`:
//!   its sender has been told it failed, or is about to be, and may have sent a newer fix
//!   since; applying it late could compute a distance against the wrong fix or set a 50 m
//!   anchor from a stale one. Same-session updates in one instance go through one writer,
//!   in arrival order.
//! - Updates refused because the service is stopping are answered `unavailable` and
//!   counted with `reason="shutdown"`.
//! - Nothing is merged or skipped otherwise: every update is answered (no answer on
//!   success, an error otherwise) or times out at the edge as `unavailable`; there is no
//!   silent latest-wins drop in this service. Distances are published to connected
//!   clients only (a disconnected party misses them, as the contract says); losses
//!   between NATS and a socket are ws-edge's to count.
//! - Location writes commit without waiting for the WAL flush: positions are latest-wins
//!   and constantly replaced, so a database crash may lose the last moments of them, and
//!   nothing a client was promised as durable.
//! - Two updates of one session handled by two instances at once are decided in row-lock
//!   order but published after their commits, so in that rare race a client may get the
//!   two `distance_update`s in either order; the next update (or the tick) settles it.
//! - Logs never carry coordinates.

pub mod activation;
pub mod batch;
pub mod commands;
pub mod fanout;
pub mod positions;
pub mod presence;
pub mod presence_batch;
pub mod tick;

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tether_platform::ServiceConfig;
use tether_platform::config::{admin, non_zero};
use tether_platform::runner::Loops;
use tether_platform::runtime::{Runtime, Subscribed};
use tether_platform::serve::confirm_subscriptions;
use tether_proto::approach::TrendWindows;
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
    /// NATS, logging, PostgreSQL and the admin listener.
    #[command(flatten)]
    pub service: ServiceConfig<admin::Location>,
    /// Seconds between periodic distance updates of an active session.
    #[arg(long, env = "TETHER_DISTANCE_INTERVAL_S", default_value = "30",
          value_parser = non_zero::<NonZeroU64>())]
    pub distance_interval_s: NonZeroU64,
    /// How many due sessions one tick round claims at most (rounds repeat while full).
    #[arg(long, env = "TETHER_TICK_BATCH", default_value_t = 500)]
    pub tick_batch: i64,
    /// Batch writers of `location_update`s (each uses one PostgreSQL connection at a time).
    #[arg(long, env = "TETHER_LOCATION_WRITERS", default_value = "4",
          value_parser = non_zero::<NonZeroUsize>())]
    pub location_writers: NonZeroUsize,
    /// Most `location_update`s one batch takes.
    #[arg(long, env = "TETHER_LOCATION_BATCH_MAX", default_value = "1024",
          value_parser = non_zero::<NonZeroUsize>())]
    pub location_batch_max: NonZeroUsize,
    /// A `location_update` that waited longer than this (from the edge's receipt) is
    /// refused with `unavailable` and not applied; keep it below the edge's
    /// `TETHER_REQUEST_TIMEOUT_MS`.
    #[arg(long, env = "TETHER_LOCATION_MAX_AGE_MS", default_value_t = 4000)]
    pub location_max_age_ms: u64,
    /// `location_update`s in flight at once in this instance (the rest wait in NATS).
    #[arg(long, env = "TETHER_LOCATION_CONCURRENCY", default_value = "8192",
          value_parser = non_zero::<NonZeroUsize>())]
    pub location_concurrency: NonZeroUsize,
    /// v1.1: a fix whose `accuracy_m` is above this many metres is coarse (it only
    /// updates the party's last-seen time).
    #[arg(long, env = "TETHER_MAX_ACCURACY_M", default_value_t = 50.0)]
    pub max_accuracy_m: f64,
    /// v1.1: a party with open sockets and no precise fix for this many seconds (in an
    /// active session) is reported `stale` to the other party.
    #[arg(long, env = "TETHER_STALE_LOCATION_S", default_value_t = 60)]
    pub stale_location_s: u64,
    /// v1.1: an edge that has not beaten for this many seconds is taken for dead and its
    /// users go offline for their peers (edges beat every 5 s; must be longer than that).
    #[arg(long, env = "TETHER_PRESENCE_EDGE_TIMEOUT_S", default_value_t = 15)]
    pub presence_edge_timeout_s: u64,
    /// v1.2: a precise fix that would take a speed above this (metres per second) from
    /// the party's stored location is implausible and handled like a coarse fix; 0 turns
    /// the check off.
    #[arg(long, env = "TETHER_MAX_SPEED_MPS", default_value_t = 70.0)]
    pub max_speed_mps: f64,
    /// v1.1: distances computed more than this many seconds ago leave the trend's window
    /// (the contract's 120; tests shorten it).
    #[arg(long, env = "TETHER_TREND_WINDOW_S", default_value_t = 120.0)]
    pub trend_window_s: f64,
    /// v1.1: trend and ETA stay null until the distances in the window span this many
    /// seconds (the contract's 20; tests shorten it); at most the window.
    #[arg(long, env = "TETHER_TREND_MIN_SPAN_S", default_value_t = 20.0)]
    pub trend_min_span_s: f64,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-location"])
    }

    /// The distance interval.
    pub fn distance_interval(&self) -> Duration {
        Duration::from_secs(self.distance_interval_s.get())
    }

    /// The trend's windows (`TETHER_TREND_WINDOW_S`, `TETHER_TREND_MIN_SPAN_S`).
    pub fn trend_windows(&self) -> TrendWindows {
        TrendWindows {
            keep_s: self.trend_window_s,
            min_span_s: self.trend_min_span_s,
        }
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
    /// The batch writers of `location_update`s.
    pub writer: batch::Writer,
    /// Above this accuracy (metres) a fix is coarse.
    pub max_accuracy_m: f64,
    /// No precise fix for this long: stale.
    pub stale_location: Duration,
    /// An edge silent this long is dead.
    pub edge_timeout: Duration,
    /// The trend's windows.
    pub trend: TrendWindows,
    /// The writer of presence transitions (batched).
    pub presence: presence_batch::PresenceWriter,
}

/// A built location service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    context: Arc<Context>,
    commands: Subscribed,
    session_events: Subscribed,
    operator_ticks: Subscribed,
    presence_events: Subscribed,
    edge_beats: Subscribed,
    connected: Subscribed,
}

impl App {
    /// Connects to NATS and PostgreSQL, binds the admin listener and subscribes, so the
    /// service answers as soon as this returns.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.tick_batch >= 1,
            "TETHER_TICK_BATCH must be at least 1"
        );
        anyhow::ensure!(
            config.max_accuracy_m.is_finite() && config.max_accuracy_m >= 0.0,
            "TETHER_MAX_ACCURACY_M must be a number of at least 0"
        );
        anyhow::ensure!(
            config.max_speed_mps.is_finite() && config.max_speed_mps >= 0.0,
            "TETHER_MAX_SPEED_MPS must be a number of at least 0"
        );
        anyhow::ensure!(
            config.trend_min_span_s.is_finite()
                && config.trend_min_span_s > 0.0
                && config.trend_min_span_s <= config.trend_window_s,
            "TETHER_TREND_MIN_SPAN_S must be above 0 and at most TETHER_TREND_WINDOW_S"
        );
        anyhow::ensure!(
            config.stale_location_s >= 1,
            "TETHER_STALE_LOCATION_S must be at least 1"
        );
        anyhow::ensure!(
            config.presence_edge_timeout_s > tether_proto::presence::EDGE_BEAT_S,
            "TETHER_PRESENCE_EDGE_TIMEOUT_S must be longer than the edges' beat ({} s)",
            tether_proto::presence::EDGE_BEAT_S
        );
        // The runtime's own pool only migrates and answers readiness: two connections.
        // The work runs on an asynchronous-commit pool (positions and distances are
        // latest-wins: a PostgreSQL crash may lose the last moments of them, nothing else),
        // sized by TETHER_DB_MAX_CONNECTIONS like every other service's.
        let mut runtime_config = config.service.clone();
        runtime_config.db.db_max_connections = 2;
        let runtime = Runtime::connect("location", &runtime_config).await?;
        let subjects = runtime.subjects.clone();
        let mut commands = Subscribed::new(&runtime, subjects.commands_of(Owner::Location)).await?;
        // Updates wait for their batch, not for a handler: many in flight are cheap.
        commands.spec.concurrency = config.location_concurrency;
        let session_events = Subscribed::new(&runtime, subjects.session_events()).await?;
        let operator_ticks = Subscribed::new(&runtime, subjects.location_tick()).await?;
        let presence_events = Subscribed::new(&runtime, subjects.presence()).await?;
        let edge_beats = Subscribed::new(&runtime, subjects.edge_beat()).await?;
        let connected = Subscribed::new(&runtime, subjects.connected()).await?;
        confirm_subscriptions(&runtime.client).await?;
        let pool = tether_platform::db::connect_async_commit(
            &config.service.db,
            config.service.db.db_max_connections,
        )
        .await?;
        let writer = batch::Writer::start(
            pool.clone(),
            runtime.outbox.clone(),
            batch::WriterConfig {
                writers: config.location_writers,
                batch_max: config.location_batch_max,
                max_age: Duration::from_millis(config.location_max_age_ms),
                distance_interval: config.distance_interval(),
                max_speed_mps: config.max_speed_mps,
                trend: config.trend_windows(),
            },
        );
        let presence =
            presence_batch::spawn(pool.clone(), Duration::from_secs(config.stale_location_s));
        let context = Arc::new(Context {
            pool,
            outbox: runtime.outbox.clone(),
            distance_interval: config.distance_interval(),
            tick_batch: config.tick_batch,
            writer,
            max_accuracy_m: config.max_accuracy_m,
            stale_location: Duration::from_secs(config.stale_location_s),
            edge_timeout: Duration::from_secs(config.presence_edge_timeout_s),
            trend: config.trend_windows(),
            presence,
        });
        Ok(Self {
            runtime,
            context,
            commands,
            session_events,
            operator_ticks,
            presence_events,
            edge_beats,
            connected,
        })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then drains in-flight work (a tick round in progress
    /// finishes and sends).
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut loops = Loops::start(&mut self.runtime, &shutdown);
        loops.serve(self.commands, &self.context, commands::handle);
        loops.serve(self.session_events, &self.context, activation::handle);
        loops.serve_ops(self.operator_ticks, &self.context, |context, _, _| {
            tick::handle_request(context)
        });
        loops.serve(self.presence_events, &self.context, presence::handle_event);
        loops.serve(self.edge_beats, &self.context, presence::handle_beat);
        loops.serve(self.connected, &self.context, presence::handle_connected);
        let context = self.context.clone();
        loops.spawn(|shutdown| async move {
            presence::run_sweeper(context, shutdown).await;
            Ok(())
        });
        let context = self.context.clone();
        loops.spawn(|shutdown| async move {
            tick::run_periodic(context, shutdown).await;
            Ok(())
        });
        loops.join().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_windows_default_to_the_contracts_20_and_120_seconds() {
        let config = Config::parse_from(["tether-location"]);
        assert_eq!(config.trend_window_s, 120.0);
        assert_eq!(config.trend_min_span_s, 20.0);
        assert_eq!(config.trend_windows(), TrendWindows::CONTRACT);
    }
}
