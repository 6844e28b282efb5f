//! Per-user routing: one wildcard subscription per edge (`<p>.out.>`) routed in process
//! to the sockets of each (role, user). A connect or disconnect costs no SUB/UNSUB and no
//! per-user task or channel; one task reads the subscription in order and hands each
//! message to its sockets' bounded queues without waiting, so one user's order is kept
//! and a slow socket never holds up the others.
//!
//! Every edge receives every user's outbound traffic and drops what has no socket here:
//! cheap for a handful of edges (a message is a few hundred bytes and a hash lookup).
//! Past that, the subject space can be sharded by user id, each edge subscribing to the
//! shards of its users.

mod presence;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_nats::{Client, HeaderMap};
use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use tether_platform::metrics_catalog::names;
use tether_platform::tasks::Tasks;
use tether_platform::trace;
use tether_proto::Role;
use tether_proto::envelope::{HEADER_CLOSE, HEADER_EXCEPT_CONN, HEADER_ONLY_CONN, close_code};
use tether_proto::presence::PresenceMark;
use tether_proto::subjects::Subjects;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

/// Something to write to one socket: a text frame, then optionally a close.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// JSON text to write (none for a bare close).
    pub text: Option<Utf8Bytes>,
    /// Close with this code after writing.
    pub close: Option<u16>,
}

type Key = (Role, Uuid);

/// The sockets of one (role, user) on this edge.
#[derive(Default)]
struct Conns {
    sockets: Vec<(Uuid, mpsc::Sender<Outbound>)>,
    /// The sequence number of the transition that made the user online here.
    online_seq: u64,
}

/// One presence transition of this edge: (role, user), online, its sequence number.
type Transition = (Key, bool, u64);

/// The routing table of one edge.
pub struct Hub {
    users: Mutex<HashMap<Key, Conns>>,
    /// This edge process (a new id at every start, see [`presence`]).
    edge_id: Uuid,
    /// The last presence sequence number given (only under the `users` lock).
    last_seq: AtomicU64,
    /// This edge's presence transitions, in the order they happened (see [`presence`]).
    presence: mpsc::UnboundedSender<Transition>,
    /// true once the wildcard subscription is in place (sockets wait for it).
    subscribed: watch::Receiver<bool>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").finish_non_exhaustive()
    }
}

/// Keeps a socket registered; unregisters on drop.
pub struct Registration {
    hub: Arc<Hub>,
    key: Key,
    conn_id: Uuid,
    presence: PresenceMark,
}

impl Registration {
    /// The transition that made the socket's user online on this edge.
    pub fn presence(&self) -> PresenceMark {
        self.presence
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.key, self.conn_id);
    }
}

/// Why a socket could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// The hub could not subscribe to the outbound subjects.
    NotSubscribed,
    /// The user has as many sockets for this role as allowed.
    TooManySockets,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotSubscribed => "the outbound subscription is not available",
            Self::TooManySockets => "too many sockets for this user",
        })
    }
}

impl std::error::Error for RegisterError {}

