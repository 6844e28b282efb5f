//! A smoke session against a running stack, through the edge only (`tether-smoke`): the
//! calls a seeker's and a provider's apps make, over the real HTTP API and WebSockets.
//!
//! Steps: the edge is ready; the provider goes active; both connect; the seeker orders;
//! the provider accepts; the seeker selects a medium (the session turns active); one chat
//! message each way, each delivered to the other party and kept in the history; the
//! seeker finishes the service; both sockets are closed by the server and the snapshot
//! says `completed`.
//!
//! It prints one `==> ` line per step and never a token, a phone number, a chat text or a
//! coordinate. Any failure or timeout is an error naming the step.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::token::{TokenRequest, mint};

/// Where and how to run the smoke session.
#[derive(Debug, Clone)]
pub struct Options {
    /// The edge's base URL, `http://host:port` (its HTTP API and WebSockets).
    pub url: String,
    /// The HS256 secret the edge checks tokens with.
    pub secret: String,
    /// `aud` claim, when the edge requires one.
    pub audience: Option<String>,
    /// `iss` claim, when the edge requires one.
    pub issuer: Option<String>,
    /// How long any one step may take.
    pub step_timeout: Duration,
    /// How long to wait for the edge's `/readyz` to answer 200 at the start.
    pub ready_timeout: Duration,
}

/// The service type the provider offers and the seeker orders.
const SERVICE_TYPE: &str = "plumbing";
/// The number the seeker selects as its medium (a fictitious one; never printed).
const SEEKER_PHONE: &str = "+15550001111";

/// Frames that may arrive at any moment and say nothing about the flow: presence (v1.1)
/// and location cadence (v1.2).
const INCIDENTAL: [&str; 2] = ["peer_status", "location_cadence"];

fn say(step: &str) {
    println!("==> {step}");
}

/// The WebSocket base (`ws://…`) of an edge's HTTP base URL (`http://…`), without a
/// trailing slash.
pub fn ws_base(url: &str) -> anyhow::Result<String> {
    let url = url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("http://") {
        Ok(format!("ws://{rest}"))
    } else if url.starts_with("https://") {
        bail!(
            "only plain http:// edges are supported (this tool has no TLS); point it at the edge itself: {url}"
        )
    } else {
        bail!("the edge URL must start with http://: {url}")
    }
}

/// The `code` of an error body (`{"error", "code"}`), for messages that must not repeat
/// the body (it could echo what was sent).
fn error_code(body: &Value) -> String {
    body.get("code")
        .and_then(Value::as_str)
        .map_or_else(|| "no error code".to_string(), str::to_string)
}

/// A party: a user id with a token, and its role.
struct Party {
    role: &'static str,
    user_id: Uuid,
    token: String,
}

impl Party {
    fn new(role: &'static str, options: &Options) -> anyhow::Result<Self> {
        let request = TokenRequest {
            user_id: Uuid::new_v4(),
            name: Some(format!("Smoke {role}")),
            ttl_s: 3_600,
            audience: options.audience.clone(),
            issuer: options.issuer.clone(),
        };
        let minted = mint(&request, &options.secret)?;
        Ok(Self {
            role,
            user_id: minted.user_id,
            token: minted.token,
        })
    }
}

