-- Protocol 1.1: the tamper-evident session timeline, and contact masking in chat.
--
-- session_timeline is append-only: one row per event, `seq` 1, 2, 3, ... per session. An
-- append locks the session's work_sessions row (FOR NO KEY UPDATE; every transition
-- already holds that lock) before it reads the last event, so appends to one session are
-- serialized and the primary key never sees two writers for one seq. `hash` is the
-- lowercase hex SHA-256 of `prev_hash` followed by the RFC 8785 canonical JSON of the
-- event without `hash` (see tether_proto::timeline). `at` is stored truncated to the
-- millisecond, so the event read back re-serialises to exactly what was hashed.
CREATE TABLE session_timeline (
    session_id uuid NOT NULL REFERENCES work_sessions (id),
    seq        bigint NOT NULL CHECK (seq >= 1),
    type       text NOT NULL CHECK (type IN ('work_created', 'work_accepted', 'chat_started',
                                             'mediums_selected', 'mediums_shared',
                                             'session_active', 'arrival', 'cancelled',
                                             'completed')),
    at         timestamptz NOT NULL CHECK (at = date_trunc('milliseconds', at)),
    actor_role text NOT NULL CHECK (actor_role IN ('seeker', 'provider', 'system')),
    data       jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
    prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash       text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (session_id, seq)
);

-- Contact masking: a message stored while its session was waiting has its phone numbers,
-- messenger links and handles replaced by `[hidden]`. Replacement can lengthen a text of
-- up to 2000 characters (the limit applies to the text as sent; "[hidden]" replaces as
-- few as 5 characters), so the stored text may be up to 4000 characters.
ALTER TABLE chat_messages ADD COLUMN redacted boolean NOT NULL DEFAULT false;
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_message_check;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_message_check
    CHECK (char_length(message) BETWEEN 1 AND 4000);