impl Hub {
    /// A hub with its wildcard subscription being made in the background; [`Hub::register`]
    /// waits for it, so nothing published after a socket registered is missed.
    /// Each change of `nats_gaps` (NATS reconnected, or this client fell behind) closes
    /// every socket with 1012, so clients reconnect and the re-send on connect recovers
    /// what was published meanwhile. Its tasks run in `tasks` and stop with them (call
    /// that after the sockets closed: the presence publisher sends their last transitions).
    pub fn new(
        client: Client,
        subjects: Subjects,
        mut nats_gaps: watch::Receiver<u64>,
        tasks: &Tasks,
    ) -> Arc<Self> {
        let (ready, subscribed) = watch::channel(false);
        let (presence, transitions) = mpsc::unbounded_channel();
        let hub = Arc::new(Self {
            users: Mutex::new(HashMap::new()),
            edge_id: Uuid::new_v4(),
            last_seq: AtomicU64::new(0),
            presence,
            subscribed,
        });
        presence::spawn(
            tasks,
            hub.edge_id,
            client.clone(),
            subjects.clone(),
            transitions,
            Arc::downgrade(&hub),
        );
        let weak = Arc::downgrade(&hub);
        tasks.spawn(|stop| async move {
            let mut subscription = loop {
                let retry = match client.subscribe(subjects.outbound_all()).await {
                    Ok(subscription) => break subscription,
                    Err(err) => {
                        tracing::error!(error = %err, "outbound subscription failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(500))
                    }
                };
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = retry => {}
                }
            };
            // The SUB is on the same connection as everything this edge publishes later
            // (connected events, commands), so NATS has it before any of those.
            let _ = ready.send(true);
            nats_gaps.mark_unchanged();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => {
                        let _ = subscription.unsubscribe().await;
                        break;
                    }
                    message = subscription.next() => {
                        let Some(message) = message else { break };
                        let Some(hub) = weak.upgrade() else { break };
                        let Some(key) = subjects.parse_outbound(message.subject.as_str()) else {
                            continue;
                        };
                        hub.dispatch(key, message.headers.as_ref(), message.payload);
                    }
                    changed = nats_gaps.changed() => {
                        if changed.is_err() {
                            // The NATS client is gone; the subscription ends with it.
                            stop.cancelled().await;
                            break;
                        }
                        let Some(hub) = weak.upgrade() else { break };
                        hub.close_all(close_code::SERVICE_RESTART);
                    }
                }
            }
        });
        hub
    }

    /// Open sockets of `(role, user_id)` on this edge.
    pub fn sockets_of(&self, role: Role, user_id: Uuid) -> usize {
        self.lock()
            .get(&(role, user_id))
            .map_or(0, |conns| conns.sockets.len())
    }

    /// Registers a socket: from now on it gets what is published for `(role, user_id)`.
    /// Refused when that user already has `max_sockets` sockets here.
    pub async fn register(
        self: &Arc<Self>,
        role: Role,
        user_id: Uuid,
        conn_id: Uuid,
        sender: mpsc::Sender<Outbound>,
        max_sockets: usize,
    ) -> Result<Registration, RegisterError> {
        let mut subscribed = self.subscribed.clone();
        subscribed
            .wait_for(|ready| *ready)
            .await
            .map_err(|_| RegisterError::NotSubscribed)?;
        let key = (role, user_id);
        let seq = {
            let mut users = self.lock();
            let conns = users.entry(key).or_default();
            if conns.sockets.len() >= max_sockets {
                return Err(RegisterError::TooManySockets);
            }
            if conns.sockets.is_empty() {
                conns.online_seq = self.transition(key, true);
            }
            conns.sockets.push((conn_id, sender));
            conns.online_seq
        };
        Ok(Registration {
            hub: self.clone(),
            key,
            conn_id,
            presence: PresenceMark {
                edge_id: self.edge_id,
                seq,
            },
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Conns>> {
        // A panic while holding the lock cannot leave the map inconsistent (every
        // mutation is a single push/retain/remove), so a poisoned lock is still usable.
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unregister(&self, key: Key, conn_id: Uuid) {
        let mut users = self.lock();
        let Some(conns) = users.get_mut(&key) else {
            return;
        };
        conns.sockets.retain(|(id, _)| *id != conn_id);
        if conns.sockets.is_empty() {
            self.forget(&mut users, key);
        }
    }

    /// Drops `key`, whose last socket here is gone, and reports it to presence (under the
    /// lock, like the registration that reported it online, so the two leave in order).
    fn forget(&self, users: &mut HashMap<Key, Conns>, key: Key) {
        users.remove(&key);
        self.transition(key, false);
    }

    /// Numbers a presence transition and queues it for publishing. Called only under the
    /// `users` lock, so transitions are numbered and leave in the order they happened.
    fn transition(&self, key: Key, online: bool) -> u64 {
        let seq = self.last_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = self.presence.send((key, online, seq));
        seq
    }

    /// Closes every socket with `code` (after what is already queued for it).
    fn close_all(&self, code: u16) {
        let mut users = self.lock();
        let sockets: usize = users.values().map(|conns| conns.sockets.len()).sum();
        tracing::warn!(
            sockets,
            code,
            "closing every socket: messages may have been missed"
        );
        metrics::counter!(names::WS_GAP_CLOSES_TOTAL).increment(sockets as u64);
        let close = Outbound {
            text: None,
            close: Some(code),
        };
        for conns in users.values_mut() {
            // A full queue: dropping the sender closes that socket (1013) just as well.
            conns
                .sockets
                .retain(|(_, sender)| sender.try_send(close.clone()).is_ok());
        }
        let gone: Vec<Key> = users
            .iter()
            .filter(|(_, conns)| conns.sockets.is_empty())
            .map(|(key, _)| *key)
            .collect();
        for key in gone {
            self.forget(&mut users, key);
        }
    }

    fn dispatch(&self, key: Key, headers: Option<&HeaderMap>, payload: bytes::Bytes) {
        let header_uuid = |name: &str| {
            headers
                .and_then(|h| h.get(name))
                .and_then(|v| Uuid::parse_str(v.as_str()).ok())
        };
        let only = header_uuid(HEADER_ONLY_CONN);
        let except = header_uuid(HEADER_EXCEPT_CONN);
        let close = headers
            .and_then(|h| h.get(HEADER_CLOSE))
            .and_then(|v| v.as_str().parse::<u16>().ok());
        let text = if payload.is_empty() {
            None
        } else {
            match Utf8Bytes::try_from(payload) {
                Ok(text) => Some(text),
                Err(_) => {
                    tracing::warn!(role = key.0.as_str(), "dropping non-UTF-8 outbound message");
                    return;
                }
            }
        };
        let outbound = Outbound { text, close };
        let mut users = self.lock();
        let Some(conns) = users.get_mut(&key) else {
            return;
        };
        let before = conns.sockets.len();
        // Only the edges that hold the user's sockets take part in the sender's trace.
        let _delivery = trace::carried(headers).then(|| {
            let span = tracing::info_span!(
                target: trace::TARGET,
                "deliver",
                otel.name = "ws-edge deliver",
                otel.kind = "consumer",
                messaging.system = "nats",
                sockets = before,
            );
            trace::continue_from(&span, headers);
            span.entered()
        });
        conns.sockets.retain(|(conn_id, sender)| {
            let wanted = only.is_none_or(|id| id == *conn_id) && except != Some(*conn_id);
            if !wanted {
                return true;
            }
            match sender.try_send(outbound.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // The socket cannot keep up: dropping its sender makes it close
                    // (1013) once it drains, instead of buffering without bound.
                    tracing::warn!(role = key.0.as_str(), conn = %conn_id, "outbound queue full, closing socket");
                    metrics::counter!(names::WS_SLOW_CONSUMER_CLOSES_TOTAL).increment(1);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        if before > 0 && conns.sockets.is_empty() {
            self.forget(&mut users, key);
        }
    }
}
