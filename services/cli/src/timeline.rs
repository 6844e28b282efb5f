//! `tether-timeline verify <file.json>`: checks a saved answer of
//! `GET /api/v1/sessions/{session_id}/timeline` against every rule of the protocol's
//! "Session timeline" section, and names the first event that breaks one.
//!
//! The file is read as plain JSON (not through the server's types), and each `hash` is
//! recomputed over the event object exactly as found, minus its `hash` field, so any
//! change to any field (or an added one) shows. Rules checked, event by event in order:
//! - `seq` is 1, 2, 3, ...;
//! - `prev_hash` is 64 zeros for the first event, the previous `hash` after that;
//! - `hash` = lowercase hex SHA-256(`prev_hash` + JCS(event without `hash`));
//! - `type` is known, `at` is RFC 3339 UTC with `Z` and milliseconds, `actor_role` is the
//!   one the type requires, `data` has the type's shape (sorted medium names, a known
//!   stage, or `{}`);
//! - order: `work_created` then `work_accepted` first (and never again), at most one
//!   `chat_started`, `session_active` once, right after the first `mediums_selected`,
//!   arrival stages only once active, each closer than the last, `cancelled`/`completed`
//!   only last;
//! - and for the whole answer: a UUID `session_id`, at least the two first events, and
//!   `head_hash` equal to the last `hash`.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};
use tether_proto::Timestamp;
use tether_proto::timeline::{GENESIS_HASH, TimelineEventType, event_hash};

/// Arrival stages, farthest first (the order they may be announced in).
pub const ARRIVAL_STAGES: [&str; 3] = ["approaching_500", "approaching_100", "arrived"];

/// Medium names that may appear in `data.mediums`.
const MEDIUM_NAMES: [&str; 3] = ["call", "telegram", "whatsapp"];

/// A verified timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// How many events.
    pub events: usize,
    /// The head hash.
    pub head_hash: String,
}

/// The first rule a timeline breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The event's position (0-based), `None` for the answer as a whole.
    pub index: Option<usize>,
    /// The event's `seq` as found, if it had one.
    pub seq: Option<i64>,
    /// Which rule.
    pub reason: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, self.seq) {
            (Some(index), Some(seq)) => {
                write!(f, "event #{} (seq {seq}): {}", index + 1, self.reason)
            }
            (Some(index), None) => write!(f, "event #{}: {}", index + 1, self.reason),
            _ => write!(f, "timeline: {}", self.reason),
        }
    }
}

impl std::error::Error for Broken {}

fn whole(reason: impl Into<String>) -> Broken {
    Broken {
        index: None,
        seq: None,
        reason: reason.into(),
    }
}

/// Checks a parsed timeline answer.
pub fn verify(answer: &Value) -> Result<Verified, Broken> {
    let answer = answer
        .as_object()
        .ok_or_else(|| whole("the answer is not a JSON object"))?;
    let session_id = answer
        .get("session_id")
        .and_then(Value::as_str)
        .ok_or_else(|| whole("session_id is missing or not a string"))?;
    uuid::Uuid::parse_str(session_id).map_err(|_| whole("session_id is not a UUID"))?;
    let events = answer
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| whole("events is missing or not an array"))?;
    let mut state = Order::default();
    let mut prev_hash = GENESIS_HASH.to_string();
    for (index, event) in events.iter().enumerate() {
        let seq = event.get("seq").and_then(Value::as_i64);
        let broken = |reason: String| Broken {
            index: Some(index),
            seq,
            reason,
        };
        let object = event
            .as_object()
            .ok_or_else(|| broken("not a JSON object".into()))?;
        prev_hash = check_event(index, object, &prev_hash, &mut state).map_err(broken)?;
    }
    if state.previous == Some(TimelineEventType::MediumsSelected)
        && !state
            .seen
            .contains(TimelineEventType::SessionActive.as_str())
    {
        return Err(whole(
            "the first mediums_selected is not followed by session_active",
        ));
    }
    if events.len() < 2 {
        return Err(whole(format!(
            "{} event(s): work_created and work_accepted are always there",
            events.len()
        )));
    }
    let head_hash = answer
        .get("head_hash")
        .and_then(Value::as_str)
        .ok_or_else(|| whole("head_hash is missing or not a string"))?;
    if head_hash != prev_hash {
        return Err(whole(format!(
            "head_hash {head_hash} is not the last event's hash {prev_hash}"
        )));
    }
    Ok(Verified {
        events: events.len(),
        head_hash: prev_hash,
    })
}

