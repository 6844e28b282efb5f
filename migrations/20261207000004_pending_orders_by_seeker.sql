-- no-transaction
-- Statements whose cost grew with history (issue 20, found by tests/tests/ops_plans.rs):
-- creating a work order counts the seeker's pending orders, which read every order the
-- seeker ever placed through work_orders_seeker. This index holds pending orders only,
-- like work_orders_pending_by_provider for the provider's count. CONCURRENTLY: orders go
-- on meanwhile.
CREATE INDEX CONCURRENTLY IF NOT EXISTS work_orders_pending_by_seeker ON work_orders (seeker_id, created_at)
    WHERE status = 'pending';
