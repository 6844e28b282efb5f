//! A WebSocket client as a mobile app would be, with strict expectations.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::timing::EVENTUALLY;

/// How long `recv` waits before failing the test: generous ([`EVENTUALLY`]), because a
/// busy machine may answer late; tests that prove nothing comes use `expect_silence`.
pub const RECV_TIMEOUT: Duration = EVENTUALLY;

/// An open WebSocket.
pub struct WsClient {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Every JSON message received so far (for schema validation and transcripts).
    pub received: Vec<Value>,
    /// When false (the default), v1.1 `peer_status` frames are set aside in `presence`
    /// instead of being returned, the way an app hands them to its own view: they come
    /// whenever the other party's sockets come and go, which most tests are not about.
    /// Presence tests set it to true.
    pub see_presence: bool,
    /// The `peer_status` frames set aside (not in `received`).
    pub presence: Vec<Value>,
    /// When false (the default), v1.2 `location_cadence` frames are set aside in
    /// `cadence` instead of being returned, the way an app hands them to its location
    /// scheduler: they come on activation, on connect and whenever a distance changes the
    /// band, which most tests are not about. Cadence tests set it to true.
    pub see_cadence: bool,
    /// The `location_cadence` frames set aside (not in `received`).
    pub cadence: Vec<Value>,
    /// Work orders this socket was assigned. A socket that opens just as an order is
    /// created may get its `work_assigned` twice (live, and again from the re-send on
    /// connect, which cannot tell a missed order from one sent a moment later); apps
    /// de-duplicate by `work_id`, and so does this client: repeats go to
    /// `repeated_assignments`, not to the test.
    assigned: std::collections::HashSet<i64>,
    /// Repeated `work_assigned` frames set aside.
    pub repeated_assignments: Vec<Value>,
}

/// What ended a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// A close frame with this code.
    Code(u16),
    /// The connection dropped without a close frame.
    Dropped,
}

impl WsClient {
    /// Connects to `url` with extra headers; `Err(status)` when the upgrade is refused.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<WsClient, u16> {
        let mut request = url.into_client_request().expect("ws request");
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient {
                stream,
                received: Vec::new(),
                see_presence: false,
                presence: Vec::new(),
                see_cadence: false,
                cadence: Vec::new(),
                assigned: Default::default(),
                repeated_assignments: Vec::new(),
            }),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("websocket connect failed: {other}"),
        }
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("ws send");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.stream
            .send(Message::binary(bytes))
            .await
            .expect("ws send binary");
    }

    /// The next frame, with `peer_status` frames set aside unless `see_presence` and
    /// `location_cadence` frames unless `see_cadence`.
    async fn next_frame(&mut self) -> Option<Result<Message, WsError>> {
        loop {
            let next = self.stream.next().await;
            if let Some(Ok(Message::Text(text))) = &next {
                if !self.see_presence
                    && text.starts_with(r#"{"type":"peer_status""#)
                    && let Ok(value) = serde_json::from_str::<Value>(text)
                {
                    self.presence.push(value);
                    continue;
                }
                if !self.see_cadence
                    && text.starts_with(r#"{"type":"location_cadence""#)
                    && let Ok(value) = serde_json::from_str::<Value>(text)
                {
                    self.cadence.push(value);
                    continue;
                }
                if text.starts_with(r#"{"type":"work_assigned""#)
                    && let Ok(value) = serde_json::from_str::<Value>(text)
                    && let Some(work_id) = value["work_id"].as_i64()
                    && !self.assigned.insert(work_id)
                {
                    self.repeated_assignments.push(value);
                    continue;
                }
            }
            return next;
        }
    }

    /// The next JSON message; fails the test on timeout, close or non-JSON.
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(RECV_TIMEOUT, self.next_frame())
                .await
                .expect("timed out waiting for a websocket message");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let value: Value =
                        serde_json::from_str(&text).expect("server sent invalid JSON");
                    self.received.push(value.clone());
                    return value;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(other)) => panic!("unexpected websocket message: {other:?}"),
                Some(Err(err)) => panic!("websocket error: {err}"),
                None => panic!("websocket closed while waiting for a message"),
            }
        }
    }

    /// The next message, which must have `type == expected`.
    pub async fn recv_type(&mut self, expected: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["type"], expected, "unexpected message: {message}");
        message
    }

    /// Sends `message` and returns the next message received.
    pub async fn request(&mut self, message: Value) -> Value {
        self.send(message).await;
        self.recv().await
    }

    /// Every JSON message that arrives within `wait` (none is fine); fails on close.
    pub async fn recv_for(&mut self, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut messages = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.next_frame()).await {
                Err(_) => return messages,
                Ok(Some(Ok(Message::Text(text)))) => {
                    let value: Value =
                        serde_json::from_str(&text).expect("server sent invalid JSON");
                    self.received.push(value.clone());
                    messages.push(value);
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected messages, got {other:?}"),
            }
        }
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        match tokio::time::timeout(wait, self.next_frame()).await {
            Err(_) => {}
            Ok(Some(Ok(Message::Text(text)))) => panic!("expected silence, got {text}"),
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }

    /// Waits for the socket to close; fails if a data message arrives first.
    pub async fn expect_close(&mut self) -> Closed {
        self.expect_close_within(RECV_TIMEOUT).await
    }

    /// Like [`WsClient::expect_close`], waiting up to `wait` for each frame.
    pub async fn expect_close_within(&mut self, wait: Duration) -> Closed {
        loop {
            let next = tokio::time::timeout(wait, self.next_frame())
                .await
                .expect("timed out waiting for close");
            match next {
                Some(Ok(Message::Close(frame))) => {
                    return Closed::Code(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Text(text))) => panic!("expected close, got {text}"),
                Some(Ok(other)) => panic!("expected close, got {other:?}"),
                Some(Err(_)) | None => return Closed::Dropped,
            }
        }
    }

    /// Reads messages until the socket closes; returns them and how it closed.
    pub async fn drain_until_close(&mut self) -> (Vec<Value>, Closed) {
        let mut messages = Vec::new();
        loop {
            let next = tokio::time::timeout(RECV_TIMEOUT, self.next_frame())
                .await
                .expect("timed out waiting for close");
            match next {
                Some(Ok(Message::Text(text))) => {
                    let value: Value =
                        serde_json::from_str(&text).expect("server sent invalid JSON");
                    self.received.push(value.clone());
                    messages.push(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    return (
                        messages,
                        Closed::Code(frame.map_or(1005, |f| u16::from(f.code))),
                    );
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return (messages, Closed::Dropped),
            }
        }
    }

    /// Closes the socket from the client side.
    pub async fn close(mut self) {
        let _ = self
            .stream
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
    }
}
