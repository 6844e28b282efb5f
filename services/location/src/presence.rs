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
//! On connect (`<p>.evt.edge.connected`), the edge's "online" transition that the event
//! names is applied first (see [`PresenceMark`](tether_proto::presence::PresenceMark)),
//! then the new socket alone gets one `peer_status`
//! describing the other party of the user's waiting or active session in that role, then
//! (v1.2), when the session is active, its `location_cadence` (read by the same statement).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tether_platform::Target;
use tether_proto::ConnectionState;
use tether_proto::cadence::CadenceBand;
use tether_proto::envelope::ConnectedEvent;
use tether_proto::presence::{EDGE_BEAT_S, EdgeBeat, PartyPresence, PeerState, PresenceEvent};
use tether_proto::{Role, ServerMessage};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::Context;
use crate::fanout::{self, PeerDue};
use crate::positions::Positions;
use crate::presence_batch::Transition;

/// Which of the (user $1, role $2) pairs are online, and since when.
pub const ONLINE_PARTIES: &str = "SELECT u.user_id, u.role, u.seen_at
         FROM user_presence u
         JOIN unnest($1::uuid[], $2::text[]) AS k (user_id, role)
           ON u.user_id = k.user_id AND u.role = k.role
         WHERE u.online";

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
    let found: Vec<(Uuid, Role, DateTime<Utc>)> = sqlx::query_as(ONLINE_PARTIES)
        .bind(&users)
        .bind(&roles)
        .fetch_all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|(user, role, seen_at)| ((user, role), seen_at))
        .collect())
}

/// Handles one edge's transition; logs failures (the next transition or the sweep heals).
pub async fn handle_event(context: Arc<Context>, event: PresenceEvent) {
    let transition = Transition {
        edge_id: event.edge_id,
        seq: i64::try_from(event.seq).unwrap_or(i64::MAX),
        user_id: event.user_id,
        role: event.role,
        online: event.online,
    };
    apply_and_tell(&context, transition).await;
}

/// Applies `transition` (in a batch with whatever else is queued) and tells the other
/// party when the user's presence changed.
async fn apply_and_tell(context: &Context, transition: Transition) {
    match context.presence.submit(transition).await {
        Ok(Some(due)) => fanout::send_peer(&context.outbox, &due, Target::All).await,
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "presence event not applied"),
    }
}

/// Edge $1 beat (and is not gone).
pub const RECORD_BEAT: &str = "INSERT INTO presence_edges (edge_id, beat_at) VALUES ($1, now())
         ON CONFLICT (edge_id) DO UPDATE SET beat_at = now(), gone_at = NULL";

/// Records an edge's beat.
pub async fn handle_beat(context: Arc<Context>, beat: EdgeBeat) {
    let result = sqlx::query(RECORD_BEAT)
        .bind(beat.edge_id)
        .execute(&context.pool)
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "edge beat not recorded");
    }
}

/// A party's open session, as the presence statements read it.
pub(crate) struct OpenSessionOf {
    pub session_id: Uuid,
    /// The other party.
    pub other_user: Uuid,
    pub created_at: DateTime<Utc>,
    /// The party's last fix.
    pub fix_at: Option<DateTime<Utc>>,
}

impl OpenSessionOf {
    /// The other party's `peer_status` once the party (in `role`) went online or offline
    /// at `seen_at`.
    pub(crate) fn peer_due(&self, role: Role, online: bool, seen_at: DateTime<Utc>) -> PeerDue {
        let party = PartyPresence {
            online,
            transition_at: Some(seen_at),
            stale: false,
            fix_at: self.fix_at,
        };
        PeerDue {
            session_id: self.session_id,
            to_role: role.other(),
            to_user: self.other_user,
            status: if online {
                PeerState::Online
            } else {
                PeerState::Offline
            },
            last_seen: party.last_seen(self.created_at),
        }
    }
}

/// The statements that name a party's columns, one text per role.
#[derive(Debug, Clone, Copy)]
pub struct RoleStatements {
    /// The other party of the party's ($1) open session, with its presence (role $2),
    /// and (v1.2) the session's state and cadence band.
    pub peer: &'static str,
    /// The open session of each party ($1): the party, the session's id, the other
    /// party, its creation and the party's last fix.
    pub open_sessions: &'static str,
    /// Clears the party's stale flag in sessions $1, whose party came online or went
    /// offline alike ($2); when online, the tick looks at each session within $3 seconds.
    /// (`= ANY`, not a join with an array of flags: the generic plan of such a join walks
    /// the whole table.)
    pub clear_stale_many: &'static str,
}

