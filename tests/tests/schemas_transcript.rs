//! One full session from both sides, over the real stack (with presence: the provider's
//! socket drops and comes back mid-session, and both hear about it as `peer_status`; and
//! the v1.2 `location_cadence` on activation, on reconnect and when the band changes):
//! - every client and server message (and the HTTP bodies used) is validated against the
//!   committed JSON Schemas in `proto-schemas/`;
//! - the normalised transcript (ids and timestamps replaced by placeholders) must equal the
//!   committed example `proto-schemas/examples/session-transcript.jsonl`, which client
//!   developers can read as a worked example. `TETHER_UPDATE_FIXTURES=1` rewrites it.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use tether_tests::client::Closed;
use tether_tests::{Role, Stack, StackOptions, TestUser, WsClient, ws_path};

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

/// Records both sides of a session: every message sent and received (validated against
/// the schemas; `peer_status` frames included), the sockets opened and closed and the HTTP
/// exchanges, in the order the test observes them.
struct Recorder {
    lines: Vec<Value>,
    client: jsonschema::Validator,
    server: jsonschema::Validator,
    seeker_ws: Option<WsClient>,
    provider_ws: Option<WsClient>,
}

/// The messages one party must receive: `(role, types)`.
type Expected<'a> = (Role, &'a [&'a str]);

impl Recorder {
    fn new() -> Self {
        Self {
            lines: Vec::new(),
            client: validator("client-message.json"),
            server: validator("server-message.json"),
            seeker_ws: None,
            provider_ws: None,
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

    /// Where the socket of `role` is kept.
    fn slot(&mut self, role: Role) -> &mut Option<WsClient> {
        match role {
            Role::Seeker => &mut self.seeker_ws,
            Role::Provider => &mut self.provider_ws,
        }
    }

    /// The socket of `role` (connected with [`Recorder::connect`]).
    fn ws(&mut self, role: Role) -> &mut WsClient {
        self.slot(role).as_mut().expect("connected")
    }

    /// Opens `user`'s socket on `role`'s endpoint.
    async fn connect(&mut self, stack: &Stack, user: &TestUser, role: Role) {
        let mut ws = stack.connect(user, role).await;
        // The transcript shows what a client sees, presence and cadence included.
        ws.see_presence = true;
        ws.see_cadence = true;
        self.lines
            .push(json!({"from": role.as_str(), "connect": ws_path(role)}));
        *self.slot(role) = Some(ws);
    }

    async fn send(&mut self, role: Role, message: Value) {
        Self::check(&self.client, &message, "client message");
        self.lines
            .push(json!({"from": role.as_str(), "message": message}));
        self.ws(role).send(message).await;
    }

    /// Receives `types.len()` messages on `role`'s socket and records them in the order of
    /// `types` (messages from different services may interleave either way on one socket).
    async fn expect(&mut self, role: Role, types: &[&str]) -> Vec<Value> {
        let mut received = Vec::new();
        for _ in types {
            received.push(self.ws(role).recv().await);
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

    /// `from` sends `message`; then each party of `answers`, in turn, must receive its
    /// messages. Returns everything received, in that order.
    async fn step(&mut self, from: Role, message: Value, answers: &[Expected<'_>]) -> Vec<Value> {
        self.send(from, message).await;
        let mut received = Vec::new();
        for (role, types) in answers {
            received.extend(self.expect(*role, types).await);
        }
        received
    }

    /// `role`'s client closes its socket (normally, 1000).
    async fn close(&mut self, role: Role) {
        let ws = self.slot(role).take().expect("connected");
        ws.close().await;
        self.lines
            .push(json!({"from": role.as_str(), "close": 1000}));
    }

    async fn expect_close(&mut self, role: Role) {
        assert_eq!(self.ws(role).expect_close().await, Closed::Code(1000));
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

    /// [`Recorder::http`] for a `GET` of `path`.
    async fn get(&mut self, stack: &Stack, by: (&TestUser, Role), path: &str, schema: &str) {
        self.http(stack, by, &format!("GET {path}"), None, schema)
            .await;
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
    // A database of its own: presence's sweeps are database-wide, and another stack's
    // location service on the shared database could report this stack's users offline.
    let started = Stack::start(StackOptions {
        own_database: true,
        ..StackOptions::default()
    })
    .await;
    let stack = &started;
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
    rec.connect(stack, &provider, p).await;
    rec.connect(stack, &seeker, s).await;
    // Presence is applied asynchronously; an "online" applied only after the order was
    // accepted would (rightly) reach the other party as a `peer_status`, which this
    // transcript does not expect there. So both are online before the order exists.
    stack.wait_presence(provider.id, p, true).await;
    stack.wait_presence(seeker.id, s, true).await;

    let order = rec.http(stack, (&seeker, s), "POST /api/v1/work-orders",
            Some(json!({"provider_id": provider.id, "service_type": "plumbing", "message": "Kitchen sink leaks", "latitude": 52.52, "longitude": 13.405})),
            "http/work_order_created.json",
        )
        .await;
    let work_id = order["work_id"].clone();
    rec.expect(p, &["work_assigned"]).await;

    let response =
        json!({"type": "work_response", "work_id": work_id, "accepted": true, "request_id": "r1"});
    let accepted = rec
        .step(
            p,
            response,
            &[(p, &["work_accepted"]), (s, &["work_accepted"])],
        )
        .await;
    let session_id = accepted[0]["session_id"].clone();

    let at = |latitude: f64| json!({"type": "location_update", "session_id": session_id, "latitude": latitude, "longitude": 13.405});
    rec.step(s, at(52.52), &[]).await;
    rec.step(p, at(52.5245), &[]).await;
    // Location updates are answered with nothing; a ping proves both were processed.
    for role in [s, p] {
        rec.step(role, json!({"type": "ping"}), &[(role, &["pong"])])
            .await;
    }

    let selection = json!({"type": "medium_selection", "session_id": session_id, "mediums": {"whatsapp": "+15550001111"}});
    rec.step(
        s,
        selection,
        &[
            (
                s,
                &["mediums_selected", "distance_update", "location_cadence"],
            ),
            (
                p,
                &[
                    "seeker_mediums_selected",
                    "distance_update",
                    "location_cadence",
                ],
            ),
        ],
    )
    .await;
    let share = json!({"type": "medium_share", "session_id": session_id, "mediums": {"call": "+15550002222"}});
    rec.step(
        p,
        share,
        &[(p, &["mediums_shared"]), (s, &["provider_mediums_shared"])],
    )
    .await;
    let start_chat = json!({"type": "start_chat", "session_id": session_id});
    rec.step(s, start_chat, &[(s, &["chat_ready"]), (p, &["chat_ready"])])
        .await;

    let hello = json!({"type": "chat_message", "session_id": session_id, "message": "Hi, I'm at the blue door", "client_message_id": "c-1"});
    let received = rec
        .step(s, hello, &[(s, &["message_sent"]), (p, &["chat_message"])])
        .await;
    let message_id = received[1]["message_id"].clone();
    // The receipts, with the provider typing in between.
    for (message, answer) in [
        (
            json!({"type": "message_delivered", "message_id": message_id}),
            "message_status_update",
        ),
        (
            json!({"type": "typing_indicator", "session_id": session_id, "is_typing": true}),
            "typing_indicator",
        ),
        (
            json!({"type": "message_read", "message_id": message_id}),
            "message_status_update",
        ),
    ] {
        rec.step(p, message, &[(s, &[answer])]).await;
    }
    let reply = json!({"type": "chat_message", "session_id": session_id, "message": "On my way, 5 minutes"});
    rec.step(p, reply, &[(p, &["message_sent"]), (s, &["chat_message"])])
        .await;

    // The provider's phone loses its connection and gets it back: the seeker sees the
    // provider go offline and come back; the new socket is told that the seeker is online
    // and (v1.2) how often to send fixes.
    rec.close(p).await;
    rec.expect(s, &["peer_status"]).await;
    rec.connect(stack, &provider, p).await;
    rec.expect(p, &["peer_status", "location_cadence"]).await;
    rec.expect(s, &["peer_status"]).await;

    let near = &["distance_update", "arrival_update", "location_cadence"];
    rec.step(p, at(52.5212), &[(p, near), (s, near)]).await;

    let path = format!(
        "/api/v1/sessions/{}",
        session_id.as_str().unwrap_or_default()
    );
    rec.get(stack, (&seeker, s), &path, "http/session_snapshot.json")
        .await;
    let history = format!("{path}/messages?limit=10");
    rec.get(stack, (&provider, p), &history, "http/message_page.json")
        .await;

    let finish = json!({"type": "finish_service", "session_id": session_id, "rating_stars": 5, "rating_description": "Quick and tidy"});
    rec.step(s, finish, &[(s, &["service_finished"])]).await;
    rec.expect_close(s).await;
    rec.expect(p, &["service_finished"]).await;
    rec.expect_close(p).await;
    rec.get(stack, (&seeker, s), &path, "http/session_snapshot.json")
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
    started.stop().await;
    for (index, (got, want)) in text.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "transcript line {} differs", index + 1);
    }
    assert_eq!(
        text.lines().count(),
        expected.lines().count(),
        "transcript length differs"
    );
}
