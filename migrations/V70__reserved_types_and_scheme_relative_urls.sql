-- Abuse limits at the database boundary (replaces two functions, same signatures).

-- `reset` and `error` are the SSE protocol's own event names (a stream's reset, EventSource's
-- error): a user event of either type would be mistaken for them by clients.
-- It stays what V60 made it: run as its owner with a fixed search_path (CREATE OR REPLACE
-- would otherwise reset both).
CREATE OR REPLACE FUNCTION herald.publish_user_event(p_tenant text, p_user text, p_type text, p_data jsonb)
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF p_tenant IS NULL OR p_tenant !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid tenant %', p_tenant USING ERRCODE = '22023';
    END IF;
    IF p_user IS NULL OR p_user !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid user %', p_user USING ERRCODE = '22023';
    END IF;
    IF p_type IS NULL OR p_type !~ '^[a-z0-9_.-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid event type %', p_type USING ERRCODE = '22023';
    END IF;
    IF p_type IN ('reset', 'error') THEN
        RAISE EXCEPTION 'herald: event type % is reserved (reset and error are the stream''s own events); choose another type', p_type
            USING ERRCODE = '22023';
    END IF;
    RETURN herald.publish(p_tenant, 'user:' || p_user, p_type, coalesce(p_data, '{}'::jsonb));
END
$$;

-- An action URL: absolute http(s) with a host, or a reference without a scheme — but never a
-- scheme-relative one (`//evil.example/x`), which leaves the site like an absolute URL.
CREATE OR REPLACE FUNCTION herald.inbox_url_ok(u text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS
$$
    SELECT char_length(u) BETWEEN 1 AND 2048
       AND u !~ '[\x01-\x20\x7f\\]'
       AND CASE
               WHEN u ~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN u ~* '^https?://[^/?#]'
               ELSE left(u, 2) <> '//'
           END
$$;
