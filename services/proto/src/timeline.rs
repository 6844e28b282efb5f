//! The session timeline (protocol 1.1): an append-only, hash-chained list of what happened
//! in a session, served by `GET /api/v1/sessions/{session_id}/timeline`.
//!
//! The two chain rules (the one place they are implemented; the server appends with them
//! and `tether-timeline verify` checks with them):
//! - `prev_hash` of the first event is [`GENESIS_HASH`] (64 zeros), of every other event
//!   the previous event's `hash`;
//! - `hash` is the lowercase hex SHA-256 of `prev_hash` (64 ASCII characters) followed by
//!   the RFC 8785 (JCS) canonical JSON of the event object without its `hash` field
//!   ([`event_hash`]).
//!
//! `head_hash` is the last event's `hash`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::mediums::Mediums;
use crate::time::Timestamp;

/// `prev_hash` of the first event: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineEventType {
    /// The seeker created the work order (always event 1; `at` is the order's creation).
    WorkCreated,
    /// The provider accepted it and the session opened (always event 2).
    WorkAccepted,
    /// The chat started (`start_chat` or the first message), once.
    ChatStarted,
    /// The seeker selected mediums (one event per selection).
    MediumsSelected,
    /// The provider shared mediums (one event per share).
    MediumsShared,
    /// The session became active (right after the first `mediums_selected`), once.
    SessionActive,
    /// An arrival stage was announced (one per stage).
    Arrival,
    /// A party cancelled (last event).
    Cancelled,
    /// A party finished the service (last event).
    Completed,
}

impl TimelineEventType {
    /// Every type, in the order the protocol lists them.
    pub const ALL: [Self; 9] = [
        Self::WorkCreated,
        Self::WorkAccepted,
        Self::ChatStarted,
        Self::MediumsSelected,
        Self::MediumsShared,
        Self::SessionActive,
        Self::Arrival,
        Self::Cancelled,
        Self::Completed,
    ];

    /// The wire (and column) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkCreated => "work_created",
            Self::WorkAccepted => "work_accepted",
            Self::ChatStarted => "chat_started",
            Self::MediumsSelected => "mediums_selected",
            Self::MediumsShared => "mediums_shared",
            Self::SessionActive => "session_active",
            Self::Arrival => "arrival",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }

    /// The type named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// `cancelled` / `completed`: nothing follows it.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Cancelled | Self::Completed)
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    /// The seeker.
    Seeker,
    /// The provider.
    Provider,
    /// The server (arrival stages).
    System,
}

impl ActorRole {
    /// The wire (and column) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seeker => "seeker",
            Self::Provider => "provider",
            Self::System => "system",
        }
    }

    /// The role named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Seeker, Self::Provider, Self::System]
            .into_iter()
            .find(|role| role.as_str() == text)
    }
}

impl From<crate::model::Role> for ActorRole {
    fn from(role: crate::model::Role) -> Self {
        match role {
            crate::model::Role::Seeker => Self::Seeker,
            crate::model::Role::Provider => Self::Provider,
        }
    }
}

/// One event: `{seq, type, at, actor_role, data, prev_hash, hash}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEvent {
    /// 1, 2, 3, ... in the order of appending.
    pub seq: i64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: TimelineEventType,
    /// When, RFC 3339 UTC with millisecond precision (stored at that precision).
    pub at: Timestamp,
    /// Who: see the protocol's table; `system` for `arrival`.
    pub actor_role: ActorRole,
    /// `{"mediums": [names, sorted]}` for `mediums_*`, `{"stage": s}` for `arrival`, `{}`
    /// otherwise. Never a text, phone, coordinate, rating or user id.
    pub data: Map<String, Value>,
    /// The previous event's `hash`; 64 zeros for the first.
    pub prev_hash: String,
    /// Lowercase hex SHA-256 of `prev_hash` + JCS(this event without `hash`).
    pub hash: String,
}

