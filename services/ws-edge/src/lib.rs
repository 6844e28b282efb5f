//! Tether ws-edge: the WebSocket endpoints and the HTTP API.
//!
//! The edge authenticates (JWT), enforces the limits of the contract (64 KiB frames,
//! per-socket rate limit, idle timeout, Origin allowlist, token expiry), answers `ping`
//! itself, and relays every other client message to its owning service over NATS
//! request/reply. Each socket handles one command at a time, so the answers come back in
//! the order of the commands. What services publish for a user arrives on the user's own
//! outbound subject ([`hub`]) and is written to every socket of that user and role.

pub mod api;
pub mod auth;
pub mod config;
pub mod hub;
pub mod relay;
pub mod state;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
pub use config::Config;
use tether_proto::ErrorCode;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::EdgeState;

/// How long shutdown waits for sockets to close before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A bound ws-edge, ready to run.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    config: Config,
    client: async_nats::Client,
    _announcement: tether_platform::nats::Announcement,
}

impl App {
    /// Connects to NATS and binds the HTTP listener.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            tether_proto::subjects::is_valid_prefix(&config.common.subject_prefix),
            "TETHER_SUBJECT_PREFIX must be dot-separated tokens of letters, digits, - and _"
        );
        if config.jwt_secret == "tether-dev-secret-change-me" {
            tracing::warn!(
                "TETHER_JWT_SECRET is the development default; set a real secret in production"
            );
        }
        // Install the recorder before anything is counted (else early counts are lost).
        tether_platform::telemetry::metrics_handle();
        let client =
            tether_platform::nats::connect(&config.common.nats_url, "tether-ws-edge").await?;
        let listener = TcpListener::bind(config.http_addr).await?;
        let announcement =
            tether_platform::nats::announce(&client, "ws-edge", &config.common.subject_prefix)
                .await?;
        Ok(Self {
            listener,
            config,
            client,
            _announcement: announcement,
        })
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.http_addr)
    }

    /// Serves until `shutdown`: then stops accepting, closes every socket with 1001 and
    /// waits (bounded) for them.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let state = EdgeState::new(self.config, self.client.clone(), shutdown.clone());
        let app = router(state.clone());
        let server_shutdown = shutdown.clone();
        // Small frames must leave at once: without TCP_NODELAY, Nagle's algorithm holds a
        // chat message behind an unacknowledged previous write for up to ~40 ms.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "could not set TCP_NODELAY");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { server_shutdown.cancelled().await })
            .await?;
        state.sockets.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        let _ = self.client.flush().await;
        Ok(())
    }
}

/// The whole HTTP surface.
pub fn router(state: Arc<EdgeState>) -> Router {
    Router::new()
        .route("/ws/work/seeker/", get(ws::seeker))
        .route("/ws/work/seeker", get(ws::seeker))
        .route("/ws/work/provider/", get(ws::provider))
        .route("/ws/work/provider", get(ws::provider))
        .merge(api::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|| async { tether_platform::telemetry::metrics_handle().render() }),
        )
        .fallback(|| async { http_error(StatusCode::NOT_FOUND, ErrorCode::NotFound, "Not found") })
        .with_state(state)
}

async fn readyz(axum::extract::State(state): axum::extract::State<Arc<EdgeState>>) -> Response {
    if tether_platform::nats::is_connected(&state.client) && !state.shutdown.is_cancelled() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// The error body of the contract: `{"error": "...", "code": "..."}`.
pub fn http_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": message, "code": code})),
    )
        .into_response()
}
