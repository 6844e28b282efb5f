-- A presence transition in one statement: what services/location/src/presence.rs did in
-- up to six statements inside one transaction (its module docs give the rules), now one
-- call of this function, so a socket opening or closing costs one round trip and one
-- commit instead of eight round trips (it ran four times per session lifecycle: each
-- party's socket opening and closing). Same locks in the same order: the (user, role)
-- row of user_presence first, then the edge's presence_sockets row, then the session's
-- session_positions row.
--
-- Returns one row: whether the user's presence changed (o_changed) and, when it did,
-- the new state, its time, and the user's open session in that role (NULLs if none)
-- whose other party is to be told.
CREATE FUNCTION presence_apply(p_user uuid, p_role text, p_edge uuid, p_online boolean,
                               p_seq bigint, p_stale_after double precision)
RETURNS TABLE (o_changed boolean, o_online boolean, o_seen_at timestamptz,
               o_session_id uuid, o_other_user uuid, o_created_at timestamptz,
               o_fix_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    was_online boolean;
BEGIN
    INSERT INTO user_presence (user_id, role, online, seen_at)
    VALUES (p_user, p_role, false, now())
    ON CONFLICT (user_id, role) DO NOTHING;
    SELECT u.online INTO was_online
    FROM user_presence u
    WHERE u.user_id = p_user AND u.role = p_role
    FOR UPDATE;
    -- The edge's row takes the event unless it already holds a later one; online = any
    -- edge holds a socket (this edge's row as it is now when the event was stale).
    WITH applied AS (
        INSERT INTO presence_sockets AS s (user_id, role, edge_id, online, seq)
        VALUES (p_user, p_role, p_edge, p_online, p_seq)
        ON CONFLICT (user_id, role, edge_id) DO UPDATE
            SET online = excluded.online, seq = excluded.seq, changed_at = now()
            WHERE s.seq < excluded.seq
        RETURNING s.online)
    SELECT coalesce((SELECT a.online FROM applied a), false)
        OR EXISTS (SELECT 1 FROM presence_sockets s
                   WHERE s.user_id = p_user AND s.role = p_role AND s.online
                     AND s.edge_id <> p_edge)
        OR (NOT EXISTS (SELECT 1 FROM applied)
            AND EXISTS (SELECT 1 FROM presence_sockets s
                        WHERE s.user_id = p_user AND s.role = p_role AND s.online
                          AND s.edge_id = p_edge))
    INTO o_online;
    o_changed := was_online IS DISTINCT FROM o_online;
    IF NOT o_changed THEN
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE user_presence u SET online = o_online, seen_at = now()
    WHERE u.user_id = p_user AND u.role = p_role
    RETURNING u.seen_at INTO o_seen_at;
    -- The user's open session in that role: its stale flag for this party clears, and
    -- the tick looks at it when the party could first go stale.
    -- One arm per role, so each looks the user up in its own one-open-session index.
    SELECT o.id, o.other, o.created_at,
           CASE WHEN p_role = 'seeker' THEN p.seeker_seen_at ELSE p.provider_seen_at END
    INTO o_session_id, o_other_user, o_created_at, o_fix_at
    FROM (SELECT w.id, w.provider_id AS other, w.created_at FROM work_sessions w
          WHERE p_role = 'seeker' AND w.seeker_id = p_user
            AND w.connection_state IN ('waiting', 'active')
          UNION ALL
          SELECT w.id, w.seeker_id, w.created_at FROM work_sessions w
          WHERE p_role = 'provider' AND w.provider_id = p_user
            AND w.connection_state IN ('waiting', 'active')) AS o
    LEFT JOIN session_positions p ON p.session_id = o.id;
    IF FOUND THEN
        UPDATE session_positions
        SET seeker_stale = seeker_stale AND p_role <> 'seeker',
            provider_stale = provider_stale AND p_role <> 'provider',
            tick_at = CASE WHEN o_online
                           THEN least(tick_at, now() + make_interval(secs => p_stale_after))
                           ELSE tick_at END
        WHERE session_id = o_session_id;
    END IF;
    RETURN NEXT;
END
$$;
