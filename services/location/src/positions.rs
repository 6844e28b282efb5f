//! A session's positions (table `session_positions`): locking them, deciding on them in
//! Rust, and writing them back.
//!
//! Every writer (a batch of `location_update`s, the tick, activation) works the same way,
//! inside one transaction: lock the rows (`FOR UPDATE OF p`, in `session_id` order so two
//! writers never deadlock; the tick uses `SKIP LOCKED`), apply the contract's rules in
//! Rust with `tether_proto::distance` (so messages, rows and the shared maths agree
//! exactly), write the final state of every changed row with one `UPDATE ... FROM
//! unnest(...)`, commit, then publish. A move writes no indexed column (`tick_at` is
//! written by the tick and activation only), so it is a HOT update.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use tether_proto::ConnectionState;
use tether_proto::Role;
use tether_proto::approach::{ArrivalStage, RecentDistances, TrendWindows};
use tether_proto::cadence::CadenceBand;
use tether_proto::distance::{Point, haversine_m, round_meters};
use tether_proto::limits::{
    DISTANCE_MOVE_THRESHOLD_M, IMPLAUSIBLE_CONFIRM_M, PLAUSIBLE_MIN_SPAN_S,
};
use tether_proto::presence::PeerState;
use uuid::Uuid;

use crate::fanout::{DistanceDue, PeerDue};

/// The columns every locking read returns (`p`: session_positions, `w`: work_sessions).
macro_rules! positions_select {
    ($rest:literal) => {
        concat!(
            "SELECT p.session_id, w.seeker_id, w.provider_id, w.connection_state,
                    p.seeker_latitude, p.seeker_longitude,
                    p.provider_latitude, p.provider_longitude,
                    p.seeker_anchor_latitude, p.seeker_anchor_longitude,
                    p.provider_anchor_latitude, p.provider_anchor_longitude,
                    p.current_distance_meters,
                    p.seeker_location_at, p.provider_location_at,
                    p.seeker_seen_at, p.provider_seen_at,
                    p.seeker_stale, p.provider_stale, p.activated_at, p.arrival_stage,
                    p.recent_distances, p.recent_distance_at, p.cadence_band,
                    p.seeker_implausible_latitude, p.seeker_implausible_longitude,
                    p.provider_implausible_latitude, p.provider_implausible_longitude,
                    w.created_at AS session_created_at,
                    p.last_distance_update IS NOT NULL AS distance_sent,
                    p.last_distance_update,
                    now() AS db_now
             FROM session_positions p
             JOIN work_sessions w ON w.id = p.session_id ",
            $rest
        )
    };
}