/// The HTTP side: base URL, client, step timeout.
struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(options: &Options) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(options.step_timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: options.url.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// Sends a request; returns the status and the JSON body (Null when not JSON).
    async fn call(
        &self,
        party: Option<&Party>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(party) = party {
            request = request.bearer_auth(&party.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| {
            format!("{method} {path}: no answer from the edge at {}", self.base)
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .with_context(|| format!("{method} {path}: reading the answer"))?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Like [`Http::call`], failing unless the status is `expected`.
    async fn expect(
        &self,
        party: &Party,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.call(Some(party), method.clone(), path, body).await?;
        if status != expected {
            bail!(
                "{method} {path} as the {}: HTTP {status} ({}), expected {expected}",
                party.role,
                error_code(&answer)
            );
        }
        Ok(answer)
    }
}

/// An open socket of one party.
struct Socket {
    role: &'static str,
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    timeout: Duration,
    /// Work orders already seen as `work_assigned` (the session service may send one
    /// twice: live, and again for a socket that connected just then; apps de-duplicate).
    assigned: HashSet<i64>,
}

impl Socket {
    async fn connect(ws_base: &str, party: &Party, timeout: Duration) -> anyhow::Result<Self> {
        let url = format!("{ws_base}/ws/work/{}/", party.role);
        let mut request = url
            .as_str()
            .into_client_request()
            .with_context(|| format!("the WebSocket URL {url}"))?;
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {}", party.token))
                .context("the Authorization header")?,
        );
        let connected = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| anyhow!("connecting the {} socket to {url}: timed out", party.role))?;
        let stream = match connected {
            Ok((stream, _)) => stream,
            Err(WsError::Http(response)) => bail!(
                "connecting the {} socket to {url}: the upgrade was refused with HTTP {}",
                party.role,
                response.status().as_u16()
            ),
            Err(err) => bail!("connecting the {} socket to {url}: {err}", party.role),
        };
        Ok(Self {
            role: party.role,
            stream,
            timeout,
            assigned: HashSet::new(),
        })
    }

    async fn send(&mut self, message: Value) -> anyhow::Result<()> {
        let kind = message["type"].as_str().unwrap_or("?").to_string();
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .with_context(|| format!("the {} socket: sending {kind}", self.role))
    }

    /// The next JSON message or close within `deadline`, skipping pings and incidental
    /// frames; `waiting_for` names what the caller waits for, in errors.
    async fn next_event(
        &mut self,
        deadline: tokio::time::Instant,
        waiting_for: &str,
    ) -> anyhow::Result<Event> {
        let role = self.role;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .map_err(|_| {
                    anyhow!(
                        "the {role} socket: no {waiting_for} within {} s",
                        self.timeout.as_secs()
                    )
                })?;
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Event::Closed(
                        frame.map_or(1005, |frame| u16::from(frame.code)),
                    ));
                }
                Some(Ok(_)) => {
                    bail!("the {role} socket: a non-text frame while waiting for {waiting_for}")
                }
                Some(Err(err)) => {
                    bail!("the {role} socket failed while waiting for {waiting_for}: {err}")
                }
                None => bail!("the {role} socket ended while waiting for {waiting_for}"),
            };
            let message: Value = serde_json::from_str(&text)
                .with_context(|| format!("the {role} socket: a frame that is not JSON"))?;
            let kind = message["type"].as_str().unwrap_or_default();
            if INCIDENTAL.contains(&kind) {
                continue;
            }
            if kind == "error" {
                bail!(
                    "the {role} socket: error {} while waiting for {waiting_for}",
                    error_code(&message)
                );
            }
            return Ok(Event::Message(message));
        }
    }

    /// The next message of type `expected`, skipping incidental frames and repeated work
    /// assignments. An `error` frame, any other message type, a close or the step timeout
    /// fails.
    async fn expect(&mut self, expected: &str) -> anyhow::Result<Value> {
        let role = self.role;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let message = match self.next_event(deadline, expected).await? {
                Event::Message(message) => message,
                Event::Closed(code) => {
                    bail!("the {role} socket was closed ({code}) while waiting for {expected}")
                }
            };
            let kind = message["type"].as_str().unwrap_or_default();
            if kind == "work_assigned" {
                let new = message["work_id"]
                    .as_i64()
                    .is_some_and(|id| self.assigned.insert(id));
                if !new {
                    continue;
                }
            }
            if kind == expected {
                return Ok(message);
            }
            bail!("the {role} socket: {kind:?} while waiting for {expected}");
        }
    }

    /// Waits for the server to close the socket with 1000 (after a finished session).
    async fn expect_normal_close(&mut self) -> anyhow::Result<()> {
        let role = self.role;
        let deadline = tokio::time::Instant::now() + self.timeout;
        match self.next_event(deadline, "close").await? {
            Event::Closed(1000) => Ok(()),
            Event::Closed(code) => bail!("the {role} socket was closed with {code}, expected 1000"),
            Event::Message(message) => bail!(
                "the {role} socket: {:?} while waiting for the close",
                message["type"].as_str().unwrap_or_default()
            ),
        }
    }
}

