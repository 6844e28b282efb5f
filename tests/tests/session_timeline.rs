//! The session timeline (protocol 1.1) through the public interface: the events of whole
//! sessions in order with their actors and data, the hash chain re-checked here with an
//! independent implementation (SHA-256 over `prev_hash` + RFC 8785 canonical JSON),
//! 404 for anyone but the parties, and a changed stored row caught by the verifier.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tether_tests::flows::OpenSession;
use tether_tests::{Role, Stack};
use uuid::Uuid;

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// RFC 8785 for the values a timeline holds (objects, arrays, strings, integers): keys
/// sorted by UTF-16 code units, no whitespace, strings escaped as JCS (= ECMAScript)
/// does. Written here independently of the server's serde_jcs.
fn jcs(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => {
            assert!(
                number.is_i64() || number.is_u64(),
                "integers only: {number}"
            );
            number.to_string()
        }
        Value::String(text) => {
            let mut out = String::from("\"");
            for c in text.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\u{c}' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(jcs).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            let entries: Vec<String> = entries
                .into_iter()
                .map(|(key, value)| format!("{}:{}", jcs(&Value::String(key.clone())), jcs(value)))
                .collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

/// Checks the two chain rules and `head_hash` independently of the server's code.
fn check_chain(timeline: &Value) {
    let events = timeline["events"].as_array().expect("events");
    let mut prev = ZEROS.to_string();
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], i as i64 + 1, "{event}");
        assert_eq!(event["prev_hash"], prev.as_str(), "{event}");
        let mut without = event.as_object().expect("object").clone();
        let hash = without.remove("hash").expect("hash");
        let digest = Sha256::digest(format!("{prev}{}", jcs(&Value::Object(without))));
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hash, hex.as_str(), "hash of {event}");
        prev = hex;
    }
    assert_eq!(timeline["head_hash"], prev.as_str());
}

async fn timeline(stack: &Stack, session: &OpenSession, role: Role) -> Value {
    let path = format!("/api/v1/sessions/{}/timeline", session.session_id);
    let (status, body) = stack.get(session.user(role), &path).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// (type, actor_role, data) of each event.
fn summary(timeline: &Value) -> Vec<(String, String, Value)> {
    timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|event| {
            let mut keys: Vec<&String> = event.as_object().expect("object").keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "actor_role",
                    "at",
                    "data",
                    "hash",
                    "prev_hash",
                    "seq",
                    "type"
                ]
            );
            let at = event["at"].as_str().expect("at");
            assert!(at.ends_with('Z') && at.len() == 24, "{at}");
            (
                event["type"].as_str().expect("type").to_string(),
                event["actor_role"].as_str().expect("actor").to_string(),
                event["data"].clone(),
            )
        })
        .collect()
}

fn ev(kind: &str, actor: &str, data: Value) -> (String, String, Value) {
    (kind.into(), actor.into(), data)
}

