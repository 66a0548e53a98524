-- Retention (HERALD_RETENTION) prunes the event log of every stream kind (docs/adr/0120):
-- 'user:', 'team:', 'inbox:', 'chats:' (a user's chat list) and 'config:'. What those events
-- describe lives in its own tables and stays (herald.inbox_notifications, herald.chats,
-- herald.config_entries); a client whose cursor was pruned gets `reset` and re-lists.
-- A chat's own message stream ('chat:<id>') is its content: kept for the chat's lifetime.
--
-- Both functions replaced here stay Herald's own (the database boundary, V60): CREATE OR
-- REPLACE keeps their privileges (herald_app was never granted them), and the REVOKE at the
-- end states that PUBLIC has none. They are not SECURITY DEFINER: only Herald's role calls
-- them (and the publish functions, which run as that role, through the partial index).
--
-- The partial index below is defined by this function, so it is dropped first and rebuilt
-- after (an index over an IMMUTABLE function whose result changed would be silently wrong).
DROP INDEX herald.events_retained_created_at;

CREATE OR REPLACE FUNCTION herald.retention_applies(p_stream text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT split_part(p_stream, ':', 1) IN ('user', 'team', 'inbox', 'chats', 'config')
$$;

-- What herald.retention_candidates walks: rows of retained kinds by age, never chat messages.
CREATE INDEX events_retained_created_at ON herald.events (created_at)
    WHERE herald.retention_applies(stream);

-- The oldest rows first: ORDER BY makes the walk of that index (stopping after p_limit rows)
-- the plan even when the age is a bind parameter (a generic plan cannot know how many rows
-- are old and would otherwise weigh a sequential scan).
CREATE OR REPLACE FUNCTION herald.retention_candidates(p_max_age interval, p_limit integer)
    RETURNS TABLE (tenant text, stream text, through bigint)
    LANGUAGE sql STABLE AS
$$
SELECT s.tenant, s.stream, max(s.cursor)
FROM (SELECT e.tenant, e.stream, e.cursor
      FROM herald.events e
      WHERE herald.retention_applies(e.stream)
        AND e.created_at < now() - p_max_age
      ORDER BY e.created_at
      LIMIT p_limit) s
GROUP BY s.tenant, s.stream
$$;

-- No query reads events by created_at outside retained kinds: readers walk the primary key
-- (tenant, stream, cursor) and the janitor the partial index above (TestRetentionPlans).
DROP INDEX herald.events_created_at;

REVOKE ALL ON FUNCTION herald.retention_applies(text), herald.retention_candidates(interval, integer) FROM PUBLIC;
