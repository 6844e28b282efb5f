//! One full session from both sides, over the real stack:
//! - every client and server message (and the HTTP bodies used) is validated against the
//!   committed JSON Schemas in `proto-schemas/`;
//! - the normalised transcript (ids and timestamps replaced by placeholders) must equal the
//!   committed example `proto-schemas/examples/session-transcript.jsonl`, which client
//!   developers can read as a worked example. `TETHER_UPDATE_FIXTURES=1` rewrites it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use tether_tests::client::Closed;
use tether_tests::{Role, Stack, TestUser, WsClient};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto-schemas")
}

fn validator(relative: &str) -> jsonschema::Validator {
    let path = schemas_dir().join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("schema json");
    jsonschema::validator_for(&schema).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

struct Recorder {
    lines: Vec<Value>,
    client: jsonschema::Validator,
    server: jsonschema::Validator,
}

impl Recorder {
    fn new() -> Self {
        Self {
            lines: Vec::new(),
            client: validator("client-message.json"),
            server: validator("server-message.json"),
        }
    }

    fn check(validator: &jsonschema::Validator, message: &Value, what: &str) {
        let errors: Vec<String> = validator
            .iter_errors(message)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match its schema: {message}\n{errors:#?}"
        );
    }

    async fn send(&mut self, role: Role, ws: &mut WsClient, message: Value) {
        Self::check(&self.client, &message, "client message");
        self.lines
            .push(json!({"from": role.as_str(), "message": message}));
        ws.send(message).await;
    }

    /// Receives `types.len()` messages on `ws` and records them in the order of `types`
    /// (messages from different services may interleave either way on one socket).
    async fn expect(&mut self, role: Role, ws: &mut WsClient, types: &[&str]) -> Vec<Value> {
        let mut received = Vec::new();
        for _ in types {
            received.push(ws.recv().await);
        }
        let mut ordered = Vec::new();
        for wanted in types {
            let index = received
                .iter()
                .position(|m| m["type"] == *wanted)
                .unwrap_or_else(|| panic!("{} expected {wanted}, got {received:?}", role.as_str()));
            ordered.push(received.remove(index));
        }
        for message in &ordered {
            Self::check(&self.server, message, "server message");
            self.lines
                .push(json!({"to": role.as_str(), "message": message}));
        }
        ordered
    }

    async fn expect_close(&mut self, role: Role, ws: &mut WsClient) {
        assert_eq!(ws.expect_close().await, Closed::Code(1000));
        self.lines.push(json!({"to": role.as_str(), "close": 1000}));
    }

    /// `request` is `"<METHOD> <path>"`; the answer must match `schema`.
    async fn http(
        &mut self,
        stack: &Stack,
        (user, role): (&TestUser, Role),
        request: &str,
        body: Option<Value>,
        schema: &str,
    ) -> Value {
        let (method, path) = request.split_once(' ').expect("METHOD path");
        let (status, answer) = stack.http(Some(user), method, path, body.clone()).await;
        assert!(status < 300, "{method} {path}: {status} {answer}");
        Self::check(&validator(schema), &answer, path);
        let mut line = json!({"http": format!("{method} {path}"), "by": role.as_str(), "status": status, "response": answer});
        if let Some(body) = body {
            line["request"] = body;
        }
        self.lines.push(line);
        answer
    }
}

/// Replaces UUIDs by `<id-N>` (N by first appearance), timestamps by `<timestamp>`, the
/// work id by `<work_id>`, so the transcript is the same on every run.
fn normalise(lines: &[Value], users: &[(&TestUser, &str)]) -> Vec<Value> {
    let mut ids: HashMap<String, String> = HashMap::new();
    for (user, label) in users {
        ids.insert(user.id.to_string(), format!("<{label}_user_id>"));
        ids.insert(user.name.clone(), format!("<{label}_name>"));
    }
    fn walk(value: &mut Value, ids: &mut HashMap<String, String>, key: Option<&str>) {
        match value {
            Value::String(text) => {
                if let Some(known) = ids.get(text.as_str()) {
                    *text = known.clone();
                } else if uuid::Uuid::parse_str(text).is_ok() {
                    let generated = ids
                        .values()
                        .filter(|label| label.starts_with("<id-"))
                        .count();
                    let label = format!("<id-{}>", generated + 1);
                    ids.insert(text.clone(), label.clone());
                    *text = label;
                } else if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
                    *text = "<timestamp>".to_string();
                } else if text.contains("/api/v1/") {
                    let replaced: Vec<String> = text
                        .split('/')
                        .map(|part| ids.get(part).cloned().unwrap_or_else(|| part.to_string()))
                        .collect();
                    *text = replaced.join("/");
                }
            }
            Value::Number(_) if key == Some("work_id") => {
                *value = Value::String("<work_id>".to_string())
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, ids, None)),
            Value::Object(map) => map
                .iter_mut()
                .for_each(|(k, v)| walk(v, ids, Some(k.as_str()))),
            _ => {}
        }
    }
    lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            walk(&mut line, &mut ids, None);
            line
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_matches_schemas_and_transcript() {
    let stack = Stack::shared().await;
    let seeker = stack.user();
    let provider = stack.user();
    let (s, p) = (Role::Seeker, Role::Provider);
    let mut rec = Recorder::new();

    rec.http(
        stack,
        (&provider, p),
        "PUT /api/v1/profile",
        Some(json!({"display_name": "Pat the Plumber", "mobile": "+15550002222"})),
        "http/profile.json",
    )
    .await;
    rec.http(
        stack,
        (&seeker, s),
        "PUT /api/v1/profile",
        Some(json!({"display_name": "Sam", "mobile": "+15550001111"})),
        "http/profile.json",
    )
    .await;
    rec.http(stack, (&provider, p), "PUT /api/v1/provider/status",
        Some(json!({"is_active": true, "service_types": ["plumbing"], "latitude": 52.5245, "longitude": 13.405})),
        "http/provider_status.json",
    )
    .await;
    let mut provider_ws = stack.connect(&provider, p).await;
    let mut seeker_ws = stack.connect(&seeker, s).await;

    let order = rec.http(stack, (&seeker, s), "POST /api/v1/work-orders",
            Some(json!({"provider_id": provider.id, "service_type": "plumbing", "message": "Kitchen sink leaks", "latitude": 52.52, "longitude": 13.405})),
            "http/work_order_created.json",
        )
        .await;
    let work_id = order["work_id"].clone();
    rec.expect(p, &mut provider_ws, &["work_assigned"]).await;

    rec.send(
        p,
        &mut provider_ws,
        json!({"type": "work_response", "work_id": work_id, "accepted": true, "request_id": "r1"}),
    )
    .await;
    let accepted = rec.expect(p, &mut provider_ws, &["work_accepted"]).await;
    rec.expect(s, &mut seeker_ws, &["work_accepted"]).await;
    let session_id = accepted[0]["session_id"].clone();

    rec.send(s, &mut seeker_ws, json!({"type": "location_update", "session_id": session_id, "latitude": 52.52, "longitude": 13.405})).await;
    rec.send(p, &mut provider_ws, json!({"type": "location_update", "session_id": session_id, "latitude": 52.5245, "longitude": 13.405})).await;
    // Location updates are answered with nothing; a ping proves both were processed.
    rec.send(s, &mut seeker_ws, json!({"type": "ping"})).await;
    rec.expect(s, &mut seeker_ws, &["pong"]).await;
    rec.send(p, &mut provider_ws, json!({"type": "ping"})).await;
    rec.expect(p, &mut provider_ws, &["pong"]).await;

    rec.send(s, &mut seeker_ws, json!({"type": "medium_selection", "session_id": session_id, "mediums": {"whatsapp": "+15550001111"}})).await;
    rec.expect(s, &mut seeker_ws, &["mediums_selected", "distance_update"])
        .await;
    rec.expect(
        p,
        &mut provider_ws,
        &["seeker_mediums_selected", "distance_update"],
    )
    .await;

    rec.send(p, &mut provider_ws, json!({"type": "medium_share", "session_id": session_id, "mediums": {"call": "+15550002222"}})).await;
    rec.expect(p, &mut provider_ws, &["mediums_shared"]).await;
    rec.expect(s, &mut seeker_ws, &["provider_mediums_shared"])
        .await;

    rec.send(
        s,
        &mut seeker_ws,
        json!({"type": "start_chat", "session_id": session_id}),
    )
    .await;
    rec.expect(s, &mut seeker_ws, &["chat_ready"]).await;
    rec.expect(p, &mut provider_ws, &["chat_ready"]).await;

    rec.send(s, &mut seeker_ws, json!({"type": "chat_message", "session_id": session_id, "message": "Hi, I'm at the blue door", "client_message_id": "c-1"})).await;
    rec.expect(s, &mut seeker_ws, &["message_sent"]).await;
    let incoming = rec.expect(p, &mut provider_ws, &["chat_message"]).await;
    let message_id = incoming[0]["message_id"].clone();
    rec.send(
        p,
        &mut provider_ws,
        json!({"type": "message_delivered", "message_id": message_id}),
    )
    .await;
    rec.expect(s, &mut seeker_ws, &["message_status_update"])
        .await;
    rec.send(
        p,
        &mut provider_ws,
        json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}),
    )
    .await;
    rec.expect(s, &mut seeker_ws, &["typing_indicator"]).await;
    rec.send(
        p,
        &mut provider_ws,
        json!({"type": "message_read", "message_id": message_id}),
    )
    .await;
    rec.expect(s, &mut seeker_ws, &["message_status_update"])
        .await;
    rec.send(p, &mut provider_ws, json!({"type": "chat_message", "session_id": session_id, "message": "On my way, 5 minutes"})).await;
    rec.expect(p, &mut provider_ws, &["message_sent"]).await;
    rec.expect(s, &mut seeker_ws, &["chat_message"]).await;

    rec.send(p, &mut provider_ws, json!({"type": "location_update", "session_id": session_id, "latitude": 52.5212, "longitude": 13.405})).await;
    rec.expect(p, &mut provider_ws, &["distance_update", "arrival_update"])
        .await;
    rec.expect(s, &mut seeker_ws, &["distance_update", "arrival_update"])
        .await;

    let path = format!(
        "/api/v1/sessions/{}",
        session_id.as_str().unwrap_or_default()
    );
    rec.http(
        stack,
        (&seeker, s),
        &format!("GET {path}"),
        None,
        "http/session_snapshot.json",
    )
    .await;
    rec.http(
        stack,
        (&provider, p),
        &format!("GET {path}/messages?limit=10"),
        None,
        "http/message_page.json",
    )
    .await;

    rec.send(s, &mut seeker_ws, json!({"type": "finish_service", "session_id": session_id, "rating_stars": 5, "rating_description": "Quick and tidy"})).await;
    rec.expect(s, &mut seeker_ws, &["service_finished"]).await;
    rec.expect_close(s, &mut seeker_ws).await;
    rec.expect(p, &mut provider_ws, &["service_finished"]).await;
    rec.expect_close(p, &mut provider_ws).await;
    rec.http(
        stack,
        (&seeker, s),
        &format!("GET {path}"),
        None,
        "http/session_snapshot.json",
    )
    .await;

    let transcript = normalise(&rec.lines, &[(&seeker, "seeker"), (&provider, "provider")]);
    let text: String = transcript.iter().map(|line| format!("{line}\n")).collect();
    let fixture = schemas_dir().join("examples/session-transcript.jsonl");
    if std::env::var("TETHER_UPDATE_FIXTURES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(fixture.parent().expect("dir")).expect("mkdir");
        std::fs::write(&fixture, &text).expect("write fixture");
    }
    let expected = std::fs::read_to_string(&fixture).unwrap_or_else(|_| {
        panic!(
            "{} missing: run with TETHER_UPDATE_FIXTURES=1",
            fixture.display()
        )
    });
    for (index, (got, want)) in text.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "transcript line {} differs", index + 1);
    }
    assert_eq!(
        text.lines().count(),
        expected.lines().count(),
        "transcript length differs"
    );
}
