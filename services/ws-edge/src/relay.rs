//! Sending client commands and HTTP requests to the owning service over NATS
//! request/reply, and turning "nobody answered" into `unavailable`.

use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap, RequestErrorKind};
use bytes::Bytes;
use tether_platform::metrics_catalog::names;
use tether_proto::envelope::{CommandMeta, Deadline, HEADER_CLOSE, HEADER_DEADLINE};
use tracing::Instrument as _;

/// A service's answer to a command: the frame for the sending socket and an optional
/// close code.
#[derive(Debug, Clone, Default)]
pub struct CommandAnswer {
    /// JSON text for the sender (empty: nothing to send).
    pub payload: Bytes,
    /// Close the sender's socket after writing.
    pub close: Option<u16>,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayError {
    /// No instance of the service is subscribed, or none answered in time, or NATS is down.
    Unavailable,
}

/// Sends a client's command (its frame as it arrived, the sender in headers) to the
/// owning service's `subject` and waits up to `timeout` for the answer.
pub async fn command(
    client: &Client,
    subject: String,
    meta: &CommandMeta,
    frame: Bytes,
    timeout: Duration,
    kind: &'static str,
) -> Result<CommandAnswer, RelayError> {
    let headers = tether_platform::serve::command_headers(meta);
    request(client, subject, Some(headers), frame, timeout, kind).await
}

/// Sends `payload` to `subject` and waits up to `timeout` for the answer. The request
/// carries its deadline ([`HEADER_DEADLINE`]): past it the service does no work for it,
/// since the client has been told `unavailable`.
pub async fn request(
    client: &Client,
    subject: String,
    headers: Option<HeaderMap>,
    payload: Bytes,
    timeout: Duration,
    kind: &'static str,
) -> Result<CommandAnswer, RelayError> {
    let started = Instant::now();
    // The root of a trace: the service's span continues it from the headers.
    let span = tracing::info_span!(
        target: tether_platform::trace::TARGET,
        "relay",
        otel.name = %format_args!("ws-edge {kind}"),
        otel.kind = "client",
        messaging.system = "nats",
        kind,
    );
    let mut headers = headers.unwrap_or_default();
    headers.insert(
        HEADER_DEADLINE,
        Deadline::after(timeout).header_value().as_str(),
    );
    tether_platform::trace::inject(&span, &mut headers);
    let sent = client.request_with_headers(subject, headers, payload);
    let result = tokio::time::timeout(timeout, sent).instrument(span).await;
    metrics::histogram!(names::EDGE_RELAY_SECONDS, "kind" => kind)
        .record(started.elapsed().as_secs_f64());
    let message = match result {
        Ok(Ok(message)) => message,
        Ok(Err(err)) => {
            let reason = match err.kind() {
                RequestErrorKind::NoResponders => "no_responders",
                RequestErrorKind::TimedOut => "timed_out",
                _ => "other",
            };
            tracing::warn!(kind, reason, "service request failed");
            metrics::counter!(names::EDGE_UNAVAILABLE_TOTAL, "kind" => kind, "reason" => reason)
                .increment(1);
            return Err(RelayError::Unavailable);
        }
        Err(_) => {
            tracing::warn!(kind, reason = "timed_out", "service request failed");
            metrics::counter!(names::EDGE_UNAVAILABLE_TOTAL, "kind" => kind, "reason" => "timed_out").increment(1);
            return Err(RelayError::Unavailable);
        }
    };
    let close = message
        .headers
        .as_ref()
        .and_then(|headers| headers.get(HEADER_CLOSE))
        .and_then(|value| value.as_str().parse::<u16>().ok());
    Ok(CommandAnswer {
        payload: message.payload,
        close,
    })
}
