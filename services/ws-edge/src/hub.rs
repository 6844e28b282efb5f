//! Per-user routing: one NATS subscription per (role, user) with at least one socket on
//! this edge, fanned out to that user's sockets. An edge only receives the traffic of the
//! users it serves (no wildcard subscription), so adding edges scales out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::{Client, HeaderMap};
use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use tether_proto::Role;
use tether_proto::envelope::{HEADER_CLOSE, HEADER_EXCEPT_CONN, HEADER_ONLY_CONN};
use tether_proto::subjects::Subjects;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
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

struct Entry {
    conns: Vec<(Uuid, mpsc::Sender<Outbound>)>,
    subscription: AbortHandle,
}

/// The routing table of one edge.
pub struct Hub {
    client: Client,
    subjects: Subjects,
    users: Mutex<HashMap<Key, Entry>>,
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
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(self.key, self.conn_id);
    }
}

impl Hub {
    /// An empty hub.
    pub fn new(client: Client, subjects: Subjects) -> Arc<Self> {
        Arc::new(Self {
            client,
            subjects,
            users: Mutex::new(HashMap::new()),
        })
    }

    /// Registers a socket. When this is the user's first socket on this edge for `role`,
    /// subscribes to the user's outbound subject first, so anything published after this
    /// returns reaches the socket.
    pub async fn register(
        self: &Arc<Self>,
        role: Role,
        user_id: Uuid,
        conn_id: Uuid,
        sender: mpsc::Sender<Outbound>,
    ) -> Result<Registration, async_nats::SubscribeError> {
        let key = (role, user_id);
        let registration = Registration {
            hub: self.clone(),
            key,
            conn_id,
        };
        if let Some(entry) = self.lock().get_mut(&key) {
            entry.conns.push((conn_id, sender));
            return Ok(registration);
        }
        let mut subscription = self
            .client
            .subscribe(self.subjects.outbound(role, user_id))
            .await?;
        let mut users = self.lock();
        if let Some(entry) = users.get_mut(&key) {
            // Another socket of the same user registered while we subscribed; ours is
            // dropped (which unsubscribes).
            entry.conns.push((conn_id, sender));
            return Ok(registration);
        }
        let hub = self.clone();
        let task = tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                hub.dispatch(key, message.headers.as_ref(), message.payload);
            }
        });
        users.insert(
            key,
            Entry {
                conns: vec![(conn_id, sender)],
                subscription: task.abort_handle(),
            },
        );
        Ok(registration)
    }

    /// Number of (role, user) pairs with a subscription on this edge.
    pub fn subscribed_users(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding the lock cannot leave the map inconsistent (every
        // mutation is a single push/retain/remove), so a poisoned lock is still usable.
        self.users
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn unregister(&self, key: Key, conn_id: Uuid) {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&key) else {
            return;
        };
        entry.conns.retain(|(id, _)| *id != conn_id);
        if entry.conns.is_empty()
            && let Some(entry) = users.remove(&key)
        {
            entry.subscription.abort();
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
        let Some(entry) = users.get_mut(&key) else {
            return;
        };
        entry.conns.retain(|(conn_id, sender)| {
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
                    metrics::counter!("tether_ws_slow_consumer_closes_total").increment(1);
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }
}
