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
use sqlx::{PgConnection, Postgres, QueryBuilder};
use tether_proto::Role;
use tether_proto::distance::{Point, distance_meters, haversine_m};
use tether_proto::limits::DISTANCE_MOVE_THRESHOLD_M;
use uuid::Uuid;

use crate::fanout::DistanceDue;

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
                    p.last_distance_update IS NOT NULL AS distance_sent,
                    p.last_distance_update,
                    now() AS db_now
             FROM session_positions p
             JOIN work_sessions w ON w.id = p.session_id ",
            $rest
        )
    };
}
pub(crate) use positions_select;

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
    pub connection_state: String,
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
    /// Whether any distance was sent since activation (`last_distance_update` is set).
    pub distance_sent: bool,
    /// When the last distance was sent.
    pub last_distance_update: Option<DateTime<Utc>>,
    /// PostgreSQL's `now()` for this transaction (the tick's clock).
    pub db_now: DateTime<Utc>,
    /// The seeker's position changed in this transaction.
    #[sqlx(skip)]
    pub seeker_moved: bool,
    /// The provider's position changed in this transaction.
    #[sqlx(skip)]
    pub provider_moved: bool,
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
        matches!(self.connection_state.as_str(), "waiting" | "active")
    }

    /// Distances flow only while `active`.
    pub fn is_active(&self) -> bool {
        self.connection_state == "active"
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
        self.seeker_moved || self.provider_moved || self.sent_now
    }

    /// Applies one precise fix of `role` (an authorised party of an open session), as the
    /// contract says: stored always; while active, with the other party's position known,
    /// a distance is due when none was sent yet or the sender is at least 50 m from their
    /// anchor. Returns the distance to send, already recorded (anchors reset).
    pub fn apply_move(&mut self, role: Role, to: Point) -> Option<DistanceDue> {
        match role {
            Role::Seeker => {
                self.seeker_latitude = Some(to.latitude);
                self.seeker_longitude = Some(to.longitude);
                self.seeker_moved = true;
            }
            Role::Provider => {
                self.provider_latitude = Some(to.latitude);
                self.provider_longitude = Some(to.longitude);
                self.provider_moved = true;
            }
        }
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
    /// the clients last saw.
    pub fn record_distance(&mut self) -> Option<DistanceDue> {
        let (seeker, provider) = (self.seeker()?, self.provider()?);
        let distance = distance_meters(seeker, provider);
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
        })
    }
}

/// Locks and reads the positions rows of `sessions` (sorted ascending by the caller's
/// `ORDER BY`, so concurrent batches lock in one order). Sessions without a row are
/// missing from the answer.
pub async fn lock(conn: &mut PgConnection, sessions: &[Uuid]) -> sqlx::Result<Vec<Positions>> {
    sqlx::query_as(positions_select!(
        "WHERE p.session_id = ANY($1) ORDER BY p.session_id FOR UPDATE OF p"
    ))
    .bind(sessions)
    .fetch_all(conn)
    .await
}

/// Creates empty rows for those of `sessions` that are open and have none yet (their
/// first `location_update`). A new row is first looked at by the tick one interval later.
/// Autocommitted on its own, before the batch's transaction, so the batch only ever waits
/// for row locks in `session_id` order.
pub async fn create_missing(
    conn: &mut PgConnection,
    sessions: &[Uuid],
    interval_s: f64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO session_positions (session_id, tick_at)
         SELECT w.id, now() + make_interval(secs => $2)
         FROM work_sessions w
         WHERE w.id = ANY($1) AND w.connection_state IN ('waiting', 'active')
           AND NOT EXISTS (SELECT 1 FROM session_positions p WHERE p.session_id = w.id)
         ON CONFLICT (session_id) DO NOTHING",
    )
    .bind(sessions)
    .bind(interval_s)
    .execute(conn)
    .await?;
    Ok(())
}

