//! This edge's side of presence (protocol 1.1): it publishes each (user, role) whose first
//! socket opened here or whose last socket here closed (`<p>.evt.edge.presence`), in the
//! order the hub saw them and numbered, and beats every [`EDGE_BEAT_S`] seconds
//! (`<p>.evt.edge.beat`) so that, if this process dies, the location service takes its
//! sockets for closed. The edge id is new at every start: a restarted edge never inherits
//! a dead one's sockets.

use std::sync::Weak;
use std::time::Duration;

use async_nats::Client;
use tether_platform::tasks::Tasks;
use tether_proto::Timestamp;
use tether_proto::presence::{EDGE_BEAT_S, EdgeBeat, PresenceEvent};
use tether_proto::subjects::Subjects;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::Hub;

/// Starts the publisher of transitions and the beat in `tasks`; both stop with the hub or
/// when `tasks` stop, the publisher after sending the transitions already queued (the
/// sockets closed at shutdown), so the location service hears of them at once instead of
/// after this edge's beats time out.
pub(super) fn spawn(
    tasks: &Tasks,
    edge_id: Uuid,
    client: Client,
    subjects: Subjects,
    mut transitions: mpsc::UnboundedReceiver<super::Transition>,
    hub: Weak<Hub>,
) {
    let beat_client = client.clone();
    let beat_subject = subjects.edge_beat();
    tasks.spawn(|stop| async move {
        let mut timer = tokio::time::interval(Duration::from_secs(EDGE_BEAT_S));
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = timer.tick() => {}
            }
            if hub.strong_count() == 0 {
                return;
            }
            let beat = EdgeBeat {
                edge_id,
                at: Timestamp::now(),
            };
            if let Ok(payload) = serde_json::to_vec(&beat) {
                let _ = beat_client
                    .publish(beat_subject.clone(), payload.into())
                    .await;
            }
        }
    });
    tasks.spawn(|stop| async move {
        let subject = subjects.presence();
        loop {
            // Ends when the hub (the only sender) is dropped, or at stop once drained.
            let next = tokio::select! {
                biased;
                next = transitions.recv() => next,
                _ = stop.cancelled() => transitions.try_recv().ok(),
            };
            let Some(((role, user_id), online, seq)) = next else {
                return;
            };
            let event = PresenceEvent {
                edge_id,
                seq,
                user_id,
                role,
                online,
            };
            if let Ok(payload) = serde_json::to_vec(&event) {
                let _ = client.publish(subject.clone(), payload.into()).await;
            }
        }
    });
}
