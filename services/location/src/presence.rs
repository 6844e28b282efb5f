//! Presence (protocol 1.1): whether each party of an open session has a socket open on
//! any ws-edge, told to the other party as `peer_status`.
//!
//! Every ws-edge reports only its own transitions: its first socket of a (user, role)
//! opened, or its last one closed (`<p>.evt.edge.presence`, with a sequence number that
//! grows per edge), and beats every [`EDGE_BEAT_S`] seconds (`<p>.evt.edge.beat`). Nothing
//! is polled per user and nothing is written per frame. One instance of this service
//! (queue group) applies each event in a short transaction:
//! 1. the (user, role) row of `user_presence` is locked, so transitions of one user are
//!    decided one at a time whichever instances handle them;
//! 2. the edge's row in `presence_sockets` takes the event unless it already holds a later
//!    one (a late "online" never undoes the "offline" that followed it);
//! 3. online = any edge holds a socket. When that changed, `user_presence` records it
//!    (`seen_at`: the transition's time), the user's open session in that role (if any)
//!    clears the party's stale flag, and the other party gets `peer_status`.
//!
//! A dead edge stops beating: every instance's sweeper looks every [`EDGE_BEAT_S`] for
//! edges silent for `TETHER_PRESENCE_EDGE_TIMEOUT_S` and applies "offline" for each of
//! their sockets (with the largest sequence number, so nothing from that edge counts
//! after), then forgets the edge. So a dead edge's users go offline for their peers at
//! most `TETHER_PRESENCE_EDGE_TIMEOUT_S + EDGE_BEAT_S` seconds after its last beat.
//!
//! On connect (`<p>.evt.edge.connected`), the new socket alone gets one `peer_status`
//! describing the other party of the user's waiting or active session in that role.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tether_platform::Target;
use tether_proto::Role;
use tether_proto::envelope::ConnectedEvent;
use tether_proto::presence::{EDGE_BEAT_S, EdgeBeat, PartyPresence, PeerState, PresenceEvent};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Context;
use crate::fanout::{self, PeerDue};
use crate::positions::Positions;

/// The `user_presence.seen_at` of each party of `rows` that is online, keyed by (user, role).
pub async fn online_parties<'a>(
    conn: &mut PgConnection,
    rows: impl Iterator<Item = &'a Positions>,
) -> sqlx::Result<HashMap<(Uuid, Role), DateTime<Utc>>> {
    let mut users = Vec::new();
    let mut roles = Vec::new();
    for row in rows {
        for role in [Role::Seeker, Role::Provider] {
            users.push(row.party(role));
            roles.push(role.as_str());
        }
    }
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT u.user_id, u.role, u.seen_at
         FROM user_presence u
         JOIN unnest($1::uuid[], $2::text[]) AS k (user_id, role)
           ON u.user_id = k.user_id AND u.role = k.role
         WHERE u.online",
    )
    .bind(&users)
    .bind(&roles)
    .fetch_all(conn)
    .await?;
    Ok(found
        .into_iter()
        .filter_map(|(user, role, seen_at)| Some(((user, Role::parse(&role)?), seen_at)))
        .collect())
}

/// Handles one edge's transition; logs failures (the next transition or the sweep heals).
pub async fn handle_event(context: Arc<Context>, event: PresenceEvent) {
    let seq = i64::try_from(event.seq).unwrap_or(i64::MAX);
    match apply(
        &context,
        event.edge_id,
        seq,
        event.user_id,
        event.role,
        event.online,
    )
    .await
    {
        Ok(Some(due)) => fanout::send_peer(&context.outbox, &due, Target::All).await,
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "presence event not applied"),
    }
}

/// Records an edge's beat.
pub async fn handle_beat(context: Arc<Context>, beat: EdgeBeat) {
    let result = sqlx::query(
        "INSERT INTO presence_edges (edge_id, beat_at) VALUES ($1, now())
         ON CONFLICT (edge_id) DO UPDATE SET beat_at = now()",
    )
    .bind(beat.edge_id)
    .execute(&context.pool)
    .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "edge beat not recorded");
    }
}

