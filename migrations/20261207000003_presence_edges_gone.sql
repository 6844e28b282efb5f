-- An edge the presence sweep found dead is kept (gone_at set) until its rows in
-- presence_sockets are forgotten an hour later, by its id; a beat from it clears gone_at.
ALTER TABLE presence_edges ADD COLUMN gone_at timestamptz;
