//! The session service's events on NATS, as other services see them.

use std::time::Duration;

use futures::StreamExt;
use tether_proto::events::{SessionEvent, SessionEventKind};
use uuid::Uuid;

use crate::{Role, Stack};

impl Stack {
    /// Subscribes to this stack's session events of `kind`; the server has the
    /// subscription when this returns.
    pub async fn watch_session_events(&self, kind: SessionEventKind) -> async_nats::Subscriber {
        let subscriber = self
            .nats
            .subscribe(self.subjects.session_event(kind))
            .await
            .expect("subscribe");
        self.nats.flush().await.expect("flush");
        subscriber
    }

    /// Subscribes to what the services send to (role, user)'s sockets, as an edge does;
    /// the server has the subscription when this returns.
    pub async fn watch_outbound(&self, role: Role, user_id: Uuid) -> async_nats::Subscriber {
        let subscriber = self
            .nats
            .subscribe(self.subjects.outbound(role, user_id))
            .await
            .expect("subscribe");
        self.nats.flush().await.expect("flush");
        subscriber
    }
}

/// The next event on `subscriber` about `session_id` within `wait`, if any (other tests
/// on the same stack publish too).
pub async fn session_event_for(
    subscriber: &mut async_nats::Subscriber,
    session_id: Uuid,
    wait: Duration,
) -> Option<SessionEvent> {
    tokio::time::timeout(wait, async {
        loop {
            let message = subscriber.next().await.expect("event stream");
            let event: SessionEvent = serde_json::from_slice(&message.payload).expect("event json");
            if event.session_id == session_id {
                return event;
            }
        }
    })
    .await
    .ok()
}