impl TimelineEvent {
    /// Builds event `seq` after `prev_hash` and computes its hash. `at` is truncated to
    /// the millisecond (what the wire carries).
    pub fn new(
        seq: i64,
        kind: TimelineEventType,
        at: chrono::DateTime<chrono::Utc>,
        actor_role: ActorRole,
        data: Map<String, Value>,
        prev_hash: &str,
    ) -> Self {
        let mut event = Self {
            seq,
            kind,
            at: Timestamp(truncate_to_millis(at)),
            actor_role,
            data,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    /// The hash this event's fields give (whatever its `hash` field says).
    pub fn compute_hash(&self) -> String {
        event_hash(&self.prev_hash, &self.without_hash())
    }

    /// This event as a JSON object without its `hash` field: what the chain rule hashes.
    fn without_hash(&self) -> Map<String, Value> {
        let mut object = match serde_json::to_value(self) {
            Ok(Value::Object(object)) => object,
            // A struct of strings, integers and maps always serialises to an object.
            _ => Map::new(),
        };
        object.remove("hash");
        object
    }
}

/// The chain rule: lowercase hex SHA-256 of `prev_hash` (as given) followed by the JCS
/// canonical JSON of `event_without_hash` (an event object from which `hash` was removed).
pub fn event_hash(prev_hash: &str, event_without_hash: &Map<String, Value>) -> String {
    let canonical = canonical_json(&Value::Object(event_without_hash.clone()));
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    to_hex(&hasher.finalize())
}

/// The hash input of an event whose `seq` and `prev_hash` the database fills in (the append
/// of `tether_platform::timeline` reads the last event and inserts the next in one
/// statement): the JCS canonical JSON of the event split around those two values,
/// `[before prev_hash, between prev_hash and seq, after seq]`. JCS sorts keys and no key
/// sorts between `prev_hash` and `seq`, so the canonical form is `parts[0] P parts[1] N
/// parts[2]` and the hash is SHA-256 of `P parts[0] P parts[1] N parts[2]` (the chain rule,
/// [`event_hash`]). `at` should already be truncated to the millisecond.
pub fn canonical_parts(
    kind: TimelineEventType,
    at: chrono::DateTime<chrono::Utc>,
    actor_role: ActorRole,
    data: &Map<String, Value>,
) -> [String; 3] {
    // Values that cannot occur elsewhere in the event, to cut the canonical form at.
    const PREV: &str = "PREV_HASH_PLACEHOLDER";
    const SEQ: i64 = 8_765_432_123_456_789; // below 2^53: JCS writes it exactly
    const PREV_KEY: &str = "\"prev_hash\":\"";
    const SEQ_KEY: &str = "\",\"seq\":";
    let event = TimelineEvent {
        seq: SEQ,
        kind,
        at: Timestamp(at),
        actor_role,
        data: data.clone(),
        prev_hash: PREV.to_string(),
        hash: String::new(),
    };
    let canonical = canonical_json(&Value::Object(event.without_hash()));
    let marker = format!("{PREV_KEY}{PREV}{SEQ_KEY}{SEQ}");
    let cut = canonical
        .find(&marker)
        .expect("prev_hash and seq are adjacent in the canonical form");
    [
        format!("{}{PREV_KEY}", &canonical[..cut]),
        SEQ_KEY.to_string(),
        canonical[cut + marker.len()..].to_string(),
    ]
}

/// RFC 8785 canonical JSON of `value`.
pub fn canonical_json(value: &Value) -> String {
    // serde_jcs only fails for values JSON cannot hold (non-string keys, NaN), which a
    // serde_json::Value never contains.
    serde_jcs::to_string(value).unwrap_or_default()
}

/// Lowercase hex.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// `at` as the wire carries it: whole milliseconds.
pub fn truncate_to_millis(at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// `data` of `mediums_selected` / `mediums_shared`: the names only, sorted.
pub fn mediums_data(mediums: &Mediums) -> Map<String, Value> {
    let mut names: Vec<&str> = mediums.0.keys().map(|kind| kind.as_str()).collect();
    names.sort_unstable();
    let mut data = Map::new();
    data.insert(
        "mediums".to_string(),
        Value::Array(names.into_iter().map(|n| Value::String(n.into())).collect()),
    );
    data
}

/// `data` of `arrival`: `{"stage": stage}`.
pub fn arrival_data(stage: &str) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("stage".to_string(), Value::String(stage.to_string()));
    data
}

/// `GET /api/v1/sessions/{session_id}/timeline` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionTimeline {
    /// The session.
    pub session_id: Uuid,
    /// Oldest first, `seq` 1, 2, 3, ...
    pub events: Vec<TimelineEvent>,
    /// The last event's `hash` (64 zeros if there were none, which a session never has).
    pub head_hash: String,
}

impl SessionTimeline {
    /// The answer for `events` (oldest first).
    pub fn new(session_id: Uuid, events: Vec<TimelineEvent>) -> Self {
        let head_hash = events
            .last()
            .map_or_else(|| GENESIS_HASH.to_string(), |event| event.hash.clone());
        Self {
            session_id,
            events,
            head_hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hash_is_sha256_of_prev_and_canonical_event() {
        let at = chrono::Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .expect("valid");
        let event = TimelineEvent::new(
            1,
            TimelineEventType::WorkCreated,
            at,
            ActorRole::Seeker,
            Map::new(),
            GENESIS_HASH,
        );
        assert_eq!(event.at.to_string(), "2023-11-14T22:13:20.123Z");
        let canonical = format!(
            r#"{{"actor_role":"seeker","at":"2023-11-14T22:13:20.123Z","data":{{}},"prev_hash":"{GENESIS_HASH}","seq":1,"type":"work_created"}}"#
        );
        let expected = to_hex(&Sha256::digest(
            format!("{GENESIS_HASH}{canonical}").as_bytes(),
        ));
        assert_eq!(event.hash, expected);
        assert_eq!(event.hash.len(), 64);
        assert_eq!(event.compute_hash(), event.hash);
    }

    #[test]
    fn canonical_parts_give_the_chain_hash() {
        let at = truncate_to_millis(
            chrono::Utc
                .timestamp_opt(1_700_000_000, 987_654_321)
                .single()
                .expect("valid"),
        );
        for (kind, actor, data) in [
            (
                TimelineEventType::WorkCreated,
                ActorRole::Seeker,
                Map::new(),
            ),
            (
                TimelineEventType::Arrival,
                ActorRole::System,
                arrival_data("arrived"),
            ),
            (
                TimelineEventType::MediumsShared,
                ActorRole::Provider,
                serde_json::from_value(serde_json::json!({"mediums": ["call", "telegram"]}))
                    .expect("data"),
            ),
        ] {
            let prev = "ab".repeat(32);
            let event = TimelineEvent::new(42, kind, at, actor, data.clone(), &prev);
            let [before, between, after] = canonical_parts(kind, at, actor, &data);
            let input = format!("{prev}{before}{prev}{between}42{after}");
            assert_eq!(to_hex(&Sha256::digest(input.as_bytes())), event.hash);
        }
    }

    #[test]
    fn mediums_data_is_sorted_names() {
        let mediums: Mediums = serde_json::from_value(serde_json::json!({
            "whatsapp": "+15550001111", "call": "15550001111", "telegram": "+15550001111"
        }))
        .expect("mediums");
        assert_eq!(
            Value::Object(mediums_data(&mediums)),
            serde_json::json!({"mediums": ["call", "telegram", "whatsapp"]})
        );
    }

    #[test]
    fn type_names_round_trip() {
        for kind in TimelineEventType::ALL {
            assert_eq!(TimelineEventType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("json"),
                Value::String(kind.as_str().into())
            );
        }
    }
}
