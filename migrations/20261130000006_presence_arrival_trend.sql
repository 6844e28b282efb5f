-- Protocol 1.1: presence across ws-edge instances, arrival stages, trend and ETA.
--
-- Presence. Each ws-edge reports, per (user, role), when its own count of that user's
-- sockets goes from 0 to 1 and from 1 to 0, with a sequence number that grows per edge
-- (so an "offline" handled before the "online" it follows cannot resurrect a socket), and
-- beats every few seconds. The location service keeps one row per (user, role, edge) in
-- presence_sockets and one per (user, role) in user_presence: `online` is true while any
-- live edge holds a socket of that user in that role. An edge that stops beating is swept:
-- its rows go offline as if its sockets had closed. These tables change only on those
-- transitions, never per frame.
CREATE TABLE presence_edges (
    edge_id  uuid PRIMARY KEY,
    beat_at  timestamptz NOT NULL
);

CREATE TABLE presence_sockets (
    user_id    uuid NOT NULL,
    role       text NOT NULL CHECK (role IN ('seeker', 'provider')),
    edge_id    uuid NOT NULL,
    online     boolean NOT NULL,
    -- The edge's sequence number of the last transition applied (per edge, increasing).
    seq        bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role, edge_id)
);
-- The sweep of a dead edge finds its online rows through this.
CREATE INDEX presence_sockets_online_edge ON presence_sockets (edge_id) WHERE online;

CREATE TABLE user_presence (
    user_id  uuid NOT NULL,
    role     text NOT NULL CHECK (role IN ('seeker', 'provider')),
    -- Any socket of this user for this role open on a live edge.
    online   boolean NOT NULL,
    -- When `online` last changed (the user's last socket transition).
    seen_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, role)
);

-- Per session, in the narrow HOT table of positions (none of these columns is indexed, so
-- writing them with a move keeps the update HOT):
--   <role>_seen_at   the party's last fix, precise or coarse (presence's last_seen);
--   <role>_stale     "stale" was reported for the party and no precise fix came since;
--   activated_at     when the session became active (the stale clock starts there);
--   arrival_stage    the closest arrival stage announced (each is announced once);
--   recent_*         the distances computed in the last 120 s and their times (epoch
--                    seconds), oldest first: the trend and ETA are computed from them.
ALTER TABLE session_positions
    ADD COLUMN seeker_seen_at      timestamptz,
    ADD COLUMN provider_seen_at    timestamptz,
    ADD COLUMN seeker_stale        boolean NOT NULL DEFAULT false,
    ADD COLUMN provider_stale      boolean NOT NULL DEFAULT false,
    ADD COLUMN activated_at        timestamptz,
    ADD COLUMN arrival_stage       text CHECK (arrival_stage IN ('approaching_500', 'approaching_100', 'arrived')),
    ADD COLUMN recent_distances    double precision[] NOT NULL DEFAULT '{}',
    ADD COLUMN recent_distance_at  double precision[] NOT NULL DEFAULT '{}';
