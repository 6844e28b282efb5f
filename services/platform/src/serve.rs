//! Serving requests and events from a NATS (queue) subscription: parse, handle with
//! bounded concurrency, reply, count. Every service's command, API and event loops run
//! through [`serve`], so shutdown, metrics and malformed input are handled once.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_nats::{Client, HeaderMap, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use tether_proto::api::{ApiReply, ApiRequest};
use tether_proto::envelope::{
    CommandEnvelope, CommandMeta, ConnectedEvent, Deadline, HEADER_DEADLINE,
};
use tether_proto::events::SessionEvent;
use tether_proto::{ServerMessage, WireError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::admission::{Admission, Admit};
use crate::metrics_catalog::names;
use crate::outbox::Reply;

/// A request type's metrics label.
pub trait Labelled {
    /// Short, fixed label (message type, API op, event kind).
    fn label(&self) -> &'static str;
    /// The one connection this work is for, when it is for nobody else (skipped once that
    /// connection closed).
    fn for_conn(&self) -> Option<uuid::Uuid> {
        None
    }
}

impl Labelled for CommandEnvelope {
    fn label(&self) -> &'static str {
        self.command.type_name()
    }
}

impl Labelled for ApiRequest {
    fn label(&self) -> &'static str {
        self.op.as_str()
    }
}

impl Labelled for SessionEvent {
    fn label(&self) -> &'static str {
        self.kind.as_str()
    }
}

impl Labelled for ConnectedEvent {
    fn label(&self) -> &'static str {
        "connected"
    }
    fn for_conn(&self) -> Option<uuid::Uuid> {
        Some(self.conn_id)
    }
}

impl Labelled for tether_proto::presence::PresenceEvent {
    fn label(&self) -> &'static str {
        if self.online { "online" } else { "offline" }
    }
}

impl Labelled for tether_proto::presence::EdgeBeat {
    fn label(&self) -> &'static str {
        "beat"
    }
}

/// How a request type is read from its NATS message.
pub trait Decode: Sized {
    /// The request, or why it cannot be served.
    fn decode(message: &async_nats::Message) -> Result<Self, Rejection>;
}

/// A message that could not be turned into a request.
#[derive(Debug)]
pub enum Rejection {
    /// Not what the sender (always one of ours) should send: a bug upstream, logged.
    Malformed(String),
    /// A client command the contract refuses; the sender gets `error`.
    Client {
        /// The sender.
        meta: CommandMeta,
        /// The answer.
        error: WireError,
    },
    /// Refused by admission control before its body was read: `unavailable` with a hint.
    Overloaded {
        /// The sender, when it is a command (from its headers).
        meta: Option<CommandMeta>,
        /// How long the sender should wait before trying again.
        after: std::time::Duration,
    },
}

/// Internal payloads are JSON written by our own services.
macro_rules! json_payload {
    ($($request:ty),+ $(,)?) => {$(
        impl Decode for $request {
            fn decode(message: &async_nats::Message) -> Result<Self, Rejection> {
                serde_json::from_slice(&message.payload)
                    .map_err(|err| Rejection::Malformed(err.to_string()))
            }
        }
    )+};
}

json_payload!(
    ApiRequest,
    SessionEvent,
    ConnectedEvent,
    tether_proto::presence::PresenceEvent,
    tether_proto::presence::EdgeBeat,
);

/// The NATS headers that carry a command's sender beside the client's frame (what
/// [`Decode for CommandEnvelope`](CommandEnvelope) reads back).
pub fn command_headers(meta: &CommandMeta) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in meta.headers() {
        headers.insert(name, value.as_str());
    }
    headers
}

/// The sender of a command, from its headers (see [`command_headers`]); `None` for other
/// messages or malformed headers.
fn sender_of(message: &async_nats::Message) -> Option<CommandMeta> {
    let headers = message.headers.as_ref();
    CommandMeta::from_headers(|name| {
        headers
            .and_then(|headers| headers.get(name))
            .map(|value| value.as_str())
    })
}

