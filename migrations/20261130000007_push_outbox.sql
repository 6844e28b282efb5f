-- Protocol 1.1: push webhooks for users with no open socket, through an outbox.
--
-- A row is inserted in the same statement that stores what it announces (a chat message,
-- a work order), only while push is on and the addressee is offline (user_presence). Its
-- body is fixed then: every try signs and sends these exact bytes. The cleanup service's
-- sender claims due rows (FOR UPDATE SKIP LOCKED on the partial index below), POSTs them
-- and records the outcome: `sent_at` after a 2xx, or the next `due_at` after a failure,
-- or `given_up_at` after the last try. `due_at` is NULL exactly when the event is
-- finished (sent or given up), so finished rows leave the sender's index for good.
CREATE TABLE push_events (
    event_id     uuid PRIMARY KEY,
    -- The exact JSON text that is signed and POSTed (see push_event_body).
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Tries started so far (a claim counts as a try, so a sender that dies mid-POST uses
    -- one up).
    tries        integer NOT NULL DEFAULT 0,
    -- When the next try may start; while a try runs, the end of the claim's lease.
    due_at       timestamptz DEFAULT now(),
    sent_at      timestamptz,
    given_up_at  timestamptz,
    -- Why the last try failed ("status 500", "timeout", ...), for operators.
    last_failure text,
    CHECK ((due_at IS NULL) = (sent_at IS NOT NULL OR given_up_at IS NOT NULL))
);

-- The sender's claim: unfinished events by due time.
CREATE INDEX push_events_due ON push_events (due_at) WHERE due_at IS NOT NULL;
-- The retention job: finished events by age.
CREATE INDEX push_events_finished ON push_events (created_at) WHERE due_at IS NULL;

-- The webhook body, in one place for every statement that enqueues an event:
-- {event_id, type, user_id, role, work_id | session_id, at}, compact JSON, the absent id
-- left out (json_strip_nulls), `at` as the wire's timestamps (UTC, milliseconds, Z).
CREATE FUNCTION push_event_body(event_id uuid, type text, user_id uuid, role text,
                                work_id bigint, session_id uuid, at timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_strip_nulls(json_build_object(
        'event_id', event_id,
        'type', type,
        'user_id', user_id,
        'role', role,
        'work_id', work_id,
        'session_id', session_id,
        'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    ))::text
$$;
