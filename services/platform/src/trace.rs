//! Traces across NATS: a W3C `traceparent` rides in the NATS headers of every hop (the
//! edge's request to a service, a service's message to a user's sockets), each process
//! records its spans, and they are exported over OTLP (HTTP, protobuf) to
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). The standard
//! `OTEL_*` variables tune the exporter and its batches (`OTEL_BSP_SCHEDULE_DELAY`, ...).
//!
//! Off by default, and then free: trace spans use their own target ([`TARGET`]) that no
//! other layer listens to, so an unexported span is a disabled callsite, and nothing is
//! injected into or read from headers.
//!
//! Privacy: a trace span carries only what the code puts in it (names, kinds, message
//! types, sizes, outcomes), never a payload; log events do not become span events (the
//! exporting layer sees [`TARGET`] only).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of every span meant for export (`tracing::info_span!(target: TARGET, ...)`).
pub const TARGET: &str = "tether_trace";

/// The settings that turn export on (the OpenTelemetry SDK's own names).
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The W3C header that carries a span's context.
const TRACEPARENT: &str = "traceparent";

/// Set once export is on: headers are read and written only then.
static ON: AtomicBool = AtomicBool::new(false);

/// The provider, kept for a final flush at exit.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether spans are exported.
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The exporter's provider for `service` (the `service.name` of its spans), when an OTLP
/// endpoint is set; `None` when export is off.
pub fn provider(service: &str) -> anyhow::Result<Option<SdkTracerProvider>> {
    let configured = ENDPOINT_VARS
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    if !configured {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service.to_string())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    Ok(Some(provider))
}

/// The layer that exports [`TARGET`] spans through `provider`; turns header propagation on.
pub fn layer<S>(provider: SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use tracing_subscriber::Layer as _;
    let tracer = provider.tracer("tether");
    let _ = PROVIDER.set(provider);
    ON.store(true, Ordering::Relaxed);
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_threads(false)
        .with_location(false)
        .with_filter(
            tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::TRACE),
        )
}

/// Exports what is still buffered; call once before the process exits.
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(err) = provider.shutdown()
    {
        tracing::warn!(error = %err, "flushing traces at exit failed");
    }
}

/// Writes `span`'s context into `headers` as `traceparent` (nothing when export is off
/// or the span is not exported).
pub fn inject(span: &Span, headers: &mut HeaderMap) {
    if !enabled() || span.is_disabled() {
        return;
    }
    let context = span.context();
    TraceContextPropagator::new().inject_context(&context, &mut NatsHeaders(headers));
}

/// [`inject`] with the current span.
pub fn inject_current(headers: &mut HeaderMap) {
    if enabled() {
        inject(&Span::current(), headers);
    }
}

/// Whether `headers` carry a trace to continue (and export is on).
pub fn carried(headers: Option<&HeaderMap>) -> bool {
    enabled() && headers.is_some_and(|headers| headers.get(TRACEPARENT).is_some())
}

/// Makes `span` a child of the trace `headers` carry, if any (a message from another
/// process).
pub fn continue_from(span: &Span, headers: Option<&HeaderMap>) {
    let Some(headers) = headers else { return };
    if !carried(Some(headers)) || span.is_disabled() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&NatsHeadersRead(headers));
    let _ = span.set_parent(parent);
}

/// Makes `span` the child of the first of `parents` (spans in this process, such as the
/// handlers whose requests one batch writes) and links it to the others.
pub fn join(span: &Span, parents: &[Span]) {
    if !enabled() || span.is_disabled() {
        return;
    }
    let mut exported = parents.iter().filter(|parent| !parent.is_disabled());
    if let Some(first) = exported.next() {
        let _ = span.set_parent(first.context());
    }
    for other in exported {
        use opentelemetry::trace::TraceContextExt as _;
        span.add_link(other.context().span().span_context().clone());
    }
}

/// The current span, to hand to another task ([`join`]); a disabled span when export is off.
pub fn current() -> Span {
    if enabled() {
        Span::current()
    } else {
        Span::none()
    }
}

struct NatsHeaders<'a>(&'a mut HeaderMap);

impl Injector for NatsHeaders<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct NatsHeadersRead<'a>(&'a HeaderMap);

impl Extractor for NatsHeadersRead<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}
