//! The catalogue of every statement on a hot path: a socket connecting or closing, each
//! command and API request, each event handler, the distance tick, the presence sweep,
//! the push sender and each cleanup job's batch. Each entry names the statement's text as
//! the service runs it (the services' own `pub const`s: the SQL lives there, once), the
//! parameter types sqlx binds, and sample parameters drawn from a seeded database (a
//! `SELECT` over [`SAMPLES`]' one row), so `ops_plans` can run each with the pools'
//! settings under `EXPLAIN (ANALYZE, BUFFERS)` (see [`crate::plans`]).
//!
//! Left out, with reason: `SELECT 1` (readiness), the cleanup jobs' advisory locks
//! (`pg_try_advisory_xact_lock`, `pg_try_advisory_lock`, `pg_advisory_unlock`: no table),
//! and the vacuum job's `DUE_TABLES` (one row per table of `pg_stat_user_tables`) and
//! `VACUUM` itself. A new statement on a hot path gets its entry here.
//!
//! Statements whose text depends on a role appear once per role. Cases that change
//! anything run in a transaction that is rolled back; `setup` runs first in it.

use tether_chat::commands::{chat_message, receipts, start_chat};
use tether_chat::{history, lifecycle, reconnect, sessions as chat_sessions};
use tether_cleanup::jobs::{chat_messages, session_locations, work_orders as order_jobs};
use tether_location::{batch, positions, presence, presence_batch};
use tether_platform::push::events as push_events;
use tether_platform::timeline;
use tether_session::api::{
    nearby, profile, provider_status, rating, seeker_search, timeline as timeline_api, work_orders,
};
use tether_session::commands::{end_session, mediums, work_response};
use tether_session::{assignment, sessions, users};

/// One hot statement.
#[derive(Debug, Clone, Copy)]
pub struct HotStatement {
    /// `service: what`, unique.
    pub name: &'static str,
    /// Where it runs.
    pub path: &'static str,
    /// The text the service prepares.
    pub sql: &'static str,
    /// Its parameters' types, `$1` first, as sqlx binds them.
    pub params: &'static [&'static str],
    /// What the statement may touch besides rows in proportion to what it returns (`None`:
    /// nothing). When set, every case's `args` ends with one more column: that many rows.
    pub allowance: Option<&'static str>,
    /// Sample runs.
    pub cases: &'static [Case],
}

/// One sample run of a statement.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// What the sample is.
    pub label: &'static str,
    /// SQL run first, in the case's transaction (empty: none).
    pub setup: &'static str,
    /// A query returning one row: the parameters in order (then the allowance, if the
    /// statement has one). [`SAMPLES`]' table `hot_samples` names the seeded rows used.
    pub args: &'static str,
}

const fn case(label: &'static str, args: &'static str) -> Case {
    Case {
        label,
        setup: "",
        args,
    }
}

const fn with_setup(label: &'static str, setup: &'static str, args: &'static str) -> Case {
    Case { label, setup, args }
}

/// The per-session chat a statement may walk (the re-send on connect reads one session's
/// messages in `seq` order and skips the acknowledged ones: no index has
/// `delivery_status`, which keeps every receipt a HOT update).
pub const SESSION_CHAT: &str =
    "the session's own messages (at most TETHER_CHAT_MAX_MESSAGES_PER_SESSION, 5,000 by default)";

/// The providers a nearby search measures: it orders them by (coarse) distance.
pub const SEARCH_BOX: &str = "the active providers inside the search's bounding box (the radius around the origin; they are ordered by distance)";

