//! Tether ws-edge: the WebSocket endpoints and the HTTP API.

pub mod config;

use std::net::SocketAddr;

pub use config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A bound ws-edge, ready to run.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    #[allow(dead_code)]
    config: Config,
}

impl App {
    /// Connects to NATS and binds the HTTP listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.http_addr).await?;
        Ok(Self { listener, config })
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.http_addr)
    }

    /// Serves until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        shutdown.cancelled().await;
        Ok(())
    }
}
