//! Reading work sessions: the snapshot clients see, and why a guarded update missed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgExecutor;
use tether_proto::approach::ArrivalStage;
use tether_proto::cadence::CadenceBand;
use tether_proto::distance::{format_away, round_meters};
use tether_proto::errors::SESSION_NOT_OPEN;
use tether_proto::mediums::Mediums;
use tether_proto::model::SessionSnapshot;
use tether_proto::presence::PartyPresence;
use tether_proto::{ConnectionState, Role, WireError};
use uuid::Uuid;

use tether_platform::HandlerError;

/// The columns a snapshot is built from (one list for every query below).
macro_rules! snapshot_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, work_id, seeker_id, provider_id, connection_state, seeker_mediums,
                    provider_mediums,
                    -- The location service keeps the distance in session_positions; the
                    -- old column holds it for sessions from before and after cleanup.
                    coalesce((SELECT p.current_distance_meters FROM session_positions p
                              WHERE p.session_id = work_sessions.id),
                             work_sessions.current_distance_meters) AS current_distance_meters,
                    chat_started_at, created_at,
                    cancelled_at, cancelled_by, completed_at, completed_by, rating_stars,
                    rating_description, rated_at,
                    -- v1.1, kept by the location service: arrival stage and presence.
                    sp.arrival_stage,
                    coalesce(us.online, false) AS seeker_online, us.seen_at AS seeker_transition_at,
                    coalesce(sp.seeker_stale, false) AS seeker_stale, sp.seeker_seen_at AS seeker_fix_at,
                    coalesce(up.online, false) AS provider_online, up.seen_at AS provider_transition_at,
                    coalesce(sp.provider_stale, false) AS provider_stale, sp.provider_seen_at AS provider_fix_at,
                    -- v1.2, kept by the location service: the adaptive cadence band.
                    sp.cadence_band
             FROM work_sessions
             LEFT JOIN session_positions sp ON sp.session_id = work_sessions.id
             LEFT JOIN user_presence us ON us.user_id = work_sessions.seeker_id AND us.role = 'seeker'
             LEFT JOIN user_presence up ON up.user_id = work_sessions.provider_id AND up.role = 'provider' ",
            $rest
        )
    };
}

/// A work session row, as far as clients may see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// Session id.
    pub id: Uuid,
    /// Work order.
    pub work_id: i64,
    /// Seeker's user id.
    pub seeker_id: Uuid,
    /// Provider's user id.
    pub provider_id: Uuid,
    /// State name.
    pub connection_state: ConnectionState,
    /// Seeker's mediums, null until selected.
    pub seeker_mediums: Option<Value>,
    /// Provider's mediums, null until shared.
    pub provider_mediums: Option<Value>,
    /// Last computed distance.
    pub current_distance_meters: Option<f64>,
    /// When the chat started.
    pub chat_started_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Cancellation time.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// `seeker` / `provider`.
    pub cancelled_by: Option<Role>,
    /// Completion time.
    pub completed_at: Option<DateTime<Utc>>,
    /// `seeker` / `provider`.
    pub completed_by: Option<Role>,
    /// Stars, 1-5.
    pub rating_stars: Option<i16>,
    /// Rating text.
    pub rating_description: Option<String>,
    /// When rated.
    pub rated_at: Option<DateTime<Utc>>,
    /// The closest arrival stage announced.
    pub arrival_stage: Option<ArrivalStage>,
    /// The seeker has a socket open on a live edge.
    pub seeker_online: bool,
    /// When that last changed.
    pub seeker_transition_at: Option<DateTime<Utc>>,
    /// "stale" was reported for the seeker.
    pub seeker_stale: bool,
    /// The seeker's last fix.
    pub seeker_fix_at: Option<DateTime<Utc>>,
    /// See `seeker_online`.
    pub provider_online: bool,
    /// See `seeker_transition_at`.
    pub provider_transition_at: Option<DateTime<Utc>>,
    /// See `seeker_stale`.
    pub provider_stale: bool,
    /// See `seeker_fix_at`.
    pub provider_fix_at: Option<DateTime<Utc>>,
    /// v1.2: the cadence band (null until the location service records one: `near`).
    pub cadence_band: Option<CadenceBand>,
}

/// The snapshot of session $1 if user $2 is one of its parties.
pub const SESSION_FOR_PARTY: &str =
    snapshot_select!("WHERE id = $1 AND (seeker_id = $2 OR provider_id = $2)");

/// The snapshot of seeker $1's waiting or active session.
pub const OPEN_SESSION_OF_SEEKER: &str =
    snapshot_select!("WHERE seeker_id = $1 AND connection_state IN ('waiting', 'active')");

