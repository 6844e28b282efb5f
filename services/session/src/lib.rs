//! Tether session service: profiles, provider status, seeker search, work orders, work
//! sessions and ratings.
//!
//! Three NATS loops, all in the `session` queue group so any number of instances share
//! the work: HTTP API requests ([`api`]), client commands ([`commands`]) and "socket
//! opened" events ([`connected`]). Every state transition is one SQL statement or one
//! transaction guarded by the state it expects, so two instances (or both parties acting
//! at once) can never both win.

pub mod api;
pub mod assignment;
pub mod commands;
pub mod connected;
pub mod context;
pub mod events;
pub mod rating;
pub mod sessions;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tether_platform::ServiceConfig;
use tether_platform::config::admin;
use tether_platform::runner::Loops;
use tether_platform::runtime::{Runtime, Subscribed};
use tether_platform::serve::confirm_subscriptions;
use tether_proto::messages::Owner;
use tokio_util::sync::CancellationToken;

use crate::context::{Ctx, Settings};

/// Settings of the session service (each also from its environment variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-session",
    version,
    about = "Tether session service: profiles, provider status, seeker search, work orders, work sessions and ratings"
)]
pub struct Config {
    /// NATS, logging, PostgreSQL and the admin listener.
    #[command(flatten)]
    pub service: ServiceConfig<admin::Session>,
    /// Seconds a work order stays acceptable; older pending orders answer `conflict` (the cleanup service expires them).
    #[arg(long, env = "TETHER_WORK_ORDER_TTL_S", default_value_t = 600)]
    pub work_order_ttl_s: u64,
    /// Hours chat messages are kept after their session ends (expiry set when it ends).
    #[arg(long, env = "TETHER_CHAT_TTL_H", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub chat_ttl_h: u32,
    /// Pending work orders one seeker may have at once; one more answers 409.
    #[arg(long, env = "TETHER_MAX_PENDING_PER_SEEKER", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_pending_per_seeker: u32,
    /// Pending work orders one provider may have at once; one more answers 409. Also the
    /// most a provider's socket is re-sent on connect.
    #[arg(long, env = "TETHER_MAX_PENDING_PER_PROVIDER", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub max_pending_per_provider: u32,
    /// Push for offline providers (the sender runs in the cleanup service).
    #[command(flatten)]
    pub push: tether_platform::push::PushSwitch,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-session"])
    }
}

/// A built session service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    ctx: Arc<Ctx>,
    api: Subscribed,
    commands: Subscribed,
    connected: Subscribed,
}

impl App {
    /// Connects to NATS and PostgreSQL, binds the admin listener and subscribes, so the
    /// service is reachable as soon as this returns.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let runtime = Runtime::connect("session", &config.service).await?;
        let subjects = &runtime.subjects;
        let api = Subscribed::new(&runtime, subjects.api(Owner::Session)).await?;
        let commands = Subscribed::new(&runtime, subjects.commands_of(Owner::Session)).await?;
        let connected = Subscribed::new(&runtime, subjects.connected()).await?;
        confirm_subscriptions(&runtime.client).await?;
        let settings = Settings {
            work_order_ttl_s: i64::try_from(config.work_order_ttl_s).unwrap_or(i64::MAX),
            chat_ttl_h: i32::try_from(config.chat_ttl_h).unwrap_or(i32::MAX),
            max_pending_per_seeker: i64::from(config.max_pending_per_seeker),
            max_pending_per_provider: i64::from(config.max_pending_per_provider),
            push: config.push.enabled(),
        };
        let ctx = Arc::new(Ctx {
            pool: runtime.pool.clone(),
            client: runtime.client.clone(),
            subjects: runtime.subjects.clone(),
            outbox: runtime.outbox.clone(),
            settings,
            known_users: Default::default(),
        });
        Ok(Self {
            runtime,
            ctx,
            api,
            commands,
            connected,
        })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then drains in-flight work.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut loops = Loops::start(&mut self.runtime, &shutdown);
        loops.serve(self.api, &self.ctx, |ctx, request| async move {
            api::handle(&ctx, request).await
        });
        loops.serve(self.commands, &self.ctx, |ctx, envelope| async move {
            commands::handle(&ctx, envelope).await
        });
        loops.serve(self.connected, &self.ctx, |ctx, event| async move {
            connected::handle(&ctx, event).await
        });
        loops.join().await
    }
}
