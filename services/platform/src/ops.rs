//! Operator requests over NATS (run a cleanup job now, run a distance tick now): any
//! payload, including an empty one, is accepted, the handler sees the subject (which
//! names what to run), and the answer is always a JSON object.
//!
//! [`crate::serve::serve_subscription`] cannot be used for these: it parses a typed body
//! and hides the subject, while `nats req <subject> ''` sends an empty body.

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::metrics_catalog::names;
use crate::serve::ServeSpec;

/// Serves operator requests on a subscription made earlier with
/// [`crate::serve::subscribe`] (so the service answers as soon as its `build` returns)
/// until `shutdown`, then waits for the ones in flight. `handler` gets the subject and the
/// raw payload and returns the JSON reply.
pub async fn serve_ops_subscription<F, Fut>(
    client: async_nats::Client,
    spec: ServeSpec,
    subscription: async_nats::Subscriber,
    shutdown: CancellationToken,
    handler: F,
) -> anyhow::Result<()>
where
    F: Fn(String, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = serde_json::Value> + Send + 'static,
{
    let handler = Arc::new(handler);
    let service = spec.service;
    let replies = client.clone();
    let refusals = client.clone();
    let refuse = move |message: async_nats::Message, after| {
        let client = refusals.clone();
        async move {
            if let Some(reply_to) = message.reply {
                let body = tether_proto::WireError::unavailable()
                    .retry_after(after)
                    .body();
                let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
                let _ = client.publish(reply_to, body).await;
            }
        }
    };
    crate::serve::serve_messages(
        client,
        spec,
        subscription,
        shutdown,
        refuse,
        move |message| {
            let handler = handler.clone();
            let client = replies.clone();
            async move {
                let answer = handler(message.subject.to_string(), message.payload).await;
                // One family for everything a service answers: operator requests are the
                // kind `ops`; an error body's code is the outcome, as for commands.
                let outcome = answer
                    .get("code")
                    .filter(|_| answer.get("error").is_some())
                    .and_then(|code| {
                        serde_json::from_value::<tether_proto::ErrorCode>(code.clone()).ok()
                    })
                    .map_or("ok", tether_proto::ErrorCode::as_str);
                metrics::counter!(names::REQUESTS_TOTAL, "service" => service, "kind" => "ops", "outcome" => outcome)
                    .increment(1);
                if let Some(reply_to) = message.reply {
                    let body = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
                    if let Err(err) = client.publish(reply_to, body).await {
                        tracing::warn!(service, error = %err, "ops reply publish failed");
                    }
                }
            }
        },
    )
    .await
}
