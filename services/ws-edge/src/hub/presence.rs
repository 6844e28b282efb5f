//! This edge's side of presence (protocol 1.1): it publishes each (user, role) whose first
//! socket opened here or whose last socket here closed (`<p>.evt.edge.presence`), in the
//! order the hub saw them and numbered, and beats every [`EDGE_BEAT_S`] seconds
//! (`<p>.evt.edge.beat`) so that, if this process dies, the location service takes its
//! sockets for closed. The edge id is new at every start: a restarted edge never inherits
//! a dead one's sockets.

use std::sync::Weak;
use std::time::Duration;

use async_nats::Client;
use tether_proto::Timestamp;
use tether_proto::presence::{EDGE_BEAT_S, EdgeBeat, PresenceEvent};
use tether_proto::subjects::Subjects;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::Hub;

/// Starts the publisher of transitions and the beat; both stop with the hub.
pub(super) fn spawn(
    edge_id: Uuid,
    client: Client,
    subjects: Subjects,
    mut transitions: mpsc::UnboundedReceiver<super::Transition>,
    hub: Weak<Hub>,
) {
    let beat_client = client.clone();
    let beat_subject = subjects.edge_beat();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(Duration::from_secs(EDGE_BEAT_S));
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
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
    tokio::spawn(async move {
        let subject = subjects.presence();
        // Ends when the hub (the only sender) is dropped.
        while let Some(((role, user_id), online, seq)) = transitions.recv().await {
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
