//! Client commands owned by location, dispatched by one exhaustive `match` (one file per
//! command), the same shape as every service's.

mod location_update;

use std::sync::Arc;

use tether_platform::Reply;
use tether_proto::commands::{LocationCommand, Routed, not_routed};
use tether_proto::envelope::CommandEnvelope;

use crate::Context;

/// Handles one command from the edge and returns the answer for its connection.
pub async fn handle(context: Arc<Context>, envelope: CommandEnvelope) -> Reply {
    let CommandEnvelope { meta, command } = envelope;
    let kind = command.type_name();
    let result = match command.routed() {
        // Exhaustive: a command registered for this service does not compile until it is
        // handled here.
        Routed::Location(command) => match command {
            LocationCommand::LocationUpdate(command) => {
                location_update::handle(&context, &meta, command).await
            }
        },
        _ => Err(not_routed(kind).into()),
    };
    match result {
        Ok(reply) => reply,
        Err(err) => Reply::error(&meta, &err.into_wire(kind)),
    }
}
