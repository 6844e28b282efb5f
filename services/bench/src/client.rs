//! The client side of the contract: tokens, HTTP calls, WebSockets, and the setup of
//! seeker/provider pairs with an active session.
//!
//! Every socket has a writer task (fed by an unbounded channel, so the open-loop
//! scheduler never waits on a socket) and a reader task. Until a scenario installs a
//! [`Handler`] on a connection, the reader parses every text frame and queues it in the
//! connection's inbox, which the setup flows read with [`Conn::recv_type`]; with a
//! handler installed, the reader calls it for each frame instead.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use futures::{SinkExt, StreamExt};
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use uuid::Uuid;

use crate::token;

/// Latitude of every provider (and the origin of the seekers' paths).
pub const PROVIDER_LAT: f64 = 52.52;
/// Longitude of every provider.
pub const PROVIDER_LON: f64 = 13.405;

/// The two endpoints of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `/ws/work/seeker/`.
    Seeker,
    /// `/ws/work/provider/`.
    Provider,
}

impl Role {
    /// 0 for the seeker, 1 for the provider.
    pub fn index(self) -> usize {
        match self {
            Role::Seeker => 0,
            Role::Provider => 1,
        }
    }
}

/// A user: id and token.
#[derive(Debug, Clone)]
pub struct User {
    /// `sub` of the token.
    pub id: Uuid,
    /// HS256 JWT.
    pub token: String,
}

/// Where the stack under test answers, and how to reach it.
pub struct Target {
    /// `http://host:port`.
    pub http_base: String,
    ws_base: String,
    addr: SocketAddr,
    key: EncodingKey,
    /// Shared HTTP client (keep-alive pool).
    pub http: reqwest::Client,
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
    /// How long a setup step waits for an answer.
    pub timeout: Duration,
}

impl Target {
    /// A target at `url` (`http://127.0.0.1:8080`), minting tokens with `secret`,
    /// spreading sockets over `source_addrs` loopback source addresses (127.0.0.1, .2, ...).
    pub fn new(url: &str, secret: &str, source_addrs: usize) -> anyhow::Result<Self> {
        let http_base = url.trim_end_matches('/').to_owned();
        let hostport = http_base
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("the URL must start with http:// (loopback only)"))?;
        let addr: SocketAddr = hostport
            .replace("localhost", "127.0.0.1")
            .parse()
            .with_context(|| format!("{hostport} is not an IP address and port"))?;
        if !addr.ip().is_loopback() {
            bail!("the benchmark only targets loopback addresses, not {addr}");
        }
        let sources = (1..=source_addrs.clamp(1, 250))
            .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i as u8)))
            .collect();
        Ok(Self {
            ws_base: format!("ws://{hostport}"),
            http_base,
            addr,
            key: EncodingKey::from_secret(secret.as_bytes()),
            http: reqwest::Client::builder()
                .tcp_nodelay(true)
                .pool_max_idle_per_host(512)
                .timeout(Duration::from_secs(30))
                .build()?,
            sources,
            next_source: AtomicUsize::new(0),
            timeout: Duration::from_secs(15),
        })
    }

    /// A fresh user with a token valid for 6 hours.
    pub fn user(&self) -> anyhow::Result<User> {
        let id = Uuid::new_v4();
        Ok(User {
            id,
            token: token::mint(&self.key, id, 6 * 3600)?,
        })
    }

    /// `PUT /api/v1/provider/status`: active at the providers' point.
    pub async fn provider_active(&self, user: &User) -> anyhow::Result<()> {
        let response = self
            .http
            .put(format!("{}/api/v1/provider/status", self.http_base))
            .bearer_auth(&user.token)
            .json(&json!({"is_active": true, "service_types": ["plumbing"],
                "latitude": PROVIDER_LAT, "longitude": PROVIDER_LON}))
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!(
                "provider status: HTTP {status}: {}",
                response.text().await.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// `POST /api/v1/work-orders`; returns the `work_id`.
    pub async fn create_order(&self, seeker: &User, provider: Uuid) -> anyhow::Result<i64> {
        let response = self
            .http
            .post(format!("{}/api/v1/work-orders", self.http_base))
            .bearer_auth(&seeker.token)
            .json(&json!({"provider_id": provider, "service_type": "plumbing",
                "message": "bench order", "latitude": PROVIDER_LAT + 0.01, "longitude": PROVIDER_LON}))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.as_u16() != 201 {
            bail!("work order: HTTP {status}: {body}");
        }
        body["work_id"]
            .as_i64()
            .ok_or_else(|| anyhow!("work order without work_id: {body}"))
    }

    /// Opens a WebSocket for `user` on the endpoint of `role`; `index` is the pair index
    /// handlers use to find the session.
    pub async fn connect(&self, user: &User, role: Role, index: usize) -> anyhow::Result<Conn> {
        let path = match role {
            Role::Seeker => "/ws/work/seeker/",
            Role::Provider => "/ws/work/provider/",
        };
        let url = format!("{}{path}?token={}", self.ws_base, user.token);
        let socket = TcpSocket::new_v4()?;
        let source =
            self.sources[self.next_source.fetch_add(1, Ordering::Relaxed) % self.sources.len()];
        if self.sources.len() > 1 {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0)
            .max_message_size(Some(1 << 20));
        let (ws, _) = tokio::time::timeout(
            self.timeout,
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)),
        )
        .await
        .map_err(|_| anyhow!("WebSocket handshake timed out"))??;
        Ok(Conn::spawn(ws, role, index))
    }
}

