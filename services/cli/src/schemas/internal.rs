//! `internal/*.json`: payloads between ws-edge and the services on NATS. Not part of the
//! client contract; for operators and whoever writes another service.

use schemars::JsonSchema;
use serde_json::Value;
use tether_proto::api::{ApiReply, ApiRequest};
use tether_proto::envelope::ConnectedEvent;
use tether_proto::events::SessionEvent;

use super::Artefacts;
use super::generator::{Direction, root_schema};
use super::refine;

/// Every internal payload: file name and schema (as written by its producer).
pub fn schemas() -> Vec<(&'static str, Value)> {
    fn written<T: JsonSchema>() -> Value {
        let mut schema = root_schema::<T>(Direction::Write);
        refine::definitions(&mut schema);
        schema
    }
    vec![
        ("connected_event.json", written::<ConnectedEvent>()),
        (
            "presence_event.json",
            written::<tether_proto::presence::PresenceEvent>(),
        ),
        (
            "edge_beat.json",
            written::<tether_proto::presence::EdgeBeat>(),
        ),
        ("session_event.json", written::<SessionEvent>()),
        ("api_request.json", written::<ApiRequest>()),
        ("api_reply.json", written::<ApiReply>()),
    ]
}

/// Adds `internal/*.json`.
pub fn add(artefacts: &mut Artefacts) -> anyhow::Result<()> {
    for (file, schema) in schemas() {
        artefacts.insert_json(&format!("internal/{file}"), &schema)?;
    }
    Ok(())
}
