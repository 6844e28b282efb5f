//! `server/<type>.json` and `server-message.json`: what apps receive on the WebSocket.

use anyhow::bail;
use serde_json::{Value, json};
use tether_proto::{Role, ServerFrame};

use super::Artefacts;
use super::generator::{Direction, root_schema, standalone, variants};
use super::refine::{self, FieldRule};

const BOTH: &[Role] = &[Role::Seeker, Role::Provider];
const SEEKER: &[Role] = &[Role::Seeker];
const PROVIDER: &[Role] = &[Role::Provider];

/// Which endpoint's sockets receive each server message type, as docs/protocol.md says.
/// The types carry no role, so this is the one hand-kept table; generation fails when a
/// type is missing here or listed but gone.
pub const RECEIVERS: &[(&str, &[Role])] = &[
    ("pong", BOTH),
    ("error", BOTH),
    ("work_assigned", PROVIDER),
    ("work_expired", SEEKER),
    ("work_accepted", BOTH),
    ("work_rejected", PROVIDER),
    ("work_response", SEEKER),
    ("mediums_selected", SEEKER),
    ("seeker_mediums_selected", PROVIDER),
    ("mediums_shared", PROVIDER),
    ("provider_mediums_shared", SEEKER),
    ("chat_ready", BOTH),
    ("message_sent", BOTH),
    ("chat_message", BOTH),
    ("message_status_update", BOTH),
    ("typing_indicator", BOTH),
    ("connection_cancelled", BOTH),
    ("service_finished", BOTH),
    ("distance_update", BOTH),
    ("arrival_update", BOTH),
    ("peer_status", BOTH),
    ("location_cadence", BOTH),
];

/// The roles whose sockets receive `type_name`.
pub fn receivers(type_name: &str) -> &'static [Role] {
    RECEIVERS
        .iter()
        .find(|(name, _)| *name == type_name)
        .map(|(_, roles)| *roles)
        .unwrap_or(&[])
}

/// The server union (`ServerFrame`: every message plus the optional `request_id`).
pub fn union() -> anyhow::Result<Value> {
    let mut union = root_schema::<ServerFrame>(Direction::Write);
    refine::definitions(&mut union);
    // Present only on direct answers, and then always a string (never null).
    refine::apply(
        &mut union,
        &[FieldRule::optional("request_id", json!({"type": "string"}))],
    )?;
    let mut found: Vec<String> = variants(&union).into_iter().map(|(t, _)| t).collect();
    found.sort();
    let mut listed: Vec<String> = RECEIVERS.iter().map(|(t, _)| t.to_string()).collect();
    listed.sort();
    if found != listed {
        bail!("ServerMessage variants {found:?} differ from server::RECEIVERS {listed:?}");
    }
    Ok(union)
}

/// Adds `server-message.json` and `server/<type>.json` (each with `request_id`, which
/// direct answers carry).
pub fn add(artefacts: &mut Artefacts) -> anyhow::Result<()> {
    let union = union()?;
    let request_id = union
        .pointer("/properties/request_id")
        .cloned()
        .unwrap_or(Value::Null);
    for (type_name, mut variant) in variants(&union) {
        refine::add_property(&mut variant, "request_id", request_id.clone());
        let schema = standalone(&union, &variant, &type_name);
        artefacts.insert_json(&format!("server/{type_name}.json"), &schema)?;
    }
    artefacts.insert_json("server-message.json", &union)?;
    Ok(())
}
