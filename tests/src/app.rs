//! Simulated apps for fault tests: a party of a session that chats the way the mobile
//! apps do, and records everything into a [`Recorder`].
//!
//! - It sends its messages one at a time, each with a `client_message_id` (also its text),
//!   and moves on only after `message_sent`.
//! - On `unavailable` or `internal`, on no answer in time, or on a socket that closed, it
//!   retries the same `client_message_id` (after reconnecting, with backoff and jitter).
//! - It acknowledges each `chat_message` it receives with `message_delivered`, so re-sends
//!   on connect carry only what it has not acknowledged, and dedupes by `message_id`
//!   (the checker does that part when it rebuilds what is displayed).
//! - When every party has sent everything, it keeps reading until the line is quiet, then
//!   connects once more, as the app does when it next opens, and reads the re-sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::history::{Op, ReceivedMessage, Recorder};
use crate::{Role, ws_path};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How the simulated apps behave.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Messages each party sends.
    pub messages: usize,
    /// Pause after each acknowledged message.
    pub pace: Duration,
    /// How long an attempt waits for its answer before it is sent again (above the edge's
    /// request timeout, so the edge's `unavailable` normally comes first).
    pub answer_timeout: Duration,
    /// The longest pause between reconnects or retries (backoff doubles up to it).
    pub max_backoff: Duration,
    /// Quiet time after everyone finished sending before a party stops reading.
    pub settle: Duration,
    /// A party gives up after this long (its unsent messages count as unacknowledged).
    pub deadline: Duration,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            messages: 20,
            pace: Duration::from_millis(15),
            answer_timeout: Duration::from_secs(3),
            max_backoff: Duration::from_millis(800),
            settle: Duration::from_millis(500),
            deadline: Duration::from_secs(60),
        }
    }
}

/// One party of a session.
#[derive(Debug, Clone)]
pub struct Party {
    /// The session.
    pub session_id: Uuid,
    /// Its role.
    pub role: Role,
    /// Its token.
    pub token: String,
    /// `ws://host:port` of each edge; reconnects go round them (a load balancer).
    pub edges: Vec<String>,
}

/// Counts parties that have sent all their messages, so each knows when to stop reading.
#[derive(Debug, Default)]
pub struct Finished {
    done: AtomicUsize,
    parties: AtomicUsize,
}

impl Finished {
    /// For `parties` parties.
    pub fn new(parties: usize) -> Arc<Self> {
        Arc::new(Self {
            done: AtomicUsize::new(0),
            parties: AtomicUsize::new(parties),
        })
    }

    fn all(&self) -> bool {
        self.done.load(Ordering::SeqCst) >= self.parties.load(Ordering::SeqCst)
    }
}

/// Backoff with full jitter, as the apps do: 50 ms doubling up to `max`.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(50),
            max,
        }
    }

    async fn wait(&mut self) {
        let jitter = (Uuid::new_v4().as_u128() % 1000) as u32;
        tokio::time::sleep(self.next * jitter / 1000 + Duration::from_millis(10)).await;
        self.next = (self.next * 2).min(self.max);
    }

    fn reset(&mut self) {
        self.next = Duration::from_millis(50);
    }
}

/// Runs one party to the end: all messages acknowledged (or the deadline passed), every
/// party done, the line quiet, and one last connect read.
pub async fn run_party(
    party: Party,
    settings: AppSettings,
    recorder: Recorder,
    finished: Arc<Finished>,
) {
    let mut app = App {
        party,
        settings,
        recorder,
        conn: 0,
        done_counted: false,
    };
    app.chat(&finished).await;
    app.last_connect().await;
}

struct App {
    party: Party,
    settings: AppSettings,
    recorder: Recorder,
    conn: u32,
    /// Whether this party is counted in [`Finished`] yet.
    done_counted: bool,
}

