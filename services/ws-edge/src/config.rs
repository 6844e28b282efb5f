//! ws-edge settings; each also from its environment variable.

use std::net::SocketAddr;

use clap::Parser;
use tether_platform::CommonConfig;

/// Settings of ws-edge.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tether-ws-edge",
    version,
    about = "Tether WebSocket edge and HTTP API"
)]
pub struct Config {
    /// NATS and logging.
    #[command(flatten)]
    pub common: CommonConfig,
    /// Address of the HTTP/WebSocket listener (also serves /healthz, /readyz, /metrics).
    #[arg(long, env = "TETHER_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// HS256 secret that signs client tokens.
    #[arg(
        long,
        env = "TETHER_JWT_SECRET",
        default_value = "tether-dev-secret-change-me",
        hide_env_values = true
    )]
    pub jwt_secret: String,
    /// When set, tokens must carry this `aud`.
    #[arg(long, env = "TETHER_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// When set, tokens must carry this `iss`.
    #[arg(long, env = "TETHER_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Comma-separated browser origins allowed to open WebSockets (exact match).
    #[arg(
        long,
        env = "TETHER_ALLOWED_ORIGINS",
        value_delimiter = ',',
        default_value = ""
    )]
    pub allowed_origins: Vec<String>,
    /// Client messages per second per connection.
    #[arg(long, env = "TETHER_WS_RATE", default_value_t = 20)]
    pub ws_rate: u32,
    /// Burst of client messages per connection above the rate.
    #[arg(long, env = "TETHER_WS_BURST", default_value_t = 40)]
    pub ws_burst: u32,
    /// Rate-limited messages a connection may accumulate (refilled at 1/s) before it is
    /// closed with 1008.
    #[arg(long, env = "TETHER_WS_RATE_STRIKES", default_value_t = 20)]
    pub ws_rate_strikes: u32,
    /// Seconds a socket may stay silent before it is closed.
    #[arg(long, env = "TETHER_WS_IDLE_TIMEOUT_S", default_value_t = 120)]
    pub ws_idle_timeout_s: u64,
    /// Outbound messages buffered per socket; a socket that falls further behind is
    /// closed with 1013 instead of buffering without bound.
    #[arg(long, env = "TETHER_WS_OUTBOUND_QUEUE", default_value_t = 256)]
    pub ws_outbound_queue: usize,
    /// Milliseconds to wait for a service's answer before telling the client `unavailable`.
    #[arg(long, env = "TETHER_REQUEST_TIMEOUT_MS", default_value_t = 5000)]
    pub request_timeout_ms: u64,
    /// HTTP API requests per second per user.
    #[arg(long, env = "TETHER_HTTP_RATE", default_value_t = 50)]
    pub http_rate: u32,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-ws-edge"])
    }
}
