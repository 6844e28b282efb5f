//! Tether chat service: anonymous session chat with receipts, typing indicators, offline delivery and history

use std::net::SocketAddr;

use clap::Parser;
use tether_platform::runtime::Runtime;
use tether_platform::{CommonConfig, DbConfig};
use tokio_util::sync::CancellationToken;

/// Settings of the chat service (each also from its environment variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-chat",
    version,
    about = "Tether chat service: anonymous session chat with receipts, typing indicators, offline delivery and history"
)]
pub struct Config {
    /// NATS and logging.
    #[command(flatten)]
    pub common: CommonConfig,
    /// PostgreSQL.
    #[command(flatten)]
    pub db: DbConfig,
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long, env = "TETHER_CHAT_ADMIN_ADDR", default_value = "127.0.0.1:9102")]
    pub admin_addr: SocketAddr,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-chat"])
    }
}

/// A built chat service, ready to run.
#[derive(Debug)]
pub struct App {
    runtime: Runtime,
    #[allow(dead_code)]
    config: Config,
}

impl App {
    /// Connects to NATS and PostgreSQL and binds the admin listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let runtime =
            Runtime::connect("chat", &config.common, &config.db, config.admin_addr).await?;
        Ok(Self { runtime, config })
    }

    /// The bound admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.runtime.admin_addr()
    }

    /// Serves until `shutdown`, then drains in-flight work.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let admin = self.runtime.spawn_admin(shutdown.clone());
        shutdown.cancelled().await;
        let _ = admin.await;
        Ok(())
    }
}