/// The snapshot of provider $1's waiting or active session.
pub const OPEN_SESSION_OF_PROVIDER: &str =
    snapshot_select!("WHERE provider_id = $1 AND connection_state IN ('waiting', 'active')");

/// The state of session $1 if user $2 is its party in role $3.
pub const EXPLAIN_MISS: &str = "SELECT connection_state FROM work_sessions
         WHERE id = $1 AND CASE $3 WHEN 'seeker' THEN seeker_id ELSE provider_id END = $2";

/// The session `session_id` if `user_id` is one of its parties, with the caller's role.
pub async fn for_party<'e>(
    db: impl PgExecutor<'e>,
    session_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(SessionRow, Role)>, sqlx::Error> {
    let row: Option<SessionRow> = sqlx::query_as(SESSION_FOR_PARTY)
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|row| {
        // Seeker and provider always differ (CHECK), so the match is unambiguous.
        let role = if row.seeker_id == user_id {
            Role::Seeker
        } else {
            Role::Provider
        };
        (row, role)
    }))
}

/// `user_id`'s waiting or active session in `role`, if any (at most one: unique index).
pub async fn open_for<'e>(
    db: impl PgExecutor<'e>,
    user_id: Uuid,
    role: Role,
) -> Result<Option<SessionRow>, sqlx::Error> {
    // Two statements rather than a role parameter, so each uses its partial unique index.
    let sql = match role {
        Role::Seeker => OPEN_SESSION_OF_SEEKER,
        Role::Provider => OPEN_SESSION_OF_PROVIDER,
    };
    sqlx::query_as(sql).bind(user_id).fetch_optional(db).await
}

/// Why a guarded update of a session found no row: not the caller's in `role` (or
/// unknown) -> `not_found`; otherwise its state did not allow it -> `conflict`.
pub async fn explain_miss<'e>(
    db: impl PgExecutor<'e>,
    session_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<WireError, sqlx::Error> {
    let state: Option<String> = sqlx::query_scalar(EXPLAIN_MISS)
        .bind(session_id)
        .bind(user_id)
        .bind(role.as_str())
        .fetch_optional(db)
        .await?;
    Ok(match state {
        None => WireError::session_not_found(),
        Some(_) => WireError::conflict(SESSION_NOT_OPEN),
    })
}

fn parse_mediums(value: Option<Value>) -> Result<Option<Mediums>, HandlerError> {
    value
        .map(serde_json::from_value::<Mediums>)
        .transpose()
        .map_err(|err| HandlerError::Unexpected(err.into()))
}

impl SessionRow {
    /// The snapshot `role`'s party may see. The other party's mediums appear once they
    /// exist (a column is null until selected/shared); only the seeker sees the rating.
    pub fn snapshot(self, role: Role) -> Result<SessionSnapshot, HandlerError> {
        let connection_state = self.connection_state;
        let rating = (role == Role::Seeker).then(|| {
            (
                self.rating_stars.map(i64::from),
                self.rating_description.clone(),
                self.rated_at.map(Into::into),
            )
        });
        let peer = match role.other() {
            Role::Seeker => PartyPresence {
                online: self.seeker_online,
                transition_at: self.seeker_transition_at,
                stale: self.seeker_stale,
                fix_at: self.seeker_fix_at,
            },
            Role::Provider => PartyPresence {
                online: self.provider_online,
                transition_at: self.provider_transition_at,
                stale: self.provider_stale,
                fix_at: self.provider_fix_at,
            },
        };
        let open = matches!(
            connection_state,
            ConnectionState::Waiting | ConnectionState::Active
        );
        let (rating_stars, rating_description, rated_at) = match rating {
            Some((stars, description, at)) => (Some(stars), Some(description), Some(at)),
            None => (None, None, None),
        };
        Ok(SessionSnapshot {
            session_id: self.id,
            work_id: self.work_id,
            role,
            connection_state,
            seeker_mediums: parse_mediums(self.seeker_mediums)?,
            provider_mediums: parse_mediums(self.provider_mediums)?,
            current_distance_meters: self.current_distance_meters.map(round_meters),
            distance_formatted: self.current_distance_meters.map(format_away),
            chat_room_id: self.id,
            chat_started_at: self.chat_started_at.map(Into::into),
            created_at: self.created_at.into(),
            cancelled_at: self.cancelled_at.map(Into::into),
            cancelled_by: self.cancelled_by,
            completed_at: self.completed_at.map(Into::into),
            completed_by: self.completed_by,
            rating_stars,
            rating_description,
            rated_at,
            arrival_stage: self.arrival_stage,
            peer_status: peer.status(open),
            peer_last_seen: peer.last_seen(self.created_at).map(Into::into),
            location_cadence: (connection_state == ConnectionState::Active)
                .then(|| self.cadence_band.unwrap_or(CadenceBand::INITIAL).cadence()),
        })
    }
}