/// Applies one edge's transition; returns the `peer_status` to send when the user's
/// presence changed and they have an open session in that role.
async fn apply(
    context: &Context,
    edge_id: Uuid,
    seq: i64,
    user_id: Uuid,
    role: Role,
    online: bool,
) -> sqlx::Result<Option<PeerDue>> {
    let mut tx = context.pool.begin().await?;
    sqlx::query(
        "INSERT INTO user_presence (user_id, role, online, seen_at) VALUES ($1, $2, false, now())
         ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(user_id)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    let (was_online,): (bool,) = sqlx::query_as(
        "SELECT online FROM user_presence WHERE user_id = $1 AND role = $2 FOR UPDATE",
    )
    .bind(user_id)
    .bind(role.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let (now_online,): (bool,) = sqlx::query_as(
        "WITH applied AS (
             INSERT INTO presence_sockets (user_id, role, edge_id, online, seq)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (user_id, role, edge_id) DO UPDATE
                 SET online = excluded.online, seq = excluded.seq, changed_at = now()
                 WHERE presence_sockets.seq < excluded.seq
             RETURNING online)
         SELECT coalesce((SELECT online FROM applied), false)
             OR EXISTS (SELECT 1 FROM presence_sockets
                        WHERE user_id = $1 AND role = $2 AND online AND edge_id <> $3)
             OR (NOT EXISTS (SELECT 1 FROM applied)
                 AND EXISTS (SELECT 1 FROM presence_sockets
                             WHERE user_id = $1 AND role = $2 AND online AND edge_id = $3))",
    )
    .bind(user_id)
    .bind(role.as_str())
    .bind(edge_id)
    .bind(online)
    .bind(seq)
    .fetch_one(&mut *tx)
    .await?;
    if was_online == now_online {
        tx.commit().await?;
        return Ok(None);
    }
    let due = transition(&mut tx, context, user_id, role, now_online).await?;
    tx.commit().await?;
    Ok(due)
}

/// Records that (user, role) went online or offline, clears the party's stale flag in
/// its open session, has the tick look at the session when the party could first go
/// stale, and builds the other party's `peer_status`.
async fn transition(
    tx: &mut PgConnection,
    context: &Context,
    user_id: Uuid,
    role: Role,
    online: bool,
) -> sqlx::Result<Option<PeerDue>> {
    let (seen_at,): (DateTime<Utc>,) = sqlx::query_as(
        "UPDATE user_presence SET online = $3, seen_at = now()
         WHERE user_id = $1 AND role = $2 RETURNING seen_at",
    )
    .bind(user_id)
    .bind(role.as_str())
    .bind(online)
    .fetch_one(&mut *tx)
    .await?;
    let (party_column, stale_column, seen_column) = columns(role);
    let other = role.other();
    let other_column = columns(other).0;
    let session: Option<OpenSession> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT w.id, w.{other_column}, w.created_at, p.{seen_column}
         FROM work_sessions w LEFT JOIN session_positions p ON p.session_id = w.id
         WHERE w.{party_column} = $1 AND w.connection_state IN ('waiting', 'active')"
    )))
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, other_user, created_at, fix_at)) = session else {
        return Ok(None);
    };
    let stale_after = context.stale_location.as_secs_f64();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE session_positions SET {stale_column} = false,
             tick_at = CASE WHEN $2 THEN least(tick_at, now() + make_interval(secs => $3))
                            ELSE tick_at END
         WHERE session_id = $1"
    )))
    .bind(session_id)
    .bind(online)
    .bind(stale_after)
    .execute(&mut *tx)
    .await?;
    let party = PartyPresence {
        online,
        transition_at: Some(seen_at),
        stale: false,
        fix_at,
    };
    Ok(Some(PeerDue {
        session_id,
        to_role: other,
        to_user: other_user,
        status: if online {
            PeerState::Online
        } else {
            PeerState::Offline
        },
        last_seen: party.last_seen(created_at),
    }))
}

/// An open session of a party: id, the other party, creation, the party's last fix.
type OpenSession = (Uuid, Uuid, DateTime<Utc>, Option<DateTime<Utc>>);

/// The `work_sessions` party column and the `session_positions` stale and seen columns of
/// `role` (fixed names, never user input).
fn columns(role: Role) -> (&'static str, &'static str, &'static str) {
    match role {
        Role::Seeker => ("seeker_id", "seeker_stale", "seeker_seen_at"),
        Role::Provider => ("provider_id", "provider_stale", "provider_seen_at"),
    }
}

