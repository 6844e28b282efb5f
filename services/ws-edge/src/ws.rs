//! The WebSocket endpoints: upgrade (auth, Origin), then one task per socket that reads
//! client frames, relays commands (one at a time, so answers keep the order of the
//! commands), and writes what the hub routes to it.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tether_platform::metrics_catalog::names;
use tether_proto::commands::{EdgeCommand, Routed, not_routed};
use tether_proto::envelope::{CommandMeta, ConnectedEvent, ConnectionClosed, close_code};
use tether_proto::errors::{
    BINARY_FRAME, INVALID_TOKEN, MESSAGE_NOT_JSON, MESSAGE_NOT_OBJECT, MESSAGE_TYPE_REQUIRED,
    NOT_A_WEBSOCKET_UPGRADE, ORIGIN_NOT_ALLOWED, RATE_LIMITED, SHUTTING_DOWN, TOO_MANY_SOCKETS,
    request_id_invalid, unknown_type_for_endpoint,
};
use tether_proto::limits::{MAX_REQUEST_ID_CHARS, MAX_WS_MESSAGE_BYTES};
use tether_proto::messages::Owner;
use tether_proto::{ClientMessage, ErrorCode, Role, ServerMessage, Timestamp, WireError};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::head::{self, HeadError};
use crate::http_error;
use crate::hub::{Outbound, RegisterError};
use crate::relay::{self, CommandAnswer, RelayError};
use crate::state::EdgeState;

/// Read buffer per socket. tungstenite's default (128 KiB) would cost more than the
/// whole per-socket budget of docs/targets.md G2; frames larger than this are read in chunks.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Frames queued together go out with one flush (see [`Connection::write_burst`]); past this
/// many bytes the buffer is written out early, so keep it small.
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// Most queued frames one burst writes before flushing (bounds a burst's latency).
const BURST_MAX: usize = 32;
/// A write that cannot complete in this time means the peer stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Frames read ahead of the command in flight, waiting for their turn (each already
/// passed the rate limits). Past this the socket is not read: TCP pushes back.
const READ_AHEAD: usize = 16;

/// What an upgrade request carries, extracted as the endpoints always did: state,
/// headers, query, then the upgrade (its rejection answered by [`upgrade_for`]).
pub struct UpgradeRequest {
    state: Arc<EdgeState>,
    headers: HeaderMap,
    query: HashMap<String, String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
}

impl FromRequestParts<Arc<EdgeState>> for UpgradeRequest {
    type Rejection = QueryRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<EdgeState>,
    ) -> Result<Self, Self::Rejection> {
        let headers = parts.headers.clone();
        let Query(query) = Query::from_request_parts(parts, state).await?;
        let upgrade = WebSocketUpgrade::from_request_parts(parts, state).await;
        Ok(Self {
            state: Arc::clone(state),
            headers,
            query,
            upgrade,
        })
    }
}

/// `GET /ws/work/seeker/`
pub async fn seeker(request: UpgradeRequest) -> Response {
    upgrade_for(Role::Seeker, request)
}

/// `GET /ws/work/provider/`
pub async fn provider(request: UpgradeRequest) -> Response {
    upgrade_for(Role::Provider, request)
}

fn upgrade_for(role: Role, request: UpgradeRequest) -> Response {
    let UpgradeRequest {
        state,
        headers,
        query,
        upgrade,
    } = request;
    let Some(user) = state.auth.authenticate(&headers, &query) else {
        metrics::counter!(names::WS_REJECTED_TOTAL, "reason" => "unauthorized").increment(1);
        return http_error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            INVALID_TOKEN,
        );
    };
    if !origin_allowed(&state.config.allowed_origins, &headers) {
        metrics::counter!(names::WS_REJECTED_TOTAL, "reason" => "origin").increment(1);
        return http_error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            ORIGIN_NOT_ALLOWED,
        );
    }
    let Ok(upgrade) = upgrade else {
        return http_error(
            StatusCode::BAD_REQUEST,
            ErrorCode::Validation,
            NOT_A_WEBSOCKET_UPGRADE,
        );
    };
    if state.shutdown.is_cancelled() {
        return http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            SHUTTING_DOWN,
        );
    }
    if state.hub.sockets_of(role, user.user_id) >= state.config.ws_max_sockets_per_user {
        metrics::counter!(names::WS_REJECTED_TOTAL, "reason" => "too_many_sockets").increment(1);
        return http_error(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            TOO_MANY_SOCKETS,
        );
    }
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WS_MESSAGE_BYTES * 4)
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .max_frame_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            let tracker = state.sockets.clone();
            tracker.track_future(async move { Connection::run(state, socket, user, role).await })
        })
        .into_response()
}

