//! A history recorder and checker for fault tests.
//!
//! Simulated apps ([`crate::app`]) record every operation they perform and every chat
//! frame they receive into a [`Recorder`]. After the run, [`check`] joins that history with
//! the rows PostgreSQL holds ([`load_stored`]) and counts, per session:
//!
//! - **lost**: a message acknowledged (`message_sent`) whose id is not stored, or a stored
//!   message the other party never received (live, re-sent on a connect, or both);
//! - **duplicated**: a `client_message_id` stored twice, acknowledged with two different
//!   ids, or a message displayed twice after the app's dedupe by `message_id`;
//! - **unexpected**: a frame of another session, of an id that is not stored in this
//!   session, or whose fields differ from the stored row; a stored row no client sent;
//! - **order violations**: one sender's messages stored (`seq`), acknowledged (timestamps)
//!   or displayed in an order other than the order they were sent in.
//!
//! The app displays a session's messages the way the contract lets it: deduplicated by
//! `message_id` and ordered by the server's `timestamp` (ties in arrival order). Arrival
//! order alone is not promised across a reconnect: a message re-sent on connect may
//! arrive after a newer one pushed live, and across a NATS cluster the live copy and the
//! reply may take different routes.
//!
//! Each message's text is its `client_message_id` (no chat text of any meaning), which is
//! how a displayed frame is tied back to what its sender sent.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tether_proto::Role;
use uuid::Uuid;

/// One thing a simulated app did or saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A socket opened (`conn` counts the app's sockets from 1).
    Connected {
        /// Which socket.
        conn: u32,
    },
    /// A socket ended: closed by the server, dropped, or failed to open.
    Disconnected {
        /// Which socket (0: the connect itself failed).
        conn: u32,
    },
    /// A `chat_message` attempt with this `client_message_id`.
    Sent {
        /// The `client_message_id` (also the text).
        key: String,
    },
    /// Its `message_sent`.
    Acknowledged {
        /// The `client_message_id` the answer belongs to.
        key: String,
        /// `message_id` of the answer.
        message_id: Uuid,
        /// `timestamp` of the answer.
        timestamp: DateTime<Utc>,
    },
    /// An error answer to an attempt (the app retries `unavailable` and `internal`).
    Refused {
        /// The `client_message_id`.
        key: String,
        /// The error code.
        code: String,
    },
    /// No answer in time; the app retries on the same socket.
    TimedOut {
        /// The `client_message_id`.
        key: String,
    },
    /// A `chat_message` frame received.
    Received {
        /// Which socket.
        conn: u32,
        /// Its fields.
        frame: ReceivedMessage,
    },
}

/// The fields of a received `chat_message` the checker compares with the stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// `session_id` (None when missing or not a UUID).
    pub session_id: Option<Uuid>,
    /// `message_id` (None when missing or not a UUID).
    pub message_id: Option<Uuid>,
    /// `sender_type` as sent.
    pub sender_type: String,
    /// `message`.
    pub text: String,
    /// `timestamp` (None when missing or not RFC 3339).
    pub timestamp: Option<DateTime<Utc>>,
}

impl ReceivedMessage {
    /// Reads the fields of a `chat_message` frame, keeping what does not parse as None.
    pub fn from_frame(frame: &serde_json::Value) -> Self {
        let uuid = |field: &str| frame[field].as_str().and_then(|s| Uuid::parse_str(s).ok());
        Self {
            session_id: uuid("session_id"),
            message_id: uuid("message_id"),
            sender_type: frame["sender_type"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            text: frame["message"].as_str().unwrap_or_default().to_string(),
            timestamp: frame["timestamp"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// One recorded operation of one party of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds since the recorder started.
    pub at_ms: u64,
    /// The session the app is in.
    pub session_id: Uuid,
    /// The app's role.
    pub role: Role,
    /// What happened.
    pub op: Op,
}

/// The shared log every simulated app writes to.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<(Instant, Mutex<Vec<Entry>>)>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty log; times count from now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new((Instant::now(), Mutex::new(Vec::new()))),
        }
    }

    /// Appends one entry.
    pub fn record(&self, session_id: Uuid, role: Role, op: Op) {
        let at_ms = self.inner.0.elapsed().as_millis() as u64;
        self.inner
            .1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Entry {
                at_ms,
                session_id,
                role,
                op,
            });
    }

