//! The connections that closed lately, from ws-edge's `<p>.evt.edge.closed` (every
//! instance of a service subscribes, outside any queue group). Work queued for one
//! connection alone (the re-send on connect, the `peer_status` on connect) is skipped when
//! that connection is already gone: during a connect storm this is the work that would
//! otherwise keep a service busy for minutes after its clients left.
//!
//! Memory is bounded: ids are kept in two generations of [`HORIZON`] each. Work older than
//! that for a connection that closed is done anyway (it is harmless, only wasted).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tether_proto::envelope::ConnectionClosed;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a closed connection is remembered at least.
pub const HORIZON: Duration = Duration::from_secs(120);

/// Recently closed connection ids.
#[derive(Debug)]
pub struct ClosedConns {
    inner: Mutex<Generations>,
}

#[derive(Debug)]
struct Generations {
    current: HashSet<Uuid>,
    previous: HashSet<Uuid>,
    started: Instant,
}

impl Default for ClosedConns {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Generations {
                current: HashSet::new(),
                previous: HashSet::new(),
                started: Instant::now(),
            }),
        }
    }
}

impl ClosedConns {
    /// Records that `conn_id` closed.
    pub fn insert(&self, conn_id: Uuid) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.started.elapsed() >= HORIZON {
            inner.previous = std::mem::take(&mut inner.current);
            inner.started = Instant::now();
        }
        inner.current.insert(conn_id);
    }

    /// Whether `conn_id` is known to be closed.
    pub fn contains(&self, conn_id: Uuid) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.current.contains(&conn_id) || inner.previous.contains(&conn_id)
    }

    /// Records every close announced on `subscription` until `shutdown`.
    pub async fn follow(
        &self,
        mut subscription: async_nats::Subscriber,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => break,
                message = subscription.next() => message,
            };
            let Some(message) = message else { break };
            match serde_json::from_slice::<ConnectionClosed>(&message.payload) {
                Ok(closed) => self.insert(closed.conn_id),
                Err(err) => tracing::warn!(error = %err, "malformed connection-closed event"),
            }
        }
        let _ = subscription.unsubscribe().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_closed_connections() {
        let closed = ClosedConns::default();
        let (gone, open) = (Uuid::new_v4(), Uuid::new_v4());
        closed.insert(gone);
        assert!(closed.contains(gone));
        assert!(!closed.contains(open));
    }
}
