//! ws-edge settings; each also from its environment variable.
//!
//! HTTP connection limits (what a client sees when it hits one):
//!
//! | variable | default | limit and what the client sees |
//! |---|---|---|
//! | `TETHER_HTTP_HEADER_TIMEOUT_S` | 10 | a connection must deliver a complete request head (request line and headers) within this many seconds of opening; else it is closed without an answer |
//! | `TETHER_HTTP_IDLE_TIMEOUT_S` | 60 | a kept-alive connection with no request in progress is closed after this many idle seconds (the head of its next request must then also come within `TETHER_HTTP_HEADER_TIMEOUT_S` of its first byte); clients reconnect |
//! | `TETHER_HTTP_BODY_TIMEOUT_S` | 30 | a request body must arrive completely within this many seconds after its head; else 408 `{"error": "Request body not received in time", "code": "invalid_json"}` and the connection is closed |
//! | `TETHER_HTTP_MAX_CONNECTIONS` | the file limit − 256 | open connections (HTTP and WebSocket together); beyond it new connections wait in the listen backlog until one closes (the client sees a slow connect, or its own connect timeout). The edge raises its open-file limit to the hard limit at start; unset, the cap is that limit less [`FD_RESERVE`] for NATS, the listener and logs (19,744 where the hard limit is 20,000), and a larger setting is lowered to it with a warning, since past it `accept` would fail instead of waiting |
//!
//! An HTTP body over 64 KiB answers 413 `{"error": "...", "code": "payload_too_large"}`
//! also when the client sends it without `Expect: 100-continue`: the edge keeps reading
//! (and dropping) what the client still sends for up to a few seconds after answering,
//! so the client reads the 413 instead of a connection reset.
//!
//! `TETHER_JWT_SECRET` must be at least 32 bytes and not the development default unless
//! `TETHER_HTTP_ADDR` is a loopback address (see [`Config::check_secret`]).

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

use clap::Parser;
use tether_platform::CommonConfig;
use tether_platform::config::non_zero;

/// The development secret: accepted only while the edge listens on loopback.
pub const DEV_JWT_SECRET: &str = "tether-dev-secret-change-me";

/// File descriptors kept free of client connections: NATS, the listener, logs, and the
/// sockets a busy moment opens before the cap holds.
pub const FD_RESERVE: u64 = 256;