/// [`RoleStatements`] of the role whose `work_sessions` party column is `$party` and whose
/// `session_positions` stale and seen columns are `$stale` and `$seen`; `$other_*` the
/// other role's.
macro_rules! role_statements {
    ($party:literal, $stale:literal, $seen:literal,
     $other:literal, $other_stale:literal, $other_seen:literal) => {
        RoleStatements {
            peer: concat!(
                "SELECT w.id, w.",
                $other,
                ", w.created_at, u.online, u.seen_at,
                p.",
                $other_stale,
                ", p.",
                $other_seen,
                ", w.connection_state, p.cadence_band
         FROM work_sessions w
         LEFT JOIN user_presence u ON u.user_id = w.",
                $other,
                " AND u.role = $2
         LEFT JOIN session_positions p ON p.session_id = w.id
         WHERE w.",
                $party,
                " = $1 AND w.connection_state IN ('waiting', 'active')"
            ),
            open_sessions: concat!(
                "SELECT k.user_id, w.id, w.",
                $other,
                ", w.created_at, p.",
                $seen,
                "
         FROM unnest($1::uuid[]) AS k (user_id)
         JOIN work_sessions w ON w.",
                $party,
                " = k.user_id AND w.connection_state IN ('waiting', 'active')
         LEFT JOIN session_positions p ON p.session_id = w.id"
            ),
            clear_stale_many: concat!(
                "UPDATE session_positions SET ",
                $stale,
                " = false,
             tick_at = CASE WHEN $2 THEN least(tick_at, now() + make_interval(secs => $3))
                            ELSE tick_at END
         WHERE session_id = ANY($1::uuid[])"
            ),
        }
    };
}

/// The seeker's statements.
pub const SEEKER_STATEMENTS: RoleStatements = role_statements!(
    "seeker_id",
    "seeker_stale",
    "seeker_seen_at",
    "provider_id",
    "provider_stale",
    "provider_seen_at"
);

/// The provider's statements.
pub const PROVIDER_STATEMENTS: RoleStatements = role_statements!(
    "provider_id",
    "provider_stale",
    "provider_seen_at",
    "seeker_id",
    "seeker_stale",
    "seeker_seen_at"
);

impl RoleStatements {
    /// `role`'s statements.
    pub fn of(role: Role) -> &'static Self {
        match role {
            Role::Seeker => &SEEKER_STATEMENTS,
            Role::Provider => &PROVIDER_STATEMENTS,
        }
    }
}