    /// A copy of the log so far.
    pub fn entries(&self) -> Vec<Entry> {
        self.inner
            .1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Acknowledged messages so far (how far a run has come, for timing a fault).
    pub fn acknowledged(&self) -> usize {
        self.count(|op| matches!(op, Op::Acknowledged { .. }))
    }

    /// Attempts refused or unanswered so far (the ones the apps retry).
    pub fn retried(&self) -> usize {
        self.count(|op| matches!(op, Op::Refused { .. } | Op::TimedOut { .. }))
    }

    fn count(&self, which: impl Fn(&Op) -> bool) -> usize {
        self.inner
            .1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|e| which(&e.op))
            .count()
    }
}

/// A chat message row as PostgreSQL holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its session.
    pub session_id: Uuid,
    /// `id` (the `message_id` clients see).
    pub id: Uuid,
    /// The order PostgreSQL assigned.
    pub seq: i64,
    /// Who sent it.
    pub sender_type: Role,
    /// The sender's idempotency key.
    pub client_message_id: Option<String>,
    /// The stored text.
    pub text: String,
}

/// Every chat row of `sessions` (and nothing else: the database holds other tests' rows).
pub async fn load_stored(db: &PgPool, sessions: &[Uuid]) -> Vec<StoredMessage> {
    let rows: Vec<(Uuid, Uuid, i64, String, Option<String>, String)> = sqlx::query_as(
        "SELECT session_id, id, seq, sender_type, client_message_id, message
         FROM chat_messages WHERE session_id = ANY($1) ORDER BY session_id, seq",
    )
    .bind(sessions)
    .fetch_all(db)
    .await
    .expect("chat rows of the checked sessions");
    rows.into_iter()
        .map(
            |(session_id, id, seq, sender, client_message_id, text)| StoredMessage {
                session_id,
                id,
                seq,
                sender_type: if sender == "seeker" {
                    Role::Seeker
                } else {
                    Role::Provider
                },
                client_message_id,
                text,
            },
        )
        .collect()
}

/// The checker's counts (for one session, or summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Distinct messages the apps set out to send.
    pub operations: usize,
    /// Of those, how many never got a `message_sent` (the run ended first).
    pub unacknowledged: usize,
    /// See the module docs.
    pub lost: usize,
    /// See the module docs.
    pub duplicated: usize,
    /// See the module docs.
    pub unexpected: usize,
    /// See the module docs.
    pub order_violations: usize,
}

impl Counts {
    /// No anomaly, and every operation acknowledged.
    pub fn is_clean(&self) -> bool {
        self.unacknowledged == 0
            && self.lost == 0
            && self.duplicated == 0
            && self.unexpected == 0
            && self.order_violations == 0
    }

    fn add(&mut self, other: &Counts) {
        self.operations += other.operations;
        self.unacknowledged += other.unacknowledged;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.unexpected += other.unexpected;
        self.order_violations += other.order_violations;
    }
}

/// What the checker found.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Counts per session.
    pub sessions: BTreeMap<Uuid, Counts>,
    /// Counts of all sessions.
    pub total: Counts,
    /// One line per anomaly (ids and keys only), for the failure message.
    pub findings: Vec<String>,
    /// Attempts that had to be sent again (refused or timed out): how hard the fault bit.
    pub retries: usize,
    /// Sockets that ended or failed to open before the app was done.
    pub disconnects: usize,
}

impl Verdict {
    /// The header of [`Verdict::table_row`].
    pub const TABLE_HEADER: &'static str = "| fault | sessions | operations | retries | disconnects | unacknowledged | lost | duplicated | unexpected | order violations |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