/// The tick schedule to write with [`write`]: `None` keeps `tick_at` untouched (a move,
/// so the update stays HOT); `Some` gives each row's next look (`None` in it: never).
pub type TickSchedule<'a> = Option<&'a [Option<DateTime<Utc>>]>;

/// Writes the changed rows' final state in one statement. Location times and
/// `last_distance_update` are PostgreSQL's `now()`.
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
    let ids: Vec<Uuid> = rows.iter().map(|r| r.session_id).collect();
    let mut sql = QueryBuilder::<Postgres>::new(
        "UPDATE session_positions AS p SET
             seeker_latitude = u.slat, seeker_longitude = u.slon,
             seeker_location_at = CASE WHEN u.smoved THEN now() ELSE p.seeker_location_at END,
             provider_latitude = u.plat, provider_longitude = u.plon,
             provider_location_at = CASE WHEN u.pmoved THEN now() ELSE p.provider_location_at END,
             seeker_anchor_latitude = u.salat, seeker_anchor_longitude = u.salon,
             provider_anchor_latitude = u.palat, provider_anchor_longitude = u.palon,
             current_distance_meters = u.distance,
             last_distance_update = CASE WHEN u.sent THEN now() ELSE p.last_distance_update END",
    );
    if tick_at.is_some() {
        sql.push(", tick_at = coalesce(u.tick_at, 'infinity')");
    }
    sql.push(" FROM unnest(");
    let mut args = sql.separated(", ");
    args.push_bind(ids).push_unseparated("::uuid[]");
    for values in [
        column(|r| r.seeker_latitude),
        column(|r| r.seeker_longitude),
    ] {
        args.push_bind(values).push_unseparated("::float8[]");
    }
    args.push_bind(flag(|r| r.seeker_moved))
        .push_unseparated("::bool[]");
    for values in [
        column(|r| r.provider_latitude),
        column(|r| r.provider_longitude),
    ] {
        args.push_bind(values).push_unseparated("::float8[]");
    }
    args.push_bind(flag(|r| r.provider_moved))
        .push_unseparated("::bool[]");
    for values in [
        column(|r| r.seeker_anchor_latitude),
        column(|r| r.seeker_anchor_longitude),
        column(|r| r.provider_anchor_latitude),
        column(|r| r.provider_anchor_longitude),
        column(|r| r.current_distance_meters),
    ] {
        args.push_bind(values).push_unseparated("::float8[]");
    }
    args.push_bind(flag(|r| r.sent_now))
        .push_unseparated("::bool[]");
    if let Some(tick_at) = tick_at {
        args.push_bind(tick_at.to_vec())
            .push_unseparated("::timestamptz[]");
    }
    sql.push(
        ") AS u (id, slat, slon, smoved, plat, plon, pmoved, salat, salon, palat, palon,
                 distance, sent",
    );
    if tick_at.is_some() {
        sql.push(", tick_at");
    }
    sql.push(") WHERE p.session_id = u.id");
    sql.build().execute(conn).await?;
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
            connection_state: "active".into(),
            seeker_latitude: None,
            seeker_longitude: None,
            provider_latitude: None,
            provider_longitude: None,
            seeker_anchor_latitude: None,
            seeker_anchor_longitude: None,
            provider_anchor_latitude: None,
            provider_anchor_longitude: None,
            current_distance_meters: None,
            distance_sent: false,
            last_distance_update: None,
            db_now: Utc::now(),
            seeker_moved: false,
            provider_moved: false,
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
        row.connection_state = "waiting".into();
        assert_eq!(sent(row.apply_move(Role::Seeker, north(0.0))), None);
        assert_eq!(sent(row.apply_move(Role::Provider, north(500.0))), None);
        assert!(!row.distance_sent && row.current_distance_meters.is_none());
        row.connection_state = "active".into();
        assert_eq!(sent(row.record_distance()), Some(500.0));
    }
}
