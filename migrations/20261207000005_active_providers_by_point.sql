-- The nearby-providers search (issue 20, found by tests/tests/ops_plans.rs) measured the
-- distance to every active provider on earth: it now reads only those inside the search's
-- bounding box, through this GiST index on their points (longitude, latitude).
-- Not CONCURRENTLY: sqlx migrates under an advisory lock that other starting instances
-- wait for inside a statement, which a concurrent build would wait for in turn (a
-- deadlock, seen in the fault tests); the table is one row per provider.
CREATE INDEX IF NOT EXISTS provider_active_status_active_point ON provider_active_status
    USING gist (point(longitude, latitude)) WHERE is_active AND latitude IS NOT NULL;