    /// One Markdown table row for `fault`.
    pub fn table_row(&self, fault: &str) -> String {
        let t = &self.total;
        format!(
            "| {fault} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.sessions.len(),
            t.operations,
            self.retries,
            self.disconnects,
            t.unacknowledged,
            t.lost,
            t.duplicated,
            t.unexpected,
            t.order_violations
        )
    }
}

/// Joins the history with the stored rows; `sessions` are the sessions the run owns.
pub fn check(entries: &[Entry], stored: &[StoredMessage], sessions: &[Uuid]) -> Verdict {
    let mut verdict = Verdict::default();
    let owned: HashSet<Uuid> = sessions.iter().copied().collect();
    for entry in entries {
        match entry.op {
            Op::Refused { .. } | Op::TimedOut { .. } => verdict.retries += 1,
            Op::Disconnected { .. } => verdict.disconnects += 1,
            _ => {}
        }
        if !owned.contains(&entry.session_id) {
            verdict.findings.push(format!(
                "history entry of a session the run does not own: {}",
                entry.session_id
            ));
            verdict.total.unexpected += 1;
        }
    }
    for &session_id in sessions {
        let mut findings = Vec::new();
        let counts = check_session(session_id, entries, stored, &mut findings);
        verdict.total.add(&counts);
        verdict.sessions.insert(session_id, counts);
        verdict
            .findings
            .extend(findings.into_iter().map(|f| format!("{session_id}: {f}")));
    }
    verdict
}

/// What one sender of a session did, from the history.
#[derive(Default)]
struct SenderLog {
    /// Keys in the order they were first sent.
    sent: Vec<String>,
    /// Distinct acknowledged (id, timestamp) per key, in answer order.
    acks: HashMap<String, Vec<(Uuid, DateTime<Utc>)>>,
}

