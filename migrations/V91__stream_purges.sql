-- Streams whose owner was deleted (a chat), purged later by the retention janitor rather than
-- in the deleting transaction (docs/adr/0120): a message committed just before the deletion and
-- not yet fetched by a replica with open streams of the chat would otherwise reach them as
-- `reset` instead of the message. The deletion queues the stream here, and the janitor purges
-- it in two steps, in short batched transactions:
--   1. once the deletion is older than HERALD_PURGE_DELAY: every event below `through` (the
--      final `deleted` event), and pruned_through follows, so a stream still that far behind
--      gets `reset` then `deleted`;
--   2. once it is older than HERALD_RETENTION too: the rest (the final event) and the stream's
--      head row, and the queue row. Nothing of the stream is left.
-- The owner guarantees nothing is published to a queued stream (herald.post_chat_message needs
-- the chat row); every route answers 404 for a deleted chat from the deletion's commit.
--
-- The database boundary (V60): the table and both functions are Herald's own. Nothing is
-- granted to herald_app, and the REVOKEs at the end state that PUBLIC has nothing either
-- (V60's default privileges already withhold EXECUTE on new functions). The functions are not
-- SECURITY DEFINER: only Herald's role calls them.
CREATE TABLE herald.stream_purges (
    tenant       text        NOT NULL,
    stream       text        NOT NULL,
    through      bigint      NOT NULL,
    deleted_at   timestamptz NOT NULL DEFAULT now(),
    below_purged boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, stream)
);
CREATE INDEX stream_purges_deleted_at ON herald.stream_purges (deleted_at);

-- Queued streams with a purge step due, oldest deletion first.
CREATE FUNCTION herald.stream_purges_due(p_delay interval, p_retention interval, p_limit integer)
    RETURNS TABLE (tenant text, stream text)
    LANGUAGE sql STABLE AS
$$
SELECT p.tenant, p.stream
FROM herald.stream_purges p
WHERE (NOT p.below_purged AND p.deleted_at < now() - p_delay)
   OR (p.below_purged AND p.deleted_at < now() - p_retention)
ORDER BY p.deleted_at
LIMIT p_limit
$$;

-- One step of one queued stream's purge, in the caller's (short) transaction: at most p_batch
-- events below `through`, or — once retention has passed too — the rest, the head row and the
-- queue row. Returns the event rows deleted (0: nothing due). Safe to run concurrently (the
-- queue row is locked first).
CREATE FUNCTION herald.purge_stream(p_tenant text, p_stream text, p_batch integer,
                                    p_delay interval, p_retention interval)
    RETURNS integer
    LANGUAGE plpgsql
    SET lock_timeout = '2s' AS
$$
DECLARE
    q    herald.stream_purges;
    pt   bigint;
    upto bigint;
    n    integer := 0;
BEGIN
    SELECT * INTO q FROM herald.stream_purges p WHERE p.tenant = p_tenant AND p.stream = p_stream FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    IF NOT q.below_purged THEN
        IF q.deleted_at >= now() - p_delay THEN
            RETURN 0;
        END IF;
        SELECT coalesce(max(s.pruned_through), 0) INTO pt
          FROM herald.streams s WHERE s.tenant = p_tenant AND s.stream = p_stream;
        upto := least(q.through - 1, pt + greatest(p_batch, 1));
        IF upto > pt THEN
            DELETE FROM herald.events e
            WHERE e.tenant = p_tenant AND e.stream = p_stream AND e.cursor > pt AND e.cursor <= upto;
            GET DIAGNOSTICS n = ROW_COUNT;
            UPDATE herald.streams s SET pruned_through = greatest(s.pruned_through, upto)
            WHERE s.tenant = p_tenant AND s.stream = p_stream;
        END IF;
        IF upto >= q.through - 1 THEN
            UPDATE herald.stream_purges p SET below_purged = true WHERE p.tenant = p_tenant AND p.stream = p_stream;
        END IF;
        RETURN n;
    END IF;
    IF q.deleted_at >= now() - p_retention THEN
        RETURN 0;
    END IF;
    DELETE FROM herald.events e WHERE e.tenant = p_tenant AND e.stream = p_stream;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM herald.streams s WHERE s.tenant = p_tenant AND s.stream = p_stream;
    DELETE FROM herald.stream_purges p WHERE p.tenant = p_tenant AND p.stream = p_stream;
    RETURN n;
END
$$;

REVOKE ALL ON TABLE herald.stream_purges FROM PUBLIC;
REVOKE ALL ON FUNCTION herald.stream_purges_due(interval, interval, integer),
    herald.purge_stream(text, text, integer, interval, interval) FROM PUBLIC;