/// The shortest secret accepted on a non-loopback address.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Settings of ws-edge. `Debug` never shows the JWT secret.
#[derive(Clone, Parser)]
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
        default_value = DEV_JWT_SECRET,
        hide_env_values = true,
        hide_default_value = true
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
    #[arg(long, env = "TETHER_WS_RATE", default_value = "20",
          value_parser = non_zero::<NonZeroU32>())]
    pub ws_rate: NonZeroU32,
    /// Burst of client messages per connection above the rate.
    #[arg(long, env = "TETHER_WS_BURST", default_value = "40",
          value_parser = non_zero::<NonZeroU32>())]
    pub ws_burst: NonZeroU32,
    /// Rate-limited messages a connection may accumulate (refilled at 1/s) before it is
    /// closed with 1008.
    #[arg(long, env = "TETHER_WS_RATE_STRIKES", default_value = "20",
          value_parser = non_zero::<NonZeroU32>())]
    pub ws_rate_strikes: NonZeroU32,
    /// Client messages per second per user and role across all their sockets on this edge
    /// (bursts of twice that), so opening more sockets does not multiply the rate.
    #[arg(long, env = "TETHER_WS_USER_RATE", default_value = "40",
          value_parser = non_zero::<NonZeroU32>())]
    pub ws_user_rate: NonZeroU32,
    /// Open sockets per user and role on this edge; one more is refused with HTTP 429.
    #[arg(long, env = "TETHER_WS_MAX_SOCKETS_PER_USER", default_value_t = 10)]
    pub ws_max_sockets_per_user: usize,
    /// Seconds a socket may stay silent before it is closed.
    #[arg(long, env = "TETHER_WS_IDLE_TIMEOUT_S", default_value = "120",
          value_parser = non_zero::<NonZeroU64>())]
    pub ws_idle_timeout_s: NonZeroU64,
    /// Outbound messages buffered per socket; a socket that falls further behind is
    /// closed with 1013 instead of buffering without bound.
    #[arg(long, env = "TETHER_WS_OUTBOUND_QUEUE", default_value = "256",
          value_parser = non_zero::<NonZeroUsize>())]
    pub ws_outbound_queue: NonZeroUsize,
    /// Milliseconds a client command may wait behind the same socket's earlier commands
    /// (relayed one at a time, in order); a command that would wait longer is refused at
    /// once with `unavailable` and this as its retry hint.
    #[arg(long, env = "TETHER_WS_QUEUE_MAX_MS", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_queue_max_ms: u64,
    /// Milliseconds to wait for a service's answer before telling the client `unavailable`.
    #[arg(long, env = "TETHER_REQUEST_TIMEOUT_MS", default_value_t = 5000)]
    pub request_timeout_ms: u64,
    /// HTTP API requests per second per user.
    #[arg(long, env = "TETHER_HTTP_RATE", default_value = "50",
          value_parser = non_zero::<NonZeroU32>())]
    pub http_rate: NonZeroU32,
    /// Seconds a connection has to deliver a complete request head.
    #[arg(long, env = "TETHER_HTTP_HEADER_TIMEOUT_S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout_s: u64,
    /// Seconds a kept-alive HTTP connection may wait for its next request.
    #[arg(long, env = "TETHER_HTTP_IDLE_TIMEOUT_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_idle_timeout_s: u64,
    /// Seconds a request body has to arrive completely.
    #[arg(long, env = "TETHER_HTTP_BODY_TIMEOUT_S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_body_timeout_s: u64,
    /// Open connections (HTTP and WebSocket) at most; more wait in the listen backlog.
    /// Unset: the open-file limit (raised to the hard limit at start) less
    /// [`FD_RESERVE`]; see [`Config::connection_cap`].
    #[arg(long, env = "TETHER_HTTP_MAX_CONNECTIONS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_max_connections: Option<u64>,
}

impl Config {
    /// Defaults with the environment applied.
    pub fn from_env() -> Self {
        Self::parse_from(["tether-ws-edge"])
    }

    /// The connection cap for a process whose open-file limit is `fd_limit`: the setting,
    /// or the limit less [`FD_RESERVE`] when unset or larger (with the reason, to log).
    pub fn connection_cap(&self, fd_limit: u64) -> (u64, Option<String>) {
        let fits = fd_limit.saturating_sub(FD_RESERVE).max(1);
        match self.http_max_connections {
            None => (fits, None),
            Some(set) if set <= fits => (set, None),
            Some(set) => (
                fits,
                Some(format!(
                    "TETHER_HTTP_MAX_CONNECTIONS={set} is above the open-file limit {fd_limit} \
                     less {FD_RESERVE}; using {fits}"
                )),
            ),
        }
    }

