//! The floor: a bare tokio/axum WebSocket relay with the same JSON as the contract and
//! nothing behind it (no NATS, no database), everything in memory. It implements just
//! what the benchmark scenarios use, with the contract's endpoints and messages, so the
//! bench runs unchanged against it:
//! `PUT /api/v1/provider/status`, `POST /api/v1/work-orders` (-> `work_assigned`),
//! `work_response`, `medium_selection`, `chat_message` (-> `message_sent` +
//! `chat_message`), `message_delivered`/`message_read` (-> `message_status_update`),
//! `typing_indicator`, `location_update` (-> `distance_update` to both, Haversine, the
//! 50 m rule), `finish_service`/`cancel_connection`, `ping`. Sockets use 4 KiB read
//! buffers, TCP_NODELAY, and a bounded outbound queue per socket (a socket too far behind
//! is closed, as the edge does).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::scenarios::haversine_m;
use crate::token;

const OUTBOUND_QUEUE: usize = 256;

type Tx = mpsc::Sender<Message>;
/// Open sockets of a user on one endpoint: (connection id, outbound queue).
type Sockets = Vec<(u64, Tx)>;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Role {
    Seeker,
    Provider,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Seeker => "seeker",
            Role::Provider => "provider",
        }
    }
    fn other(self) -> Role {
        match self {
            Role::Seeker => Role::Provider,
            Role::Provider => Role::Seeker,
        }
    }
}

struct Order {
    seeker: Uuid,
    provider: Uuid,
}

#[derive(Default)]
struct SessionState {
    active: bool,
    /// Latest position of each party (seeker, provider).
    position: [Option<(f64, f64)>; 2],
    /// Each party's position at the last distance update.
    announced_from: [Option<(f64, f64)>; 2],
}

struct Session {
    id: Uuid,
    seeker: Uuid,
    provider: Uuid,
    state: Mutex<SessionState>,
}

impl Session {
    fn party(&self, role: Role) -> Uuid {
        match role {
            Role::Seeker => self.seeker,
            Role::Provider => self.provider,
        }
    }
}

/// The relay's whole state.
pub struct Floor {
    key: DecodingKey,
    conns: Mutex<HashMap<(Uuid, Role), Sockets>>,
    sessions: RwLock<HashMap<Uuid, Arc<Session>>>,
    active_providers: Mutex<HashMap<Uuid, (f64, f64)>>,
    orders: Mutex<HashMap<i64, Order>>,
    /// Undelivered-or-unread messages: id -> (session, sender role); dropped on `read`.
    messages: Mutex<HashMap<Uuid, (Uuid, Role)>>,
    next_work: AtomicI64,
    next_conn: AtomicU64,
}

impl Floor {
    /// A floor checking tokens with the HS256 `secret`.
    pub fn new(secret: &str) -> Arc<Self> {
        Arc::new(Self {
            key: DecodingKey::from_secret(secret.as_bytes()),
            conns: Mutex::new(HashMap::new()),
            sessions: RwLock::new(HashMap::new()),
            active_providers: Mutex::new(HashMap::new()),
            orders: Mutex::new(HashMap::new()),
            messages: Mutex::new(HashMap::new()),
            next_work: AtomicI64::new(1),
            next_conn: AtomicU64::new(1),
        })
    }

