//! Session lifecycle events for chat and location, published after each commit.

use chrono::{DateTime, Utc};
use tether_proto::Role;
use tether_proto::events::{SessionEvent, SessionEventKind};
use uuid::Uuid;

use crate::context::Ctx;

/// The parties and order of a session, as every event carries them.
#[derive(Debug, Clone, Copy)]
pub struct Parties {
    /// The session.
    pub session_id: Uuid,
    /// Its work order.
    pub work_id: i64,
    /// The seeker.
    pub seeker_id: Uuid,
    /// The provider.
    pub provider_id: Uuid,
}

impl Parties {
    /// The user id of `role`'s party.
    pub fn user(&self, role: Role) -> Uuid {
        match role {
            Role::Seeker => self.seeker_id,
            Role::Provider => self.provider_id,
        }
    }
}

/// Publishes `kind` for `parties` (core NATS: consumers are live services in a queue
/// group; the database stays the point of truth if one is missed).
pub async fn publish(
    ctx: &Ctx,
    kind: SessionEventKind,
    parties: Parties,
    by: Option<Role>,
    at: DateTime<Utc>,
) {
    let event = SessionEvent {
        kind,
        session_id: parties.session_id,
        work_id: parties.work_id,
        seeker_id: parties.seeker_id,
        provider_id: parties.provider_id,
        by,
        at: at.into(),
    };
    metrics::counter!("tether_session_transitions_total", "kind" => kind.as_str()).increment(1);
    let payload = match serde_json::to_vec(&event) {
        Ok(payload) => payload,
        Err(err) => {
            tracing::error!(session_id = %parties.session_id, error = %err, "session event not serialisable");
            return;
        }
    };
    if let Err(err) = ctx
        .client
        .publish(ctx.subjects.session_event(kind), payload.into())
        .await
    {
        tracing::warn!(session_id = %parties.session_id, kind = kind.as_str(), error = %err, "session event publish failed");
    }
}