    /// Refuses a secret anyone could guess while the edge is reachable from elsewhere:
    /// an empty secret always; the development default or one shorter than
    /// [`MIN_JWT_SECRET_BYTES`] unless `http_addr` is a loopback address.
    pub fn check_secret(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.jwt_secret.is_empty(),
            "TETHER_JWT_SECRET is empty; set it to a random secret of at least \
             {MIN_JWT_SECRET_BYTES} bytes (e.g. `head -c 32 /dev/urandom | base64`)"
        );
        if self.http_addr.ip().is_loopback() {
            return Ok(());
        }
        anyhow::ensure!(
            self.jwt_secret != DEV_JWT_SECRET,
            "TETHER_JWT_SECRET is the public development default, which lets anyone mint \
             tokens; it is accepted only when TETHER_HTTP_ADDR is a loopback address (it is \
             {}). Set a random secret of at least {MIN_JWT_SECRET_BYTES} bytes \
             (e.g. `head -c 32 /dev/urandom | base64`)",
            self.http_addr
        );
        anyhow::ensure!(
            self.jwt_secret.len() >= MIN_JWT_SECRET_BYTES,
            "TETHER_JWT_SECRET is {} bytes; at least {MIN_JWT_SECRET_BYTES} are required when \
             TETHER_HTTP_ADDR is not a loopback address (it is {}). Use e.g. \
             `head -c 32 /dev/urandom | base64`",
            self.jwt_secret.len(),
            self.http_addr
        );
        Ok(())
    }

    /// [`Config::http_header_timeout_s`] as a duration.
    pub fn http_header_timeout(&self) -> Duration {
        Duration::from_secs(self.http_header_timeout_s)
    }

    /// [`Config::ws_queue_max_ms`] as a duration.
    pub fn ws_queue_max(&self) -> Duration {
        Duration::from_millis(self.ws_queue_max_ms)
    }

    /// [`Config::http_idle_timeout_s`] as a duration.
    pub fn http_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.http_idle_timeout_s)
    }

    /// [`Config::http_body_timeout_s`] as a duration.
    pub fn http_body_timeout(&self) -> Duration {
        Duration::from_secs(self.http_body_timeout_s)
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Spelled out so that the secret can never slip into a `{:?}`.
        let Self {
            common,
            http_addr,
            jwt_secret: _,
            jwt_audience,
            jwt_issuer,
            allowed_origins,
            ws_rate,
            ws_burst,
            ws_rate_strikes,
            ws_user_rate,
            ws_max_sockets_per_user,
            ws_idle_timeout_s,
            ws_outbound_queue,
            ws_queue_max_ms,
            request_timeout_ms,
            http_rate,
            http_header_timeout_s,
            http_idle_timeout_s,
            http_body_timeout_s,
            http_max_connections,
        } = self;
        f.debug_struct("Config")
            .field("common", common)
            .field("http_addr", http_addr)
            .field("jwt_secret", &"<redacted>")
            .field("jwt_audience", jwt_audience)
            .field("jwt_issuer", jwt_issuer)
            .field("allowed_origins", allowed_origins)
            .field("ws_rate", ws_rate)
            .field("ws_burst", ws_burst)
            .field("ws_rate_strikes", ws_rate_strikes)
            .field("ws_user_rate", ws_user_rate)
            .field("ws_max_sockets_per_user", ws_max_sockets_per_user)
            .field("ws_idle_timeout_s", ws_idle_timeout_s)
            .field("ws_outbound_queue", ws_outbound_queue)
            .field("ws_queue_max_ms", ws_queue_max_ms)
            .field("request_timeout_ms", request_timeout_ms)
            .field("http_rate", http_rate)
            .field("http_header_timeout_s", http_header_timeout_s)
            .field("http_idle_timeout_s", http_idle_timeout_s)
            .field("http_body_timeout_s", http_body_timeout_s)
            .field("http_max_connections", http_max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(addr: &str, secret: &str) -> Config {
        let mut config = Config::parse_from(["tether-ws-edge"]);
        config.http_addr = addr.parse().expect("addr");
        config.jwt_secret = secret.to_string();
        config
    }

    #[test]
    fn connection_cap_fits_the_file_limit() {
        let mut config = Config::parse_from(["tether-ws-edge"]);
        assert_eq!(config.connection_cap(20_000), (19_744, None));
        assert_eq!(config.connection_cap(100), (1, None));
        config.http_max_connections = Some(5_000);
        assert_eq!(config.connection_cap(20_000), (5_000, None));
        let (cap, reason) = config.connection_cap(1_024);
        assert_eq!(cap, 768);
        assert!(reason.expect("lowered").contains("5000"));
    }

    #[test]
    fn secret_rules() {
        let long = "k".repeat(MIN_JWT_SECRET_BYTES);
        assert!(
            config("127.0.0.1:8080", DEV_JWT_SECRET)
                .check_secret()
                .is_ok()
        );
        assert!(config("[::1]:8080", "short").check_secret().is_ok());
        assert!(config("127.0.0.1:8080", "").check_secret().is_err());
        assert!(config("0.0.0.0:8080", "").check_secret().is_err());
        assert!(
            config("0.0.0.0:8080", DEV_JWT_SECRET)
                .check_secret()
                .is_err()
        );
        assert!(config("10.0.0.5:8080", &long[1..]).check_secret().is_err());
        assert!(config("0.0.0.0:8080", &long).check_secret().is_ok());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!(
            "{:?}",
            config("0.0.0.0:8080", "super-secret-value-0123456789abcdef")
        );
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