    /// The HTTP + WebSocket router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(|| async { "ok" }))
            .route("/api/v1/provider/status", put(provider_status))
            .route("/api/v1/work-orders", post(work_order))
            .route("/ws/work/{role}/", get(ws_endpoint))
            .route("/ws/work/{role}", get(ws_endpoint))
            .with_state(self.clone())
    }

    /// Serves on `addr` until the process ends.
    pub async fn serve(self: &Arc<Self>, addr: &SocketAddr) -> anyhow::Result<()> {
        use axum::serve::ListenerExt;
        let listener = tokio::net::TcpListener::bind(*addr).await?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        eprintln!("tether-floor listening on {addr}");
        axum::serve(listener, self.router()).await?;
        Ok(())
    }

    fn send_to(&self, user: Uuid, role: Role, text: &str) {
        let conns = self.conns.lock().expect("conns lock");
        if let Some(list) = conns.get(&(user, role)) {
            for (_, tx) in list {
                // A socket too far behind: close it (its writer sees the channel close).
                let _ = tx.try_send(Message::text(text.to_owned()));
            }
        }
    }

    fn unregister(&self, user: Uuid, role: Role, id: u64) {
        let mut conns = self.conns.lock().expect("conns lock");
        if let Some(list) = conns.get_mut(&(user, role)) {
            list.retain(|(c, _)| *c != id);
            if list.is_empty() {
                conns.remove(&(user, role));
            }
        }
    }

    fn close_user(&self, user: Uuid, role: Role) {
        let conns = self.conns.lock().expect("conns lock");
        if let Some(list) = conns.get(&(user, role)) {
            for (_, tx) in list {
                let _ = tx.try_send(Message::Close(None));
            }
        }
    }

    fn session_of(&self, id: &str, user: Uuid, role: Role) -> Option<Arc<Session>> {
        let id = Uuid::parse_str(id).ok()?;
        let session = self
            .sessions
            .read()
            .expect("sessions lock")
            .get(&id)?
            .clone();
        (session.party(role) == user).then_some(session)
    }

    fn handle(&self, user: Uuid, role: Role, tx: &Tx, text: &str) {
        let reply = |v: Value| {
            let _ = tx.try_send(Message::text(v.to_string()));
        };
        let Ok(cmd) = serde_json::from_str::<Command>(text) else {
            reply(json!({"type": "error", "error": "invalid JSON", "code": "invalid_json"}));
            return;
        };
        let rid = cmd.request_id.as_deref();
        let error = |code: &str, msg: &str| {
            let mut v = json!({"type": "error", "error": msg, "code": code});
            if let Some(r) = rid {
                v["request_id"] = json!(r);
            }
            reply(v);
        };
        let now = now();
        let session = || {
            cmd.session_id
                .as_deref()
                .and_then(|s| self.session_of(s, user, role))
        };
        match cmd.ty.as_str() {
            "ping" => reply(json!({"type": "pong", "timestamp": now})),
            "work_response" if role == Role::Provider => {
                let Some(work_id) = cmd.work_id else {
                    return error("validation", "work_id is required");
                };
                let order = self.orders.lock().expect("orders lock").remove(&work_id);
                let Some(order) = order.filter(|o| o.provider == user) else {
                    return error("not_found", "work order not found");
                };
                if cmd.accepted != Some(true) {
                    reply(json!({"type": "work_rejected", "work_id": work_id, "timestamp": now}));
                    return;
                }
                let session = Arc::new(Session {
                    id: Uuid::new_v4(),
                    seeker: order.seeker,
                    provider: order.provider,
                    state: Mutex::new(SessionState::default()),
                });
                self.active_providers
                    .lock()
                    .expect("providers lock")
                    .remove(&user);
                self.sessions
                    .write()
                    .expect("sessions lock")
                    .insert(session.id, session.clone());
                reply(
                    json!({"type": "work_accepted", "work_id": work_id, "session_id": session.id,
                    "connection_state": "waiting",
                    "message": "Work accepted. Waiting for seeker to select communication mediums.",
                    "timestamp": now}),
                );
                self.send_to(
                    order.seeker,
                    Role::Seeker,
                    &json!({"type": "work_accepted",
                    "work_id": work_id, "session_id": session.id, "connection_state": "waiting",
                    "message": "Provider accepted your request", "timestamp": now})
                    .to_string(),
                );
            }
            "medium_selection" if role == Role::Seeker => {
                let Some(s) = session() else {
                    return error("not_found", "session not found");
                };
                let mediums = cmd.mediums.clone().unwrap_or_else(|| json!({}));
                reply(
                    json!({"type": "mediums_selected", "session_id": s.id, "mediums": mediums,
                    "connection_state": "active", "timestamp": now}),
                );
                self.send_to(
                    s.provider,
                    Role::Provider,
                    &json!({"type": "seeker_mediums_selected",
                    "session_id": s.id, "mediums": mediums, "connection_state": "active",
                    "message": "Seeker has selected communication mediums", "timestamp": now})
                    .to_string(),
                );
                let mut st = s.state.lock().expect("session lock");
                st.active = true;
                if let [Some(a), Some(b)] = st.position {
                    st.announced_from = [Some(a), Some(b)];
                    drop(st);
                    self.distance(&s, a, b, &now);
                }
            }
            "chat_message" => {
                let Some(s) = session() else {
                    return error("not_found", "session not found");
                };
                let text = cmd.message.as_deref().unwrap_or("").trim();
                if text.is_empty() || text.chars().count() > 2000 {
                    return error("validation", "message must be 1 to 2000 characters");
                }
                let id = Uuid::new_v4();
                self.messages
                    .lock()
                    .expect("messages lock")
                    .insert(id, (s.id, role));
                let mut sent = json!({"type": "message_sent", "message_id": id, "session_id": s.id, "timestamp": now});
                if let Some(r) = rid {
                    sent["request_id"] = json!(r);
                }
                reply(sent);
                let other = role.other();
                self.send_to(
                    s.party(other),
                    other,
                    &json!({"type": "chat_message", "message_id": id,
                    "session_id": s.id, "sender_type": role.name(), "message": text,
                    "timestamp": now})
                    .to_string(),
                );
            }
            ty @ ("message_delivered" | "message_read") => {
                let Some(id) = cmd
                    .message_id
                    .as_deref()
                    .and_then(|m| Uuid::parse_str(m).ok())
                else {
                    return error("validation", "message_id is required");
                };
                let found = {
                    let mut messages = self.messages.lock().expect("messages lock");
                    let entry = messages.get(&id).copied();
                    if ty == "message_read" && entry.is_some_and(|(_, r)| r != role) {
                        messages.remove(&id);
                    }
                    entry
                };
                let Some((sid, sender)) = found else {
                    return error("not_found", "message not found");
                };
                if sender == role {
                    return error("forbidden", "only the recipient confirms a message");
                }
                let s = self
                    .sessions
                    .read()
                    .expect("sessions lock")
                    .get(&sid)
                    .cloned();
                if let Some(s) = s {
                    let status = if ty == "message_read" {
                        "read"
                    } else {
                        "delivered"
                    };
                    self.send_to(
                        s.party(sender),
                        sender,
                        &json!({"type": "message_status_update",
                        "message_id": id, "status": status, "timestamp": now})
                        .to_string(),
                    );
                }
            }
            "typing_indicator" => {
                let Some(s) = session() else {
                    return error("not_found", "session not found");
                };
                let other = role.other();
                self.send_to(
                    s.party(other),
                    other,
                    &json!({"type": "typing_indicator",
                    "session_id": s.id, "user_type": role.name(),
                    "is_typing": cmd.is_typing.unwrap_or(false), "timestamp": now})
                    .to_string(),
                );
            }
            "location_update" => {
                let Some(s) = session() else {
                    return error("not_found", "session not found");
                };
                let (Some(lat), Some(lon)) = (cmd.latitude, cmd.longitude) else {
                    return error("validation", "latitude and longitude are required");
                };
                if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0)
                {
                    return error("validation", "invalid coordinates");
                }
                let me = match role {
                    Role::Seeker => 0,
                    Role::Provider => 1,
                };
                let mut st = s.state.lock().expect("session lock");
                st.position[me] = Some((lat, lon));
                if !st.active {
                    return;
                }
                let Some(other) = st.position[1 - me] else {
                    return;
                };
                let moved = match st.announced_from[me] {
                    None => true,
                    Some((plat, plon)) => haversine_m(plat, plon, lat, lon) >= 50.0,
                };
                if moved {
                    st.announced_from = if me == 0 {
                        [Some((lat, lon)), Some(other)]
                    } else {
                        [Some(other), Some((lat, lon))]
                    };
                    drop(st);
                    self.distance(&s, (lat, lon), other, &now);
                }
            }
            ty @ ("finish_service" | "cancel_connection") => {
                let Some(s) = session() else {
                    return error("not_found", "session not found");
                };
                if self
                    .sessions
                    .write()
                    .expect("sessions lock")
                    .remove(&s.id)
                    .is_none()
                {
                    return error("conflict", "session already ended");
                }
                let (kind, mine, theirs, by) = if ty == "finish_service" {
                    (
                        "service_finished",
                        "Service marked as finished successfully",
                        if role == Role::Seeker {
                            "Seeker marked the service as finished"
                        } else {
                            "Provider marked the service as finished"
                        },
                        "finished_by",
                    )
                } else {
                    (
                        "connection_cancelled",
                        "Connection cancelled successfully",
                        if role == Role::Seeker {
                            "Seeker cancelled the connection"
                        } else {
                            "Provider cancelled the connection"
                        },
                        "cancelled_by",
                    )
                };
                reply(json!({"type": kind, "session_id": s.id, "message": mine, "timestamp": now}));
                let other = role.other();
                self.send_to(
                    s.party(other),
                    other,
                    &json!({"type": kind, "session_id": s.id,
                    by: role.name(), "message": theirs, "timestamp": now})
                    .to_string(),
                );
                self.close_user(s.seeker, Role::Seeker);
                self.close_user(s.provider, Role::Provider);
            }
            _ => error("unknown_type", "unknown message type"),
        }
    }

    fn distance(&self, s: &Session, a: (f64, f64), b: (f64, f64), now: &str) {
        let d = (haversine_m(a.0, a.1, b.0, b.1) * 10.0).round() / 10.0;
        let r = d.round();
        let formatted = if r < 1000.0 {
            format!("{r} meters away")
        } else {
            format!("{:.1} km away", d / 1000.0)
        };
        let text = json!({"type": "distance_update", "session_id": s.id, "distance_meters": d,
            "distance_formatted": formatted, "timestamp": now})
        .to_string();
        self.send_to(s.seeker, Role::Seeker, &text);
        self.send_to(s.provider, Role::Provider, &text);
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Deserialize)]
struct Command {
    #[serde(rename = "type")]
    ty: String,
    request_id: Option<String>,
    session_id: Option<String>,
    message: Option<String>,
    message_id: Option<String>,
    work_id: Option<i64>,
    accepted: Option<bool>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    is_typing: Option<bool>,
    mediums: Option<Value>,
}