/// A new socket gets one `peer_status` about the other party of the user's waiting or
/// active session in that role (nothing when there is none), then (v1.2), when that
/// session is active, its current `location_cadence`.
pub async fn handle_connected(context: Arc<Context>, event: ConnectedEvent) {
    // The edge's "online" for this user is applied first (its presence event may still be
    // on its way, or be handled after another edge's "offline" of the same user): once
    // this socket has heard from the server, it counts as open, so a close of the user's
    // other device elsewhere cannot report the user offline meanwhile. Applying it again
    // when the event arrives changes nothing (the sequence number is not newer).
    if let Some(mark) = event.presence {
        let transition = Transition {
            edge_id: mark.edge_id,
            seq: i64::try_from(mark.seq).unwrap_or(i64::MAX),
            user_id: event.user_id,
            role: event.role,
            online: true,
        };
        apply_and_tell(&context, transition).await;
    }
    match peer_of(&context, event.user_id, event.role).await {
        Ok(Some((due, cadence))) => {
            let target = Target::Only(event.conn_id);
            fanout::send_peer(&context.outbox, &due, target).await;
            if let Some(band) = cadence {
                let message = ServerMessage::location_cadence(due.session_id, band);
                context
                    .outbox
                    .send(event.role, event.user_id, target, message)
                    .await;
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "peer status on connect failed"),
    }
}

/// The other party of `user_id`'s open session in `role`, as it is now, and the
/// session's cadence band when it is active (one statement).
async fn peer_of(
    context: &Context,
    user_id: Uuid,
    role: Role,
) -> sqlx::Result<Option<(PeerDue, Option<CadenceBand>)>> {
    let other = role.other();
    #[allow(clippy::type_complexity)]
    let row: Option<(
        Uuid,
        Uuid,
        DateTime<Utc>,
        Option<bool>,
        Option<DateTime<Utc>>,
        Option<bool>,
        Option<DateTime<Utc>>,
        ConnectionState,
        Option<CadenceBand>,
    )> = sqlx::query_as(RoleStatements::of(role).peer)
        .bind(user_id)
        .bind(other.as_str())
        .fetch_optional(&context.pool)
        .await?;
    let Some((
        session_id,
        _other_user,
        created_at,
        online,
        transition_at,
        stale,
        fix_at,
        state,
        band,
    )) = row
    else {
        return Ok(None);
    };
    let cadence = (state == ConnectionState::Active).then(|| band.unwrap_or(CadenceBand::INITIAL));
    let peer = PartyPresence {
        online: online.unwrap_or(false),
        transition_at,
        stale: stale.unwrap_or(false),
        fix_at,
    };
    Ok(peer.status(true).map(|status| {
        let due = PeerDue {
            session_id,
            to_role: role,
            to_user: user_id,
            status,
            last_seen: peer.last_seen(created_at),
        };
        (due, cadence)
    }))
}

/// Edges silent for $1 seconds and not yet marked gone.
pub const DEAD_EDGES: &str = "SELECT edge_id FROM presence_edges
         WHERE beat_at < now() - make_interval(secs => $1) AND gone_at IS NULL";

/// Edge $1's sockets that are online.
pub const EDGE_SOCKETS: &str =
    "SELECT user_id, role FROM presence_sockets WHERE edge_id = $1 AND online";

/// Marks edge $1 gone unless it beat in the last $2 seconds.
pub const MARK_EDGE_GONE: &str = "UPDATE presence_edges SET gone_at = now()
             WHERE edge_id = $1 AND beat_at < now() - make_interval(secs => $2)";

/// Edges gone for an hour.
pub const FORGOTTEN_EDGES: &str =
    "SELECT edge_id FROM presence_edges WHERE gone_at < now() - interval '1 hour'";

/// Forgets gone edge $1's offline rows.
pub const FORGET_EDGE_SOCKETS: &str =
    "DELETE FROM presence_sockets WHERE edge_id = $1 AND NOT online";

/// Forgets gone edge $1.
pub const FORGET_EDGE: &str =
    "DELETE FROM presence_edges WHERE edge_id = $1 AND gone_at IS NOT NULL";

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

/// One sweep: applies "offline" for every socket of each dead edge and marks the edge
/// gone; an hour later (a late event of the edge can no longer arrive) forgets the edge
/// and its rows. Every statement is keyed by one edge id: its cost follows that edge's
/// sockets, never the size of `presence_sockets`.
pub async fn sweep(context: &Context) -> sqlx::Result<()> {
    let timeout = context.edge_timeout.as_secs_f64();
    let dead: Vec<(Uuid,)> = sqlx::query_as(DEAD_EDGES)
        .bind(timeout)
        .fetch_all(&context.pool)
        .await?;
    for (edge_id,) in dead {
        let sockets: Vec<(Uuid, Role)> = sqlx::query_as(EDGE_SOCKETS)
            .bind(edge_id)
            .fetch_all(&context.pool)
            .await?;
        tracing::info!(
            sockets = sockets.len(),
            "an edge stopped beating: its sockets go offline"
        );
        // All at once: the writer applies them in batches.
        let offline = sockets.iter().map(|&(user_id, role)| {
            apply_and_tell(
                context,
                Transition {
                    edge_id,
                    seq: i64::MAX,
                    user_id,
                    role,
                    online: false,
                },
            )
        });
        futures::future::join_all(offline).await;
        sqlx::query(MARK_EDGE_GONE)
            .bind(edge_id)
            .bind(timeout)
            .execute(&context.pool)
            .await?;
    }
    let forgotten: Vec<(Uuid,)> = sqlx::query_as(FORGOTTEN_EDGES)
        .fetch_all(&context.pool)
        .await?;
    for (edge_id,) in forgotten {
        let mut tx = context.pool.begin().await?;
        sqlx::query(FORGET_EDGE_SOCKETS)
            .bind(edge_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(FORGET_EDGE)
            .bind(edge_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
