-- Session positions move out of work_sessions into a narrow table of their own.
--
-- Every location_update used to rewrite the whole ~0.5 KB work_sessions row with all its
-- index entries (not a HOT update: the coordinates were in the predicate of the partial
-- index work_sessions_tick_due), so without autovacuum the table filled with dead tuples.
-- Here a location update changes only unindexed, fixed-width columns of a row that sits
-- on a page kept 40 % free (fillfactor 60): every such update is a HOT update, and the
-- page prunes its own dead versions without vacuum.
--
-- The only index besides the primary key is on tick_at, which only the distance tick
-- (and activation) writes, at most about once per session per interval: the tick finds
-- its due sessions through it (O(due sessions)), and location updates never touch it.
--
-- One row per session, created by the location service with the session's first
-- location_update (INSERT ... ON CONFLICT DO NOTHING), deleted by the cleanup job
-- `session_locations` once the session has been over for the retention period.
CREATE TABLE session_positions (
    session_id                uuid PRIMARY KEY REFERENCES work_sessions (id) ON DELETE CASCADE,
    seeker_latitude           double precision CHECK (seeker_latitude BETWEEN -90 AND 90),
    seeker_longitude          double precision CHECK (seeker_longitude BETWEEN -180 AND 180),
    seeker_location_at        timestamptz,
    provider_latitude         double precision CHECK (provider_latitude BETWEEN -90 AND 90),
    provider_longitude        double precision CHECK (provider_longitude BETWEEN -180 AND 180),
    provider_location_at      timestamptz,
    -- Each party's position when the last distance update was sent: the 50 m rule's anchor.
    seeker_anchor_latitude    double precision,
    seeker_anchor_longitude   double precision,
    provider_anchor_latitude  double precision,
    provider_anchor_longitude double precision,
    current_distance_meters   double precision CHECK (current_distance_meters >= 0),
    last_distance_update      timestamptz,
    -- When the tick looks at this session next (written by the tick and activation only;
    -- 'infinity' once the session has ended).
    tick_at                   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 60);

CREATE INDEX session_positions_tick_at ON session_positions (tick_at);

-- Positions of open sessions move over; the old columns are no longer written (a later
-- migration may drop them). Ended sessions keep theirs in work_sessions until the
-- cleanup job clears them as before.
INSERT INTO session_positions (
    session_id, seeker_latitude, seeker_longitude, seeker_location_at,
    provider_latitude, provider_longitude, provider_location_at,
    seeker_anchor_latitude, seeker_anchor_longitude,
    provider_anchor_latitude, provider_anchor_longitude,
    current_distance_meters, last_distance_update, tick_at)
SELECT id, seeker_latitude, seeker_longitude, seeker_location_at,
       provider_latitude, provider_longitude, provider_location_at,
       seeker_anchor_latitude, seeker_anchor_longitude,
       provider_anchor_latitude, provider_anchor_longitude,
       current_distance_meters, last_distance_update, now()
FROM work_sessions
WHERE connection_state IN ('waiting', 'active')
  AND num_nonnulls(seeker_latitude, provider_latitude, current_distance_meters) > 0;

-- The tick no longer reads work_sessions; its index only cost every session update.
DROP INDEX IF EXISTS work_sessions_tick_due;