/// Requests without `Origin` (native apps) pass; with one, it must be allowed or be the
/// edge's own origin.
fn origin_allowed(allowed: &[String], headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| !a.is_empty() && a == origin) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

type InFlight =
    Pin<Box<dyn Future<Output = (Option<String>, Result<CommandAnswer, RelayError>)> + Send>>;

/// Why the socket loop ended.
enum End {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone; nothing to send.
    Gone,
}

struct Connection {
    state: Arc<EdgeState>,
    socket: WebSocket,
    user: AuthUser,
    role: Role,
    conn_id: Uuid,
    limiter: DefaultDirectRateLimiter,
    strikes: DefaultDirectRateLimiter,
}

impl Connection {
    async fn run(state: Arc<EdgeState>, socket: WebSocket, user: AuthUser, role: Role) {
        let conn_id = Uuid::new_v4();
        let config = &state.config;
        let (sender, receiver) = mpsc::channel(config.ws_outbound_queue.get());
        let mut connection = Connection {
            state: state.clone(),
            socket,
            user,
            role,
            conn_id,
            limiter: RateLimiter::direct(
                Quota::per_second(config.ws_rate).allow_burst(config.ws_burst),
            ),
            // Refilled at one per second.
            strikes: RateLimiter::direct(
                Quota::per_second(NonZeroU32::MIN).allow_burst(config.ws_rate_strikes),
            ),
        };
        let registration = match state
            .hub
            .register(
                role,
                connection.user.user_id,
                conn_id,
                sender,
                state.config.ws_max_sockets_per_user,
            )
            .await
        {
            Ok(registration) => registration,
            Err(RegisterError::TooManySockets) => {
                // Two upgrades raced past the check in `upgrade_for`.
                connection.close(close_code::POLICY, TOO_MANY_SOCKETS).await;
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, "could not register socket for its outbound subject");
                connection.close(1011, "Server error").await;
                return;
            }
        };
        let connected = ConnectedEvent {
            user_id: connection.user.user_id,
            role,
            conn_id,
            token_name: connection.user.token_name.clone(),
            presence: Some(registration.presence()),
        };
        if let Ok(payload) = serde_json::to_vec(&connected) {
            let _ = state
                .client
                .publish(state.subjects.connected(), payload.into())
                .await;
        }
        let gauge = metrics::gauge!(names::WS_CONNECTIONS, "role" => role.as_str());
        gauge.increment(1.0);
        tracing::debug!(role = role.as_str(), conn = %conn_id, "socket open");