/// The body of `PUT /api/v1/provider/status`.
#[derive(Deserialize)]
struct StatusBody {
    is_active: bool,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// The body of `POST /api/v1/work-orders`.
#[derive(Deserialize)]
struct OrderBody {
    provider_id: Uuid,
    service_type: Option<String>,
    message: Option<String>,
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": message, "code": code}))).into_response()
}

fn bearer(floor: &Floor, headers: &HeaderMap) -> Option<Uuid> {
    let value = headers.get("authorization")?.to_str().ok()?;
    token::verify(&floor.key, value.strip_prefix("Bearer ")?)
}

fn unauthorized() -> Response {
    error_response(StatusCode::UNAUTHORIZED, "unauthorized", "invalid token")
}

/// The user of the request's valid bearer token; without one the request is answered 401.
struct Authenticated(Uuid);

impl FromRequestParts<Arc<Floor>> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        floor: &Arc<Floor>,
    ) -> Result<Self, Self::Rejection> {
        bearer(floor, &parts.headers)
            .map(Authenticated)
            .ok_or_else(unauthorized)
    }
}

async fn provider_status(
    State(floor): State<Arc<Floor>>,
    Authenticated(user): Authenticated,
    Json(body): Json<StatusBody>,
) -> Response {
    let mut providers = floor.active_providers.lock().expect("providers lock");
    if body.is_active {
        providers.insert(
            user,
            (body.latitude.unwrap_or(0.0), body.longitude.unwrap_or(0.0)),
        );
    } else {
        providers.remove(&user);
    }
    Json(
        json!({"is_active": body.is_active, "latitude": body.latitude,
        "longitude": body.longitude, "updated_at": now()}),
    )
    .into_response()
}

