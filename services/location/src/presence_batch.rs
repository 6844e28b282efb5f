//! Presence transitions applied together (group commit, [`tether_platform::batch`]).
//!
//! A socket storm (thousands of users connecting or leaving at once, an edge restarting)
//! is thousands of transitions, and one transaction of six statements each kept
//! PostgreSQL busy for tens of seconds after the sockets were gone. Here every transition
//! queued while a batch is written goes into the next one: ensure and lock the rows (one
//! statement), apply each edge's transition unless it holds a later one and record who
//! changed (one statement), clear their stale flags, each over arrays, so a batch costs
//! about six round trips (with `BEGIN` and `COMMIT`) whatever its size. Rows are locked in
//! (user, role) order, so two instances' batches never wait on each other in a cycle; when
//! a batch fails anyway, its transitions are applied one by one.
//!
//! Within a batch only the latest transition of each (user, role, edge) counts (an edge
//! numbers them), and a user who went offline and online again within it is told to
//! nobody: the peer hears about changes of the user's state from one batch to the next.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroUsize;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tether_platform::batch::{BatchSettings, Batcher};
use tether_proto::Role;
use uuid::Uuid;

use crate::fanout::PeerDue;
use crate::presence::{OpenSessionOf, RoleStatements};

/// One edge's transition of one (user, role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The edge.
    pub edge_id: Uuid,
    /// The edge's sequence number of the transition.
    pub seq: i64,
    /// The user.
    pub user_id: Uuid,
    /// The endpoint's role.
    pub role: Role,
    /// true: the edge's first socket of the user opened; false: its last one closed.
    pub online: bool,
}

/// The transitions' writer: each answer is the `peer_status` to send (to every socket of
/// the other party) when that transition changed the user's presence.
pub type PresenceWriter = Batcher<Transition, Option<PeerDue>>;

/// Most transitions one batch carries.
const MAX_BATCH: NonZeroUsize = NonZeroUsize::new(512).expect("not zero");

/// Starts the writer.
pub fn spawn(pool: PgPool, stale_location: Duration) -> PresenceWriter {
    let settings = BatchSettings {
        name: "presence",
        max_batch: MAX_BATCH,
        writers: NonZeroUsize::new(2).expect("not zero"),
    };
    Batcher::spawn(settings, move |batch: Vec<Transition>| {
        let pool = pool.clone();
        async move {
            match apply_batch(&pool, stale_location, &batch).await {
                Ok(dues) => dues,
                Err(err) => {
                    tracing::warn!(error = %err, transitions = batch.len(), "presence batch failed; applying one by one");
                    let mut dues = Vec::with_capacity(batch.len());
                    for t in &batch {
                        let due = apply_batch(&pool, stale_location, std::slice::from_ref(t)).await;
                        dues.push(due.map_or_else(
                            |err| {
                                tracing::warn!(error = %err, "presence event not applied");
                                None
                            },
                            |mut due| due.pop().flatten(),
                        ));
                    }
                    dues
                }
            }
        }
    })
}

/// Creates the missing (user $1[i], role $2[i]) presence rows, offline, and locks them all,
/// in key order, in one round trip: a new row is locked by its insertion, and `ON CONFLICT
/// DO UPDATE ... WHERE false` locks an existing one without writing a new version of it
/// (PostgreSQL locks every conflicting row the action considers, updated or not), so no
/// dead tuple is left for a vacuum that may not run. The keys are distinct (one per (user,
/// role)), which `ON CONFLICT DO UPDATE` requires.
pub const ENSURE_AND_LOCK_MANY: &str = "INSERT INTO user_presence AS u (user_id, role, online, seen_at)
         SELECT k.user_id, k.role, false, now() FROM unnest($1::uuid[], $2::text[]) AS k (user_id, role)
         ORDER BY k.user_id, k.role
         ON CONFLICT (user_id, role) DO UPDATE SET online = u.online WHERE false";

/// Applies edge $5[i]'s transition (online $6[i], sequence $7[i]) of (user $3[i], role
/// $4[i]) unless the edge's row holds a later one (one element per (user, role, edge)), then
/// records the presence of each (user $1[i], role $2[i]) whose sockets now say otherwise
/// (online = any edge holds one) and returns those that changed: one round trip.
///
/// The statement's snapshot does not see its own CTE's writes, so each user's sockets are
/// the rows the CTE wrote (`applied`) plus the user's other rows as they were. No other
/// transaction can change them meanwhile: every writer of a user's sockets holds the
/// user's `user_presence` row lock first ([`ENSURE_AND_LOCK_MANY`], an earlier statement,
/// so this one's snapshot already sees whatever committed before the lock was granted).
/// Each user's rows are read through the primary key and aggregated: with `AND s.online`
/// in an `EXISTS`, the generic plan hashed every online socket of every user (the partial
/// index on online sockets), a second per batch during a storm of 19,000.
pub const APPLY_AND_SET_CHANGED: &str = "WITH applied AS (
             INSERT INTO presence_sockets AS s (user_id, role, edge_id, online, seq)
             SELECT * FROM unnest($3::uuid[], $4::text[], $5::uuid[], $6::bool[], $7::int8[])
             ON CONFLICT (user_id, role, edge_id) DO UPDATE
                 SET online = excluded.online, seq = excluded.seq, changed_at = now()
                 WHERE s.seq < excluded.seq
             RETURNING s.user_id, s.role, s.edge_id, s.online
         ), n AS (
             SELECT k.user_id, k.role, coalesce(bool_or(x.online), false) AS online
             FROM unnest($1::uuid[], $2::text[]) AS k (user_id, role)
             LEFT JOIN LATERAL (
                 SELECT a.online FROM applied a WHERE a.user_id = k.user_id AND a.role = k.role
                 UNION ALL
                 SELECT s.online FROM presence_sockets s
                 WHERE s.user_id = k.user_id AND s.role = k.role
                   AND NOT EXISTS (SELECT 1 FROM applied a
                                   WHERE a.user_id = s.user_id AND a.role = s.role
                                     AND a.edge_id = s.edge_id)
             ) AS x ON true
             GROUP BY k.user_id, k.role
         )
         UPDATE user_presence AS u SET online = n.online, seen_at = now()
         FROM n
         WHERE u.user_id = n.user_id AND u.role = n.role AND u.online <> n.online
         RETURNING u.user_id, u.role, u.online, u.seen_at";

