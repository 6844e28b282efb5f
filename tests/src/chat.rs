//! Chat steps and checks the chat tests share, built only from client-visible calls.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{OpenSession, Role, TestUser};

/// Keys that would identify a person; no chat payload or history item may carry one.
pub const IDENTIFYING_KEYS: [&str; 14] = [
    "user_id",
    "seeker_id",
    "provider_id",
    "sender_id",
    "recipient_id",
    "name",
    "display_name",
    "seeker_name",
    "provider_name",
    "token_name",
    "mobile",
    "phone",
    "seeker_mobile",
    "provider_mobile",
];

/// The phone number [`OpenSession::activate`] selects as the seeker's medium.
pub const SEEKER_PHONE: &str = "+15550001111";

/// Fails unless `value` (recursively) has no identifying key and no string holding one of
/// the users' ids or names, or a known phone number.
pub fn assert_anonymous(value: &Value, users: &[&TestUser]) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                assert!(
                    !IDENTIFYING_KEYS.contains(&key.as_str()),
                    "identifying key {key:?} in {value}"
                );
                assert_anonymous(inner, users);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| assert_anonymous(item, users)),
        Value::String(text) => {
            let lower = text.to_lowercase();
            for user in users {
                assert!(
                    !lower.contains(&user.id.to_string())
                        && !lower.contains(&user.id.simple().to_string()),
                    "a user id in {value}"
                );
                assert!(!text.contains(&user.name), "a user name in {value}");
            }
            assert!(
                !text.contains(SEEKER_PHONE.trim_start_matches('+')),
                "a phone number in {value}"
            );
        }
        _ => {}
    }
}

/// The keys of a JSON object, sorted (to assert exact shapes).
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// The keys every chat message object carries (history and live).
pub fn chat_message_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "delivered_at",
        "delivery_status",
        "message",
        "message_id",
        "read_at",
        "session_id",
        "sender_type",
        "timestamp",
    ]
    .map(String::from)
    .to_vec();
    keys.sort();
    keys
}

/// A UUID field of a message.
pub fn uuid_of(value: &Value, field: &str) -> Uuid {
    value[field]
        .as_str()
        .and_then(|text| Uuid::parse_str(text).ok())
        .unwrap_or_else(|| panic!("{field} is not a UUID in {value}"))
}

/// An RFC 3339 timestamp field of a message.
pub fn time_of(value: &Value, field: &str) -> chrono::DateTime<chrono::Utc> {
    let text = value[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {value}"));
    assert!(text.ends_with('Z'), "{field} must end in Z: {value}");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|_| panic!("{field} is not RFC 3339 in {value}"))
        .with_timezone(&chrono::Utc)
}

impl OpenSession {
    /// `from` sends `text`; returns the sender's `message_sent` and the `chat_message` the
    /// other party received (asserting both arrive).
    pub async fn chat(&mut self, from: Role, text: &str) -> (Value, Value) {
        let session_id = self.session_id;
        self.ws(from)
            .send(json!({"type": "chat_message", "session_id": session_id, "message": text}))
            .await;
        let sent = self.ws(from).recv_type("message_sent").await;
        let received = self.ws(from.other()).recv_type("chat_message").await;
        assert_eq!(sent["message_id"], received["message_id"]);
        (sent, received)
    }

    /// The user of `role`.
    pub fn user(&self, role: Role) -> &TestUser {
        match role {
            Role::Seeker => &self.seeker,
            Role::Provider => &self.provider,
        }
    }
}