/// A command is the client's frame as it arrived, the sender in headers (see
/// [`command_headers`]); it is parsed here, once.
impl Decode for CommandEnvelope {
    fn decode(message: &async_nats::Message) -> Result<Self, Rejection> {
        let meta = sender_of(message)
            .ok_or_else(|| Rejection::Malformed("command without valid sender headers".into()))?;
        match tether_proto::ClientMessage::from_frame(&message.payload) {
            Ok(command) => Ok(Self { meta, command }),
            Err(error) => Err(Rejection::Client { meta, error }),
        }
    }
}

/// What a handler returns: how it is counted and what goes back to the requester.
pub trait Response: Send + 'static {
    /// `ok` or an error code, for metrics.
    fn outcome(&self) -> &'static str;
    /// The NATS reply, if any.
    fn into_nats(self) -> Option<(HeaderMap, Bytes)>;
    /// The answer to a request that could not be read.
    fn rejected(rejection: Rejection) -> Self;
}

impl Response for Reply {
    fn outcome(&self) -> &'static str {
        self.error_code().map_or("ok", |code| code.as_str())
    }
    fn into_nats(self) -> Option<(HeaderMap, Bytes)> {
        Some(Reply::into_nats(self))
    }
    fn rejected(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Client { meta, error } => Reply::error(&meta, &error),
            Rejection::Malformed(_) => Reply {
                frame: Some(ServerMessage::error(&WireError::internal()).frame(None)),
                close: None,
            },
            Rejection::Overloaded { meta, after } => {
                let error = WireError::unavailable().retry_after(after);
                match meta {
                    Some(meta) => Reply::error(&meta, &error),
                    None => Reply {
                        frame: Some(ServerMessage::error(&error).frame(None)),
                        close: None,
                    },
                }
            }
        }
    }
}

impl Response for ApiReply {
    fn outcome(&self) -> &'static str {
        if self.status < 400 {
            "ok"
        } else {
            self.body
                .get("code")
                .and_then(|c| c.as_str())
                .map_or("error", code_label)
        }
    }
    fn into_nats(self) -> Option<(HeaderMap, Bytes)> {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        Some((HeaderMap::new(), Bytes::from(body)))
    }
    fn rejected(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Overloaded { after, .. } => {
                ApiReply::error(&WireError::unavailable().retry_after(after))
            }
            _ => ApiReply::error(&WireError::internal()),
        }
    }
}

impl Response for () {
    fn outcome(&self) -> &'static str {
        "ok"
    }
    fn into_nats(self) -> Option<(HeaderMap, Bytes)> {
        None
    }
    fn rejected(_: Rejection) -> Self {}
}

/// Maps a code string back to a static label, so metric labels stay a fixed set.
fn code_label(code: &str) -> &'static str {
    serde_json::from_value::<tether_proto::ErrorCode>(serde_json::Value::from(code))
        .map_or("error", |code| code.as_str())
}

/// Where and how to serve.
#[derive(Debug, Clone)]
pub struct ServeSpec {
    /// Service name, for metrics and logs.
    pub service: &'static str,
    /// Subject (may end in `>`).
    pub subject: String,
    /// Queue group: one instance of the group gets each message. `None` for fan-out.
    pub queue: Option<String>,
    /// Requests handled at once by this instance.
    pub concurrency: std::num::NonZeroUsize,
    /// Requests that may wait for a slot beyond `concurrency` (see [`crate::admission`]).
    pub backlog: usize,
    /// The longest a request may wait for a slot before new ones are refused.
    pub max_wait: std::time::Duration,
    /// Connections known to be closed (work for them alone is skipped).
    pub closed: Option<Arc<crate::closed::ClosedConns>>,
}

/// Makes the (queue) subscription `spec` describes, without serving it yet. Subscribing in
/// `App::build` and flushing makes a service reachable as soon as `build` returns, so
/// nothing sent right after start-up meets "no responders".
pub async fn subscribe(client: &Client, spec: &ServeSpec) -> anyhow::Result<Subscriber> {
    let subscription = match &spec.queue {
        Some(queue) => {
            client
                .queue_subscribe(spec.subject.clone(), queue.clone())
                .await?
        }
        None => client.subscribe(spec.subject.clone()).await?,
    };
    Ok(subscription)
}