/// What the order rules need to remember.
#[derive(Debug, Default)]
struct Order {
    previous: Option<TimelineEventType>,
    seen: HashSet<&'static str>,
    /// Index of the closest arrival stage announced so far.
    stage: Option<usize>,
}

/// Checks one event; returns its hash (the next `prev_hash`).
fn check_event(
    index: usize,
    event: &Map<String, Value>,
    expected_prev: &str,
    order: &mut Order,
) -> Result<String, String> {
    let field = |name: &str| event.get(name).ok_or_else(|| format!("{name} is missing"));
    let seq = field("seq")?.as_i64().ok_or("seq is not an integer")?;
    if seq != index as i64 + 1 {
        return Err(format!("seq {seq} where {} was due", index + 1));
    }
    let prev_hash = field("prev_hash")?
        .as_str()
        .ok_or("prev_hash is not a string")?;
    if prev_hash != expected_prev {
        return Err(format!(
            "prev_hash {prev_hash} is not the previous hash {expected_prev}"
        ));
    }
    let hash = field("hash")?.as_str().ok_or("hash is not a string")?;
    let mut without_hash = event.clone();
    without_hash.remove("hash");
    let computed = event_hash(prev_hash, &without_hash);
    if hash != computed {
        return Err(format!(
            "hash {hash} does not match the content (recomputed {computed})"
        ));
    }

    let kind = field("type")?.as_str().ok_or("type is not a string")?;
    let kind = TimelineEventType::parse(kind).ok_or_else(|| format!("unknown type {kind:?}"))?;
    let at = field("at")?.as_str().ok_or("at is not a string")?;
    let parsed: Timestamp = serde_json::from_value(Value::String(at.to_string()))
        .map_err(|_| format!("at {at:?} is not an RFC 3339 time"))?;
    if parsed.to_string() != at {
        return Err(format!(
            "at {at:?} is not UTC with a Z suffix and millisecond precision"
        ));
    }
    let actor = field("actor_role")?
        .as_str()
        .ok_or("actor_role is not a string")?;
    if !allowed_actors(kind).contains(&actor) {
        return Err(format!(
            "actor_role {actor:?} for {} (expected {})",
            kind.as_str(),
            allowed_actors(kind).join(" or ")
        ));
    }
    let data = field("data")?.as_object().ok_or("data is not an object")?;
    check_data(kind, data)?;
    check_order(index, kind, data, order)?;
    Ok(hash.to_string())
}

fn allowed_actors(kind: TimelineEventType) -> &'static [&'static str] {
    use TimelineEventType as T;
    match kind {
        T::WorkCreated | T::MediumsSelected | T::SessionActive => &["seeker"],
        T::WorkAccepted | T::MediumsShared => &["provider"],
        T::Arrival => &["system"],
        T::ChatStarted | T::Cancelled | T::Completed => &["seeker", "provider"],
    }
}

fn check_data(kind: TimelineEventType, data: &Map<String, Value>) -> Result<(), String> {
    use TimelineEventType as T;
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    match kind {
        T::MediumsSelected | T::MediumsShared => {
            let names = match (keys.as_slice(), data.get("mediums")) {
                (["mediums"], Some(Value::Array(names))) => names,
                _ => return Err("data must be {\"mediums\": [names]}".into()),
            };
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if names.len() != data["mediums"].as_array().map_or(0, Vec::len)
                || names != sorted
                || !names.iter().all(|name| MEDIUM_NAMES.contains(name))
            {
                return Err(format!(
                    "data.mediums must be distinct names from {MEDIUM_NAMES:?}, sorted"
                ));
            }
        }
        T::Arrival => match (keys.as_slice(), data.get("stage").and_then(Value::as_str)) {
            (["stage"], Some(stage)) if ARRIVAL_STAGES.contains(&stage) => {}
            _ => {
                return Err(format!(
                    "data must be {{\"stage\": one of {ARRIVAL_STAGES:?}}}"
                ));
            }
        },
        _ if !data.is_empty() => return Err(format!("data of {} must be {{}}", kind.as_str())),
        _ => {}
    }
    Ok(())
}

