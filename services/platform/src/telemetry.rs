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

/// Installs the global tracing subscriber once; later calls (tests) are no-ops. Logs:
/// the level comes from `RUST_LOG` (default `info,sqlx=warn`). Traces: exported as
/// `service` when an OTLP endpoint is set (see [`crate::trace`]); a bad exporter setting
/// is logged and leaves traces off rather than stopping the service.
pub fn init(format: LogFormat, service: &str) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info,sqlx=warn".to_string());
    // Trace spans are for the exporter only: in log lines they would only add noise.
    let filter = env_filter(&spec).add_directive(
        format!("{}=off", crate::trace::TARGET)
            .parse()
            .expect("a valid directive"),
    );
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_filter(filter).boxed(),
    };
    let (traces, trace_error) = match crate::trace::provider(service) {
        Ok(provider) => (provider.map(crate::trace::layer), None),
        Err(err) => (None, Some(err)),
    };
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init();
    if let Some(err) = trace_error {
        tracing::error!(error = %err, "the OTLP trace exporter could not start; traces are off");
    }
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