/// One locked row of `session_positions` with its session's parties and state, and what
/// the current transaction changed on it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Positions {
    /// The session.
    pub session_id: Uuid,
    /// The seeker's user id.
    pub seeker_id: Uuid,
    /// The provider's user id.
    pub provider_id: Uuid,
    /// `waiting`, `active`, `cancelled` or `completed` (read, never written here).
    pub connection_state: ConnectionState,
    /// Seeker's last precise position.
    pub seeker_latitude: Option<f64>,
    /// See `seeker_latitude`.
    pub seeker_longitude: Option<f64>,
    /// Provider's last precise position.
    pub provider_latitude: Option<f64>,
    /// See `provider_latitude`.
    pub provider_longitude: Option<f64>,
    /// The seeker's position at the last distance update (the 50 m rule's anchor).
    pub seeker_anchor_latitude: Option<f64>,
    /// See `seeker_anchor_latitude`.
    pub seeker_anchor_longitude: Option<f64>,
    /// The provider's anchor.
    pub provider_anchor_latitude: Option<f64>,
    /// See `provider_anchor_latitude`.
    pub provider_anchor_longitude: Option<f64>,
    /// The last distance sent, rounded to 0.1 m.
    pub current_distance_meters: Option<f64>,
    /// The seeker's last precise fix.
    pub seeker_location_at: Option<DateTime<Utc>>,
    /// The provider's last precise fix.
    pub provider_location_at: Option<DateTime<Utc>>,
    /// The seeker's last fix, precise or coarse.
    pub seeker_seen_at: Option<DateTime<Utc>>,
    /// The provider's last fix, precise or coarse.
    pub provider_seen_at: Option<DateTime<Utc>>,
    /// "stale" was reported for the seeker and no precise fix came since.
    pub seeker_stale: bool,
    /// See `seeker_stale`.
    pub provider_stale: bool,
    /// When the session became active (the stale clock starts there).
    pub activated_at: Option<DateTime<Utc>>,
    /// The closest arrival stage announced.
    pub arrival_stage: Option<ArrivalStage>,
    /// Distances computed in the trend's window (120 s), oldest first.
    pub recent_distances: Vec<f64>,
    /// Their times (epoch seconds).
    pub recent_distance_at: Vec<f64>,
    /// v1.2: the adaptive cadence band (null: none yet, read as `near`).
    pub cadence_band: Option<CadenceBand>,
    /// v1.2: the seeker's previous precise fix, when it was implausible.
    pub seeker_implausible_latitude: Option<f64>,
    /// See `seeker_implausible_latitude`.
    pub seeker_implausible_longitude: Option<f64>,
    /// The provider's previous precise fix, when it was implausible.
    pub provider_implausible_latitude: Option<f64>,
    /// See `provider_implausible_latitude`.
    pub provider_implausible_longitude: Option<f64>,
    /// When the session was created (for `last_seen`).
    pub session_created_at: DateTime<Utc>,
    /// Whether any distance was sent since activation (`last_distance_update` is set).
    pub distance_sent: bool,
    /// When the last distance was sent.
    pub last_distance_update: Option<DateTime<Utc>>,
    /// PostgreSQL's `now()` for this transaction (the tick's clock).
    pub db_now: DateTime<Utc>,
    /// The trend's windows (the service's settings; the contract's unless the reader set
    /// them).
    #[sqlx(skip)]
    pub trend: TrendWindows,
    /// The seeker's position changed in this transaction.
    #[sqlx(skip)]
    pub seeker_moved: bool,
    /// The provider's position changed in this transaction.
    #[sqlx(skip)]
    pub provider_moved: bool,
    /// The seeker sent a fix (precise or coarse) in this transaction.
    #[sqlx(skip)]
    pub seeker_seen: bool,
    /// The provider sent a fix in this transaction.
    #[sqlx(skip)]
    pub provider_seen: bool,
    /// A presence flag, the arrival stage or the activation time changed.
    #[sqlx(skip)]
    pub flags_changed: bool,
    /// A distance was recorded in this transaction.
    #[sqlx(skip)]
    pub sent_now: bool,
}

fn point(latitude: Option<f64>, longitude: Option<f64>) -> Option<Point> {
    Some(Point::new(latitude?, longitude?))
}

impl Positions {
    /// The user id of `role` in this session.
    pub fn party(&self, role: Role) -> Uuid {
        match role {
            Role::Seeker => self.seeker_id,
            Role::Provider => self.provider_id,
        }
    }

    /// `waiting` or `active`: positions may be stored.
    pub fn is_open(&self) -> bool {
        self.connection_state.is_open()
    }

    /// Distances flow only while `active`.
    pub fn is_active(&self) -> bool {
        self.connection_state == ConnectionState::Active
    }

    /// The seeker's position, if known.
    pub fn seeker(&self) -> Option<Point> {
        point(self.seeker_latitude, self.seeker_longitude)
    }

    /// The provider's position, if known.
    pub fn provider(&self) -> Option<Point> {
        point(self.provider_latitude, self.provider_longitude)
    }

    fn anchor(&self, role: Role) -> Option<Point> {
        match role {
            Role::Seeker => point(self.seeker_anchor_latitude, self.seeker_anchor_longitude),
            Role::Provider => point(
                self.provider_anchor_latitude,
                self.provider_anchor_longitude,
            ),
        }
    }

    /// Whether anything must be written back.
    pub fn changed(&self) -> bool {
        self.seeker_moved
            || self.provider_moved
            || self.seeker_seen
            || self.provider_seen
            || self.sent_now
            || self.flags_changed
    }