/// Waits until the NATS server has processed every subscription (and unsubscription) made
/// so far on `client`. `Client::flush` only writes the socket; a message to our own fresh
/// inbox comes back only after the server processed everything we sent before it.
pub async fn confirm_subscriptions(client: &Client) -> anyhow::Result<()> {
    let inbox = client.new_inbox();
    let mut echo = client.subscribe(inbox.clone()).await?;
    client.publish(inbox, Bytes::new()).await?;
    let echoed = tokio::time::timeout(std::time::Duration::from_secs(10), echo.next()).await;
    let _ = echo.unsubscribe().await;
    match echoed {
        Ok(Some(_)) => Ok(()),
        _ => anyhow::bail!("NATS did not confirm the subscriptions"),
    }
}

/// The longest a stopping serve loop waits for its subscription to drain.
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// [`serve`] on a subscription made earlier with [`subscribe`].
pub async fn serve_subscription<Req, Resp, F, Fut>(
    client: Client,
    spec: ServeSpec,
    subscription: Subscriber,
    shutdown: CancellationToken,
    handler: F,
) -> anyhow::Result<()>
where
    Req: Decode + Labelled + Send + 'static,
    Resp: Response,
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let handler = Arc::new(handler);
    let service = spec.service;
    let closed = spec.closed.clone();
    let replies = client.clone();
    let refusals = client.clone();
    let refuse = move |message: async_nats::Message, after| {
        let client = refusals.clone();
        async move {
            metrics::counter!(names::REQUESTS_REFUSED_TOTAL, "service" => service).increment(1);
            let meta = sender_of(&message);
            if let (Some(reply_to), Some((headers, body))) = (
                message.reply,
                Resp::rejected(Rejection::Overloaded { meta, after }).into_nats(),
            ) {
                let _ = client.publish_with_headers(reply_to, headers, body).await;
            }
        }
    };
    serve_messages(client, spec, subscription, shutdown, refuse, move |message| {
        let handler = handler.clone();
        let client = replies.clone();
        let closed = closed.clone();
        async move {
            let started = Instant::now();
            // Nobody waits for the answer any more: the edge told its client `unavailable`.
            if deadline_of(&message).is_some_and(|deadline| deadline.passed()) {
                metrics::counter!(names::WORK_DROPPED_TOTAL, "service" => service, "reason" => "deadline")
                    .increment(1);
                return;
            }
            let (label, response) = match Req::decode(&message) {
                Ok(request) => {
                    let label = request.label();
                    if let (Some(conn), Some(closed)) = (request.for_conn(), closed.as_ref())
                        && closed.contains(conn)
                    {
                        metrics::counter!(names::WORK_DROPPED_TOTAL, "service" => service, "reason" => "gone")
                            .increment(1);
                        return;
                    }
                    // One span per request, in the trace the sender's headers carry.
                    let span = tracing::info_span!(
                        target: crate::trace::TARGET,
                        "serve",
                        otel.name = %format_args!("{service} {label}"),
                        otel.kind = if message.reply.is_some() { "server" } else { "consumer" },
                        messaging.system = "nats",
                        service,
                        kind = label,
                    );
                    crate::trace::continue_from(&span, message.headers.as_ref());
                    (label, handler(request).instrument(span).await)
                }
                Err(Rejection::Malformed(error)) => {
                    tracing::warn!(service, subject = %message.subject, error, "malformed request");
                    ("malformed", Resp::rejected(Rejection::Malformed(error)))
                }
                Err(rejection) => ("invalid", Resp::rejected(rejection)),
            };
            let outcome = response.outcome();
            metrics::counter!(names::REQUESTS_TOTAL, "service" => service, "kind" => label, "outcome" => outcome)
                .increment(1);
            if let (Some(reply_to), Some((headers, body))) = (message.reply, response.into_nats())
                && let Err(err) = client.publish_with_headers(reply_to, headers, body).await
            {
                tracing::warn!(service, kind = label, error = %err, "reply publish failed");
            }
            metrics::histogram!(names::REQUEST_DURATION_SECONDS, "service" => service, "kind" => label)
                .record(started.elapsed().as_secs_f64());
        }
    })
    .await
}

