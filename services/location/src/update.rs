//! `location_update`: validate, then hand to the session's batch writer ([`crate::batch`]),
//! which stores the sender's position and, while the session is active, sends both
//! parties a `distance_update` when the contract says one is due.

use std::sync::Arc;

use tether_platform::Reply;
use tether_proto::distance::Point;
use tether_proto::envelope::CommandEnvelope;
use tether_proto::{ClientMessage, validate};

use crate::Context;
use crate::batch::Update;

/// Handles one command for the location service. On success the sender gets no direct
/// answer (see the crate docs); errors are answered to the sending connection:
/// `not_found` when the sender is not this session's party in this role (never revealing
/// that the session exists), `conflict` when the session has ended, `unavailable` when
/// the update was refused without being applied (see the crate docs on overload).
pub async fn handle(context: Arc<Context>, envelope: CommandEnvelope) -> Reply {
    let CommandEnvelope { meta, command } = envelope;
    let (session_id, latitude, longitude, accuracy_m) = match command {
        ClientMessage::LocationUpdate {
            session_id,
            latitude,
            longitude,
            accuracy_m,
        } => (session_id, latitude, longitude, accuracy_m),
        // No `_`: a new command does not compile until its owner handles it.
        other @ (tether_proto::edge_commands!()
        | tether_proto::session_commands!()
        | tether_proto::chat_commands!()) => {
            return Reply::error(&meta, &other.not_routed_here());
        }
    };
    let result = async {
        let session_id = validate::session_id(session_id.as_deref())?;
        let (latitude, longitude) = validate::coordinates(latitude, longitude)?;
        let accuracy = validate::accuracy(accuracy_m.as_ref())?;
        context
            .writer
            .submit(Update {
                session_id,
                role: meta.role,
                user_id: meta.user_id,
                position: Point::new(latitude, longitude),
                coarse: accuracy.is_some_and(|metres| metres > context.max_accuracy_m),
                received_at: meta.received_at.as_datetime(),
            })
            .await
    }
    .await;
    match result {
        Ok(()) => Reply::none(),
        Err(err) => Reply::error(&meta, &err),
    }
}