/// A nearby search at ($lat, $lon) within $radius metres offering $kind, with the count of
/// active providers inside its bounding box (away from poles and the antimeridian) as
/// the allowance.
macro_rules! nearby_args {
    ($lat:literal, $lon:literal, $kind:literal, $radius:literal) => {
        concat!(
            "SELECT ",
            $lat,
            "::float8, ",
            $lon,
            "::float8, idle_seeker, ",
            $kind,
            ", ",
            $radius,
            "::float8, 20::int8, 6371000::float8, b.band, 100::float8,
                    (SELECT count(*) FROM provider_active_status s
                     WHERE s.is_active AND s.latitude BETWEEN ",
            $lat,
            " - b.band AND ",
            $lat,
            " + b.band
                       AND s.longitude BETWEEN ",
            $lon,
            " - b.w AND ",
            $lon,
            " + b.w)
             FROM hot_samples,
                  LATERAL (SELECT degrees((",
            $radius,
            " + 100) / 6371000.0)::float8 AS band) a,
                  LATERAL (SELECT a.band, degrees(asin(sin(radians(a.band)) / cos(radians(",
            $lat,
            ")))) AS w) b"
        )
    };
}

/// Builds `hot_samples`, one row naming the seeded rows the cases use: the heaviest
/// sessions (most messages) of each state, the users with the most history and no open
/// session, an order that never became a session, the edge with the most sockets.
pub const SAMPLES: &str = "
CREATE TABLE hot_samples AS
WITH counted AS (
    SELECT s.*, coalesce(c.messages, 0) AS messages
    FROM work_sessions s LEFT JOIN chat_session_counts c ON c.session_id = s.id
), open_s AS (
    SELECT * FROM counted WHERE connection_state = 'active' ORDER BY messages DESC, id LIMIT 1
), wait_s AS (
    SELECT * FROM counted WHERE connection_state = 'waiting' ORDER BY messages DESC, id LIMIT 1
), ended_s AS (
    SELECT * FROM counted WHERE connection_state IN ('cancelled', 'completed')
    ORDER BY messages DESC, id LIMIT 1
), busy AS (
    SELECT seeker_id AS user_id, 'seeker' AS role FROM work_sessions
    WHERE connection_state IN ('waiting', 'active')
    UNION ALL
    SELECT provider_id, 'provider' FROM work_sessions
    WHERE connection_state IN ('waiting', 'active')
), idle_seeker AS (
    SELECT seeker_id AS id FROM work_orders o
    WHERE NOT EXISTS (SELECT 1 FROM busy b WHERE b.user_id = o.seeker_id AND b.role = 'seeker')
    GROUP BY seeker_id ORDER BY count(*) DESC, seeker_id LIMIT 1
), idle_provider AS (
    SELECT provider_id AS id FROM work_orders o
    WHERE NOT EXISTS (SELECT 1 FROM busy b WHERE b.user_id = o.provider_id AND b.role = 'provider')
    GROUP BY provider_id ORDER BY count(*) DESC, provider_id LIMIT 1
), active_provider AS (
    SELECT o.provider_id AS id FROM work_orders o
    JOIN provider_active_status a ON a.provider_id = o.provider_id AND a.is_active
    WHERE NOT EXISTS (SELECT 1 FROM busy b WHERE b.user_id = o.provider_id AND b.role = 'provider')
    GROUP BY o.provider_id ORDER BY count(*) DESC, o.provider_id LIMIT 1
), unanswered AS (
    SELECT o.* FROM work_orders o
    WHERE o.session_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.user_id = o.seeker_id AND b.role = 'seeker')
      AND NOT EXISTS (SELECT 1 FROM busy b WHERE b.user_id = o.provider_id AND b.role = 'provider')
    ORDER BY o.id DESC LIMIT 1
), edge AS (
    SELECT edge_id FROM presence_sockets GROUP BY edge_id ORDER BY count(*) DESC, edge_id LIMIT 1
)
SELECT o.id AS open_id, o.seeker_id AS open_seeker, o.provider_id AS open_provider,
       o.work_id AS open_work, o.messages::int8 AS open_messages,
       w.id AS wait_id, w.seeker_id AS wait_seeker, w.provider_id AS wait_provider,
       e.id AS ended_id, e.seeker_id AS ended_seeker, e.provider_id AS ended_provider,
       e.work_id AS ended_work, e.messages::int8 AS ended_messages,
       (SELECT m.id FROM chat_messages m WHERE m.session_id = e.id
        ORDER BY m.seq OFFSET e.messages / 2 LIMIT 1) AS ended_mid_message,
       (SELECT m.seq FROM chat_messages m WHERE m.session_id = e.id
        ORDER BY m.seq OFFSET e.messages / 2 LIMIT 1) AS ended_mid_seq,
       (SELECT m.id FROM chat_messages m WHERE m.session_id = e.id
        ORDER BY m.seq LIMIT 1) AS ended_first_message,
       (SELECT id FROM idle_seeker) AS idle_seeker,
       (SELECT id FROM idle_provider) AS idle_provider,
       (SELECT id FROM active_provider) AS active_provider,
       (SELECT id FROM unanswered) AS unanswered_work,
       (SELECT seeker_id FROM unanswered) AS unanswered_seeker,
       (SELECT provider_id FROM unanswered) AS unanswered_provider,
       (SELECT edge_id FROM edge) AS edge_id,
       (SELECT array_agg(id ORDER BY id) FROM (
            SELECT id FROM work_sessions WHERE connection_state IN ('waiting', 'active')
            ORDER BY id LIMIT 50) x) AS open_ids,
       gen_random_uuid() AS nobody
FROM open_s o, wait_s w, ended_s e";

/// A session id no seeded row has, for a session a case creates in its setup.
macro_rules! new_session {
    () => {
        "'00000000-0000-7000-8000-00000000f00d'::uuid"
    };
}

/// Inserts three pending orders (one a minute old, one ten minutes, one an hour) from the
/// idle seeker to the active provider.
const PENDING_ORDERS: &str = "
INSERT INTO work_orders (seeker_id, provider_id, service_type, message, latitude, longitude,
                         created_at)
SELECT idle_seeker, active_provider, 'plumbing', 'Kitchen sink', 52.52, 13.405,
       now() - make_interval(mins => m)
FROM hot_samples, unnest(ARRAY[1, 10, 60]) AS m";

/// Creates the user `nobody` (every request creates its user first).
const NEW_USER: &str = "INSERT INTO users (id) SELECT nobody FROM hot_samples";

/// Makes the five newest provider messages of the open session unacknowledged.
const UNACKNOWLEDGE: &str = "
UPDATE chat_messages SET delivery_status = 'sent', delivered_at = NULL, read_at = NULL
WHERE id IN (SELECT m.id FROM chat_messages m, hot_samples h
             WHERE m.session_id = h.open_id AND m.sender_type = 'provider'
             ORDER BY m.seq DESC LIMIT 5)";

/// A socket storm: thousands of sockets online that the statistics (seeded with every
/// user offline) know nothing of.
const MANY_ONLINE: &str = "
UPDATE presence_sockets SET online = true
WHERE ctid IN (SELECT ctid FROM presence_sockets LIMIT 5000)";

/// Positions arrays for [`positions::WRITE_POSITIONS`]: one row, the open session.
macro_rules! write_args {
    ($($tick:literal)?) => {
        concat!(
            "SELECT ARRAY[open_id], ARRAY[52.52], ARRAY[13.405], ARRAY[true], ARRAY[true],
                    ARRAY[52.53], ARRAY[13.41], ARRAY[false], ARRAY[false],
                    ARRAY[52.52], ARRAY[13.405], ARRAY[52.53], ARRAY[13.41], ARRAY[1250.5],
                    ARRAY[true], ARRAY[false], ARRAY[false], ARRAY[now()],
                    ARRAY['approaching_500'], ARRAY['{1300,1250.5}'], ARRAY['{1700000000,1700000030}'],
                    ARRAY['near'], ARRAY[52.6], ARRAY[13.5], ARRAY[NULL::float8], ARRAY[NULL::float8]",
            $($tick,)?
            " FROM hot_samples"
        )
    };
}

/// Every hot statement.
pub const CATALOGUE: &[HotStatement] = &[
    // ---- session: connect, API requests, commands --------------------------------------
    HotStatement {
        name: "session: upsert user",
        path: "connect; every API request",
        sql: users::UPSERT_USER,
        params: &["uuid", "text"],
        allowance: None,
        cases: &[
            case("known user, same name", "SELECT idle_seeker, u.token_name FROM hot_samples JOIN users u ON u.id = idle_seeker"),
            case("known user, new name", "SELECT idle_seeker, 'Renamed' FROM hot_samples"),
            case("new user", "SELECT nobody, 'New' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: pending orders of a provider",
        path: "connect (provider)",
        sql: assignment::PENDING_FOR_PROVIDER,
        params: &["uuid", "float8", "timestamptz", "int8"],
        allowance: None,
        cases: &[
            case("provider with the most orders, none pending", "SELECT idle_provider, 600::float8, now(), 20::int8 FROM hot_samples"),
            with_setup("three pending", PENDING_ORDERS, "SELECT active_provider, 600::float8, now() + interval '1 minute', 20::int8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: snapshot of a party's session",
        path: "GET /sessions/{id}; rating",
        sql: sessions::SESSION_FOR_PARTY,
        params: &["uuid", "uuid"],
        allowance: None,
        cases: &[
            case("open session, provider", "SELECT open_id, open_provider FROM hot_samples"),
            case("big ended session, seeker", "SELECT ended_id, ended_seeker FROM hot_samples"),
            case("not a party", "SELECT ended_id, idle_seeker FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: open session of a seeker",
        path: "GET /sessions/active?role=seeker",
        sql: sessions::OPEN_SESSION_OF_SEEKER,
        params: &["uuid"],
        allowance: None,
        cases: &[
            case("open", "SELECT open_seeker FROM hot_samples"),
            case("seeker with the most history, none open", "SELECT idle_seeker FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: open session of a provider",
        path: "GET /sessions/active?role=provider",
        sql: sessions::OPEN_SESSION_OF_PROVIDER,
        params: &["uuid"],
        allowance: None,
        cases: &[
            case("open", "SELECT open_provider FROM hot_samples"),
            case("provider with the most history, none open", "SELECT idle_provider FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: why a guarded update missed",
        path: "commands on a session that is not open",
        sql: sessions::EXPLAIN_MISS,
        params: &["uuid", "uuid", "text"],
        allowance: None,
        cases: &[case("ended session", "SELECT ended_id, ended_seeker, 'seeker' FROM hot_samples")],
    },
    HotStatement {
        name: "session: cancel",
        path: "cancel_connection",
        sql: end_session::CANCEL_SESSION,
        params: &["uuid", "uuid", "text"],
        allowance: None,
        cases: &[
            case("open session", "SELECT open_id, open_seeker, 'seeker' FROM hot_samples"),
            case("ended session", "SELECT ended_id, ended_provider, 'provider' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: after a cancel",
        path: "cancel_connection",
        sql: end_session::CANCEL_FOLLOW_UP,
        params: &["int8", "uuid", "uuid", "uuid", "int4"],
        allowance: None,
        cases: &[case("the heaviest open session", "SELECT open_work, open_provider, open_seeker, open_id, 24 FROM hot_samples")],
    },
    HotStatement {
        name: "session: finish",
        path: "finish_service",
        sql: end_session::FINISH_SESSION,
        params: &["uuid", "uuid", "text", "int2", "text"],
        allowance: None,
        cases: &[case("open session, rated", "SELECT open_id, open_seeker, 'seeker', 5::int2, 'Great' FROM hot_samples")],
    },
    HotStatement {
        name: "session: after a finish",
        path: "finish_service",
        sql: end_session::FINISH_FOLLOW_UP,
        params: &["int8", "uuid", "int4"],
        allowance: None,
        cases: &[case("the heaviest open session", "SELECT open_work, open_id, 24 FROM hot_samples")],
    },
    HotStatement {
        name: "session: select mediums",
        path: "medium_selection",
        sql: mediums::SELECT_MEDIUMS,
        params: &["uuid", "uuid", "jsonb"],
        allowance: None,
        cases: &[
            case("waiting session", r#"SELECT wait_id, wait_seeker, '{"call": true}'::jsonb FROM hot_samples"#),
            case("ended session", r#"SELECT ended_id, ended_seeker, '{"call": true}'::jsonb FROM hot_samples"#),
        ],
    },
    HotStatement {
        name: "session: share mediums",
        path: "medium_share",
        sql: mediums::SHARE_MEDIUMS,
        params: &["uuid", "uuid", "jsonb"],
        allowance: None,
        cases: &[case("open session", r#"SELECT open_id, open_provider, '{"call": true}'::jsonb FROM hot_samples"#)],
    },
    HotStatement {
        name: "session: lock an order",
        path: "work_response (accept)",
        sql: work_response::LOCK_ORDER,
        params: &["int8", "uuid", "float8"],
        allowance: None,
        cases: &[case("answered order", "SELECT unanswered_work, unanswered_provider, 600::float8 FROM hot_samples")],
    },
    HotStatement {
        name: "session: open a session",
        path: "work_response (accept)",
        sql: work_response::OPEN_SESSION,
        params: &["uuid", "int8", "uuid", "uuid"],
        allowance: None,
        cases: &[case("order without a session", concat!("SELECT ", new_session!(), ", unanswered_work, unanswered_seeker, unanswered_provider FROM hot_samples"))],
    },
    HotStatement {
        name: "session: accept an order",
        path: "work_response (accept)",
        sql: work_response::ACCEPT_ORDER,
        params: &["int8", "uuid", "uuid", "uuid"],
        allowance: None,
        cases: &[with_setup(
            "order whose session was just opened",
            concat!("INSERT INTO work_sessions (id, work_id, seeker_id, provider_id) SELECT ", new_session!(), ", unanswered_work, unanswered_seeker, unanswered_provider FROM hot_samples"),
            concat!("SELECT unanswered_work, ", new_session!(), ", unanswered_provider, unanswered_seeker FROM hot_samples"),
        )],
    },
    HotStatement {
        name: "session: reject an order",
        path: "work_response (reject)",
        sql: work_response::REJECT_ORDER,
        params: &["int8", "uuid", "float8"],
        allowance: None,
        cases: &[
            with_setup("pending order", PENDING_ORDERS, "SELECT min(id), active_provider, 600::float8 FROM work_orders, hot_samples WHERE status = 'pending' GROUP BY active_provider"),
            case("answered order", "SELECT unanswered_work, unanswered_provider, 600::float8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: an order's state",
        path: "work_response (reject missed)",
        sql: work_response::ORDER_STATE,
        params: &["int8", "uuid", "float8"],
        allowance: None,
        cases: &[case("answered order", "SELECT unanswered_work, unanswered_provider, 600::float8 FROM hot_samples")],
    },
    HotStatement {
        name: "platform: timeline lock (arrival stages)",
        path: "an arrival stage announced",
        sql: timeline::LOCK_SESSION,
        params: &["uuid"],
        allowance: None,
        cases: &[case("open session", "SELECT open_id FROM hot_samples")],
    },
    HotStatement {
        name: "platform: timeline append",
        path: "every session transition",
        sql: timeline::APPEND,
        params: &[
            "uuid", "text", "timestamptz", "text", "jsonb", "text", "text", "text", "text", "text[]",
        ],
        allowance: None,
        cases: &[
            case(
                "open session",
                r#"SELECT open_id, 'arrival', date_trunc('milliseconds', now()), 'system',
                          '{"stage": "arrived"}'::jsonb, '{"actor_role":"system","prev_hash":"', '","seq":',
                          ',"type":"arrival"}', repeat('0', 64), ARRAY['cancelled', 'completed'] FROM hot_samples"#,
            ),
            case(
                "big ended session (refused)",
                r#"SELECT ended_id, 'arrival', date_trunc('milliseconds', now()), 'system',
                          '{"stage": "arrived"}'::jsonb, '{"actor_role":"system","prev_hash":"', '","seq":',
                          ',"type":"arrival"}', repeat('0', 64), ARRAY['cancelled', 'completed'] FROM hot_samples"#,
            ),
        ],
    },
    HotStatement {
        name: "platform: timeline read",
        path: "GET /sessions/{id}/timeline",
        sql: timeline::READ,
        params: &["uuid"],
        allowance: None,
        cases: &[case("big ended session", "SELECT ended_id FROM hot_samples")],
    },
    HotStatement {
        name: "session: timeline party check",
        path: "GET /sessions/{id}/timeline",
        sql: timeline_api::IS_PARTY,
        params: &["uuid", "uuid"],
        allowance: None,
        cases: &[case("party", "SELECT ended_id, ended_provider FROM hot_samples")],
    },
    HotStatement {
        name: "session: put profile",
        path: "PUT /profile",
        sql: profile::PUT_PROFILE,
        params: &["uuid", "text", "bool", "text", "bool", "text"],
        allowance: None,
        cases: &[case("user with history", "SELECT idle_seeker, 'Anna', true, '+4915112345678', false, NULL::text FROM hot_samples")],
    },
    HotStatement {
        name: "session: get profile",
        path: "GET /profile",
        sql: profile::GET_PROFILE,
        params: &["uuid"],
        allowance: None,
        cases: &[case("user with history", "SELECT idle_seeker FROM hot_samples")],
    },
    HotStatement {
        name: "session: put provider status",
        path: "PUT /provider/status",
        sql: provider_status::PUT_PROVIDER_STATUS,
        params: &["uuid", "bool", "text[]", "float8", "float8"],
        allowance: None,
        cases: &[
            case("known provider", "SELECT idle_provider, true, ARRAY['plumbing'], 52.52::float8, 13.405::float8 FROM hot_samples"),
            with_setup("new provider", NEW_USER, "SELECT nobody, false, NULL::text[], NULL::float8, NULL::float8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: get provider status",
        path: "GET /provider/status",
        sql: provider_status::GET_PROVIDER_STATUS,
        params: &["uuid"],
        allowance: None,
        cases: &[case("known provider", "SELECT idle_provider FROM hot_samples")],
    },
    HotStatement {
        name: "session: put seeker search",
        path: "PUT /seeker/search",
        sql: seeker_search::PUT_SEEKER_SEARCH,
        params: &["uuid", "bool"],
        allowance: None,
        cases: &[case("known seeker", "SELECT idle_seeker, true FROM hot_samples")],
    },
    HotStatement {
        name: "session: get seeker search",
        path: "GET /seeker/search",
        sql: seeker_search::GET_SEEKER_SEARCH,
        params: &["uuid"],
        allowance: None,
        cases: &[case("known seeker", "SELECT idle_seeker FROM hot_samples")],
    },
    HotStatement {
        name: "session: nearby providers",
        path: "GET /providers/nearby",
        sql: nearby::NEARBY_PROVIDERS,
        params: &["float8", "float8", "uuid", "text", "float8", "int8", "float8", "float8", "float8"],
        allowance: Some(SEARCH_BOX),
        cases: &[
            case("Berlin, 10 km, any type", nearby_args!(52.52, 13.405, "NULL::text", 10000)),
            case("Vienna, 2 km, plumbing", nearby_args!(48.208, 16.373, "'plumbing'", 2000)),
        ],
    },
    HotStatement {
        name: "session: create a work order",
        path: "POST /work-orders",
        sql: work_orders::CREATE_WORK_ORDER,
        params: &["uuid", "uuid", "text", "text", "float8", "float8", "float8", "int8", "int8", "bool"],
        allowance: None,
        cases: &[
            case("both idle, with the most history", "SELECT active_provider, idle_seeker, 'plumbing', 'Kitchen sink', 52.52::float8, 13.405::float8, 600::float8, 5::int8, 20::int8, true FROM hot_samples"),
            case("provider busy", "SELECT open_provider, idle_seeker, 'plumbing', '', 52.52::float8, 13.405::float8, 600::float8, 5::int8, 20::int8, false FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "session: get a work order",
        path: "GET /work-orders/{id}",
        sql: work_orders::GET_WORK_ORDER,
        params: &["int8", "uuid"],
        allowance: None,
        cases: &[case("party", "SELECT ended_work, ended_seeker FROM hot_samples")],
    },
    HotStatement {
        name: "session: rate a session",
        path: "POST /sessions/{id}/rating",
        sql: rating::RATE_SESSION,
        params: &["uuid", "uuid", "int2", "text", "int4"],
        allowance: None,
        cases: &[case("big ended session", "SELECT ended_id, ended_seeker, 4::int2, 'Good', 24 FROM hot_samples")],
    },
    // ---- chat ---------------------------------------------------------------------------
    HotStatement {
        name: "chat: re-send to a seeker",
        path: "connect (seeker)",
        sql: reconnect::UNDELIVERED_TO_SEEKER,
        params: &["uuid", "int8"],
        allowance: Some(SESSION_CHAT),
        cases: &[
            case("heaviest open session, all acknowledged", "SELECT open_seeker, 100::int8, open_messages FROM hot_samples"),
            with_setup("heaviest open session, five unacknowledged", UNACKNOWLEDGE, "SELECT open_seeker, 100::int8, open_messages FROM hot_samples"),
            case("seeker with the most history, no session", "SELECT idle_seeker, 100::int8, 0::int8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: re-send to a provider",
        path: "connect (provider)",
        sql: reconnect::UNDELIVERED_TO_PROVIDER,
        params: &["uuid", "int8"],
        allowance: Some(SESSION_CHAT),
        cases: &[
            case("heaviest open session", "SELECT open_provider, 100::int8, open_messages FROM hot_samples"),
            case("provider with the most history, no session", "SELECT idle_provider, 100::int8, 0::int8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: read a session",
        path: "chat commands (cache miss)",
        sql: chat_sessions::READ_SESSION,
        params: &["uuid"],
        allowance: None,
        cases: &[case("open session", "SELECT open_id FROM hot_samples")],
    },
    HotStatement {
        name: "chat: expire an ended session's chat",
        path: "session event (cancelled, completed)",
        sql: lifecycle::EXPIRE_SESSION_CHAT,
        params: &["uuid", "timestamptz"],
        allowance: Some(SESSION_CHAT),
        cases: &[
            case("big ended session (expiry already set)", "SELECT ended_id, now() + interval '24 hours', ended_messages FROM hot_samples"),
            case("heaviest open session", "SELECT open_id, now() + interval '24 hours', open_messages FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: store messages",
        path: "chat_message",
        sql: chat_message::STORE_MESSAGES,
        params: &["uuid[]", "uuid[]", "uuid[]", "text[]", "text[]", "text[]", "text[]", "int8"],
        allowance: None,
        cases: &[
            case("one message to the heaviest open session", "SELECT ARRAY[gen_random_uuid()], ARRAY[open_id], ARRAY[open_seeker], ARRAY['seeker'], ARRAY['k-1'], ARRAY['On my way'], ARRAY[NULL::text], 5000::int8 FROM hot_samples"),
            case(
                "a batch of 64 over 8 open sessions",
                "SELECT array_agg(gen_random_uuid()), array_agg(s.id), array_agg(s.seeker_id), array_agg('seeker'::text),
                        array_agg(NULL::text), array_agg('hello'::text), array_agg(NULL::text), 5000::int8
                 FROM (SELECT id, seeker_id FROM work_sessions WHERE connection_state IN ('waiting', 'active')
                       ORDER BY id LIMIT 8) s CROSS JOIN generate_series(1, 8)",
            ),
            case(
                "a retry (client_message_id stored)",
                "SELECT ARRAY[gen_random_uuid()], ARRAY[m.session_id], ARRAY[m.sender_id], ARRAY[m.sender_type], ARRAY[m.client_message_id],
                        ARRAY['again'], ARRAY[NULL::text], 5000::int8
                 FROM hot_samples h JOIN LATERAL (SELECT * FROM chat_messages WHERE session_id = h.open_id AND client_message_id IS NOT NULL
                                                  ORDER BY seq DESC LIMIT 1) m ON true",
            ),
            case("an ended session", "SELECT ARRAY[gen_random_uuid()], ARRAY[ended_id], ARRAY[ended_seeker], ARRAY['seeker'], ARRAY[NULL::text], ARRAY['late'], ARRAY[NULL::text], 5000::int8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: store messages and push",
        path: "chat_message (push on)",
        sql: chat_message::STORE_MESSAGES_AND_PUSH,
        params: &["uuid[]", "uuid[]", "uuid[]", "text[]", "text[]", "text[]", "text[]", "int8"],
        allowance: None,
        cases: &[case(
            "a batch of 64 over 8 open sessions",
            "SELECT array_agg(gen_random_uuid()), array_agg(s.id), array_agg(s.seeker_id), array_agg('seeker'::text),
                    array_agg(NULL::text), array_agg('hello'::text), array_agg(NULL::text), 5000::int8
             FROM (SELECT id, seeker_id FROM work_sessions WHERE connection_state IN ('waiting', 'active')
                   ORDER BY id LIMIT 8) s CROSS JOIN generate_series(1, 8)",
        )],
    },
    HotStatement {
        name: "chat: the original of a retry",
        path: "chat_message (retry)",
        sql: chat_message::ORIGINAL_MESSAGE,
        params: &["uuid", "text", "text"],
        allowance: None,
        cases: &[
            case(
                "stored",
                "SELECT m.session_id, m.sender_type, m.client_message_id FROM hot_samples h
                 JOIN LATERAL (SELECT * FROM chat_messages WHERE session_id = h.open_id AND client_message_id IS NOT NULL
                               ORDER BY seq DESC LIMIT 1) m ON true",
            ),
            case("unknown", "SELECT open_id, 'seeker', 'never-sent' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: implicit chat start",
        path: "chat_message (first)",
        sql: chat_message::START_CHAT_ONCE,
        params: &["uuid"],
        allowance: None,
        cases: &[case("waiting session", "SELECT wait_id FROM hot_samples")],
    },
    HotStatement {
        name: "chat: receipts",
        path: "message_delivered, message_read",
        sql: receipts::MARK_RECEIPTS,
        params: &["uuid[]", "uuid[]", "text[]", "bool[]"],
        allowance: None,
        cases: &[
            with_setup(
                "five unacknowledged in the heaviest open session, read",
                UNACKNOWLEDGE,
                "SELECT array_agg(m.id), array_agg(h.open_seeker), array_agg('seeker'::text), array_agg(true)
                 FROM hot_samples h JOIN LATERAL (SELECT id FROM chat_messages WHERE session_id = h.open_id
                                                  AND sender_type = 'provider' ORDER BY seq DESC LIMIT 5) m ON true",
            ),
            case(
                "twenty in the big ended session",
                "SELECT array_agg(m.id), array_agg(h.ended_seeker), array_agg('seeker'::text), array_agg(false)
                 FROM hot_samples h JOIN LATERAL (SELECT id FROM chat_messages WHERE session_id = h.ended_id
                                                  AND sender_type = 'provider' ORDER BY seq DESC LIMIT 20) m ON true",
            ),
        ],
    },
    HotStatement {
        name: "chat: start chat",
        path: "start_chat",
        sql: start_chat::START_CHAT,
        params: &["uuid", "uuid", "text"],
        allowance: None,
        cases: &[
            case("heaviest open session", "SELECT open_id, open_seeker, 'seeker' FROM hot_samples"),
            case("waiting session", "SELECT wait_id, wait_provider, 'provider' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "chat: history party check",
        path: "GET /sessions/{id}/messages",
        sql: history::IS_PARTY,
        params: &["uuid", "uuid"],
        allowance: None,
        cases: &[case("party", "SELECT ended_id, ended_seeker FROM hot_samples")],
    },
    HotStatement {
        name: "chat: history before",
        path: "GET /sessions/{id}/messages?before=",
        sql: history::BEFORE_SEQ,
        params: &["uuid", "uuid"],
        allowance: None,
        cases: &[case("a message of the big ended session", "SELECT ended_mid_message, ended_id FROM hot_samples")],
    },
    HotStatement {
        name: "chat: history page",
        path: "GET /sessions/{id}/messages",
        sql: history::PAGE,
        params: &["uuid", "int8", "int8"],
        allowance: None,
        cases: &[
            case("newest page of the big ended session", "SELECT ended_id, NULL::int8, 51::int8 FROM hot_samples"),
            case("the page before its middle", "SELECT ended_id, ended_mid_seq, 51::int8 FROM hot_samples"),
            case("the page before its first", "SELECT ended_id, (SELECT seq FROM chat_messages WHERE id = ended_first_message), 51::int8 FROM hot_samples"),
        ],
    },
    // ---- location -----------------------------------------------------------------------
    HotStatement {
        name: "location: create missing positions",
        path: "location_update (a batch's new sessions); activation",
        sql: positions::CREATE_MISSING,
        params: &["uuid[]", "float8"],
        allowance: None,
        cases: &[
            case("50 open sessions", "SELECT open_ids, 30::float8 FROM hot_samples"),
            case("the big ended session", "SELECT ARRAY[ended_id], 30::float8 FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "location: lock positions",
        path: "location_update (batch)",
        sql: positions::LOCK_POSITIONS,
        params: &["uuid[]"],
        allowance: None,
        cases: &[case("50 open sessions", "SELECT open_ids FROM hot_samples")],
    },
    HotStatement {
        name: "location: write positions",
        path: "location_update (batch)",
        sql: positions::WRITE_POSITIONS,
        params: &[
            "uuid[]", "float8[]", "float8[]", "bool[]", "bool[]", "float8[]", "float8[]", "bool[]",
            "bool[]", "float8[]", "float8[]", "float8[]", "float8[]", "float8[]", "bool[]", "bool[]",
            "bool[]", "timestamptz[]", "text[]", "text[]", "text[]", "text[]", "float8[]",
            "float8[]", "float8[]", "float8[]",
        ],
        allowance: None,
        cases: &[case("the open session", write_args!())],
    },
    HotStatement {
        name: "location: write positions and schedule",
        path: "tick; activation",
        sql: positions::WRITE_POSITIONS_AND_TICK,
        params: &[
            "uuid[]", "float8[]", "float8[]", "bool[]", "bool[]", "float8[]", "float8[]", "bool[]",
            "bool[]", "float8[]", "float8[]", "float8[]", "float8[]", "float8[]", "bool[]", "bool[]",
            "bool[]", "timestamptz[]", "text[]", "text[]", "text[]", "text[]", "float8[]",
            "float8[]", "float8[]", "float8[]", "timestamptz[]",
        ],
        allowance: None,
        cases: &[case("the open session", write_args!(", ARRAY[now() + interval '30 seconds']"))],
    },
    HotStatement {
        name: "location: sessions without positions",
        path: "location_update (not open or unknown)",
        sql: batch::SESSIONS_WITHOUT_POSITIONS,
        params: &["uuid[]"],
        allowance: None,
        cases: &[case("ended and unknown", "SELECT ARRAY[ended_id, nobody] FROM hot_samples")],
    },
    HotStatement {
        name: "location: tick claim",
        path: "distance tick",
        sql: positions::CLAIM_DUE,
        params: &["int8"],
        allowance: None,
        cases: &[case("due now", "SELECT 500::int8")],
    },
    HotStatement {
        name: "location: activation lock",
        path: "session event (activated)",
        sql: positions::LOCK_ONE,
        params: &["uuid"],
        allowance: None,
        cases: &[case("open session", "SELECT open_id FROM hot_samples")],
    },
    HotStatement {
        name: "location: online parties",
        path: "distance tick",
        sql: presence::ONLINE_PARTIES,
        params: &["uuid[]", "text[]"],
        allowance: None,
        cases: &[case(
            "parties of 50 open sessions",
            "SELECT array_agg(u), array_agg(r) FROM hot_samples h, unnest(h.open_ids) AS o(id)
             JOIN work_sessions w ON w.id = o.id,
             LATERAL (VALUES (w.seeker_id, 'seeker'), (w.provider_id, 'provider')) AS p(u, r)",
        )],
    },
    HotStatement {
        name: "location: edge beat",
        path: "edge beat (every 5 s per edge)",
        sql: presence::RECORD_BEAT,
        params: &["uuid"],
        allowance: None,
        cases: &[case("known edge", "SELECT edge_id FROM hot_samples")],
    },
    HotStatement {
        name: "location: ensure and lock presence rows (batch)",
        path: "presence transitions (batched)",
        sql: presence_batch::ENSURE_AND_LOCK_MANY,
        params: &["uuid[]", "text[]"],
        allowance: None,
        cases: &[
            case(
                "known and new",
                "SELECT ARRAY[open_seeker, nobody], ARRAY['seeker', 'provider'] FROM hot_samples",
            ),
            case(
                "two parties",
                "SELECT ARRAY[open_seeker, open_provider], ARRAY['seeker', 'provider'] FROM hot_samples",
            ),
        ],
    },
    HotStatement {
        name: "location: apply edges' transitions and record changed presence (batch)",
        path: "presence transitions (batched)",
        sql: presence_batch::APPLY_AND_SET_CHANGED,
        params: &["uuid[]", "text[]", "uuid[]", "text[]", "uuid[]", "bool[]", "int8[]"],
        allowance: None,
        cases: &[
            case(
                "two parties, on the busiest edge and a new one",
                "SELECT ARRAY[open_seeker, open_provider], ARRAY['seeker', 'provider'],
                        ARRAY[open_seeker, open_provider], ARRAY['seeker', 'provider'], ARRAY[edge_id, nobody],
                        ARRAY[true, false], ARRAY[9000000000000000000, 1]::int8[] FROM hot_samples",
            ),
            with_setup(
                "two parties during a storm (thousands online, statistics from before)",
                MANY_ONLINE,
                "SELECT ARRAY[open_seeker, open_provider], ARRAY['seeker', 'provider'],
                        ARRAY[open_seeker, open_provider], ARRAY['seeker', 'provider'], ARRAY[edge_id, nobody],
                        ARRAY[true, false], ARRAY[9000000000000000000, 1]::int8[] FROM hot_samples",
            ),
        ],
    },
    HotStatement {
        name: "location: open sessions of seekers (batch)",
        path: "presence transitions (batched, seekers)",
        sql: presence::SEEKER_STATEMENTS.open_sessions,
        params: &["uuid[]"],
        allowance: None,
        cases: &[case(
            "one open, one with the most history and none open",
            "SELECT ARRAY[open_seeker, idle_seeker] FROM hot_samples",
        )],
    },
    HotStatement {
        name: "location: open sessions of providers (batch)",
        path: "presence transitions (batched, providers)",
        sql: presence::PROVIDER_STATEMENTS.open_sessions,
        params: &["uuid[]"],
        allowance: None,
        cases: &[case(
            "one open, one with the most history and none open",
            "SELECT ARRAY[open_provider, idle_provider] FROM hot_samples",
        )],
    },
    HotStatement {
        name: "location: clear seekers' stale flags (batch)",
        path: "presence transitions (batched, seekers)",
        sql: presence::SEEKER_STATEMENTS.clear_stale_many,
        params: &["uuid[]", "bool", "float8"],
        allowance: None,
        cases: &[case("open session", "SELECT ARRAY[open_id], true, 60::float8 FROM hot_samples")],
    },
    HotStatement {
        name: "location: clear providers' stale flags (batch)",
        path: "presence transitions (batched, providers)",
        sql: presence::PROVIDER_STATEMENTS.clear_stale_many,
        params: &["uuid[]", "bool", "float8"],
        allowance: None,
        cases: &[case("open session", "SELECT ARRAY[open_id], false, 60::float8 FROM hot_samples")],
    },
    HotStatement {
        name: "location: peer of a seeker",
        path: "connect (seeker)",
        sql: presence::SEEKER_STATEMENTS.peer,
        params: &["uuid", "text"],
        allowance: None,
        cases: &[
            case("open", "SELECT open_seeker, 'provider' FROM hot_samples"),
            case("seeker with the most history, none open", "SELECT idle_seeker, 'provider' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "location: peer of a provider",
        path: "connect (provider)",
        sql: presence::PROVIDER_STATEMENTS.peer,
        params: &["uuid", "text"],
        allowance: None,
        cases: &[
            case("open", "SELECT open_provider, 'seeker' FROM hot_samples"),
            case("provider with the most history, none open", "SELECT idle_provider, 'seeker' FROM hot_samples"),
        ],
    },
    HotStatement {
        name: "location: dead edges",
        path: "presence sweep (every 5 s)",
        sql: presence::DEAD_EDGES,
        params: &["float8"],
        allowance: None,
        cases: &[case("15 s", "SELECT 15::float8")],
    },
    HotStatement {
        name: "location: a dead edge's sockets",
        path: "presence sweep",
        sql: presence::EDGE_SOCKETS,
        params: &["uuid"],
        allowance: None,
        cases: &[
            case("busiest edge, all offline", "SELECT edge_id FROM hot_samples"),
            with_setup(
                "busiest edge, ten online",
                "UPDATE presence_sockets SET online = true WHERE (user_id, role, edge_id) IN (
                     SELECT p.user_id, p.role, p.edge_id FROM presence_sockets p, hot_samples h
                     WHERE p.edge_id = h.edge_id ORDER BY p.user_id LIMIT 10)",
                "SELECT edge_id FROM hot_samples",
            ),
        ],
    },
    HotStatement {
        name: "location: mark an edge gone",
        path: "presence sweep",
        sql: presence::MARK_EDGE_GONE,
        params: &["uuid", "float8"],
        allowance: None,
        cases: &[case("busiest edge", "SELECT edge_id, 0::float8 FROM hot_samples")],
    },
    HotStatement {
        name: "location: edges gone for an hour",
        path: "presence sweep",
        sql: presence::FORGOTTEN_EDGES,
        params: &[],
        allowance: None,
        cases: &[with_setup(
            "one",
            "UPDATE presence_edges SET gone_at = now() - interval '2 hours' WHERE edge_id = (SELECT edge_id FROM hot_samples)",
            "SELECT",
        )],
    },
    HotStatement {
        name: "location: forget an edge's sockets",
        path: "presence sweep",
        sql: presence::FORGET_EDGE_SOCKETS,
        params: &["uuid"],
        allowance: None,
        cases: &[case("busiest edge", "SELECT edge_id FROM hot_samples")],
    },
    HotStatement {
        name: "location: forget an edge",
        path: "presence sweep",
        sql: presence::FORGET_EDGE,
        params: &["uuid"],
        allowance: None,
        cases: &[with_setup(
            "gone edge",
            "UPDATE presence_edges SET gone_at = now() - interval '2 hours' WHERE edge_id = (SELECT edge_id FROM hot_samples)",
            "SELECT edge_id FROM hot_samples",
        )],
    },
    // ---- cleanup and push ---------------------------------------------------------------
    HotStatement {
        name: "cleanup: expired chat messages",
        path: "cleanup job chat_messages (batch)",
        sql: chat_messages::DELETE_EXPIRED,
        params: &["int8"],
        allowance: None,
        cases: &[
            case("nothing due", "SELECT 1000::int8"),
            with_setup(
                "twenty due",
                "UPDATE chat_messages SET expires_at = now() - interval '1 hour'
                 WHERE id IN (SELECT m.id FROM chat_messages m, hot_samples h
                              WHERE m.session_id = h.ended_id ORDER BY m.seq LIMIT 20)",
                "SELECT 1000::int8",
            ),
        ],
    },
    HotStatement {
        name: "cleanup: expire pending orders",
        path: "cleanup job work_orders (batch)",
        sql: order_jobs::EXPIRE_ORDERS,
        params: &["float8", "int8"],
        allowance: None,
        cases: &[
            case("nothing due", "SELECT 600::float8, 1000::int8"),
            with_setup("one due of three pending", PENDING_ORDERS, "SELECT 600::float8, 1000::int8"),
        ],
    },
    HotStatement {
        name: "cleanup: clear ended sessions",
        path: "cleanup job session_locations (batch)",
        sql: session_locations::CLEAR_SESSIONS,
        params: &["int4", "int8"],
        allowance: None,
        cases: &[
            case("nothing due", "SELECT 24, 1000::int8"),
            with_setup(
                "ten due",
                "UPDATE work_sessions SET location_cleared_at = NULL WHERE id IN (
                     SELECT id FROM work_sessions WHERE connection_state IN ('cancelled', 'completed')
                     AND location_cleared_at IS NOT NULL ORDER BY id LIMIT 10)",
                "SELECT 24, 1000::int8",
            ),
        ],
    },
    HotStatement {
        name: "cleanup: clear unanswered orders",
        path: "cleanup job session_locations (batch)",
        sql: session_locations::CLEAR_UNANSWERED_ORDERS,
        params: &["int4", "int8"],
        allowance: None,
        cases: &[case("retention 24 h", "SELECT 24, 1000::int8")],
    },
    HotStatement {
        name: "cleanup: purge finished push events",
        path: "cleanup job push_events (batch)",
        sql: push_events::PURGE_FINISHED,
        params: &["int4", "int8"],
        allowance: None,
        cases: &[
            case("retention 24 h", "SELECT 24, 1000::int8"),
            case("retention 0 h (all finished)", "SELECT 0, 1000::int8"),
        ],
    },
    HotStatement {
        name: "push: claim due events",
        path: "push sender (every 250 ms when idle)",
        sql: push_events::CLAIM,
        params: &["int8", "float8"],
        allowance: None,
        cases: &[
            case("nothing due", "SELECT 32::int8, 30::float8"),
            with_setup(
                "five due",
                "INSERT INTO push_events (event_id, body) SELECT gen_random_uuid(), '{}' FROM generate_series(1, 5)",
                "SELECT 32::int8, 30::float8",
            ),
        ],
    },
    HotStatement {
        name: "push: record sent",
        path: "push sender",
        sql: push_events::RECORD_SENT,
        params: &["uuid"],
        allowance: None,
        cases: &[with_setup(
            "claimed event",
            "INSERT INTO push_events (event_id, body, tries) VALUES ('00000000-0000-4000-8000-00000000beef', '{}', 1)",
            "SELECT '00000000-0000-4000-8000-00000000beef'::uuid",
        )],
    },
    HotStatement {
        name: "push: record a failure",
        path: "push sender",
        sql: push_events::RECORD_FAILURE,
        params: &["uuid", "int4", "bool", "float8", "text"],
        allowance: None,
        cases: &[with_setup(
            "claimed event",
            "INSERT INTO push_events (event_id, body, tries) VALUES ('00000000-0000-4000-8000-00000000beef', '{}', 1)",
            "SELECT '00000000-0000-4000-8000-00000000beef'::uuid, 1, false, 2::float8, 'status 503'",
        )],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parameters_match() {
        let mut names = std::collections::HashSet::new();
        for statement in CATALOGUE {
            assert!(names.insert(statement.name), "{}", statement.name);
            let highest = (1..=40)
                .rev()
                .find(|n| statement.sql.contains(&format!("${n}")))
                .unwrap_or(0);
            assert_eq!(highest, statement.params.len(), "{}", statement.name);
            assert!(!statement.cases.is_empty(), "{}", statement.name);
        }
    }
}
