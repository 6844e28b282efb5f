-- How many messages each session's chat holds, kept by the chat store in the same
-- statement as the inserts, so the per-session cap (TETHER_CHAT_MAX_MESSAGES_PER_SESSION)
-- costs one row read per session per batch instead of a count over the messages. Only
-- `messages` changes, and it is not indexed: every increment is a HOT update.
CREATE TABLE chat_session_counts (
    session_id uuid PRIMARY KEY REFERENCES work_sessions (id),
    messages   integer NOT NULL CHECK (messages >= 0)
) WITH (fillfactor = 50);

INSERT INTO chat_session_counts (session_id, messages)
SELECT session_id, count(*) FROM chat_messages GROUP BY session_id;
