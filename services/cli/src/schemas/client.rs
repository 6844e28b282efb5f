//! `client/<type>.json` and `client-message.json`: what apps send on the WebSocket.

use anyhow::bail;
use serde_json::{Value, json};
use tether_proto::ClientMessage;
use tether_proto::limits::MAX_REQUEST_ID_CHARS;

use super::Artefacts;
use super::generator::{Direction, root_schema, standalone, variants};
use super::refine;

/// The `request_id` every client message may carry (it travels in the envelope, not in
/// the Rust type, so it is added here).
pub fn request_id_property() -> Value {
    json!({
        "description": "Any string; the direct answer to this message (success or error) echoes it.",
        "type": "string",
        "maxLength": MAX_REQUEST_ID_CHARS
    })
}

/// The client union (each command's schema rules are applied by its type, see
/// [`tether_proto::Command::field_rules`]) with the shared definitions refined.
pub fn union() -> anyhow::Result<Value> {
    let mut union = root_schema::<ClientMessage>(Direction::Read);
    refine::definitions(&mut union);
    if let Some(Value::Array(options)) = union.get_mut("oneOf") {
        for option in options.iter_mut() {
            refine::add_property(option, "request_id", request_id_property());
        }
    }
    let mut found: Vec<String> = variants(&union).into_iter().map(|(t, _)| t).collect();
    found.sort();
    let mut listed = ClientMessage::TYPES.to_vec();
    listed.sort_unstable();
    if found != listed {
        bail!("ClientMessage variants {found:?} differ from ClientMessage::TYPES");
    }
    Ok(union)
}

/// Adds `client-message.json` and `client/<type>.json`.
pub fn add(artefacts: &mut Artefacts) -> anyhow::Result<()> {
    let union = union()?;
    for (type_name, variant) in variants(&union) {
        let schema = standalone(&union, &variant, &type_name);
        artefacts.insert_json(&format!("client/{type_name}.json"), &schema)?;
    }
    artefacts.insert_json("client-message.json", &union)?;
    Ok(())
}
