-- Retention: an order's point and description are kept only as long as its session's
-- coordinates (TETHER_LOCATION_RETENTION_H after the end), or as long after the answer
-- for an order that never became a session. The cleanup job clears them.
ALTER TABLE work_orders ALTER COLUMN latitude DROP NOT NULL,
                        ALTER COLUMN longitude DROP NOT NULL;
ALTER TABLE work_orders ADD CONSTRAINT work_orders_point_whole
    CHECK ((latitude IS NULL) = (longitude IS NULL));
-- The job finds answered orders without a session that still hold their point: O(due).
CREATE INDEX work_orders_unanswered_with_point ON work_orders (responded_at)
    WHERE session_id IS NULL AND latitude IS NOT NULL AND status <> 'pending';
