//! Structured logs (tracing) and the Prometheus recorder.
//!
//! Nothing here logs payloads: phone numbers, chat text, tokens and coordinates stay out
//! of every log line and metric label by construction (handlers log ids and codes only).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Libraries that log message payloads at debug/trace level (NATS messages, WebSocket
/// frames). They are capped whatever `RUST_LOG` asks for, so no log level can leak chat
/// text, phone numbers, tokens or coordinates.
pub const PRIVACY_FLOOR: &[&str] = &[
    "async_nats=info",
    "tungstenite=info",
    "tokio_tungstenite=info",
];

/// The log filter: `spec` (the `RUST_LOG` syntax), with [`PRIVACY_FLOOR`] applied on top.
pub fn env_filter(spec: &str) -> EnvFilter {
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("info"));
    for directive in PRIVACY_FLOOR {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

/// Installs the global tracing subscriber once; later calls (tests) are no-ops.
/// The level comes from `RUST_LOG` (default `info,sqlx=warn`).
pub fn init_logging(format: LogFormat) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".to_string());
    let builder = tracing_subscriber::fmt().with_env_filter(env_filter(&spec));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1.0, 2.5,
                ])
                .map(|builder| builder.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            crate::metrics_catalog::describe(&recorder);
            let handle = recorder.handle();
            // Histogram samples wait in the recorder until they are folded into buckets;
            // without this they would pile up between scrapes (or forever, unscraped).
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
            // Another recorder may already be installed (tests that embed several
            // services): then this handle simply renders nothing of theirs.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
