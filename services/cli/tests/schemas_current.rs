//! The committed proto-schemas/ is exactly what the tether-proto types generate, and the
//! AsyncAPI document's references all resolve.

use serde_json::Value;
use tether_cli::schemas::{Artefacts, Drift, default_dir};
use tether_proto::{ClientMessage, Role};

fn generated() -> Artefacts {
    Artefacts::generate().expect("schemas generate")
}

fn json(artefacts: &Artefacts, path: &str) -> Value {
    let text = artefacts
        .files()
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not generated"));
    serde_json::from_str(text).expect("generated JSON parses")
}

#[test]
fn committed_schemas_are_current() {
    let drift = generated()
        .check(&default_dir())
        .expect("read proto-schemas");
    let listing: Vec<String> = drift.iter().map(ToString::to_string).collect();
    assert!(
        drift.is_empty(),
        "proto-schemas/ differs from the types; run `cargo run -p tether-cli --bin tether-schemas` \
         and commit the result:\n{}",
        listing.join("\n")
    );
}

#[test]
fn check_reports_missing_changed_and_stale_files_and_write_repairs_them() {
    let artefacts = generated();
    let dir = std::env::temp_dir().join(format!("tether-schemas-{}", uuid::Uuid::new_v4()));
    artefacts.write(&dir).expect("write");
    assert_eq!(artefacts.check(&dir).expect("check"), Vec::<Drift>::new());

    std::fs::remove_file(dir.join("client/ping.json")).expect("remove");
    std::fs::write(dir.join("server/pong.json"), "{}\n").expect("edit");
    std::fs::write(dir.join("http/gone.json"), "{}\n").expect("stale");
    std::fs::write(dir.join("README.md"), "hand-written\n").expect("readme");
    let mut drift = artefacts.check(&dir).expect("check");
    drift.sort_by_key(ToString::to_string);
    assert_eq!(
        drift,
        vec![
            Drift::Differs("server/pong.json".into()),
            Drift::Missing("client/ping.json".into()),
            Drift::Unexpected("http/gone.json".into()),
        ]
    );

    assert_eq!(artefacts.write(&dir).expect("repair").len(), 3);
    assert!(artefacts.check(&dir).expect("check").is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).expect("readme kept"),
        "hand-written\n"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn one_schema_per_client_type_with_the_required_fields() {
    let artefacts = generated();
    for type_name in ClientMessage::TYPES {
        let schema = json(&artefacts, &format!("client/{type_name}.json"));
        assert_eq!(schema["title"], type_name);
        assert_eq!(schema["properties"]["type"]["const"], type_name);
        assert_eq!(schema["properties"]["request_id"]["maxLength"], 64);
    }
    let required = |type_name: &str| -> Vec<Value> {
        json(&artefacts, &format!("client/{type_name}.json"))["required"]
            .as_array()
            .expect("required list")
            .clone()
    };
    assert_eq!(required("ping"), ["type"]);
    assert_eq!(required("chat_message"), ["type", "session_id", "message"]);
    assert_eq!(required("finish_service"), ["type", "session_id"]);
    let chat = json(&artefacts, "client/chat_message.json");
    assert_eq!(chat["properties"]["session_id"]["type"], "string");
    assert_eq!(chat["properties"]["message"]["maxLength"], 2000);
    let location = json(&artefacts, "client/location_update.json");
    assert_eq!(location["properties"]["latitude"]["maximum"], 90.0);
    let mediums = json(&artefacts, "client/medium_selection.json");
    assert_eq!(
        mediums["definitions"]["Mediums"]["propertyNames"]["enum"],
        serde_json::json!(["telegram", "whatsapp", "call"])
    );
}

#[test]
fn server_schemas_require_what_is_always_written() {
    let artefacts = generated();
    let union = json(&artefacts, "server-message.json");
    let types: Vec<&str> = union["oneOf"]
        .as_array()
        .expect("oneOf")
        .iter()
        .map(|v| v["properties"]["type"]["const"].as_str().expect("type"))
        .collect();
    assert_eq!(types.len(), tether_proto::ServerMessage::TYPES.len());
    for type_name in types {
        let schema = json(&artefacts, &format!("server/{type_name}.json"));
        assert_eq!(schema["properties"]["request_id"]["type"], "string");
    }
    let assigned = json(&artefacts, "server/work_assigned.json");
    let required = assigned["required"].as_array().expect("required");
    // Nullable but always present: a client may rely on the key.
    assert!(required.contains(&Value::from("distance")));
    let cancelled = json(&artefacts, "server/connection_cancelled.json");
    let required = cancelled["required"].as_array().expect("required");
    // Only sent to the other party, so optional.
    assert!(!required.contains(&Value::from("cancelled_by")));
    // v1.2: every field of the cadence is always written.
    let cadence = json(&artefacts, "server/location_cadence.json");
    let required = cadence["required"].as_array().expect("required");
    for field in [
        "session_id",
        "band",
        "interval_s",
        "min_move_m",
        "timestamp",
    ] {
        assert!(required.contains(&Value::from(field)), "{field}");
    }
    let bands: Vec<&str> = cadence["definitions"]["CadenceBand"]["oneOf"]
        .as_array()
        .expect("bands")
        .iter()
        .filter_map(|band| band["const"].as_str())
        .collect();
    assert_eq!(bands, ["far", "near", "close", "arrived"]);
}

#[test]
fn asyncapi_references_resolve_and_endpoints_follow_routing() {
    let artefacts = generated();
    let doc = json(&artefacts, "asyncapi.json");
    assert_eq!(doc["asyncapi"], "3.0.0");
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(
        refs.len() > 100,
        "expected many references, got {}",
        refs.len()
    );
    for reference in refs {
        if let Some(pointer) = reference.strip_prefix('#') {
            let pointer = pointer.replace("~1", "/");
            assert!(doc.pointer(&pointer).is_some(), "dangling {reference}");
        } else {
            assert!(
                artefacts.files().contains_key(&reference),
                "asyncapi.json references {reference}, which is not generated"
            );
        }
    }
    for role in [Role::Seeker, Role::Provider] {
        let channel = &doc["channels"][format!("{}Socket", role.as_str())];
        assert_eq!(channel["address"], format!("/ws/work/{}/", role.as_str()));
        for type_name in ClientMessage::TYPES {
            let listed = channel["messages"]
                .get(format!("client_{type_name}"))
                .is_some();
            assert_eq!(
                listed,
                ClientMessage::route(type_name, role).is_some(),
                "{type_name} on the {} endpoint",
                role.as_str()
            );
        }
    }
    let provider = &doc["channels"]["providerSocket"]["messages"];
    assert!(provider.get("server_work_assigned").is_some());
    assert!(provider.get("server_work_expired").is_none());
    assert_eq!(
        doc["channels"]["chatCommands"]["address"],
        "{prefix}.cmd.chat.{type}"
    );
    assert_eq!(
        doc["channels"]["seekerOutbound"]["address"],
        "{prefix}.out.seeker.{user_id}"
    );
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_refs(child, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}