fn check_order(
    index: usize,
    kind: TimelineEventType,
    data: &Map<String, Value>,
    order: &mut Order,
) -> Result<(), String> {
    use TimelineEventType as T;
    if order.previous.is_some_and(T::is_terminal) {
        return Err("an event after the session ended".into());
    }
    let first = order.seen.insert(kind.as_str());
    match (index, kind) {
        (0, T::WorkCreated) | (1, T::WorkAccepted) => {}
        (0, _) => return Err("the first event must be work_created".into()),
        (1, _) => return Err("the second event must be work_accepted".into()),
        (_, T::WorkCreated | T::WorkAccepted) => {
            return Err(format!(
                "{} only as event {}",
                kind.as_str(),
                index.min(1) + 1
            ));
        }
        (_, T::ChatStarted | T::SessionActive) if !first => {
            return Err(format!("a second {}", kind.as_str()));
        }
        _ => {}
    }
    let active = order.seen.contains(T::SessionActive.as_str());
    match kind {
        T::SessionActive if order.previous != Some(T::MediumsSelected) => {
            return Err("session_active must follow the first mediums_selected".into());
        }
        T::Arrival if !active => return Err("arrival before session_active".into()),
        T::Arrival => {
            let stage = data
                .get("stage")
                .and_then(Value::as_str)
                .and_then(|stage| ARRIVAL_STAGES.iter().position(|s| *s == stage));
            if stage <= order.stage {
                return Err("an arrival stage not closer than one already announced".into());
            }
            order.stage = stage;
        }
        _ => {}
    }
    // The first selection activates the session: session_active must come next.
    if order.previous == Some(T::MediumsSelected)
        && kind != T::SessionActive
        && !active
        && order.seen.contains(T::MediumsSelected.as_str())
    {
        return Err("the first mediums_selected is not followed by session_active".into());
    }
    order.previous = Some(kind);
    Ok(())
}

