-- The presence sweep forgets a gone edge's rows by its id (they were found by scanning
-- every offline row of every user).
CREATE INDEX IF NOT EXISTS presence_sockets_edge ON presence_sockets (edge_id);