/// What a scenario does with each frame a connection receives.
pub trait Handler: Send + Sync {
    /// One text frame.
    fn on_text(&self, conn: &ConnShared, text: &str);
    /// The socket closed (by the server or an error).
    fn on_closed(&self, _conn: &ConnShared) {}
}

/// The part of a connection its tasks share.
pub struct ConnShared {
    /// Pair index (or socket number for `idle`).
    pub index: usize,
    /// Endpoint.
    pub role: Role,
    out: mpsc::UnboundedSender<Message>,
    handler: RwLock<Option<Arc<dyn Handler>>>,
    inbox: mpsc::UnboundedSender<Value>,
    closed: AtomicBool,
}

impl ConnShared {
    /// Queues a text frame; false when the socket is gone.
    pub fn send_text(&self, text: String) -> bool {
        self.out.send(Message::text(text)).is_ok()
    }

    /// Acknowledges chat message `id` as an app does on showing it: delivered, then read.
    pub fn send_receipts(&self, id: &str) {
        self.send_text(format!(
            r#"{{"type":"message_delivered","message_id":"{id}"}}"#
        ));
        self.send_text(format!(r#"{{"type":"message_read","message_id":"{id}"}}"#));
    }

    /// Installs (or removes) the handler of incoming frames.
    pub fn set_handler(&self, handler: Option<Arc<dyn Handler>>) {
        *self.handler.write().expect("handler lock") = handler;
    }

    /// Whether the socket has closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }
}

/// One WebSocket connection.
pub struct Conn {
    /// Shared with the reader and writer tasks.
    pub shared: Arc<ConnShared>,
    inbox: mpsc::UnboundedReceiver<Value>,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Silence after which a socket sends a WebSocket ping (the edge closes sockets silent for
/// `TETHER_WS_IDLE_TIMEOUT_S`, 120 s by default).
const KEEPALIVE: Duration = Duration::from_secs(30);

impl Conn {
    fn spawn(ws: Ws, role: Role, index: usize) -> Self {
        let (mut sink, mut stream) = ws.split();
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (inbox_tx, inbox_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(ConnShared {
            index,
            role,
            out: out_tx,
            handler: RwLock::new(None),
            inbox: inbox_tx,
            closed: AtomicBool::new(false),
        });
        tokio::spawn(async move {
            // A socket that sends nothing for the edge's idle timeout (120 s) is closed, as
            // apps know: after KEEPALIVE of silence the generator sends a WebSocket ping,
            // which counts as activity and which no handler sees. Only the long `soak`
            // needs it (the provider of a location pair never sends).
            'outer: loop {
                let first = match tokio::time::timeout(KEEPALIVE, out_rx.recv()).await {
                    Ok(Some(first)) => first,
                    Ok(None) => break,
                    Err(_) => Message::Ping(Default::default()),
                };
                let mut message = Some(first);
                while let Some(m) = message.take() {
                    let close = matches!(m, Message::Close(_));
                    if sink.feed(m).await.is_err() || close {
                        let _ = sink.flush().await;
                        break 'outer;
                    }
                    message = out_rx.try_recv().ok();
                }
                if sink.flush().await.is_err() {
                    break;
                }
            }
        });
        let reader = shared.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Text(text) => {
                        let handler = reader.handler.read().expect("handler lock").clone();
                        match handler {
                            Some(h) => h.on_text(&reader, text.as_str()),
                            None => {
                                if let Ok(value) = serde_json::from_str(text.as_str()) {
                                    let _ = reader.inbox.send(value);
                                }
                            }
                        }
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            reader.closed.store(true, Ordering::Relaxed);
            let handler = reader.handler.read().expect("handler lock").clone();
            if let Some(h) = handler {
                h.on_closed(&reader);
            }
        });
        Conn {
            shared,
            inbox: inbox_rx,
        }
    }

    /// Queues a JSON frame.
    pub fn send(&self, value: &Value) -> bool {
        self.shared.send_text(value.to_string())
    }

    /// The next frame from the inbox (only while no handler is installed).
    pub async fn recv(&mut self, timeout: Duration) -> anyhow::Result<Value> {
        match tokio::time::timeout(timeout, self.inbox.recv()).await {
            Ok(Some(v)) => Ok(v),
            Ok(None) => bail!("connection gone"),
            Err(_) => bail!("timed out after {timeout:?}"),
        }
    }

    /// Skips frames until one of type `ty` arrives; an `error` frame is an error.
    pub async fn recv_type(&mut self, ty: &str, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let value = self
                .recv(left)
                .await
                .with_context(|| format!("waiting for {ty}"))?;
            match value["type"].as_str() {
                Some(t) if t == ty => return Ok(value),
                Some("error") => bail!("waiting for {ty}: {value}"),
                _ => {}
            }
        }
    }

    /// Closes the socket (also done on drop).
    pub fn close(&self) {
        let _ = self.shared.out.send(Message::Close(None));
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

/// A seeker and a provider with a session between them.
pub struct Pair {
    /// Index of the pair in its scenario.
    pub index: usize,
    /// The seeker's socket.
    pub seeker: Conn,
    /// The provider's socket.
    pub provider: Conn,
    /// The session id.
    pub session_id: String,
    /// Moves made so far by the seeker (location scenarios).
    pub moves: AtomicU32,
}

impl Pair {
    /// The socket of `role`.
    pub fn conn(&self, role: Role) -> &Conn {
        match role {
            Role::Seeker => &self.seeker,
            Role::Provider => &self.provider,
        }
    }

    /// Installs a handler on both sockets.
    pub fn set_handler(&self, handler: Option<Arc<dyn Handler>>) {
        self.seeker.shared.set_handler(handler.clone());
        self.provider.shared.set_handler(handler);
    }
}

/// Whole setup of one pair through the contract: provider active, both sockets, order,
/// acceptance, mediums (session `active`). With `waiting_only`, stops before the mediums.
pub async fn open_pair(target: &Target, index: usize) -> anyhow::Result<Pair> {
    let t = target.timeout;
    let seeker = target.user()?;
    let provider = target.user()?;
    target.provider_active(&provider).await?;
    let (mut pc, mut sc) = tokio::try_join!(
        target.connect(&provider, Role::Provider, index),
        target.connect(&seeker, Role::Seeker, index)
    )?;
    let work_id = target.create_order(&seeker, provider.id).await?;
    loop {
        let assigned = pc.recv_type("work_assigned", t).await?;
        if assigned["work_id"].as_i64() == Some(work_id) {
            break;
        }
    }
    pc.send(&json!({"type": "work_response", "work_id": work_id, "accepted": true}));
    let (accepted, _) = tokio::try_join!(
        pc.recv_type("work_accepted", t),
        sc.recv_type("work_accepted", t)
    )?;
    let session_id = accepted["session_id"]
        .as_str()
        .ok_or_else(|| anyhow!("work_accepted without session_id: {accepted}"))?
        .to_owned();
    sc.send(
        &json!({"type": "medium_selection", "session_id": session_id,
        "mediums": {"call": "+15550001111"}}),
    );
    tokio::try_join!(
        sc.recv_type("mediums_selected", t),
        pc.recv_type("seeker_mediums_selected", t)
    )?;
    Ok(Pair {
        index,
        seeker: sc,
        provider: pc,
        session_id,
        moves: AtomicU32::new(0),
    })
}

/// Sets up `n` pairs, `concurrency` at a time, printing progress. Fails when fewer than
/// 95 % could be set up.
pub async fn open_pairs(
    target: &Target,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Pair>> {
    let started = std::time::Instant::now();
    let mut pairs = Vec::with_capacity(n);
    let mut failures = 0usize;
    let mut first_error = None;
    let mut stream = futures::stream::iter(0..n)
        .map(|i| open_pair(target, i))
        .buffer_unordered(concurrency.max(1));
    let step = (n / 4).max(1);
    while let Some(result) = stream.next().await {
        match result {
            Ok(pair) => pairs.push(pair),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
        let done = pairs.len() + failures;
        if done.is_multiple_of(step) && done < n {
            eprintln!("    setup: {done}/{n} pairs");
        }
    }
    eprintln!(
        "    setup: {} pairs with active sessions in {:.1} s ({failures} failed{})",
        pairs.len(),
        started.elapsed().as_secs_f64(),
        first_error
            .as_deref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default()
    );
    if pairs.len() * 100 < n * 95 {
        bail!("only {} of {n} pairs could be set up", pairs.len());
    }
    // Handlers index pairs by position: renumber in setup order.
    pairs.sort_by_key(|p| p.index);
    Ok(pairs)
}