/// (User, role) as the database spells it; ordered, so rows are locked in one order.
type Key = (Uuid, &'static str);

/// Applies `batch` in one transaction; one answer per transition, in order.
async fn apply_batch(
    pool: &PgPool,
    stale_location: Duration,
    batch: &[Transition],
) -> sqlx::Result<Vec<Option<PeerDue>>> {
    // The latest transition of each (user, role, edge), and the last one of each (user,
    // role): that one carries the user's peer_status, if any.
    let mut latest: BTreeMap<(Key, Uuid), &Transition> = BTreeMap::new();
    let mut last_of_key: HashMap<Key, usize> = HashMap::new();
    for (index, t) in batch.iter().enumerate() {
        let key = (t.user_id, t.role.as_str());
        let kept = latest.entry((key, t.edge_id)).or_insert(t);
        if t.seq > kept.seq {
            *kept = t;
        }
        last_of_key.insert(key, index);
    }
    let mut keys: Vec<Key> = last_of_key.keys().copied().collect();
    keys.sort_unstable();
    let (users, roles): (Vec<Uuid>, Vec<&str>) = keys.iter().copied().unzip();

    let mut tx = pool.begin().await?;
    sqlx::query(ENSURE_AND_LOCK_MANY)
        .bind(&users)
        .bind(&roles)
        .execute(&mut *tx)
        .await?;
    let applied = latest.values();
    let changed: Vec<(Uuid, String, bool, DateTime<Utc>)> = sqlx::query_as(APPLY_AND_SET_CHANGED)
        .bind(&users)
        .bind(&roles)
        .bind(applied.clone().map(|t| t.user_id).collect::<Vec<_>>())
        .bind(applied.clone().map(|t| t.role.as_str()).collect::<Vec<_>>())
        .bind(applied.clone().map(|t| t.edge_id).collect::<Vec<_>>())
        .bind(applied.clone().map(|t| t.online).collect::<Vec<_>>())
        .bind(applied.map(|t| t.seq).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;

    let mut dues: HashMap<Key, PeerDue> = HashMap::new();
    for role in [Role::Seeker, Role::Provider] {
        let of_role: HashMap<Uuid, (bool, DateTime<Utc>)> = changed
            .iter()
            .filter(|(_, r, _, _)| r == role.as_str())
            .map(|(user, _, online, seen_at)| (*user, (*online, *seen_at)))
            .collect();
        if of_role.is_empty() {
            continue;
        }
        let statements = RoleStatements::of(role);
        let parties: Vec<Uuid> = of_role.keys().copied().collect();
        type Row = (Uuid, Uuid, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);
        let open: Vec<Row> = sqlx::query_as(statements.open_sessions)
            .bind(&parties)
            .fetch_all(&mut *tx)
            .await?;
        if open.is_empty() {
            continue;
        }
        let mut sessions = Vec::with_capacity(open.len());
        let mut onlines = Vec::with_capacity(open.len());
        for (user_id, session_id, other_user, created_at, fix_at) in open {
            let Some(&(online, seen_at)) = of_role.get(&user_id) else {
                continue;
            };
            sessions.push(session_id);
            onlines.push(online);
            let opened = OpenSessionOf {
                session_id,
                other_user,
                created_at,
                fix_at,
            };
            dues.insert(
                (user_id, role.as_str()),
                opened.peer_due(role, online, seen_at),
            );
        }
        for online in [true, false] {
            let these: Vec<Uuid> = sessions
                .iter()
                .zip(&onlines)
                .filter(|(_, o)| **o == online)
                .map(|(session, _)| *session)
                .collect();
            if these.is_empty() {
                continue;
            }
            sqlx::query(statements.clear_stale_many)
                .bind(&these)
                .bind(online)
                .bind(stale_location.as_secs_f64())
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;

    Ok(batch
        .iter()
        .enumerate()
        .map(|(index, t)| {
            let key = (t.user_id, t.role.as_str());
            if last_of_key.get(&key) == Some(&index) {
                dues.remove(&key)
            } else {
                None
            }
        })
        .collect())
}