async fn work_order(
    State(floor): State<Arc<Floor>>,
    Authenticated(seeker): Authenticated,
    Json(body): Json<OrderBody>,
) -> Response {
    if !floor
        .active_providers
        .lock()
        .expect("providers lock")
        .contains_key(&body.provider_id)
    {
        return error_response(StatusCode::CONFLICT, "conflict", "provider is not active");
    }
    let work_id = floor.next_work.fetch_add(1, Ordering::Relaxed);
    floor.orders.lock().expect("orders lock").insert(
        work_id,
        Order {
            seeker,
            provider: body.provider_id,
        },
    );
    let now = now();
    floor.send_to(
        body.provider_id,
        Role::Provider,
        &json!({"type": "work_assigned",
        "work_id": work_id, "seeker_name": "Bench User", "seeker_mobile": null,
        "service_type": body.service_type, "distance": null, "message": body.message,
        "seeker_profile_pic": null, "created_at": now, "timestamp": now})
        .to_string(),
    );
    (
        StatusCode::CREATED,
        Json(json!({"work_id": work_id, "status": "pending", "created_at": now})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// `/ws/work/seeker/` and `/ws/work/provider/` (with or without the slash).
async fn ws_endpoint(
    State(floor): State<Arc<Floor>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let role = match endpoint.as_str() {
        "seeker" => Role::Seeker,
        "provider" => Role::Provider,
        _ => return error_response(StatusCode::NOT_FOUND, "not_found", "not found"),
    };
    let user = match q.token {
        Some(t) => token::verify(&floor.key, &t),
        None => bearer(&floor, &headers),
    };
    let Some(user) = user else {
        return unauthorized();
    };
    // Registered before the 101 answer: whatever is addressed to the user from then on
    // waits in the socket's queue, so nothing sent right after the handshake is missed.
    let (tx, rx) = mpsc::channel::<Message>(OUTBOUND_QUEUE);
    let id = floor.next_conn.fetch_add(1, Ordering::Relaxed);
    floor
        .conns
        .lock()
        .expect("conns lock")
        .entry((user, role))
        .or_default()
        .push((id, tx.clone()));
    let failed = floor.clone();
    ws.read_buffer_size(4096)
        .write_buffer_size(4096)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
        .on_failed_upgrade(move |_| failed.unregister(user, role, id))
        .on_upgrade(move |socket| connection(floor, socket, user, role, id, tx, rx))
}

async fn connection(
    floor: Arc<Floor>,
    socket: WebSocket,
    user: Uuid,
    role: Role,
    id: u64,
    tx: Tx,
    mut rx: mpsc::Receiver<Message>,
) {
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut next = Some(first);
            while let Some(m) = next.take() {
                let close = matches!(m, Message::Close(_));
                if sink.feed(m).await.is_err() || close {
                    let _ = sink.flush().await;
                    return;
                }
                next = rx.try_recv().ok();
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => floor.handle(user, role, &tx, text.as_str()),
            Message::Binary(_) => {
                let _ = tx.try_send(Message::text(
                    json!({"type": "error", "error": "binary frames are not supported", "code": "validation"}).to_string(),
                ));
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    floor.unregister(user, role, id);
    drop(tx);
    let _ = writer.await;
}