/// Reads and checks a saved answer.
pub fn verify_file(path: &std::path::Path) -> anyhow::Result<Result<Verified, Broken>> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|err| anyhow::anyhow!("{} is not JSON: {err}", path.display()))?;
    Ok(verify(&value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tether_proto::timeline::{ActorRole, SessionTimeline, TimelineEvent, arrival_data};

    /// One event of a test chain: its type, actor and data.
    type Spec = (TimelineEventType, ActorRole, Value);

    fn plain(kind: TimelineEventType, actor: ActorRole) -> Spec {
        (kind, actor, serde_json::json!({}))
    }

    fn mediums(kind: TimelineEventType, actor: ActorRole, mediums: &[&str]) -> Spec {
        (kind, actor, serde_json::json!({ "mediums": mediums }))
    }

    fn arrival(stage: &str) -> Spec {
        (
            TimelineEventType::Arrival,
            ActorRole::System,
            Value::Object(arrival_data(stage)),
        )
    }

    fn chain(spec: &[Spec]) -> Value {
        let mut events: Vec<TimelineEvent> = Vec::new();
        for (i, (kind, actor, data)) in spec.iter().enumerate() {
            let prev = events
                .last()
                .map_or_else(|| GENESIS_HASH.to_string(), |e| e.hash.clone());
            let at = chrono::Utc
                .timestamp_opt(1_700_000_000 + i as i64, 5_000_000)
                .single()
                .expect("time");
            let data = data.as_object().cloned().unwrap_or_default();
            events.push(TimelineEvent::new(
                i as i64 + 1,
                *kind,
                at,
                *actor,
                data,
                &prev,
            ));
        }
        serde_json::to_value(SessionTimeline::new(uuid::Uuid::nil(), events)).expect("json")
    }

    fn full() -> Value {
        use ActorRole as A;
        use TimelineEventType as T;
        chain(&[
            plain(T::WorkCreated, A::Seeker),
            plain(T::WorkAccepted, A::Provider),
            plain(T::ChatStarted, A::Provider),
            mediums(T::MediumsSelected, A::Seeker, &["call", "whatsapp"]),
            plain(T::SessionActive, A::Seeker),
            mediums(T::MediumsShared, A::Provider, &[]),
            arrival("approaching_100"),
            arrival("arrived"),
            plain(T::Completed, A::Seeker),
        ])
    }

    #[test]
    fn a_full_chain_verifies() {
        let verified = verify(&full()).expect("valid");
        assert_eq!(verified.events, 9);
    }

    #[test]
    fn any_change_is_found_at_its_event() {
        let cases: [(&str, Value); 5] = [
            ("at", Value::String("2023-11-14T22:13:24.006Z".into())),
            ("actor_role", Value::String("provider".into())),
            ("data", serde_json::json!({"mediums": ["call"]})),
            ("seq", Value::from(5)),
            ("extra", Value::from(1)),
        ];
        for (field, value) in cases {
            let mut answer = full();
            answer["events"][3][field] = value;
            let broken = verify(&answer).expect_err(field);
            assert_eq!(broken.index, Some(3), "{field}: {broken}");
        }
    }

    #[test]
    fn rehashing_one_event_breaks_the_next() {
        let mut answer = full();
        let mut event = answer["events"][2].as_object().cloned().expect("object");
        event.insert("actor_role".into(), Value::String("seeker".into()));
        event.remove("hash");
        let prev = event["prev_hash"].as_str().expect("prev").to_string();
        let hash = event_hash(&prev, &event);
        event.insert("hash".into(), Value::String(hash));
        answer["events"][2] = Value::Object(event);
        let broken = verify(&answer).expect_err("broken");
        assert_eq!(broken.index, Some(3), "{broken}");
    }

    #[test]
    fn head_hash_and_order_rules() {
        let mut answer = full();
        answer["head_hash"] = Value::String(GENESIS_HASH.into());
        assert_eq!(verify(&answer).expect_err("head").index, None);

        use ActorRole as A;
        use TimelineEventType as T;
        let bad = [
            chain(&[
                plain(T::WorkAccepted, A::Provider),
                plain(T::WorkCreated, A::Seeker),
            ]),
            chain(&[plain(T::WorkCreated, A::Seeker)]),
            chain(&[
                plain(T::WorkCreated, A::Seeker),
                plain(T::WorkAccepted, A::Provider),
                plain(T::Cancelled, A::Seeker),
                plain(T::ChatStarted, A::Seeker),
            ]),
            chain(&[
                plain(T::WorkCreated, A::Seeker),
                plain(T::WorkAccepted, A::Provider),
                mediums(T::MediumsSelected, A::Seeker, &["call"]),
                mediums(T::MediumsShared, A::Provider, &["call"]),
            ]),
            chain(&[
                plain(T::WorkCreated, A::Seeker),
                plain(T::WorkAccepted, A::Provider),
                mediums(T::MediumsShared, A::Provider, &["whatsapp", "call"]),
            ]),
            chain(&[
                plain(T::WorkCreated, A::Seeker),
                plain(T::WorkAccepted, A::Provider),
                mediums(T::MediumsSelected, A::Seeker, &["call"]),
                plain(T::SessionActive, A::Seeker),
                arrival("arrived"),
                arrival("approaching_500"),
            ]),
            chain(&[
                plain(T::WorkCreated, A::Seeker),
                plain(T::WorkAccepted, A::Provider),
                plain(T::ChatStarted, A::System),
            ]),
        ];
        for (i, answer) in bad.iter().enumerate() {
            assert!(verify(answer).is_err(), "case {i}");
        }
    }
}
