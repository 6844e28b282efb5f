-- Chat hot paths that do not depend on (auto)vacuum.
--
-- Receipts change only `delivery_status`, `delivered_at` and `read_at`. With no index on
-- any of them, and free room on each page (fillfactor), every receipt is a HOT update:
-- no new index entries, and the old version is pruned from its page without a VACUUM.
-- The re-send on connect reads a session's messages through chat_messages_session_seq.
DROP INDEX IF EXISTS chat_messages_undelivered;
ALTER TABLE chat_messages SET (fillfactor = 60);

-- Typing indicators are latest-wins and go to connected sockets only; nothing read the
-- rows but their own cleanup job, so the chat service no longer writes them.
DROP TABLE IF EXISTS typing_indicators;
