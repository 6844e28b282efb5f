//! Tether ws-edge: the WebSocket endpoints and the HTTP API.
//!
//! The edge authenticates (JWT), enforces the limits of the contract (64 KiB frames,
//! per-socket rate limit, idle timeout, Origin allowlist, token expiry), answers `ping`
//! itself, and relays every other client message to its owning service over NATS
//! request/reply. Each socket handles one command at a time, so the answers come back in
//! the order of the commands. What services publish for a user arrives on the user's own
//! outbound subject ([`hub`]) and is written to every socket of that user and role.
//!
//! The web console's static files are served at `/console/` ([`console`]).
//!
//! HTTP is served by [`server`] (header, idle and body timeouts, a connection cap; the
//! settings are listed in [`config`]).

pub mod api;
pub mod auth;
pub mod config;
pub mod console;
pub mod head;
pub mod hub;
pub mod relay;
pub mod server;
pub mod state;
pub mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
pub use config::Config;
use futures::StreamExt;
use tether_proto::errors::{BODY_TIMEOUT, NOT_FOUND};
use tether_proto::{ErrorCode, WireError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::EdgeState;

/// How long shutdown waits for sockets to close before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long shutdown waits for the background tasks once the sockets are closed.
const TASKS_GRACE: Duration = Duration::from_secs(5);

/// How often the HTTP rate limiter forgets users it has not seen lately.
const LIMITER_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// A bound ws-edge, ready to run. (`Debug` shows no secret: see [`Config`].)
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    config: Config,
    client: async_nats::Client,
    nats_gaps: tokio::sync::watch::Receiver<u64>,
    _announcement: tether_platform::nats::Announcement,
}

impl App {
    /// Connects to NATS and binds the HTTP listener. Refuses a guessable JWT secret on
    /// an address other than loopback ([`Config::check_secret`]).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            tether_proto::subjects::is_valid_prefix(&config.common.subject_prefix),
            "TETHER_SUBJECT_PREFIX must be dot-separated tokens of letters, digits, - and _"
        );
        config.check_secret()?;
        if config.jwt_secret == config::DEV_JWT_SECRET
            || config.jwt_secret.len() < config::MIN_JWT_SECRET_BYTES
        {
            tracing::warn!(
                "TETHER_JWT_SECRET is the development default or short; accepted only because \
                 the edge listens on loopback"
            );
        }
        // Install the recorder before anything is counted (else early counts are lost).
        tether_platform::telemetry::metrics_handle();
        let (client, nats_gaps) =
            tether_platform::nats::connect_observed(&config.common.nats_url, "tether-ws-edge")
                .await?;
        let listener = TcpListener::bind(config.http_addr).await?;
        let announcement =
            tether_platform::nats::announce(&client, "ws-edge", &config.common.subject_prefix)
                .await?;
        Ok(Self {
            listener,
            config,
            client,
            nats_gaps,
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
        let limits = server::Limits {
            header_timeout: self.config.http_header_timeout(),
            idle_timeout: self.config.http_idle_timeout(),
            max_connections: usize::try_from(connection_cap(&self.config)).unwrap_or(usize::MAX),
        };
        let state = EdgeState::new(
            self.config,
            self.client.clone(),
            self.nats_gaps,
            shutdown.clone(),
        );
        let app = router(state.clone());
        let pruned = state.clone();
        state.tasks.spawn(|stop| prune_limiters(pruned, stop));
        server::serve(self.listener, app, limits, shutdown.clone()).await;
        // In order: the sockets close (their last transitions are queued), the background
        // tasks stop (presence publishes those transitions first), NATS gets it all.
        state.sockets.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        state.tasks.stop("ws-edge", TASKS_GRACE).await;
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
        .merge(api::router().layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_deadline,
        )))
        .merge(console::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|| async { tether_platform::telemetry::metrics_handle().render() }),
        )
        .fallback(|| async { http_error(StatusCode::NOT_FOUND, ErrorCode::NotFound, NOT_FOUND) })
        .with_state(state)
}

async fn readyz(axum::extract::State(state): axum::extract::State<Arc<EdgeState>>) -> Response {
    if tether_platform::nats::is_connected(&state.client) && !state.shutdown.is_cancelled() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// Forgets, now and then, the users the HTTP rate limiter has not seen lately, so its
/// map does not grow with every user ever seen.
async fn prune_limiters(state: Arc<EdgeState>, stop: CancellationToken) {
    let mut every = tokio::time::interval(LIMITER_PRUNE_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => state.prune_limiters(),
        }
    }
}

/// `TETHER_HTTP_BODY_TIMEOUT_S`: a request body must arrive completely within the timeout
/// after the handler starts reading it; else 408 and the connection is closed.
async fn body_deadline(
    State(state): State<Arc<EdgeState>>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let timeout = state.config.http_body_timeout();
    let expired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let mut data = body.into_data_stream();
    let mut deadline = Box::pin(tokio::time::sleep(timeout));
    let flag = expired.clone();
    let timed = futures::stream::poll_fn(move |cx| match data.poll_next_unpin(cx) {
        std::task::Poll::Pending => match deadline.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
                std::task::Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "request body not received in time",
                ))))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        },
        ready => ready.map(|item| item.map(|chunk| chunk.map_err(std::io::Error::other))),
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(timed)))
        .await;
    if expired.load(std::sync::atomic::Ordering::Relaxed) {
        let mut response = http_error(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::InvalidJson,
            BODY_TIMEOUT,
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    response
}

/// The error body of the contract: `{"error": "...", "code": "..."}`.
pub fn http_error(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (status, axum::Json(WireError::new(code, message).body())).into_response()
}

/// Raises the open-file limit to the hard limit (each socket is a descriptor: G1 wants
/// 19,000 on one edge) and returns the connection cap that fits under it.
fn connection_cap(config: &Config) -> u64 {
    let fd_limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(err) => {
            tracing::warn!(error = %err, "could not read or raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    };
    let (cap, lowered) = config.connection_cap(fd_limit);
    if let Some(reason) = lowered {
        tracing::warn!("{reason}");
    }
    tracing::info!(fd_limit, max_connections = cap, "connection cap");
    cap
}
