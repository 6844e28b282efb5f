-- Statements whose cost grew with history (issue 20, found by tests/tests/ops_plans.rs):
-- creating a work order counts the seeker's pending orders, which read every order the
-- seeker ever placed through work_orders_seeker. This index holds pending orders only,
-- like work_orders_pending_by_provider for the provider's count. Not CONCURRENTLY:
-- sqlx migrates under an advisory lock that other starting instances wait for inside a
-- statement, which a concurrent build would wait for in turn (a deadlock, seen in the
-- fault tests). The build holds writes to the table for about a second per million rows.
CREATE INDEX IF NOT EXISTS work_orders_pending_by_seeker ON work_orders (seeker_id, created_at)
    WHERE status = 'pending';