/// What a socket brought.
enum Event {
    /// A JSON message (not an incidental one, not an error).
    Message(Value),
    /// A close frame with this code.
    Closed(u16),
}

/// The field `field` of `message` as a string (for ids).
fn text_of<'a>(message: &'a Value, field: &str, what: &str) -> anyhow::Result<&'a str> {
    message[field]
        .as_str()
        .ok_or_else(|| anyhow!("{what} has no {field}"))
}

/// One chat message from `from` to `to`: the sender's `message_sent` and the other
/// party's `chat_message` with the same id and text.
async fn chat(
    from: &mut Socket,
    to: &mut Socket,
    session_id: &str,
    text: &str,
) -> anyhow::Result<()> {
    let client_message_id = Uuid::new_v4().to_string();
    from.send(json!({
        "type": "chat_message",
        "session_id": session_id,
        "message": text,
        "client_message_id": client_message_id,
    }))
    .await?;
    let sent = from.expect("message_sent").await?;
    let received = to.expect("chat_message").await?;
    let sent_id = text_of(&sent, "message_id", "message_sent")?;
    if received["message_id"] != sent["message_id"] {
        bail!(
            "the {} got another message than the {} sent",
            to.role,
            from.role
        );
    }
    if received["message"] != text {
        bail!(
            "the {} got message {sent_id} with other text than was sent",
            to.role
        );
    }
    if received["sender_type"] != from.role {
        bail!(
            "message {sent_id} does not say it came from the {}",
            from.role
        );
    }
    say(&format!(
        "{} -> {}: chat message {sent_id} delivered",
        from.role, to.role
    ));
    Ok(())
}

