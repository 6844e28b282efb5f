//! Session lifecycle events for chat and location, published after each commit.

use chrono::{DateTime, Utc};
use tether_platform::metrics_catalog::names;
use tether_proto::Role;
use tether_proto::events::{SessionEvent, SessionEventKind};
use tether_proto::model::Parties;
use uuid::Uuid;

use crate::context::Ctx;

/// The session, its order and its parties, as every event carries them.
#[derive(Debug, Clone, Copy)]
pub struct SessionParties {
    /// The session.
    pub session_id: Uuid,
    /// Its work order.
    pub work_id: i64,
    /// The seeker and the provider.
    pub parties: Parties,
}

/// Publishes `kind` for `session` (core NATS: consumers are live services in a queue
/// group; the database stays the point of truth if one is missed).
pub async fn publish(
    ctx: &Ctx,
    kind: SessionEventKind,
    session: SessionParties,
    by: Option<Role>,
    at: DateTime<Utc>,
) {
    let event = SessionEvent {
        kind,
        session_id: session.session_id,
        work_id: session.work_id,
        seeker_id: session.parties.seeker_id,
        provider_id: session.parties.provider_id,
        by,
        at: at.into(),
        chat_expires_at: matches!(
            kind,
            SessionEventKind::Cancelled | SessionEventKind::Completed
        )
        .then(|| (at + chrono::TimeDelta::hours(i64::from(ctx.settings.chat_ttl_h))).into()),
    };
    metrics::counter!(names::SESSION_TRANSITIONS_TOTAL, "kind" => kind.as_str()).increment(1);
    let payload = match serde_json::to_vec(&event) {
        Ok(payload) => payload,
        Err(err) => {
            tracing::error!(session_id = %session.session_id, error = %err, "session event not serialisable");
            return;
        }
    };
    if let Err(err) = ctx
        .client
        .publish(ctx.subjects.session_event(kind), payload.into())
        .await
    {
        tracing::warn!(session_id = %session.session_id, kind = kind.as_str(), error = %err, "session event publish failed");
    }
}
