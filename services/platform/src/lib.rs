//! Plumbing every Tether service shares, so each service crate holds only its domain:
//! configuration ([`config`]), logs and metrics ([`telemetry`]), NATS and PostgreSQL
//! bootstrap ([`nats`], [`db`]), the admin HTTP listener ([`admin`]), shutdown
//! ([`shutdown`]), serving requests from NATS queue groups ([`serve`]) in a service's
//! loops ([`runner`]), publishing to
//! users' sockets ([`outbox`]), push webhooks for offline users ([`push`]) and traces
//! across NATS ([`trace`]).

pub mod admin;
pub mod admission;
pub mod batch;
pub mod closed;
pub mod config;
pub mod db;
pub mod error;
pub mod metrics_catalog;
pub mod nats;
pub mod ops;
pub mod outbox;
pub mod push;
pub mod runner;
pub mod runtime;
pub mod serve;
pub mod shutdown;
pub mod tasks;
pub mod telemetry;
pub mod timeline;
pub mod trace;

pub use config::{CommonConfig, DbConfig, ServiceConfig};
pub use error::HandlerError;
pub use outbox::{Outbox, Reply, Target};

/// The `main` of every service binary: settings from flags and environment, logs, a
/// shutdown token tied to SIGTERM and SIGINT, build (a bad setting or an unreachable
/// NATS or PostgreSQL fails here, before anything is served), then run until shutdown.
/// `$krate` must export `Config` (clap; its `CommonConfig` at the path given last) and
/// `App` (`build`, `run` and the address method named `$addr`).
#[macro_export]
macro_rules! service_main {
    ($krate:ident, $addr:ident, $started:literal, $($common:ident).+) => {
        #[tokio::main]
        async fn main() -> anyhow::Result<()> {
            let config = <$krate::Config as clap::Parser>::parse();
            $crate::telemetry::init(config.$($common).+.log_format, env!("CARGO_BIN_NAME"));
            let shutdown = $crate::shutdown::on_signal();
            let app = $krate::App::build(config).await?;
            tracing::info!(addr = %app.$addr(), $started);
            let outcome = app.run(shutdown).await;
            $crate::trace::flush();
            outcome
        }
    };
}