/// A new socket gets one `peer_status` about the other party of the user's waiting or
/// active session in that role (nothing when there is none).
pub async fn handle_connected(context: Arc<Context>, event: ConnectedEvent) {
    match peer_of(&context, event.user_id, event.role).await {
        Ok(Some(due)) => {
            fanout::send_peer(&context.outbox, &due, Target::Only(event.conn_id)).await;
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "peer status on connect failed"),
    }
}

/// The other party of `user_id`'s open session in `role`, as it is now.
async fn peer_of(context: &Context, user_id: Uuid, role: Role) -> sqlx::Result<Option<PeerDue>> {
    let (party_column, _, _) = columns(role);
    let other = role.other();
    let (other_column, other_stale, other_seen) = columns(other);
    #[allow(clippy::type_complexity)]
    let row: Option<(
        Uuid,
        Uuid,
        DateTime<Utc>,
        Option<bool>,
        Option<DateTime<Utc>>,
        Option<bool>,
        Option<DateTime<Utc>>,
    )> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT w.id, w.{other_column}, w.created_at, u.online, u.seen_at,
                p.{other_stale}, p.{other_seen}
         FROM work_sessions w
         LEFT JOIN user_presence u ON u.user_id = w.{other_column} AND u.role = $2
         LEFT JOIN session_positions p ON p.session_id = w.id
         WHERE w.{party_column} = $1 AND w.connection_state IN ('waiting', 'active')"
    )))
    .bind(user_id)
    .bind(other.as_str())
    .fetch_optional(&context.pool)
    .await?;
    let Some((session_id, _other_user, created_at, online, transition_at, stale, fix_at)) = row
    else {
        return Ok(None);
    };
    let peer = PartyPresence {
        online: online.unwrap_or(false),
        transition_at,
        stale: stale.unwrap_or(false),
        fix_at,
    };
    Ok(peer.status(true).map(|status| PeerDue {
        session_id,
        to_role: role,
        to_user: user_id,
        status,
        last_seen: peer.last_seen(created_at),
    }))
}

/// Every [`EDGE_BEAT_S`]: edges silent for `edge_timeout` lose their sockets.
pub async fn run_sweeper(context: Arc<Context>, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(Duration::from_secs(EDGE_BEAT_S));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        if let Err(err) = sweep(&context).await {
            tracing::warn!(error = %err, "presence sweep failed");
        }
    }
}

/// One sweep: applies "offline" for every socket of each dead edge, then forgets the edge
/// and the offline rows of edges gone for an hour.
pub async fn sweep(context: &Context) -> sqlx::Result<()> {
    let timeout = context.edge_timeout.as_secs_f64();
    let dead: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT edge_id FROM presence_edges WHERE beat_at < now() - make_interval(secs => $1)",
    )
    .bind(timeout)
    .fetch_all(&context.pool)
    .await?;
    for (edge_id,) in dead {
        let sockets: Vec<(Uuid, String)> = sqlx::query_as(
            "SELECT user_id, role FROM presence_sockets WHERE edge_id = $1 AND online",
        )
        .bind(edge_id)
        .fetch_all(&context.pool)
        .await?;
        tracing::info!(
            sockets = sockets.len(),
            "an edge stopped beating: its sockets go offline"
        );
        for (user_id, role) in sockets {
            let Some(role) = Role::parse(&role) else {
                continue;
            };
            if let Some(due) = apply(context, edge_id, i64::MAX, user_id, role, false).await? {
                fanout::send_peer(&context.outbox, &due, Target::All).await;
            }
        }
        sqlx::query("DELETE FROM presence_edges WHERE edge_id = $1 AND beat_at < now() - make_interval(secs => $2)")
            .bind(edge_id)
            .bind(timeout)
            .execute(&context.pool)
            .await?;
        sqlx::query(
            "DELETE FROM presence_sockets s WHERE NOT online AND changed_at < now() - interval '1 hour'
               AND NOT EXISTS (SELECT 1 FROM presence_edges e WHERE e.edge_id = s.edge_id)",
        )
        .execute(&context.pool)
        .await?;
    }
    Ok(())
}
