-- Statements whose cost grew with history (issue 20's audit on a seeded database):
-- the location-retention job clears the point of each ended session's order through
-- work_orders.session_id, which had no index, so every batch read all orders.
-- Not CONCURRENTLY: sqlx holds an advisory lock while it migrates and other instances
-- wait for it inside a statement, which CREATE INDEX CONCURRENTLY would wait for in turn
-- (a deadlock). A plain build holds writes to work_orders for its duration: about a
-- second per million orders.
CREATE INDEX IF NOT EXISTS work_orders_session ON work_orders (session_id)
    WHERE session_id IS NOT NULL;