/// The deadline the edge put on a request ([`HEADER_DEADLINE`]), if any.
pub fn deadline_of(message: &async_nats::Message) -> Option<Deadline> {
    let value = message.headers.as_ref()?.get(HEADER_DEADLINE)?;
    Deadline::parse(value.as_str())
}

/// The loop every serving function shares: hands each message to `handle` with at most
/// `spec.concurrency` at once. A request (a message with a reply subject) that finds every
/// slot taken waits in a bounded line, or is handed to `refuse` at once when the line is
/// full or too slow (see [`crate::admission`]); an event waits for a slot. On `shutdown` it
/// stops taking work, serves what was already delivered to this instance, waits for what
/// is in flight, and returns.
pub async fn serve_messages<F, Fut, R, RFut>(
    client: Client,
    spec: ServeSpec,
    mut subscription: Subscriber,
    shutdown: CancellationToken,
    refuse: R,
    handle: F,
) -> anyhow::Result<()>
where
    F: Fn(async_nats::Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
    R: Fn(async_nats::Message, std::time::Duration) -> RFut,
    RFut: Future<Output = ()> + Send + 'static,
{
    let admission = Arc::new(Admission::new(
        spec.service,
        spec.concurrency,
        spec.backlog,
        spec.max_wait,
    ));
    let tasks = TaskTracker::new();
    // Set once shutdown starts: how long the drain may take at most.
    let mut drain_deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled(), if drain_deadline.is_none() => {
                // Stop taking work, but still serve what was already delivered to this
                // instance and waits in the subscription's buffer: dropping it would leave
                // those requests to time out (`unavailable`). The stream ends once the
                // client has unsubscribed; the deadline covers a dead connection.
                if subscription.drain().await.is_err() {
                    break;
                }
                drain_deadline = Some(Box::pin(tokio::time::sleep(DRAIN_LIMIT)));
                continue;
            }
            _ = async { if let Some(deadline) = drain_deadline.as_mut() { deadline.await } }, if drain_deadline.is_some() => break,
            message = subscription.next() => message,
        };
        let Some(message) = message else { break };
        // A slot now, or none yet (the request waits in line inside its task).
        let permit = if message.reply.is_none() {
            let Some(permit) = admission.acquire().await else {
                break;
            };
            Some(permit)
        } else {
            match admission.admit() {
                Admit::Now(permit) => Some(permit),
                Admit::Wait => None,
                Admit::Refuse(after) => {
                    tasks.spawn(refuse(message, after));
                    continue;
                }
            }
        };
        let work = handle(message);
        let admission = admission.clone();
        tasks.spawn(async move {
            let permit = match permit {
                Some(permit) => permit,
                None => match admission.wait().await {
                    Some(permit) => permit,
                    None => return,
                },
            };
            work.await;
            drop(permit);
        });
    }
    // Stop taking work first, then finish what is in flight.
    let _ = subscription.unsubscribe().await;
    tasks.close();
    tasks.wait().await;
    let _ = client.flush().await;
    Ok(())
}

/// Waits for every serve loop of a service. Each loop returns once `shutdown` is
/// cancelled and its in-flight work is done; a loop that fails (or panics) cancels
/// `shutdown`, so the service stops as a whole instead of running half-alive, and the
/// first error is returned once every loop has stopped.
pub async fn join_loops(
    service: &'static str,
    mut loops: tokio::task::JoinSet<anyhow::Result<()>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    while let Some(joined) = loops.join_next().await {
        let failure = match joined {
            Ok(Ok(())) => continue,
            Ok(Err(err)) => err,
            Err(err) => anyhow::Error::new(err).context("serve loop panicked"),
        };
        tracing::error!(service, error = %failure, "serve loop failed; stopping the service");
        shutdown.cancel();
        if outcome.is_ok() {
            outcome = Err(failure);
        }
    }
    outcome
}