/// Where the next message stands.
struct Outgoing {
    /// Index of the message being sent (== messages when done).
    next: usize,
    /// Whether the current message has an attempt on the wire.
    in_flight: bool,
    /// When the current attempt was sent, or when the next may go.
    since: Instant,
}

impl App {
    fn record(&self, op: Op) {
        self.recorder
            .record(self.party.session_id, self.party.role, op);
    }

    /// Counts this party as done sending (once).
    fn mark_done(&mut self, finished: &Finished) {
        if !self.done_counted {
            self.done_counted = true;
            finished.done.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn key(&self, n: usize) -> String {
        format!("{}-{n}", self.party.role.as_str())
    }

    async fn connect(&mut self) -> Option<Socket> {
        let edges = &self.party.edges;
        let edge = &edges[self.conn as usize % edges.len()];
        let url = format!(
            "{edge}{}?token={}",
            ws_path(self.party.role),
            self.party.token
        );
        let attempt = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(url),
        )
        .await;
        self.conn += 1;
        match attempt {
            Ok(Ok((socket, _))) => {
                self.record(Op::Connected { conn: self.conn });
                Some(socket)
            }
            _ => {
                self.record(Op::Disconnected { conn: 0 });
                None
            }
        }
    }

    async fn chat(&mut self, finished: &Finished) {
        let deadline = Instant::now() + self.settings.deadline;
        let mut backoff = Backoff::new(self.settings.max_backoff);
        let mut out = Outgoing {
            next: 0,
            in_flight: false,
            since: Instant::now(),
        };
        while Instant::now() < deadline {
            let Some(mut socket) = self.connect().await else {
                backoff.wait().await;
                continue;
            };
            // Whatever was on the wire on the old socket goes again on this one.
            out.in_flight = false;
            match self
                .converse(&mut socket, &mut out, &mut backoff, finished, deadline)
                .await
            {
                Conversation::Ended => {
                    self.mark_done(finished);
                    let _ = socket.close(None).await;
                    return;
                }
                Conversation::Lost => {
                    self.record(Op::Disconnected { conn: self.conn });
                    backoff.wait().await;
                }
            }
        }
        // Given up: let the others stop too.
        self.mark_done(finished);
    }

    /// Chats on one socket until it is lost or the party is done.
    async fn converse(
        &mut self,
        socket: &mut Socket,
        out: &mut Outgoing,
        backoff: &mut Backoff,
        finished: &Finished,
        deadline: Instant,
    ) -> Conversation {
        let total = self.settings.messages;
        let mut quiet_since = Instant::now();
        loop {
            if Instant::now() >= deadline {
                return Conversation::Ended;
            }
            if out.next < total && !out.in_flight && Instant::now() >= out.since {
                let key = self.key(out.next);
                let command = json!({
                    "type": "chat_message",
                    "session_id": self.party.session_id,
                    "message": key,
                    "client_message_id": key,
                    "request_id": format!("{key}#{}", Uuid::new_v4().simple()),
                });
                self.record(Op::Sent { key });
                if socket
                    .send(Message::text(command.to_string()))
                    .await
                    .is_err()
                {
                    return Conversation::Lost;
                }
                out.in_flight = true;
                out.since = Instant::now();
            }
            if out.next >= total {
                self.mark_done(finished);
            }
            let wake = if out.in_flight {
                out.since + self.settings.answer_timeout
            } else if out.next < total {
                out.since
            } else {
                if finished.all() && quiet_since.elapsed() >= self.settings.settle {
                    return Conversation::Ended;
                }
                Instant::now() + Duration::from_millis(50)
            };
            let frame = match tokio::time::timeout_at(wake, socket.next()).await {
                Err(_) => {
                    if out.in_flight && Instant::now() >= out.since + self.settings.answer_timeout {
                        self.record(Op::TimedOut {
                            key: self.key(out.next),
                        });
                        out.in_flight = false;
                    }
                    continue;
                }
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return Conversation::Lost,
                Ok(Some(Ok(_))) => continue,
            };
            quiet_since = Instant::now();
            let Ok(frame) = serde_json::from_str::<Value>(&frame) else {
                continue;
            };
            match frame["type"].as_str() {
                Some("chat_message") if !self.received(socket, &frame).await => {
                    return Conversation::Lost;
                }
                Some("message_sent") => {
                    let Some(key) = answered_key(&frame) else {
                        continue;
                    };
                    let (Some(message_id), Some(timestamp)) = (
                        frame["message_id"]
                            .as_str()
                            .and_then(|s| Uuid::parse_str(s).ok()),
                        frame["timestamp"]
                            .as_str()
                            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()),
                    ) else {
                        continue;
                    };
                    self.record(Op::Acknowledged {
                        key: key.clone(),
                        message_id,
                        timestamp: timestamp.with_timezone(&chrono::Utc),
                    });
                    // A late answer to an earlier attempt of an older message changes
                    // nothing; the checker still compares its id.
                    if out.next < total && key == self.key(out.next) {
                        out.next += 1;
                        out.in_flight = false;
                        out.since = Instant::now() + self.settings.pace;
                        backoff.reset();
                    }
                }
                Some("error") => {
                    let Some(key) = answered_key(&frame) else {
                        // A receipt's error: receipts are retried by the next connect's
                        // re-send, nothing to do here.
                        continue;
                    };
                    let code = frame["code"].as_str().unwrap_or_default().to_string();
                    self.record(Op::Refused {
                        key: key.clone(),
                        code: code.clone(),
                    });
                    if out.next < total && key == self.key(out.next) {
                        out.in_flight = false;
                        if code == "unavailable" || code == "internal" {
                            backoff.wait().await;
                            out.since = Instant::now();
                        } else {
                            // Not retryable: the app shows the error and moves on; the
                            // checker counts it unacknowledged.
                            out.next += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Records a `chat_message` and acknowledges it; false when the socket is gone.
    async fn received(&mut self, socket: &mut Socket, frame: &Value) -> bool {
        let message = ReceivedMessage::from_frame(frame);
        let receipt = message.message_id.map(|message_id| {
            json!({
                "type": "message_delivered",
                "message_id": message_id,
                "request_id": format!("receipt#{}", Uuid::new_v4().simple()),
            })
        });
        self.record(Op::Received {
            conn: self.conn,
            frame: message,
        });
        match receipt {
            Some(receipt) => socket
                .send(Message::text(receipt.to_string()))
                .await
                .is_ok(),
            None => true,
        }
    }

    /// The app opens again later: one more socket, read until quiet.
    async fn last_connect(&mut self) {
        let mut backoff = Backoff::new(self.settings.max_backoff);
        for _ in 0..20 {
            let Some(mut socket) = self.connect().await else {
                backoff.wait().await;
                continue;
            };
            loop {
                match tokio::time::timeout(self.settings.settle, socket.next()).await {
                    Err(_) => {
                        let _ = socket.close(None).await;
                        return;
                    }
                    Ok(Some(Ok(Message::Text(text)))) => {
                        if let Ok(frame) = serde_json::from_str::<Value>(&text)
                            && frame["type"] == "chat_message"
                            && !self.received(&mut socket, &frame).await
                        {
                            break;
                        }
                    }
                    Ok(Some(Ok(_))) => continue,
                    Ok(_) => break,
                }
            }
            self.record(Op::Disconnected { conn: self.conn });
            backoff.wait().await;
        }
    }
}

enum Conversation {
    /// Everything sent and the line quiet.
    Ended,
    /// The socket closed or failed; reconnect.
    Lost,
}

/// The `client_message_id` a `message_sent` or error answers (from its `request_id`).
fn answered_key(frame: &Value) -> Option<String> {
    let request_id = frame["request_id"].as_str()?;
    let (key, _) = request_id.split_once('#')?;
    (key != "receipt").then(|| key.to_string())
}