    /// Whether "stale" was reported for `role`'s party (and no precise fix came since).
    pub fn stale(&self, role: Role) -> bool {
        match role {
            Role::Seeker => self.seeker_stale,
            Role::Provider => self.provider_stale,
        }
    }

    /// Sets or clears `role`'s stale flag.
    pub fn set_stale(&mut self, role: Role, stale: bool) {
        let flag = match role {
            Role::Seeker => &mut self.seeker_stale,
            Role::Provider => &mut self.provider_stale,
        };
        if *flag != stale {
            *flag = stale;
            self.flags_changed = true;
        }
    }

    /// `role`'s last precise fix.
    pub fn location_at(&self, role: Role) -> Option<DateTime<Utc>> {
        match role {
            Role::Seeker => self.seeker_location_at,
            Role::Provider => self.provider_location_at,
        }
    }

    /// A `peer_status` telling the other party what `role`'s party is now.
    pub fn peer_due(
        &self,
        role: Role,
        status: PeerState,
        last_seen: Option<DateTime<Utc>>,
    ) -> PeerDue {
        let to_role = role.other();
        PeerDue {
            session_id: self.session_id,
            to_role,
            to_user: self.party(to_role),
            status,
            last_seen,
        }
    }

    /// `role`'s last fix, precise or coarse.
    pub fn seen_at(&self, role: Role) -> Option<DateTime<Utc>> {
        match role {
            Role::Seeker => self.seeker_seen_at,
            Role::Provider => self.provider_seen_at,
        }
    }

    /// A coarse fix of `role` (v1.1): only the party's last-seen time changes.
    pub fn apply_coarse(&mut self, role: Role) {
        match role {
            Role::Seeker => {
                self.seeker_seen = true;
                self.seeker_seen_at = Some(self.db_now);
            }
            Role::Provider => {
                self.provider_seen = true;
                self.provider_seen_at = Some(self.db_now);
            }
        }
    }

    /// The closest arrival stage announced so far.
    pub fn announced_stage(&self) -> Option<ArrivalStage> {
        self.arrival_stage
    }

    /// v1.2: the session's cadence band, if one was recorded (none yet reads as `near`).
    pub fn cadence(&self) -> Option<CadenceBand> {
        self.cadence_band
    }

    /// v1.2: records `band` as the session's cadence band.
    pub fn set_cadence(&mut self, band: CadenceBand) {
        if self.cadence() != Some(band) {
            self.cadence_band = Some(band);
            self.flags_changed = true;
        }
    }

    /// `role`'s stored position, if known.
    fn position(&self, role: Role) -> Option<Point> {
        match role {
            Role::Seeker => self.seeker(),
            Role::Provider => self.provider(),
        }
    }

    /// `role`'s previous precise fix, when it was implausible.
    fn implausible(&self, role: Role) -> Option<Point> {
        match role {
            Role::Seeker => point(
                self.seeker_implausible_latitude,
                self.seeker_implausible_longitude,
            ),
            Role::Provider => point(
                self.provider_implausible_latitude,
                self.provider_implausible_longitude,
            ),
        }
    }

    fn set_implausible(&mut self, role: Role, fix: Option<Point>) {
        if self.implausible(role) == fix {
            return;
        }
        let (latitude, longitude) = (fix.map(|p| p.latitude), fix.map(|p| p.longitude));
        match role {
            Role::Seeker => {
                self.seeker_implausible_latitude = latitude;
                self.seeker_implausible_longitude = longitude;
            }
            Role::Provider => {
                self.provider_implausible_latitude = latitude;
                self.provider_implausible_longitude = longitude;
            }
        }
        self.flags_changed = true;
    }

