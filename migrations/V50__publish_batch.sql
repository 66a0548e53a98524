-- Group commit (issue 12, docs/adr/0050): many publishes in ONE statement and ONE transaction.
-- Each stream's head is incremented once, by its count, so the head-row lock is taken by one
-- statement and held only until the commit that ends it; rows get dense cursors in input
-- order; one ping per stream touched carries the highest cursor (readers re-query after
-- their own cursor, so one ping per stream loses nothing). Returns the cursors in input
-- order. Heads are locked in (tenant, stream) order, so two batches never deadlock.
-- p_lock_timeout_ms (optional): give up with SQLSTATE 55P03 if a head row stays locked that
-- long (set for the rest of the transaction — with autocommit, just this statement), so a
-- long transaction holding one stream's head cannot stall a group commit for all streams.
CREATE FUNCTION herald.publish_batch(p_tenants text[], p_streams text[], p_types text[], p_datas jsonb[],
                                     p_lock_timeout_ms int DEFAULT NULL)
    RETURNS bigint[]
    LANGUAGE plpgsql AS
$$
DECLARE
    v_n       int := coalesce(cardinality(p_tenants), 0);
    v_cursors bigint[];
BEGIN
    IF coalesce(cardinality(p_streams), 0) <> v_n OR coalesce(cardinality(p_types), 0) <> v_n
            OR coalesce(cardinality(p_datas), 0) <> v_n THEN
        RAISE EXCEPTION 'herald.publish_batch: the four arrays must have the same length' USING ERRCODE = '22023';
    END IF;
    IF v_n = 0 THEN
        RETURN ARRAY[]::bigint[];
    END IF;
    IF p_lock_timeout_ms IS NOT NULL THEN
        PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
    END IF;

    WITH input AS (
        SELECT u.i, u.tenant, u.stream, u.type, u.data
        FROM unnest(p_tenants, p_streams, p_types, p_datas) WITH ORDINALITY AS u(tenant, stream, type, data, i)
    ), counts AS (
        SELECT tenant, stream, count(*) AS cnt FROM input GROUP BY tenant, stream
    ), heads AS (
        INSERT INTO herald.streams AS s (tenant, stream, head)
        SELECT tenant, stream, cnt FROM counts ORDER BY tenant, stream
        ON CONFLICT (tenant, stream) DO UPDATE SET head = s.head + excluded.head
        RETURNING s.tenant, s.stream, s.head
    ), numbered AS (
        SELECT input.i, input.tenant, input.stream, input.type, input.data,
               heads.head - count(*) OVER (PARTITION BY input.tenant, input.stream)
                   + row_number() OVER (PARTITION BY input.tenant, input.stream ORDER BY input.i) AS cursor
        FROM input JOIN heads ON heads.tenant = input.tenant AND heads.stream = input.stream
    ), inserted AS (
        INSERT INTO herald.events (tenant, stream, cursor, type, data)
        SELECT tenant, stream, cursor, type, data FROM numbered ORDER BY i
    )
    SELECT array_agg(cursor ORDER BY i) INTO v_cursors FROM numbered;

    PERFORM pg_notify('herald', json_build_object('t', x.t, 's', x.s, 'c', max(x.c))::text)
    FROM unnest(p_tenants, p_streams, v_cursors) AS x(t, s, c)
    GROUP BY x.t, x.s;

    RETURN v_cursors;
END
$$;
