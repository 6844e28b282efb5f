//! `asyncapi.json`: an AsyncAPI 3.0 document of both WebSocket endpoints (the client
//! contract) and the internal NATS subjects, referencing the schema files beside it.
//!
//! Endpoint messages come from `ClientMessage::route` and [`super::server::RECEIVERS`];
//! subject addresses from `tether_proto::subjects` with `{placeholders}` for the parts
//! chosen at run time, so a renamed subject changes this document (and fails the check).

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tether_proto::api::ApiOp;
use tether_proto::envelope::{
    HEADER_CLOSE, HEADER_EXCEPT_CONN, HEADER_ONLY_CONN, HEADER_RECEIVED_AT, HEADER_REQUEST_ID,
    HEADER_ROLE, HEADER_SENDER_CONN, HEADER_USER,
};
use tether_proto::events::SessionEventKind;
use tether_proto::messages::Owner;
use tether_proto::subjects::Subjects;
use tether_proto::{ClientMessage, Role};
use uuid::Uuid;

use super::generator::{Direction, root_schema, variants};
use super::refine::enum_values;
use super::server::receivers;

/// Services that own client commands, in document order.
const COMMAND_OWNERS: [Owner; 3] = [Owner::Session, Owner::Chat, Owner::Location];

/// The WebSocket path of a role's endpoint.
pub fn ws_path(role: Role) -> String {
    format!("/ws/work/{}/", role.as_str())
}

/// Every value of a unit enum, read back from its schema (so new variants appear here).
fn all_values<T: DeserializeOwned + schemars::JsonSchema>() -> anyhow::Result<Vec<T>> {
    enum_values(&root_schema::<T>(Direction::Write))
        .into_iter()
        .map(|value| serde_json::from_value(value).context("enum value"))
        .collect()
}

fn subjects() -> Subjects {
    Subjects::new("{prefix}")
}

fn message_ref(channel: &str, message: &str) -> Value {
    json!({"$ref": format!("#/channels/{channel}/messages/{message}")})
}

fn component_ref(message: &str) -> Value {
    json!({"$ref": format!("#/components/messages/{message}")})
}

fn description_of(variant: &Value) -> String {
    variant
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn prefix_parameter() -> Value {
    json!({
        "default": "tether",
        "description": "TETHER_SUBJECT_PREFIX: lets several stacks share one NATS server."
    })
}

/// The AsyncAPI document, given the client and server unions.
pub fn document(client_union: &Value, server_union: &Value) -> anyhow::Result<Value> {
    let client = variants(client_union);
    let server = variants(server_union);
    let mut components = Map::new();
    let mut channels = Map::new();
    let mut operations = Map::new();

    for (type_name, variant) in &client {
        components.insert(
            format!("client_{type_name}"),
            json!({
                "name": type_name,
                "title": type_name,
                "summary": description_of(variant),
                "payload": {"$ref": format!("client/{type_name}.json")},
                "correlationId": {"$ref": "#/components/correlationIds/requestId"}
            }),
        );
    }
    for (type_name, variant) in &server {
        components.insert(
            format!("server_{type_name}"),
            json!({
                "name": type_name,
                "title": type_name,
                "summary": description_of(variant),
                "payload": {"$ref": format!("server/{type_name}.json")},
                "correlationId": {"$ref": "#/components/correlationIds/requestId"}
            }),
        );
    }

    for role in [Role::Seeker, Role::Provider] {
        let channel = format!("{}Socket", role.as_str());
        let accepted: Vec<&String> = client
            .iter()
            .map(|(type_name, _)| type_name)
            .filter(|type_name| ClientMessage::route(type_name, role).is_some())
            .collect();
        let sent: Vec<&String> = server
            .iter()
            .map(|(type_name, _)| type_name)
            .filter(|type_name| receivers(type_name).contains(&role))
            .collect();
        let mut messages = Map::new();
        for type_name in &accepted {
            let key = format!("client_{type_name}");
            messages.insert(key.clone(), component_ref(&key));
        }
        for type_name in &sent {
            let key = format!("server_{type_name}");
            messages.insert(key.clone(), component_ref(&key));
        }
        channels.insert(
            channel.clone(),
            json!({
                "address": ws_path(role),
                "title": format!("{} endpoint", role.title()),
                "description": format!(
                    "The {} app's WebSocket (trailing slash optional). Any other client type \
                     gets an `unknown_type` error.",
                    role.as_str()
                ),
                "servers": [{"$ref": "#/servers/edge"}],
                "messages": messages
            }),
        );
        operations.insert(
            format!("{}Sends", role.as_str()),
            json!({
                "action": "receive",
                "title": format!("{} app -> Tether", role.title()),
                "summary": "Messages this endpoint accepts.",
                "channel": {"$ref": format!("#/channels/{channel}")},
                "messages": accepted
                    .iter()
                    .map(|t| message_ref(&channel, &format!("client_{t}")))
                    .collect::<Vec<_>>()
            }),
        );
        operations.insert(
            format!("{}Receives", role.as_str()),
            json!({
                "action": "send",
                "title": format!("Tether -> {} app", role.as_str()),
                "summary": "Messages this endpoint's sockets receive: direct answers (echoing \
                            request_id) and events.",
                "channel": {"$ref": format!("#/channels/{channel}")},
                "messages": sent
                    .iter()
                    .map(|t| message_ref(&channel, &format!("server_{t}")))
                    .collect::<Vec<_>>()
            }),
        );
    }

    internal(&client, &mut components, &mut channels, &mut operations)?;

    Ok(json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tether",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Real-time backend that keeps a service seeker and a provider \
                connected during a job. The two WebSocket endpoints (and the HTTP API, see \
                http/*.json) are the client contract; the NATS channels are internal. \
                Generated by tether-schemas from the tether-proto types: do not edit."
        },
        "defaultContentType": "application/json",
        "servers": {
            "edge": {
                "host": "localhost:8080",
                "protocol": "ws",
                "description": "ws-edge (TETHER_HTTP_ADDR). Every upgrade carries a JWT.",
                "security": [
                    {"$ref": "#/components/securitySchemes/bearer"},
                    {"$ref": "#/components/securitySchemes/tokenQuery"}
                ]
            },
            "nats": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "Internal bus (TETHER_NATS_URL); not part of the client contract."
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": components,
            "correlationIds": {
                "requestId": {
                    "description": "A client's optional request_id, echoed by the direct answer.",
                    "location": "$message.payload#/request_id"
                }
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Authorization: Bearer <jwt>; HS256 by default, `sub` = user id, `exp` required."
                },
                "tokenQuery": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "?token=<jwt>, for browsers, which cannot set headers on WebSockets."
                }
            }
        }
    }))
}