    /// v1.2: whether a precise fix of `role` at `to` is plausible: reaching it from the
    /// party's stored location takes at most `max_speed_mps` (distance over the time since
    /// the stored fix was received, at least one second; 0 turns the check off). A party's
    /// first fix is always plausible, and so is a fix within 100 m of the party's previous
    /// precise fix when that one was implausible (two fixes that agree are a real move).
    pub fn plausible(&self, role: Role, to: Point, max_speed_mps: f64) -> bool {
        if max_speed_mps <= 0.0 {
            return true;
        }
        let (Some(from), Some(at)) = (self.position(role), self.location_at(role)) else {
            return true;
        };
        if self
            .implausible(role)
            .is_some_and(|previous| haversine_m(previous, to) <= IMPLAUSIBLE_CONFIRM_M)
        {
            return true;
        }
        let span = (self.db_now - at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6;
        haversine_m(from, to) / span.max(PLAUSIBLE_MIN_SPAN_S) <= max_speed_mps
    }

    /// v1.2: an implausible precise fix of `role`: handled like a coarse fix (only the
    /// last-seen time changes), and remembered so that a next fix agreeing with it counts.
    pub fn apply_implausible(&mut self, role: Role, fix: Point) {
        self.apply_coarse(role);
        self.set_implausible(role, Some(fix));
    }

    /// Applies one precise fix of `role` (an authorised party of an open session), as the
    /// contract says: stored always; while active, with the other party's position known,
    /// a distance is due when none was sent yet or the sender is at least 50 m from their
    /// anchor. Returns the distance to send, already recorded (anchors reset).
    /// A precise fix also clears the party's stale flag (the caller reports "online").
    pub fn apply_move(&mut self, role: Role, to: Point) -> Option<DistanceDue> {
        match role {
            Role::Seeker => {
                self.seeker_latitude = Some(to.latitude);
                self.seeker_longitude = Some(to.longitude);
                self.seeker_moved = true;
                self.seeker_seen = true;
                self.seeker_location_at = Some(self.db_now);
                self.seeker_seen_at = Some(self.db_now);
            }
            Role::Provider => {
                self.provider_latitude = Some(to.latitude);
                self.provider_longitude = Some(to.longitude);
                self.provider_moved = true;
                self.provider_seen = true;
                self.provider_location_at = Some(self.db_now);
                self.provider_seen_at = Some(self.db_now);
            }
        }
        self.set_stale(role, false);
        self.set_implausible(role, None);
        if !self.is_active() || self.seeker().is_none() || self.provider().is_none() {
            return None;
        }
        let due = !self.distance_sent
            || self
                .anchor(role)
                .is_none_or(|anchor| haversine_m(anchor, to) >= DISTANCE_MOVE_THRESHOLD_M);
        if due { self.record_distance() } else { None }
    }

    /// Records the current distance (both positions must be known): the distance, the
    /// time, and both anchors reset to the current positions, because that is the distance
    /// the clients last saw. v1.1: the distance joins the window's distances, which
    /// give its trend and ETA, and it may reach a closer arrival stage (recorded here, so
    /// each stage is announced once per session whichever writer computes it). v1.2: the
    /// true (unrounded) distance moves the cadence band; a change is sent after it.
    pub fn record_distance(&mut self) -> Option<DistanceDue> {
        let (seeker, provider) = (self.seeker()?, self.provider()?);
        let true_distance = haversine_m(seeker, provider);
        let distance = round_meters(true_distance);
        let mut recent = RecentDistances {
            at: std::mem::take(&mut self.recent_distance_at),
            meters: std::mem::take(&mut self.recent_distances),
        };
        let now = self.db_now.timestamp_micros() as f64 / 1e6;
        let (trend, eta_seconds) = recent.record(self.trend, now, distance);
        self.recent_distance_at = recent.at;
        self.recent_distances = recent.meters;
        let arrival = ArrivalStage::to_announce(distance, self.announced_stage());
        if let Some(stage) = arrival {
            self.arrival_stage = Some(stage);
        }
        let before = self.cadence().unwrap_or(CadenceBand::INITIAL);
        let band = CadenceBand::next(
            self.cadence(),
            true_distance,
            self.announced_stage() == Some(ArrivalStage::Arrived),
        );
        self.set_cadence(band);
        self.current_distance_meters = Some(distance);
        self.seeker_anchor_latitude = Some(seeker.latitude);
        self.seeker_anchor_longitude = Some(seeker.longitude);
        self.provider_anchor_latitude = Some(provider.latitude);
        self.provider_anchor_longitude = Some(provider.longitude);
        self.distance_sent = true;
        self.sent_now = true;
        Some(DistanceDue {
            session_id: self.session_id,
            seeker_id: self.seeker_id,
            provider_id: self.provider_id,
            distance_meters: distance,
            trend,
            eta_seconds,
            arrival,
            cadence: (band != before).then_some(band),
        })
    }
}

/// The statement of [`lock`]: the positions rows of sessions $1, locked in id order.
pub const LOCK_POSITIONS: &str =
    positions_select!("WHERE p.session_id = ANY($1) ORDER BY p.session_id FOR UPDATE OF p");

/// The tick's claim: up to $1 rows whose `tick_at` has come, skipping locked ones.
pub const CLAIM_DUE: &str = positions_select!(
    "WHERE p.tick_at <= now() ORDER BY p.tick_at LIMIT $1 FOR UPDATE OF p SKIP LOCKED"
);

/// Activation's read of session $1's positions row, locked.
pub const LOCK_ONE: &str = positions_select!("WHERE p.session_id = $1 FOR UPDATE OF p");

/// Locks and reads the positions rows of `sessions` (sorted ascending by the caller's
/// `ORDER BY`, so concurrent batches lock in one order), with the trend's windows set.
/// Sessions without a row are missing from the answer.
pub async fn lock(
    conn: &mut PgConnection,
    sessions: &[Uuid],
    trend: TrendWindows,
) -> sqlx::Result<Vec<Positions>> {
    let mut rows: Vec<Positions> = sqlx::query_as(LOCK_POSITIONS)
        .bind(sessions)
        .fetch_all(conn)
        .await?;
    for row in &mut rows {
        row.trend = trend;
    }
    Ok(rows)
}

/// The statement of [`create_missing`]: rows for the open sessions among $1 that have
/// none, first ticked $2 seconds from now.
///
/// The sessions are read by id alone in a subquery (`OFFSET 0` keeps it from being merged
/// into the outer query): with the state test beside `id = ANY($1)`, a generic plan made
/// without statistics combined the primary key with the open-session index and so read
/// every open session's entry.
pub const CREATE_MISSING: &str = "INSERT INTO session_positions (session_id, tick_at)
         SELECT w.id, now() + make_interval(secs => $2)
         FROM (SELECT id, connection_state FROM work_sessions WHERE id = ANY($1) OFFSET 0) AS w
         WHERE w.connection_state IN ('waiting', 'active')
           AND NOT EXISTS (SELECT 1 FROM session_positions p WHERE p.session_id = w.id)
         ON CONFLICT (session_id) DO NOTHING";

/// Creates empty rows for those of `sessions` that are open and have none yet (their
/// first `location_update`). A new row is first looked at by the tick one interval later.
/// Autocommitted on its own, before the batch's transaction, so the batch only ever waits
/// for row locks in `session_id` order.
pub async fn create_missing(
    conn: &mut PgConnection,
    sessions: &[Uuid],
    interval_s: f64,
) -> sqlx::Result<()> {
    sqlx::query(CREATE_MISSING)
        .bind(sessions)
        .bind(interval_s)
        .execute(conn)
        .await?;
    Ok(())
}

/// The statement of [`write`], with the `tick_at` parts of its schedule variant. The
/// rows are also looked up by `= ANY($1)`, an index condition: joined to the `unnest` alone,
/// a generic plan may read every row of the table to hash-join them.
macro_rules! write_positions {
    ($tick_set:literal, $tick_arg:literal, $tick_column:literal) => {
        concat!(
            "UPDATE session_positions AS p SET
             seeker_latitude = u.slat, seeker_longitude = u.slon,
             seeker_location_at = CASE WHEN u.smoved THEN now() ELSE p.seeker_location_at END,
             seeker_seen_at = CASE WHEN u.sseen THEN now() ELSE p.seeker_seen_at END,
             provider_latitude = u.plat, provider_longitude = u.plon,
             provider_location_at = CASE WHEN u.pmoved THEN now() ELSE p.provider_location_at END,
             provider_seen_at = CASE WHEN u.pseen THEN now() ELSE p.provider_seen_at END,
             seeker_anchor_latitude = u.salat, seeker_anchor_longitude = u.salon,
             provider_anchor_latitude = u.palat, provider_anchor_longitude = u.palon,
             current_distance_meters = u.distance,
             last_distance_update = CASE WHEN u.sent THEN now() ELSE p.last_distance_update END,
             seeker_stale = u.sstale, provider_stale = u.pstale,
             activated_at = u.activated_at, arrival_stage = u.stage,
             recent_distances = u.rd::float8[], recent_distance_at = u.rda::float8[],
             cadence_band = u.band,
             seeker_implausible_latitude = u.silat, seeker_implausible_longitude = u.silon,
             provider_implausible_latitude = u.pilat, provider_implausible_longitude = u.pilon",
            $tick_set,
            " FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::bool[], $5::bool[], \
             $6::float8[], $7::float8[], $8::bool[], $9::bool[], $10::float8[], $11::float8[], \
             $12::float8[], $13::float8[], $14::float8[], $15::bool[], $16::bool[], $17::bool[], \
             $18::timestamptz[], $19::text[], $20::text[], $21::text[], $22::text[], \
             $23::float8[], $24::float8[], $25::float8[], $26::float8[]",
            $tick_arg,
            ") AS u (id, slat, slon, smoved, sseen, plat, plon, pmoved, pseen, salat, salon,
                 palat, palon, distance, sent, sstale, pstale, activated_at, stage, rd, rda,
                 band, silat, silon, pilat, pilon",
            $tick_column,
            ") WHERE p.session_id = u.id AND p.session_id = ANY($1::uuid[])"
        )
    };
}

/// [`write`] without a schedule (a batch of moves: `tick_at` untouched, so HOT): each
/// row's final state, one array per column ($1 the sessions ... $26).
pub const WRITE_POSITIONS: &str = write_positions!("", "", "");

/// [`write`] with a schedule: also each row's next look ($27; null: never).
pub const WRITE_POSITIONS_AND_TICK: &str = write_positions!(
    ", tick_at = coalesce(u.tick_at, 'infinity')",
    ", $27::timestamptz[]",
    ", tick_at"
);

/// The tick schedule to write with [`write`]: `None` keeps `tick_at` untouched (a move,
/// so the update stays HOT); `Some` gives each row's next look (`None` in it: never).
pub type TickSchedule<'a> = Option<&'a [Option<DateTime<Utc>>]>;

/// Writes the changed rows' final state in one statement. Location times and
/// `last_distance_update` are PostgreSQL's `now()`. None of the columns written is indexed
/// (but `tick_at`, when a schedule is given), so a move stays a HOT update.
pub async fn write(
    conn: &mut PgConnection,
    rows: &[&Positions],
    tick_at: TickSchedule<'_>,
) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Positions) -> Option<f64>| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let flag = |f: fn(&Positions) -> bool| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    // unnest flattens 2-D arrays, so each row's recent distances travel as one array
    // literal and are cast back per row.
    let literal = |f: fn(&Positions) -> &Vec<f64>| {
        rows.iter()
            .map(|r| {
                let items: Vec<String> = f(r).iter().map(f64::to_string).collect();
                format!("{{{}}}", items.join(","))
            })
            .collect::<Vec<_>>()
    };
    let ids: Vec<Uuid> = rows.iter().map(|r| r.session_id).collect();
    let sql = if tick_at.is_some() {
        WRITE_POSITIONS_AND_TICK
    } else {
        WRITE_POSITIONS
    };
    let mut query = sqlx::query(sql).bind(ids);
    for values in [
        column(|r| r.seeker_latitude),
        column(|r| r.seeker_longitude),
    ] {
        query = query.bind(values);
    }
    for values in [flag(|r| r.seeker_moved), flag(|r| r.seeker_seen)] {
        query = query.bind(values);
    }
    for values in [
        column(|r| r.provider_latitude),
        column(|r| r.provider_longitude),
    ] {
        query = query.bind(values);
    }
    for values in [flag(|r| r.provider_moved), flag(|r| r.provider_seen)] {
        query = query.bind(values);
    }
    for values in [
        column(|r| r.seeker_anchor_latitude),
        column(|r| r.seeker_anchor_longitude),
        column(|r| r.provider_anchor_latitude),
        column(|r| r.provider_anchor_longitude),
        column(|r| r.current_distance_meters),
    ] {
        query = query.bind(values);
    }
    for values in [
        flag(|r| r.sent_now),
        flag(|r| r.seeker_stale),
        flag(|r| r.provider_stale),
    ] {
        query = query.bind(values);
    }
    query = query
        .bind(rows.iter().map(|r| r.activated_at).collect::<Vec<_>>())
        .bind(
            rows.iter()
                .map(|r| r.arrival_stage.map(ArrivalStage::as_str))
                .collect::<Vec<_>>(),
        );
    for values in [
        literal(|r| &r.recent_distances),
        literal(|r| &r.recent_distance_at),
    ] {
        query = query.bind(values);
    }
    query = query.bind(
        rows.iter()
            .map(|r| r.cadence_band.map(CadenceBand::as_str))
            .collect::<Vec<_>>(),
    );
    for values in [
        column(|r| r.seeker_implausible_latitude),
        column(|r| r.seeker_implausible_longitude),
        column(|r| r.provider_implausible_latitude),
        column(|r| r.provider_implausible_longitude),
    ] {
        query = query.bind(values);
    }
    if let Some(tick_at) = tick_at {
        query = query.bind(tick_at.to_vec());
    }
    query.execute(conn).await?;
    Ok(())
}