/// Asserts the timeline's events (the two every session starts with, then `rest`) and
/// re-checks its chain.
fn assert_events(timeline: &Value, rest: &[(String, String, Value)]) {
    let mut expected = vec![
        ev("work_created", "seeker", json!({})),
        ev("work_accepted", "provider", json!({})),
    ];
    expected.extend_from_slice(rest);
    assert_eq!(summary(timeline), expected);
    check_chain(timeline);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_session_timeline_is_ordered_and_chained() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let sid = session.session_id;

    let start = timeline(stack, &session, Role::Seeker).await;
    assert_eq!(start["session_id"], sid.to_string());
    assert_events(&start, &[]);

    // The provider starts the chat; a later message starts nothing new.
    let start_chat = json!({"type": "start_chat", "session_id": sid});
    session
        .exchange(Role::Provider, start_chat, "chat_ready", "chat_ready")
        .await;
    session.chat(Role::Seeker, "hello").await;
    session
        .select_mediums(json!({"whatsapp": "+15550001111", "call": "+15550001111"}))
        .await;
    session
        .share_mediums(json!({"telegram": "+15550002222"}))
        .await;
    session
        .select_mediums(json!({"call": "+15550003333"}))
        .await;
    session
        .seeker_ws
        .send(json!({"type": "finish_service", "session_id": sid, "rating_stars": 5, "rating_description": "great"}))
        .await;
    session.seeker_ws.recv_type("service_finished").await;

    let full = timeline(stack, &session, Role::Provider).await;
    assert_events(
        &full,
        &[
            ev("chat_started", "provider", json!({})),
            ev(
                "mediums_selected",
                "seeker",
                json!({"mediums": ["call", "whatsapp"]}),
            ),
            ev("session_active", "seeker", json!({})),
            ev(
                "mediums_shared",
                "provider",
                json!({"mediums": ["telegram"]}),
            ),
            ev("mediums_selected", "seeker", json!({"mediums": ["call"]})),
            ev("completed", "seeker", json!({})),
        ],
    );
    // Both parties see the same thing, and the first events never changed.
    assert_eq!(timeline(stack, &session, Role::Seeker).await, full);
    assert_eq!(full["events"][0], start["events"][0]);
    assert_eq!(full["events"][1], start["events"][1]);
    // The order's creation time comes first.
    let created = &full["events"][0]["at"];
    let (_, order) = stack
        .get(
            &session.seeker,
            &format!("/api/v1/work-orders/{}", session.work_id),
        )
        .await;
    assert_eq!(
        created.as_str().map(|s| &s[..23]),
        order["created_at"].as_str().map(|s| &s[..23])
    );

    // No text, phone, rating or user id anywhere.
    let text = full.to_string();
    for secret in [
        "5550001111",
        "5550002222",
        "hello",
        "great",
        &session.seeker.id.to_string(),
        &session.provider.id.to_string(),
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // The verifier agrees.
    let verified = tether_cli::timeline::verify(&full).expect("verifies");
    assert_eq!(verified.events, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_started_by_first_message_and_cancelled() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    let sid = session.session_id;
    session.chat(Role::Seeker, "first").await;
    session.chat(Role::Provider, "second").await;
    // start_chat after the chat started adds nothing.
    let start_chat = json!({"type": "start_chat", "session_id": sid});
    session
        .exchange(Role::Seeker, start_chat, "chat_ready", "chat_ready")
        .await;
    session
        .provider_ws
        .send(json!({"type": "cancel_connection", "session_id": sid}))
        .await;
    session.provider_ws.recv_type("connection_cancelled").await;

    let body = timeline(stack, &session, Role::Seeker).await;
    assert_events(
        &body,
        &[
            ev("chat_started", "seeker", json!({})),
            ev("cancelled", "provider", json!({})),
        ],
    );
    tether_cli::timeline::verify(&body).expect("verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_parties_see_a_timeline() {
    let stack = Stack::shared().await;
    let session = stack.open_session().await;
    let stranger = stack.user();
    let not_found = |body: &Value| {
        assert_eq!(body["code"], "not_found", "{body}");
    };
    for path in [
        format!("/api/v1/sessions/{}/timeline", session.session_id),
        format!("/api/v1/sessions/{}/timeline", Uuid::new_v4()),
        "/api/v1/sessions/not-a-uuid/timeline".to_string(),
    ] {
        let (status, body) = stack.get(&stranger, &path).await;
        assert_eq!(status, 404, "{path}: {body}");
        not_found(&body);
    }
    let (status, _) = stack
        .http(
            None,
            "GET",
            &format!("/api/v1/sessions/{}/timeline", session.session_id),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampering_with_any_stored_event_is_detected() {
    let stack = Stack::shared().await;
    let mut session = stack.open_session().await;
    session.activate().await;
    let sid = session.session_id;
    let clean = timeline(stack, &session, Role::Seeker).await;
    assert_eq!(clean["events"].as_array().map(Vec::len), Some(4));
    tether_cli::timeline::verify(&clean).expect("clean timeline verifies");

    // Each change is made, detected at its event, and undone.
    let changes = [
        (
            1,
            "UPDATE session_timeline SET at = at + interval '1 second' WHERE session_id = $1 AND seq = 2",
        ),
        (
            2,
            "UPDATE session_timeline SET data = '{\"mediums\": [\"call\", \"telegram\"]}' WHERE session_id = $1 AND seq = 3",
        ),
        (
            2,
            "UPDATE session_timeline SET actor_role = 'provider' WHERE session_id = $1 AND seq = 3",
        ),
        (
            0,
            "UPDATE session_timeline SET type = 'work_accepted' WHERE session_id = $1 AND seq = 1",
        ),
        (
            3,
            "UPDATE session_timeline SET hash = repeat('a', 64) WHERE session_id = $1 AND seq = 4",
        ),
        (
            2,
            "DELETE FROM session_timeline WHERE session_id = $1 AND seq = 3",
        ),
    ];
    for (index, sql) in changes {
        // Keep the rows to put them back exactly.
        let saved: Value = sqlx::query_scalar(
            "SELECT json_agg(t ORDER BY seq) FROM session_timeline t WHERE session_id = $1",
        )
        .bind(sid)
        .fetch_one(&stack.db)
        .await
        .expect("saved");
        sqlx::query(sql)
            .bind(sid)
            .execute(&stack.db)
            .await
            .expect(sql);

        let tampered = timeline(stack, &session, Role::Provider).await;
        let broken = tether_cli::timeline::verify(&tampered).expect_err(sql);
        assert_eq!(broken.index, Some(index), "{sql}: {broken}");

        sqlx::query("DELETE FROM session_timeline WHERE session_id = $1")
            .bind(sid)
            .execute(&stack.db)
            .await
            .expect("clear");
        sqlx::query(
            "INSERT INTO session_timeline
             SELECT * FROM jsonb_populate_recordset(NULL::session_timeline, $1)",
        )
        .bind(saved)
        .execute(&stack.db)
        .await
        .expect("restore");
        assert_eq!(timeline(stack, &session, Role::Seeker).await, clean);
    }
}