        let end = connection.serve(receiver).await;
        drop(registration);
        // Work queued for this connection alone (re-sends on connect) is skipped now.
        if let Ok(payload) = serde_json::to_vec(&ConnectionClosed { conn_id }) {
            let _ = state
                .client
                .publish(state.subjects.closed(), payload.into())
                .await;
        }
        if let End::Close(code, reason) = end {
            connection.close(code, reason).await;
        }
        gauge.decrement(1.0);
        tracing::debug!(role = role.as_str(), conn = %conn_id, "socket closed");
    }

    async fn serve(&mut self, mut outbound: mpsc::Receiver<Outbound>) -> End {
        let idle_timeout = Duration::from_secs(self.state.config.ws_idle_timeout_s.get());
        let idle = sleep(idle_timeout);
        tokio::pin!(idle);
        let expiry = sleep_until(instant_at_unix(self.user.valid_until));
        tokio::pin!(expiry);
        let shutdown = self.state.shutdown.clone();
        let mut in_flight: Option<InFlight> = None;
        // A socket's commands are relayed one at a time, in order. Frames that arrive
        // meanwhile are read and wait here; a command that finds the oldest of them
        // waiting longer than `TETHER_WS_QUEUE_MAX_MS` is refused at once (`unavailable`,
        // with a retry hint) instead of queueing behind a service that cannot keep up.
        let mut queued: VecDeque<(Instant, Step)> = VecDeque::new();
        let max_wait = self.state.config.ws_queue_max();
        // A close or the end of the stream was read: nothing more to read.
        let mut read_done = false;
        // A close that arrived while a command was in flight: the command's answer is
        // written first (the contract's "answers before close").
        let mut pending_close: Option<u16> = None;

        loop {
            // A close arrived for this socket: frames the client sent before it are
            // answered first (a loser of a race gets its `conflict`), then it closes.
            if in_flight.is_none()
                && let Some((_, step)) = queued.pop_front()
            {
                if let Some(end) = self.apply(step, &mut in_flight).await {
                    return end;
                }
                continue;
            }
            if let Some(code) = pending_close
                && in_flight.is_none()
            {
                let Some(Some(Ok(frame))) = self.socket.recv().now_or_never() else {
                    return End::Close(code, "");
                };
                let step = self.on_frame(frame);
                if let Some(end) = self.apply(step, &mut in_flight).await {
                    return end;
                }
                continue;
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return End::Close(close_code::GOING_AWAY, "Server shutting down"),
                _ = &mut expiry => return End::Close(close_code::TOKEN_EXPIRED, "Token expired"),
                (request_id, answer) = async { in_flight.as_mut().expect("guarded").await }, if in_flight.is_some() => {
                    in_flight = None;
                    let answer = answer.unwrap_or_else(|RelayError::Unavailable| {
                        CommandAnswer { payload: error_json(&WireError::unavailable(), request_id).into(), close: None }
                    });
                    if !answer.payload.is_empty() {
                        match Utf8Bytes::try_from(answer.payload) {
                            Ok(text) => {
                                if !self.write(text).await {
                                    return End::Gone;
                                }
                            }
                            Err(_) => tracing::warn!("service answered with non-UTF-8"),
                        }
                    }
                    if let Some(code) = answer.close {
                        return End::Close(code, "");
                    }
                }
                message = outbound.recv(), if pending_close.is_none() => {
                    let Some(message) = message else {
                        return End::Close(close_code::TRY_AGAIN_LATER, "Too slow to keep up");
                    };
                    match self.write_burst(message, &mut outbound).await {
                        Some(close) => pending_close = close,
                        None => return End::Gone,
                    }
                }
                _ = &mut idle => return End::Close(close_code::NORMAL, "Idle timeout"),
                frame = self.socket.recv(), if !read_done && queued.len() < READ_AHEAD && pending_close.is_none() => {
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                    let step = match frame {
                        None => Step::Gone,
                        Some(Err(err)) => Step::End(read_error_end(err)),
                        Some(Ok(frame)) => self.on_frame(frame),
                    };
                    read_done = matches!(step, Step::Gone | Step::End(_) | Step::Close(..));
                    if in_flight.is_none() && queued.is_empty() {
                        if let Some(end) = self.apply(step, &mut in_flight).await {
                            return end;
                        }
                    } else if let Step::Relay(request_id, _) = &step
                        && queued.front().is_some_and(|(at, _)| at.elapsed() > max_wait)
                    {
                        let refusal = self.reject(WireError::unavailable().retry_after(max_wait), request_id.clone());
                        if let Some(end) = self.apply(refusal, &mut in_flight).await {
                            return end;
                        }
                    } else {
                        queued.push_back((Instant::now(), step));
                    }
                }
            }
        }
    }

    /// What one client frame leads to.
    fn on_frame(&self, frame: Message) -> Step {
        match frame {
            Message::Text(text) => self.on_text(text),
            Message::Binary(_) => match self.check_rate() {
                Err(step) => step,
                Ok(()) => self.reject(WireError::new(ErrorCode::InvalidJson, BINARY_FRAME), None),
            },
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => Step::Nothing,
            // The library answers the close handshake; the socket is done.
            Message::Close(_) => Step::Gone,
        }
    }

    /// Carries out a [`Step`]; `Some` when the socket loop must end.
    async fn apply(&mut self, step: Step, in_flight: &mut Option<InFlight>) -> Option<End> {
        match step {
            Step::Reply(text) => (!self.write(text).await).then_some(End::Gone),
            Step::Relay(_, future) => {
                *in_flight = Some(future);
                None
            }
            Step::Close(code, reason) => Some(End::Close(code, reason)),
            Step::Nothing => None,
            Step::Gone => Some(End::Gone),
            Step::End(end) => Some(end),
        }
    }

    fn check_rate(&self) -> Result<(), Step> {
        let user_key = (self.role, self.user.user_id);
        if self.limiter.check().is_ok() && self.state.ws_user_limiter.check_key(&user_key).is_ok() {
            return Ok(());
        }
        metrics::counter!(names::WS_ERRORS_TOTAL, "code" => "rate_limited").increment(1);
        if self.strikes.check().is_err() {
            return Err(Step::Close(close_code::POLICY, "Rate limit exceeded"));
        }
        Err(Step::Reply(error_json(
            &WireError::new(ErrorCode::RateLimited, RATE_LIMITED),
            None,
        )))
    }

    /// Checks one client text frame's head and decides what to do with it. The edge reads
    /// only `type` and `request_id`; the owning service parses the rest of the client's
    /// bytes (and words every other `validation` answer).
    fn on_text(&self, text: Utf8Bytes) -> Step {
        if let Err(step) = self.check_rate() {
            return step;
        }
        let head = match head::read(&text) {
            Ok(head) => head,
            Err(HeadError::NotObject) => {
                return self.reject(
                    WireError::new(ErrorCode::InvalidJson, MESSAGE_NOT_OBJECT),
                    None,
                );
            }
            Err(HeadError::NotJson) => {
                return self.reject(
                    WireError::new(ErrorCode::InvalidJson, MESSAGE_NOT_JSON),
                    None,
                );
            }
        };
        let request_id = match head.request_id {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if id.chars().count() <= MAX_REQUEST_ID_CHARS => Some(id),
            Some(_) => {
                return self.reject(WireError::validation(request_id_invalid()), None);
            }
        };
        let Some(Value::String(sent_type)) = head.kind else {
            return self.reject(
                WireError::new(ErrorCode::UnknownType, MESSAGE_TYPE_REQUIRED),
                request_id,
            );
        };
        let route = ClientMessage::TYPES
            .into_iter()
            .find(|known| *known == sent_type)
            .and_then(|known| Some((known, ClientMessage::route(known, self.role)?)));
        let Some((type_name, owner)) = route else {
            let shown: String = sent_type.chars().take(64).collect();
            return self.reject(
                WireError::new(
                    ErrorCode::UnknownType,
                    unknown_type_for_endpoint(self.role.as_str(), &shown),
                ),
                request_id,
            );
        };
        metrics::counter!(names::WS_FRAMES_IN_TOTAL, "type" => type_name).increment(1);
        if owner == Owner::Edge {
            // `ping` is the edge's own: it answers the same refusals a service would.
            let command = match ClientMessage::from_frame(text.as_bytes()) {
                Ok(command) => command,
                Err(err) => return self.reject(err, request_id),
            };
            // Exhaustive, like every service's dispatcher.
            let answer = match command.routed() {
                Routed::Edge(EdgeCommand::Ping(_)) => ServerMessage::Pong {
                    timestamp: Timestamp::now(),
                },
                _ => return self.reject(not_routed(type_name), request_id),
            };
            return Step::Reply(frame_text(answer.frame(request_id).to_json()));
        }
        let meta = CommandMeta {
            user_id: self.user.user_id,
            role: self.role,
            conn_id: self.conn_id,
            request_id: request_id.clone(),
            received_at: Timestamp::now(),
        };
        let client = self.state.client.clone();
        let subject = self.state.subjects.command(owner, type_name);
        let timeout = self.state.request_timeout();
        Step::Relay(
            request_id.clone(),
            Box::pin(async move {
                let answer =
                    relay::command(&client, subject, &meta, text.into(), timeout, type_name).await;
                (request_id, answer)
            }),
        )
    }

    fn reject(&self, err: WireError, request_id: Option<String>) -> Step {
        metrics::counter!(names::WS_ERRORS_TOTAL, "code" => err.code.as_str()).increment(1);
        Step::Reply(error_json(&err, request_id))
    }

    /// Writes one text frame; false when the peer is gone or stopped reading.
    async fn write(&mut self, text: Utf8Bytes) -> bool {
        matches!(
            tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(counted_frame(text))).await,
            Ok(Ok(()))
        )
    }

    /// Writes `first` and what else is queued for this socket already (up to
    /// [`BURST_MAX`], stopping at a message that closes it) with one flush: a burst (a chat
    /// message and the receipts that follow it, a distance and its arrival and cadence)
    /// costs one write to the kernel instead of one per frame. Returns the close code the
    /// last message carried, if any; `None` when the peer is gone or stopped reading.
    async fn write_burst(
        &mut self,
        first: Outbound,
        outbound: &mut mpsc::Receiver<Outbound>,
    ) -> Option<Option<u16>> {
        use futures::SinkExt as _;
        let socket = &mut self.socket;
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            let mut next = Some(first);
            let mut close = None;
            let mut frames = 0;
            while let Some(message) = next.take() {
                if let Some(text) = message.text {
                    socket.feed(counted_frame(text)).await?;
                    frames += 1;
                }
                close = message.close;
                if close.is_none() && frames < BURST_MAX {
                    next = outbound.try_recv().ok();
                }
            }
            socket.flush().await.map(|()| close)
        })
        .await;
        match written {
            Ok(Ok(close)) => Some(close),
            _ => None,
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.socket.send(Message::Close(Some(frame))))
            .await;
        // Give the peer a moment to answer the close handshake, then drop the TCP stream.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
    }
}