/// The NATS side: commands, API, events, per-user outbound and operator triggers.
fn internal(
    client: &[(String, Value)],
    components: &mut Map<String, Value>,
    channels: &mut Map<String, Value>,
    operations: &mut Map<String, Value>,
) -> anyhow::Result<()> {
    let subjects = subjects();
    let close_header = json!({
        "type": "string",
        "pattern": "^[0-9]{4}$",
        "description": "After writing the payload (if any), close the socket(s) with this WebSocket close code."
    });
    let payload = |file: &str| json!({"$ref": file});
    for (key, message) in [
        (
            "commandEnvelope",
            json!({
                "summary": "A client command relayed by ws-edge: the client's frame as it \
                            arrived (ws-edge reads only its type and request_id), the \
                            authenticated sender in headers.",
                "payload": payload("client-message.json"),
                "headers": {
                    "type": "object",
                    "required": [HEADER_USER, HEADER_ROLE, HEADER_SENDER_CONN, HEADER_RECEIVED_AT],
                    "properties": {
                        HEADER_USER: {"type": "string", "format": "uuid", "description": "The sender's user id (the token's sub)."},
                        HEADER_ROLE: {"type": "string", "enum": ["seeker", "provider"], "description": "The endpoint's role."},
                        HEADER_SENDER_CONN: {"type": "string", "format": "uuid", "description": "The sending connection."},
                        HEADER_REQUEST_ID: {"type": "string", "description": "The client's request_id, percent-encoded (every byte but ASCII letters, digits and -_.~ as %XX)."},
                        HEADER_RECEIVED_AT: {"type": "string", "format": "date-time", "description": "When ws-edge received the frame."}
                    }
                }
            }),
        ),
        (
            "commandReply",
            json!({
                "summary": "The direct answer for the sending connection: a server frame, or an \
                            empty body when the contract sends the sender nothing.",
                "payload": payload("server-message.json"),
                "headers": {"type": "object", "properties": {HEADER_CLOSE: close_header.clone()}}
            }),
        ),
        (
            "apiRequest",
            json!({
                "summary": "An authenticated HTTP request forwarded by ws-edge.",
                "payload": payload("internal/api_request.json")
            }),
        ),
        (
            "apiReply",
            json!({
                "summary": "The HTTP status and JSON body for ws-edge to answer with.",
                "payload": payload("internal/api_reply.json")
            }),
        ),
        (
            "sessionEvent",
            json!({
                "summary": "Published by the session service after a committed transition.",
                "payload": payload("internal/session_event.json")
            }),
        ),
        (
            "connectedEvent",
            json!({
                "summary": "A socket opened (after ws-edge subscribed to the user's outbound subject).",
                "payload": payload("internal/connected_event.json")
            }),
        ),
        (
            "presenceEvent",
            json!({
                "summary": "One edge's first socket of a (user, role) opened, or its last one closed (v1.1 presence).",
                "payload": payload("internal/presence_event.json")
            }),
        ),
        (
            "edgeBeat",
            json!({
                "summary": "An edge is alive (every 5 s); an edge silent for TETHER_PRESENCE_EDGE_TIMEOUT_S loses its sockets.",
                "payload": payload("internal/edge_beat.json")
            }),
        ),
        (
            "outbound",
            json!({
                "summary": "A server message for a user's sockets of one role.",
                "payload": payload("server-message.json"),
                "headers": {
                    "type": "object",
                    "properties": {
                        HEADER_ONLY_CONN: {
                            "type": "string", "format": "uuid",
                            "description": "Deliver only to this connection."
                        },
                        HEADER_EXCEPT_CONN: {
                            "type": "string", "format": "uuid",
                            "description": "Deliver to every connection but this one (it got the direct answer)."
                        },
                        HEADER_CLOSE: close_header
                    }
                }
            }),
        ),
        (
            "opsTrigger",
            json!({
                "summary": "Run a job now (operators and tests); the body is `{}`.",
                "payload": {"type": "object"}
            }),
        ),
        (
            "opsReport",
            json!({
                "summary": "What the job did, as a JSON object.",
                "payload": {"type": "object"}
            }),
        ),
    ] {
        components.insert(key.to_string(), message);
    }

    let mut add = |channel: &str,
                   address: Value,
                   parameters: Value,
                   description: &str,
                   message: &str,
                   operation: Value| {
        let mut body = json!({
            "address": address,
            "description": description,
            "messages": {message: component_ref(message)}
        });
        if address_is_string(&body) {
            body["servers"] = json!([{"$ref": "#/servers/nats"}]);
        }
        if parameters.as_object().is_some_and(|p| !p.is_empty()) {
            body["parameters"] = parameters;
        }
        channels.insert(channel.to_string(), body);
        if !operation.is_null() {
            let mut operation = operation;
            operation["channel"] = json!({"$ref": format!("#/channels/{channel}")});
            operation["messages"] = json!([message_ref(channel, message)]);
            operations.insert(format!("{channel}Op"), operation);
        }
    };

    add(
        "commandReply",
        Value::Null,
        json!({}),
        "The NATS reply inbox of a command request.",
        "commandReply",
        Value::Null,
    );
    add(
        "apiReply",
        Value::Null,
        json!({}),
        "The NATS reply inbox of an API request.",
        "apiReply",
        Value::Null,
    );
    add(
        "opsReply",
        Value::Null,
        json!({}),
        "The NATS reply inbox of an operator trigger.",
        "opsReport",
        Value::Null,
    );

    for owner in COMMAND_OWNERS {
        let service = owner.service_name();
        let types: Vec<&str> = client
            .iter()
            .map(|(type_name, _)| type_name.as_str())
            .filter(|type_name| {
                [Role::Seeker, Role::Provider]
                    .into_iter()
                    .any(|role| ClientMessage::route(type_name, role) == Some(owner))
            })
            .collect();
        add(
            &format!("{service}Commands"),
            json!(subjects.command(owner, "{type}")),
            json!({
                "prefix": prefix_parameter(),
                "type": {"enum": types, "description": "The client message type."}
            }),
            &format!(
                "Client commands for the {service} service: NATS request/reply from ws-edge, \
                 served in queue group `{service}`. No answer in time -> the client gets \
                 `unavailable`."
            ),
            "commandEnvelope",
            json!({
                "action": "receive",
                "title": format!("{service} serves commands"),
                "x-producer": "ws-edge",
                "x-consumer": format!("{service} (queue group {service})"),
                "reply": {
                    "channel": {"$ref": "#/channels/commandReply"},
                    "messages": [message_ref("commandReply", "commandReply")]
                }
            }),
        );
    }

    let mut api_owners: Vec<Owner> = Vec::new();
    for op in all_values::<ApiOp>()? {
        if !api_owners.contains(&op.owner()) {
            api_owners.push(op.owner());
        }
    }
    for owner in api_owners {
        let service = owner.service_name();
        add(
            &format!("{service}Api"),
            json!(subjects.api(owner)),
            json!({"prefix": prefix_parameter()}),
            &format!(
                "HTTP API operations owned by the {service} service (ApiOp::owner), as \
                 request/reply from ws-edge in queue group `{service}`."
            ),
            "apiRequest",
            json!({
                "action": "receive",
                "title": format!("{service} serves the HTTP API"),
                "x-producer": "ws-edge",
                "x-consumer": format!("{service} (queue group {service})"),
                "reply": {
                    "channel": {"$ref": "#/channels/apiReply"},
                    "messages": [message_ref("apiReply", "apiReply")]
                }
            }),
        );
    }

    for kind in all_values::<SessionEventKind>()? {
        let name = kind.as_str();
        add(
            &format!("session{}", capitalized(name)),
            json!(subjects.session_event(kind)),
            json!({"prefix": prefix_parameter()}),
            &format!(
                "Session lifecycle: {name}. Consumers subscribe to {}.",
                subjects.session_events()
            ),
            "sessionEvent",
            json!({
                "action": "receive",
                "title": format!("session {name} consumed"),
                "x-producer": "session",
                "x-consumer": "chat, location (each in its own queue group)"
            }),
        );
    }

    add(
        "edgeConnected",
        json!(subjects.connected()),
        json!({"prefix": prefix_parameter()}),
        "A socket opened; services re-send what the user missed to exactly that connection.",
        "connectedEvent",
        json!({
            "action": "receive",
            "title": "socket opened",
            "x-producer": "ws-edge",
            "x-consumer": "each interested service (queue group = service name)"
        }),
    );

    add(
        "edgePresence",
        json!(subjects.presence()),
        json!({"prefix": prefix_parameter()}),
        "v1.1 presence: an edge's per-(user, role) socket count went 0 -> 1 or 1 -> 0, numbered per edge.",
        "presenceEvent",
        json!({
            "action": "receive",
            "title": "presence transition",
            "x-producer": "ws-edge",
            "x-consumer": "location (queue group)"
        }),
    );
    add(
        "edgeBeat",
        json!(subjects.edge_beat()),
        json!({"prefix": prefix_parameter()}),
        "v1.1 presence: an edge is alive.",
        "edgeBeat",
        json!({
            "action": "receive",
            "title": "edge beat",
            "x-producer": "ws-edge",
            "x-consumer": "location (queue group)"
        }),
    );

    for role in [Role::Seeker, Role::Provider] {
        let address = subjects
            .outbound(role, Uuid::nil())
            .replace(&Uuid::nil().to_string(), "{user_id}");
        add(
            &format!("{}Outbound", role.as_str()),
            json!(address),
            json!({
                "prefix": prefix_parameter(),
                "user_id": {"description": "The recipient's user id (a UUID, never client text)."}
            }),
            &format!(
                "Everything a user's {} sockets must see besides direct answers; every ws-edge \
                 holding such a socket subscribes. Order on one subject is preserved.",
                role.as_str()
            ),
            "outbound",
            json!({
                "action": "receive",
                "title": format!("{} sockets fed", role.as_str()),
                "x-producer": "session, chat, location, cleanup",
                "x-consumer": "ws-edge"
            }),
        );
    }

    add(
        "cleanupTrigger",
        json!(subjects.cleanup_trigger("{job}")),
        json!({
            "prefix": prefix_parameter(),
            "job": {"description": "The cleanup job's name."}
        }),
        "Run a cleanup job now (request/reply); the schedule runs them anyway.",
        "opsTrigger",
        json!({
            "action": "receive",
            "title": "cleanup job on demand",
            "x-producer": "operators, tests",
            "x-consumer": "cleanup",
            "reply": {
                "channel": {"$ref": "#/channels/opsReply"},
                "messages": [message_ref("opsReply", "opsReport")]
            }
        }),
    );
    add(
        "locationTick",
        json!(subjects.location_tick()),
        json!({"prefix": prefix_parameter()}),
        "Run one periodic distance tick now (request/reply).",
        "opsTrigger",
        json!({
            "action": "receive",
            "title": "distance tick on demand",
            "x-producer": "operators, tests",
            "x-consumer": "location",
            "reply": {
                "channel": {"$ref": "#/channels/opsReply"},
                "messages": [message_ref("opsReply", "opsReport")]
            }
        }),
    );
    Ok(())
}

fn address_is_string(channel: &Value) -> bool {
    channel.get("address").is_some_and(Value::is_string)
}

/// `accepted` -> `Accepted`, for channel ids.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
