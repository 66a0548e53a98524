-- Team job events (API.md section 4, team part) and event-log retention.

-- Publishing a job event from the application's own transaction. The event goes to the
-- stream 'team:<team>' of tenant <team>; subscribers see it if and when that transaction
-- commits (herald.publish holds the head-row lock until then). Stored form: type = status,
-- data = {"job": <job>, "data": <data>} ("job" sorts first in jsonb, so the per-connection
-- job filter finds it without reading the payload). The SSE renderer of kind 'team' turns it
-- into {"job_id","status","data","created_at"}.
CREATE FUNCTION herald.publish_job_event(p_team text, p_job text, p_status text, p_data jsonb)
    RETURNS bigint
    LANGUAGE plpgsql AS
$$
BEGIN
    IF p_team IS NULL OR p_team !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid team %', p_team USING ERRCODE = '22023';
    END IF;
    IF p_job IS NULL OR p_job !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid job %', p_job USING ERRCODE = '22023';
    END IF;
    IF p_status IS NULL OR p_status NOT IN ('queued', 'running', 'progress', 'completed', 'failed') THEN
        RAISE EXCEPTION 'herald: invalid job status % (queued|running|progress|completed|failed)', p_status USING ERRCODE = '22023';
    END IF;
    IF p_data IS NOT NULL AND jsonb_typeof(p_data) NOT IN ('object', 'null') THEN
        RAISE EXCEPTION 'herald: job event data must be a JSON object' USING ERRCODE = '22023';
    END IF;
    RETURN herald.publish(p_team, 'team:' || p_team, p_status,
                          jsonb_build_object('job', p_job, 'data',
                                             CASE WHEN p_data IS NULL OR jsonb_typeof(p_data) = 'null'
                                                  THEN '{}'::jsonb ELSE p_data END));
END
$$;

-- Retention applies to event-log stream kinds ONLY: 'user:' and 'team:'. Inbox ('inbox:'),
-- chat ('chat:') and chat-list ('chats:') streams hold users' own data, which they delete
-- themselves. This is the one place the list lives (the index below and the janitor's query
-- both use it); changing it needs a migration that recreates the function AND the index.
CREATE FUNCTION herald.retention_applies(p_stream text)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
SELECT split_part(p_stream, ':', 1) IN ('user', 'team')
$$;

-- The janitor finds old event-log rows without wading through old inbox/chat rows, which
-- it never deletes and which would otherwise be rescanned on every run.
CREATE INDEX events_retained_created_at ON herald.events (created_at)
    WHERE herald.retention_applies(stream);

-- Streams with event-log rows older than p_max_age, each with the highest old cursor found,
-- from a bounded sample of at most p_limit rows (the janitor calls again until none remain).
CREATE FUNCTION herald.retention_candidates(p_max_age interval, p_limit integer)
    RETURNS TABLE (tenant text, stream text, through bigint)
    LANGUAGE sql STABLE AS
$$
SELECT s.tenant, s.stream, max(s.cursor)
FROM (SELECT e.tenant, e.stream, e.cursor
      FROM herald.events e
      WHERE herald.retention_applies(e.stream)
        AND e.created_at < now() - p_max_age
      LIMIT p_limit) s
GROUP BY s.tenant, s.stream
$$;

-- Deletes at most p_batch rows of one stream's prefix up to p_through and advances
-- pruned_through to match, in the caller's (short) transaction; returns the rows deleted.
-- Cursors stay a prefix: every cursor <= pruned_through is gone (an event older than
-- retention takes any younger predecessor with it, which commit-ordered created_at makes
-- rare). The head row is touched last, by one short UPDATE right before commit, so a
-- publisher waits at most for that commit; if a writer holds the row (an open transaction
-- that published), lock_timeout gives up, everything rolls back and the next run retries.
-- Safe to run concurrently: GREATEST keeps pruned_through monotonic.
CREATE FUNCTION herald.prune_stream(p_tenant text, p_stream text, p_through bigint, p_batch integer)
    RETURNS integer
    LANGUAGE plpgsql
    SET lock_timeout = '2s' AS
$$
DECLARE
    pt bigint;
    hd bigint;
    upto bigint;
    n integer;
BEGIN
    IF NOT herald.retention_applies(p_stream) THEN
        RAISE EXCEPTION 'herald: retention does not apply to stream %', p_stream USING ERRCODE = '22023';
    END IF;
    SELECT s.pruned_through, s.head INTO pt, hd FROM herald.streams s WHERE s.tenant = p_tenant AND s.stream = p_stream;
    IF NOT FOUND OR pt >= p_through THEN
        RETURN 0;
    END IF;
    upto := least(p_through, hd, pt + greatest(p_batch, 1));
    IF upto <= pt THEN
        RETURN 0;
    END IF;
    DELETE FROM herald.events e
    WHERE e.tenant = p_tenant AND e.stream = p_stream AND e.cursor > pt AND e.cursor <= upto;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE herald.streams s SET pruned_through = greatest(s.pruned_through, upto)
    WHERE s.tenant = p_tenant AND s.stream = p_stream;
    RETURN n;
END
$$;