/// What a client frame leads to.
enum Step {
    /// Write this to the sender now.
    Reply(Utf8Bytes),
    /// Wait for the owning service's answer (to the command with this `request_id`).
    Relay(Option<String>, InFlight),
    /// Close the socket.
    Close(u16, &'static str),
    /// Nothing to do (control frames).
    Nothing,
    /// The peer closed.
    Gone,
    /// The stream ended so (a read error).
    End(End),
}

fn read_error_end(err: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = err.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => {
            metrics::counter!(names::WS_ERRORS_TOTAL, "code" => "message_too_big").increment(1);
            End::Close(close_code::TOO_BIG, "Message too big")
        }
        Some(WsError::Utf8(_)) => End::Close(1007, "Invalid UTF-8"),
        Some(WsError::Protocol(_)) => End::Close(1002, "Protocol error"),
        _ => End::Gone,
    }
}

/// `text` as a frame to write, counted by its message type.
fn counted_frame(text: Utf8Bytes) -> Message {
    metrics::counter!(names::WS_FRAMES_OUT_TOTAL, "type" => ServerMessage::type_of_json(&text))
        .increment(1);
    Message::Text(text)
}

fn error_json(err: &WireError, request_id: Option<String>) -> Utf8Bytes {
    frame_text(ServerMessage::error(err).frame(request_id).to_json())
}

fn frame_text(json: Vec<u8>) -> Utf8Bytes {
    // serde_json output is always valid UTF-8.
    Utf8Bytes::try_from(json).unwrap_or_else(|_| Utf8Bytes::from_static("{}"))
}

/// A tokio instant for a Unix time in seconds (far future when unrepresentable).
fn instant_at_unix(unix_s: u64) -> Instant {
    let now_unix = chrono::Utc::now().timestamp().max(0) as u64;
    Instant::now() + Duration::from_secs(unix_s.saturating_sub(now_unix).min(10 * 365 * 24 * 3600))
}
