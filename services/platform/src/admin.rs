//! The admin listener every service runs: `/healthz`, `/readyz`, `/metrics`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Answers whether the service's dependencies are reachable.
pub type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A readiness check for a service with NATS and PostgreSQL.
pub fn nats_and_db(client: async_nats::Client, pool: sqlx::PgPool) -> ReadinessCheck {
    Arc::new(move || {
        let client = client.clone();
        let pool = pool.clone();
        Box::pin(async move {
            crate::nats::is_connected(&client) && crate::db::is_reachable(&pool).await
        })
    })
}

/// `/healthz`, `/readyz` (503 until `ready` says yes) and `/metrics`, the latter also
/// reporting the PostgreSQL pool's use and the tables' dead rows when there is a pool
/// ([`crate::metrics_catalog::sample_pool`]).
pub fn router_with_pool(ready: ReadinessCheck, pool: Option<sqlx::PgPool>) -> Router {
    let metrics = move || {
        let pool = pool.clone();
        async move {
            if let Some(pool) = pool {
                crate::metrics_catalog::sample_pool(&pool).await;
            }
            crate::telemetry::metrics_handle().render()
        }
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ready)
}

async fn readyz(State(ready): State<ReadinessCheck>) -> (StatusCode, &'static str) {
    if ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// Serves the admin router until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
