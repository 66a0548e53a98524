-- Herald core: tenants, tokens, streams with dense commit-ordered cursors, the event log,
-- and the one publish path. Flyway creates the schema `herald` itself.

CREATE TABLE herald.tenants (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.@:-]{1,128}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Only a hash of a token is stored. `prefix` (its first 8 characters) names it for admins.
-- The operator's bootstrap token has no tenant.
CREATE TABLE herald.tokens (
    prefix     text PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE,
    tenant     text REFERENCES herald.tenants (id),
    user_id    text,
    scopes     text[] NOT NULL,
    operator   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK (operator OR tenant IS NOT NULL)
);
CREATE INDEX tokens_revoked_at ON herald.tokens (revoked_at) WHERE revoked_at IS NOT NULL;

-- One row per stream holds its head cursor. A writer increments it under the row lock and
-- keeps that lock until its transaction ends, so the next writer of the same stream waits:
-- cursors are dense (a rollback returns its number) and commit-ordered (N+1 cannot commit
-- before N). `pruned_through`: retention has deleted every cursor <= this.
CREATE TABLE herald.streams (
    tenant         text   NOT NULL,
    stream         text   NOT NULL,
    head           bigint NOT NULL DEFAULT 0,
    pruned_through bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, stream)
);

CREATE TABLE herald.events (
    tenant     text        NOT NULL,
    stream     text        NOT NULL,
    cursor     bigint      NOT NULL,
    type       text        NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, stream, cursor)
);
CREATE INDEX events_created_at ON herald.events (created_at);

-- The one publish path: head increment, row, ping — one call, so the head-row lock is held
-- from the increment to the commit and no longer. The ping is tiny (stream + cursor):
-- readers re-query rows after their cursor, so a lost or folded ping loses nothing.
CREATE FUNCTION herald.publish(p_tenant text, p_stream text, p_type text, p_data jsonb)
    RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    c bigint;
BEGIN
    INSERT INTO herald.streams AS s (tenant, stream, head)
    VALUES (p_tenant, p_stream, 1)
    ON CONFLICT (tenant, stream) DO UPDATE SET head = s.head + 1
    RETURNING s.head INTO c;

    INSERT INTO herald.events (tenant, stream, cursor, type, data)
    VALUES (p_tenant, p_stream, c, p_type, p_data);

    PERFORM pg_notify('herald', json_build_object('t', p_tenant, 's', p_stream, 'c', c)::text);
    RETURN c;
END
$$;

-- Publishing a user event from the application's own transaction (API.md section 4).
-- Subscribers see it if and when that transaction commits.
CREATE FUNCTION herald.publish_user_event(p_tenant text, p_user text, p_type text, p_data jsonb)
    RETURNS bigint
    LANGUAGE plpgsql AS
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
    RETURN herald.publish(p_tenant, 'user:' || p_user, p_type, coalesce(p_data, '{}'::jsonb));
END
$$;