/// Polls `GET /readyz` until 200 or `options.ready_timeout`.
async fn wait_ready(http: &Http, options: &Options) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + options.ready_timeout;
    loop {
        let last = match http.call(None, reqwest::Method::GET, "/readyz", None).await {
            Ok((200, _)) => return Ok(()),
            Ok((status, _)) => format!("HTTP {status}"),
            Err(err) => format!("{err:#}"),
        };
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "the edge at {} is not ready after {} s (last: {last})",
                http.base,
                options.ready_timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Runs the smoke session; `Ok` when every step passed.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    use reqwest::Method;

    let ws = ws_base(&options.url)?;
    let http = Http::new(options)?;
    let timeout = options.step_timeout;

    wait_ready(&http, options).await?;
    say(&format!("edge ready at {}", http.base));

    let seeker = Party::new("seeker", options)?;
    let provider = Party::new("provider", options)?;
    // Coordinates are fixed and never printed; 100 m or so apart.
    http.expect(
        &provider,
        Method::PUT,
        "/api/v1/provider/status",
        Some(json!({"is_active": true, "service_types": [SERVICE_TYPE], "latitude": 52.5, "longitude": 13.4})),
        200,
    )
    .await?;
    say("provider active (HTTP)");

    let mut provider_ws = Socket::connect(&ws, &provider, timeout).await?;
    say("provider socket connected");
    let mut seeker_ws = Socket::connect(&ws, &seeker, timeout).await?;
    say("seeker socket connected");

    // A ping round trip on each socket: both are registered with the edge before the order.
    for socket in [&mut provider_ws, &mut seeker_ws] {
        socket.send(json!({"type": "ping"})).await?;
        socket.expect("pong").await?;
    }

    let order = http
        .expect(
            &seeker,
            Method::POST,
            "/api/v1/work-orders",
            Some(json!({
                "provider_id": provider.user_id,
                "service_type": SERVICE_TYPE,
                "message": "Smoke test: the kitchen sink leaks",
                "latitude": 52.501,
                "longitude": 13.401,
            })),
            201,
        )
        .await?;
    let work_id = order["work_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("the created work order has no work_id"))?;
    say(&format!("seeker ordered: work order {work_id} (HTTP 201)"));

    let assigned = provider_ws.expect("work_assigned").await?;
    if assigned["work_id"] != work_id {
        bail!("the provider was assigned another work order than {work_id}");
    }
    say(&format!("provider got work_assigned {work_id}"));

    provider_ws
        .send(json!({"type": "work_response", "work_id": work_id, "accepted": true}))
        .await?;
    let accepted = provider_ws.expect("work_accepted").await?;
    let session_id = text_of(&accepted, "session_id", "work_accepted")?.to_string();
    let seeker_accepted = seeker_ws.expect("work_accepted").await?;
    if seeker_accepted["session_id"] != accepted["session_id"] {
        bail!("the seeker's work_accepted names another session than the provider's");
    }
    say(&format!(
        "provider accepted: session {session_id} waiting, both told"
    ));

    seeker_ws
        .send(json!({"type": "medium_selection", "session_id": session_id, "mediums": {"call": SEEKER_PHONE}}))
        .await?;
    let selected = seeker_ws.expect("mediums_selected").await?;
    provider_ws.expect("seeker_mediums_selected").await?;
    if selected["connection_state"] != "active" {
        bail!("after the medium selection the session is not active");
    }
    say("seeker selected a medium: session active, provider told");

    chat(
        &mut seeker_ws,
        &mut provider_ws,
        &session_id,
        "Hello from the smoke seeker",
    )
    .await?;
    chat(
        &mut provider_ws,
        &mut seeker_ws,
        &session_id,
        "Hello from the smoke provider",
    )
    .await?;

    let history = http
        .expect(
            &seeker,
            Method::GET,
            &format!("/api/v1/sessions/{session_id}/messages"),
            None,
            200,
        )
        .await?;
    let kept = history["messages"].as_array().map_or(0, Vec::len);
    if kept != 2 {
        bail!("the session's history holds {kept} messages, expected 2");
    }
    say("history holds both messages (HTTP)");

    seeker_ws
        .send(json!({"type": "finish_service", "session_id": session_id}))
        .await?;
    seeker_ws.expect("service_finished").await?;
    let told = provider_ws.expect("service_finished").await?;
    if told["finished_by"] != "seeker" {
        bail!("the provider's service_finished does not say the seeker finished");
    }
    seeker_ws.expect_normal_close().await?;
    provider_ws.expect_normal_close().await?;
    say("seeker finished the service: both told, both sockets closed (1000)");

    let snapshot = http
        .expect(
            &provider,
            Method::GET,
            &format!("/api/v1/sessions/{session_id}"),
            None,
            200,
        )
        .await?;
    if snapshot["connection_state"] != "completed" {
        bail!(
            "the session's snapshot says {}, expected completed",
            snapshot["connection_state"]
        );
    }
    say(&format!("session {session_id} completed (HTTP snapshot)"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_base_of_an_http_url() {
        assert_eq!(
            ws_base("http://127.0.0.1:8080").ok().as_deref(),
            Some("ws://127.0.0.1:8080")
        );
        assert_eq!(
            ws_base("http://edge:8080/").ok().as_deref(),
            Some("ws://edge:8080")
        );
        assert!(ws_base("https://edge").is_err());
        assert!(ws_base("edge:8080").is_err());
    }

    #[test]
    fn error_codes_without_the_body() {
        assert_eq!(
            error_code(&json!({"error": "x", "code": "conflict"})),
            "conflict"
        );
        assert_eq!(error_code(&Value::Null), "no error code");
    }
}