fn check_session(
    session_id: Uuid,
    entries: &[Entry],
    stored: &[StoredMessage],
    findings: &mut Vec<String>,
) -> Counts {
    let mut counts = Counts::default();
    let mine = || entries.iter().filter(move |e| e.session_id == session_id);
    let mut senders: HashMap<Role, SenderLog> = HashMap::new();
    for entry in mine() {
        let log = senders.entry(entry.role).or_default();
        match &entry.op {
            Op::Sent { key } if !log.sent.contains(key) => log.sent.push(key.clone()),
            Op::Acknowledged {
                key,
                message_id,
                timestamp,
            } => {
                let acks = log.acks.entry(key.clone()).or_default();
                if !acks.iter().any(|(id, _)| id == message_id) {
                    acks.push((*message_id, *timestamp));
                }
            }
            _ => {}
        }
    }
    let rows: Vec<&StoredMessage> = stored
        .iter()
        .filter(|r| r.session_id == session_id)
        .collect();
    let by_id: HashMap<Uuid, &StoredMessage> = rows.iter().map(|r| (r.id, *r)).collect();

    for role in [Role::Seeker, Role::Provider] {
        let log = senders.remove(&role).unwrap_or_default();
        let index: HashMap<&str, usize> = log
            .sent
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        counts.operations += log.sent.len();
        for key in &log.sent {
            if !log.acks.contains_key(key) {
                counts.unacknowledged += 1;
                findings.push(format!("{role:?} {key}: never acknowledged"));
            }
        }
        for (key, acks) in &log.acks {
            if !index.contains_key(key.as_str()) {
                counts.unexpected += 1;
                findings.push(format!("{role:?} {key}: acknowledged but never sent"));
            }
            if acks.len() > 1 {
                counts.duplicated += acks.len() - 1;
                findings.push(format!(
                    "{role:?} {key}: acknowledged with {} ids",
                    acks.len()
                ));
            }
            for (id, _) in acks {
                match by_id.get(id) {
                    None => {
                        counts.lost += 1;
                        findings.push(format!("{role:?} {key}: acknowledged {id}, not stored"));
                    }
                    Some(row)
                        if row.sender_type != role
                            || row.client_message_id.as_deref() != Some(key) =>
                    {
                        counts.unexpected += 1;
                        findings.push(format!(
                            "{role:?} {key}: acknowledged {id} of another message"
                        ));
                    }
                    Some(_) => {}
                }
            }
        }

        // Rows of this sender: each sent once, stored once, in send order.
        let mut own_rows: Vec<&&StoredMessage> =
            rows.iter().filter(|r| r.sender_type == role).collect();
        own_rows.sort_by_key(|r| r.seq);
        let mut per_key: HashMap<&str, usize> = HashMap::new();
        for row in &own_rows {
            let key = row.client_message_id.as_deref().unwrap_or_default();
            if !index.contains_key(key) || row.text != key {
                counts.unexpected += 1;
                findings.push(format!("{role:?} row {}: never sent as stored", row.id));
                continue;
            }
            *per_key.entry(key).or_default() += 1;
        }
        for (key, n) in per_key {
            if n > 1 {
                counts.duplicated += n - 1;
                findings.push(format!("{role:?} {key}: stored {n} times"));
            }
        }
        let stored_order: Vec<usize> = own_rows
            .iter()
            .filter_map(|r| index.get(r.client_message_id.as_deref().unwrap_or_default()))
            .copied()
            .collect();
        let inversions = descents(&stored_order);
        if inversions > 0 {
            findings.push(format!("{role:?}: {inversions} stored out of send order"));
        }
        counts.order_violations += inversions;
        let ack_times: Vec<DateTime<Utc>> = log
            .sent
            .iter()
            .filter_map(|k| log.acks.get(k).and_then(|a| a.first()).map(|(_, t)| *t))
            .collect();
        let inversions = descents(&ack_times);
        if inversions > 0 {
            findings.push(format!(
                "{role:?}: {inversions} acknowledged out of send order"
            ));
        }
        counts.order_violations += inversions;

        // What the other party displays of this sender's messages.
        let recipient = role.other();
        let mut displayed: Vec<(DateTime<Utc>, usize, Uuid)> = Vec::new();
        let mut displayed_ids: HashSet<Uuid> = HashSet::new();
        let mut displayed_keys: HashSet<&str> = HashSet::new();
        for (arrival, entry) in mine().filter(|e| e.role == recipient).enumerate() {
            let Op::Received { frame, .. } = &entry.op else {
                continue;
            };
            if frame.sender_type != role.as_str() {
                continue;
            }
            let Some(row) = frame
                .message_id
                .filter(|_| frame.session_id == Some(session_id))
                .and_then(|id| by_id.get(&id))
            else {
                counts.unexpected += 1;
                findings.push(format!(
                    "{recipient:?} received {:?} of session {:?}: not a stored message of this session",
                    frame.message_id, frame.session_id
                ));
                continue;
            };
            if row.sender_type != role || row.text != frame.text || frame.timestamp.is_none() {
                counts.unexpected += 1;
                findings.push(format!("{recipient:?} received {} unlike its row", row.id));
                continue;
            }
            if !displayed_ids.insert(row.id) {
                continue;
            }
            if !displayed_keys.insert(row.text.as_str()) {
                counts.duplicated += 1;
                findings.push(format!("{recipient:?} displays {} twice", row.text));
                continue;
            }
            let timestamp = frame.timestamp.unwrap_or_default();
            displayed.push((timestamp, arrival, row.id));
        }
        for row in &own_rows {
            if !displayed_ids.contains(&row.id) {
                counts.lost += 1;
                findings.push(format!("{role:?} {}: stored, never delivered", row.id));
            }
        }
        displayed.sort();
        let display_order: Vec<usize> = displayed
            .iter()
            .filter_map(|(_, _, id)| {
                by_id
                    .get(id)
                    .and_then(|r| index.get(r.client_message_id.as_deref().unwrap_or_default()))
            })
            .copied()
            .collect();
        let inversions = descents(&display_order);
        if inversions > 0 {
            findings.push(format!(
                "{recipient:?}: {inversions} displayed out of send order"
            ));
        }
        counts.order_violations += inversions;
    }
    counts
}

