//! `client/<type>.json` and `client-message.json`: what apps send on the WebSocket.

use anyhow::bail;
use serde_json::{Value, json};
use tether_proto::ClientMessage;
use tether_proto::limits::{
    CHAT_MESSAGE_MAX_CHARS, CHAT_MESSAGE_MIN_CHARS, MAX_CLIENT_MESSAGE_ID_CHARS,
    MAX_REQUEST_ID_CHARS, RATING_DESCRIPTION_MAX_CHARS, RATING_MAX_STARS, RATING_MIN_STARS,
};

use super::Artefacts;
use super::generator::{Direction, root_schema, standalone, type_const, variants};
use super::refine::{self, FieldRule, uuid};

/// The `request_id` every client message may carry (it travels in the envelope, not in
/// the Rust type, so it is added here).
pub fn request_id_property() -> Value {
    json!({
        "description": "Any string; the direct answer to this message (success or error) echoes it.",
        "type": "string",
        "maxLength": MAX_REQUEST_ID_CHARS
    })
}

/// Latitude in degrees.
pub fn latitude() -> Value {
    json!({"minimum": -90.0, "maximum": 90.0})
}

/// Longitude in degrees.
pub fn longitude() -> Value {
    json!({"minimum": -180.0, "maximum": 180.0})
}

/// What docs/protocol.md requires of each client message's fields.
fn rules(type_name: &str) -> Vec<FieldRule> {
    let session = || FieldRule::required("session_id", uuid());
    match type_name {
        "work_response" => vec![
            FieldRule::required("work_id", json!({})),
            FieldRule::required("accepted", json!({})),
        ],
        "location_update" => vec![
            session(),
            FieldRule::required("latitude", latitude()),
            FieldRule::required("longitude", longitude()),
            // v1.1: a number >= 0 when present; null is refused (`validation`).
            FieldRule::optional("accuracy_m", json!({"type": "number", "minimum": 0})),
        ],
        "medium_selection" | "medium_share" => {
            vec![session(), FieldRule::required("mediums", json!({}))]
        }
        "start_chat" | "cancel_connection" => vec![session()],
        "chat_message" => vec![
            session(),
            FieldRule::required(
                "message",
                json!({
                    "minLength": CHAT_MESSAGE_MIN_CHARS,
                    "maxLength": CHAT_MESSAGE_MAX_CHARS,
                    "$comment": "Length counted in characters after trimming whitespace."
                }),
            ),
            FieldRule::optional(
                "client_message_id",
                json!({"maxLength": MAX_CLIENT_MESSAGE_ID_CHARS}),
            ),
        ],
        "message_delivered" | "message_read" => vec![FieldRule::required("message_id", uuid())],
        "typing_indicator" => vec![session(), FieldRule::required("is_typing", json!({}))],
        "finish_service" => vec![
            session(),
            FieldRule::optional(
                "rating_stars",
                json!({"minimum": RATING_MIN_STARS, "maximum": RATING_MAX_STARS}),
            ),
            FieldRule::optional(
                "rating_description",
                json!({"maxLength": RATING_DESCRIPTION_MAX_CHARS}),
            ),
        ],
        _ => Vec::new(),
    }
}

/// The client union with every refinement applied.
pub fn union() -> anyhow::Result<Value> {
    let mut union = root_schema::<ClientMessage>(Direction::Read);
    refine::definitions(&mut union);
    if let Some(Value::Array(options)) = union.get_mut("oneOf") {
        for option in options.iter_mut() {
            let type_name = type_const(option).unwrap_or_default().to_string();
            refine::apply(option, &rules(&type_name))?;
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