/// Appends an `arrival` timeline event for every distance in `dues` that announces a
/// stage, in the caller's transaction. Each append runs in a savepoint: a session that
/// ended while this transaction held only its positions row refuses the append (its
/// timeline is closed); then that arrival is not announced and the rest of the batch
/// commits as usual.
pub async fn append_arrivals(
    conn: &mut PgConnection,
    dues: &mut [DistanceDue],
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    for due in dues.iter_mut() {
        let Some(stage) = due.arrival else { continue };
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        match tether_platform::timeline::append_arrival(
            &mut savepoint,
            due.session_id,
            stage.as_str(),
            at,
        )
        .await
        {
            Ok(_) => savepoint.commit().await?,
            Err(err) => {
                tracing::debug!(session_id = %due.session_id, error = %err, "arrival not appended");
                savepoint.rollback().await?;
                due.arrival = None;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Metres per degree of latitude on the contract's 6371 km sphere.
    const METRES_PER_DEGREE: f64 = 111_194.926_644_558_7;

    fn north(metres: f64) -> Point {
        Point::new(metres / METRES_PER_DEGREE, 0.0)
    }

    fn active() -> Positions {
        Positions {
            session_id: Uuid::nil(),
            seeker_id: Uuid::from_u128(1),
            provider_id: Uuid::from_u128(2),
            connection_state: ConnectionState::Active,
            seeker_latitude: None,
            seeker_longitude: None,
            provider_latitude: None,
            provider_longitude: None,
            seeker_anchor_latitude: None,
            seeker_anchor_longitude: None,
            provider_anchor_latitude: None,
            provider_anchor_longitude: None,
            current_distance_meters: None,
            seeker_location_at: None,
            provider_location_at: None,
            seeker_seen_at: None,
            provider_seen_at: None,
            seeker_stale: false,
            provider_stale: false,
            activated_at: None,
            arrival_stage: None,
            recent_distances: Vec::new(),
            recent_distance_at: Vec::new(),
            cadence_band: None,
            seeker_implausible_latitude: None,
            seeker_implausible_longitude: None,
            provider_implausible_latitude: None,
            provider_implausible_longitude: None,
            session_created_at: Utc::now(),
            distance_sent: false,
            last_distance_update: None,
            db_now: Utc::now(),
            trend: TrendWindows::CONTRACT,
            seeker_moved: false,
            provider_moved: false,
            seeker_seen: false,
            provider_seen: false,
            flags_changed: false,
            sent_now: false,
        }
    }

    fn sent(due: Option<DistanceDue>) -> Option<f64> {
        due.map(|d| d.distance_meters)
    }

    #[test]
    fn updates_of_one_batch_apply_in_order_each_under_the_50_m_rule() {
        let mut row = active();
        assert_eq!(sent(row.apply_move(Role::Seeker, north(0.0))), None);
        assert_eq!(
            sent(row.apply_move(Role::Provider, north(1000.0))),
            Some(1000.0)
        );
        // 30, 49: silent; 51 from the anchor: sent; 80 is 29 from the new anchor: silent;
        // 200: sent. Merging them would have sent only the last.
        let expected = [None, None, Some(949.0), None, Some(800.0)];
        for (metres, want) in [30.0, 49.0, 51.0, 80.0, 200.0].into_iter().zip(expected) {
            assert_eq!(
                sent(row.apply_move(Role::Seeker, north(metres))),
                want,
                "{metres}"
            );
        }
        assert_eq!(row.seeker_anchor_latitude, Some(north(200.0).latitude));
        assert_eq!(row.current_distance_meters, Some(800.0));
        assert!(row.seeker_moved && row.provider_moved && row.sent_now);
    }

    #[test]
    fn waiting_sessions_store_without_distance() {
        let mut row = active();
        row.connection_state = ConnectionState::Waiting;
        assert_eq!(sent(row.apply_move(Role::Seeker, north(0.0))), None);
        assert_eq!(sent(row.apply_move(Role::Provider, north(500.0))), None);
        assert!(!row.distance_sent && row.current_distance_meters.is_none());
        row.connection_state = ConnectionState::Active;
        assert_eq!(sent(row.record_distance()), Some(500.0));
    }

    #[test]
    fn distances_move_the_cadence_band_and_report_only_changes() {
        let mut row = active();
        row.apply_move(Role::Seeker, north(0.0));
        let first = row.apply_move(Role::Provider, north(3000.0)).expect("due");
        assert_eq!(first.cadence, None, "near, as before any distance");
        assert_eq!(row.cadence(), Some(CadenceBand::Near));
        let close = row.apply_move(Role::Provider, north(450.0)).expect("due");
        assert_eq!(close.cadence, Some(CadenceBand::Close));
        // 550 m: within the 20 % margin, still close.
        let margin = row.apply_move(Role::Provider, north(550.0)).expect("due");
        assert_eq!(margin.cadence, None);
        let arrived = row.apply_move(Role::Provider, north(30.0)).expect("due");
        assert_eq!(arrived.arrival, Some(ArrivalStage::Arrived));
        assert_eq!(arrived.cadence, Some(CadenceBand::Arrived));
        let away = row.apply_move(Role::Provider, north(9000.0)).expect("due");
        assert_eq!(away.cadence, None, "arrived is final");
        assert_eq!(row.cadence_band, Some(CadenceBand::Arrived));
    }

    #[test]
    fn fixes_too_fast_from_the_stored_one_are_implausible_until_two_agree() {
        let mut row = active();
        assert!(row.plausible(Role::Seeker, north(0.0), 70.0), "first fix");
        row.apply_move(Role::Seeker, north(0.0));
        // Received at the same moment: the speed is measured over one second.
        assert!(row.plausible(Role::Seeker, north(69.9), 70.0));
        assert!(!row.plausible(Role::Seeker, north(70.5), 70.0));
        assert!(row.plausible(Role::Seeker, north(5000.0), 0.0), "0: off");
        row.seeker_location_at = Some(row.db_now - chrono::Duration::seconds(100));
        assert!(row.plausible(Role::Seeker, north(6990.0), 70.0), "69.9 m/s");
        assert!(!row.plausible(Role::Seeker, north(7100.0), 70.0));
        row.apply_implausible(Role::Seeker, north(7100.0));
        assert_eq!(row.seeker(), Some(north(0.0)), "not stored");
        assert!(row.seeker_seen && row.seeker_implausible_latitude.is_some());
        // Within 100 m of the implausible fix: plausible, stored, and the memory cleared.
        assert!(!row.plausible(Role::Seeker, north(7250.0), 70.0));
        assert!(row.plausible(Role::Seeker, north(7190.0), 70.0));
        row.apply_move(Role::Seeker, north(7190.0));
        assert_eq!(row.seeker_implausible_latitude, None);
        assert_eq!(row.seeker(), Some(north(7190.0)));
    }
}