/// Adjacent pairs out of order.
fn descents<T: PartialOrd>(values: &[T]) -> usize {
    values.windows(2).filter(|w| w[1] < w[0]).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).expect("time")
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(1000 + n)
    }

    fn entry(role: Role, op: Op) -> Entry {
        Entry {
            at_ms: 0,
            session_id: S,
            role,
            op,
        }
    }

    fn frame(n: u128, key: &str, ms: i64) -> Op {
        Op::Received {
            conn: 1,
            frame: ReceivedMessage {
                session_id: Some(S),
                message_id: Some(id(n)),
                sender_type: "seeker".into(),
                text: key.into(),
                timestamp: Some(at(ms)),
            },
        }
    }

    fn row(n: u128, key: &str, seq: i64) -> StoredMessage {
        StoredMessage {
            session_id: S,
            id: id(n),
            seq,
            sender_type: Role::Seeker,
            client_message_id: Some(key.into()),
            text: key.into(),
        }
    }

    /// The seeker sends k0..k2, each acknowledged, stored and received once, in order.
    fn clean() -> (Vec<Entry>, Vec<StoredMessage>) {
        let mut entries = Vec::new();
        let mut rows = Vec::new();
        for n in 0..3u128 {
            let key = format!("k{n}");
            let ms = n as i64 * 10;
            entries.push(entry(Role::Seeker, Op::Sent { key: key.clone() }));
            entries.push(entry(
                Role::Seeker,
                Op::Acknowledged {
                    key: key.clone(),
                    message_id: id(n),
                    timestamp: at(ms),
                },
            ));
            entries.push(entry(Role::Provider, frame(n, &key, ms)));
            rows.push(row(n, &key, n as i64 + 1));
        }
        (entries, rows)
    }

    fn counts(entries: &[Entry], rows: &[StoredMessage]) -> Counts {
        check(entries, rows, &[S]).total
    }

    #[test]
    fn a_clean_history_counts_nothing() {
        let (entries, rows) = clean();
        let verdict = check(&entries, &rows, &[S]);
        assert_eq!(
            verdict.total,
            Counts {
                operations: 3,
                ..Counts::default()
            }
        );
        assert!(verdict.total.is_clean(), "{:?}", verdict.findings);
    }

    #[test]
    fn retries_and_redeliveries_are_not_anomalies() {
        let (mut entries, rows) = clean();
        // A retry of k1 answered with the same id, and k1 re-sent on a reconnect.
        entries.insert(
            4,
            entry(
                Role::Seeker,
                Op::Refused {
                    key: "k1".into(),
                    code: "unavailable".into(),
                },
            ),
        );
        entries.push(entry(Role::Seeker, Op::Sent { key: "k1".into() }));
        entries.push(entry(
            Role::Seeker,
            Op::Acknowledged {
                key: "k1".into(),
                message_id: id(1),
                timestamp: at(10),
            },
        ));
        entries.push(entry(Role::Provider, frame(1, "k1", 10)));
        assert!(counts(&entries, &rows).is_clean());
    }

    #[test]
    fn an_acknowledged_message_not_stored_is_lost() {
        let (entries, mut rows) = clean();
        rows.remove(1);
        let c = counts(&entries, &rows);
        // Acknowledged but not stored; and the frame the provider got has no row.
        assert_eq!((c.lost, c.unexpected), (1, 1), "{c:?}");
    }

    #[test]
    fn a_stored_message_never_received_is_lost() {
        let (mut entries, rows) = clean();
        entries.retain(|e| !(e.role == Role::Provider && e.op == frame(2, "k2", 20)));
        let c = counts(&entries, &rows);
        assert_eq!(c.lost, 1, "{c:?}");
        assert_eq!(c.duplicated + c.unexpected + c.order_violations, 0);
    }

    #[test]
    fn a_key_stored_twice_and_displayed_twice_is_duplicated() {
        let (mut entries, mut rows) = clean();
        rows.push(row(9, "k1", 4));
        entries.push(entry(Role::Provider, frame(9, "k1", 30)));
        let c = counts(&entries, &rows);
        // Stored twice, and displayed twice (two ids, one message).
        assert_eq!(c.duplicated, 2, "{c:?}");
        assert_eq!(c.lost, 0);
    }

    #[test]
    fn one_key_acknowledged_with_two_ids_is_duplicated() {
        let (mut entries, rows) = clean();
        entries.push(entry(
            Role::Seeker,
            Op::Acknowledged {
                key: "k0".into(),
                message_id: id(7),
                timestamp: at(0),
            },
        ));
        let c = counts(&entries, &rows);
        // Two ids for one key, and the second one is not stored.
        assert_eq!((c.duplicated, c.lost), (1, 1), "{c:?}");
    }

    #[test]
    fn a_frame_of_another_session_or_never_sent_is_unexpected() {
        let (mut entries, mut rows) = clean();
        let Op::Received {
            conn,
            frame: mut foreign,
        } = frame(0, "k0", 0)
        else {
            unreachable!()
        };
        foreign.session_id = Some(OTHER);
        entries.push(entry(
            Role::Provider,
            Op::Received {
                conn,
                frame: foreign,
            },
        ));
        // A row no one sent.
        let mut ghost = row(8, "k8", 10);
        ghost.sender_type = Role::Provider;
        rows.push(ghost);
        // A received frame whose text differs from its row.
        entries.push(entry(Role::Provider, {
            let Op::Received {
                conn,
                frame: mut tampered,
            } = frame(1, "k1", 10)
            else {
                unreachable!()
            };
            tampered.text = "tampered".into();
            Op::Received {
                conn,
                frame: tampered,
            }
        }));
        let c = counts(&entries, &rows);
        assert_eq!(c.unexpected, 3, "{c:?}");
    }

    #[test]
    fn entries_of_a_session_the_run_does_not_own_are_unexpected() {
        let (mut entries, rows) = clean();
        let mut stray = entry(Role::Seeker, Op::Sent { key: "x".into() });
        stray.session_id = OTHER;
        entries.push(stray);
        assert_eq!(counts(&entries, &rows).unexpected, 1);
    }

    #[test]
    fn stored_out_of_send_order_is_an_order_violation() {
        let (entries, mut rows) = clean();
        rows[1].seq = 10;
        // k0, k2, k1 by seq.
        let c = counts(&entries, &rows);
        assert_eq!(c.order_violations, 1, "{c:?}");
    }

    #[test]
    fn displayed_out_of_send_order_is_an_order_violation() {
        let (mut entries, rows) = clean();
        // The frames carry timestamps that put k2 before k1.
        for e in &mut entries {
            if let Op::Received { frame, .. } = &mut e.op
                && frame.message_id == Some(id(2))
            {
                frame.timestamp = Some(at(5));
            }
        }
        let c = counts(&entries, &rows);
        assert_eq!(c.order_violations, 1, "{c:?}");
    }

    #[test]
    fn arrival_order_alone_is_not_an_order_violation() {
        let (mut entries, rows) = clean();
        // k2 arrives before k1 (re-sent on connect after a live k2): display orders by
        // timestamp, so nothing is out of order.
        let k1 = entries.remove(5);
        entries.push(k1);
        assert!(counts(&entries, &rows).is_clean());
    }

    #[test]
    fn acknowledged_out_of_order_and_never_acknowledged_count() {
        let (mut entries, rows) = clean();
        for e in &mut entries {
            if let Op::Acknowledged { key, timestamp, .. } = &mut e.op
                && key == "k2"
            {
                *timestamp = at(-5);
            }
        }
        entries.push(entry(Role::Seeker, Op::Sent { key: "k3".into() }));
        let c = counts(&entries, &rows);
        assert_eq!(c.operations, 4);
        assert_eq!(c.unacknowledged, 1);
        // k2's answer is older than k1's, and so is its displayed copy (same timestamp
        // in the frame is untouched: only the ack order breaks).
        assert_eq!(c.order_violations, 1, "{c:?}");
        assert!(!c.is_clean());
    }
}
