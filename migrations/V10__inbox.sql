-- Inbox notifications (API.md section 1). Each user's inbox is also the Herald stream
-- `inbox:<user>`: every state change publishes one event there in the same transaction.
--
-- Concurrency: every inbox write for a user first locks that user's row in
-- herald.inbox_counters and keeps it until commit, so a user's inbox changes are serialized.
-- The unread count published with each event is read under that lock, hence it agrees with
-- the stream's commit order (the head-row lock, taken later, is always taken in that order).

-- Unread count per user, maintained by the functions below; also the per-user inbox lock.
CREATE TABLE herald.inbox_counters (
    tenant  text   NOT NULL,
    user_id text   NOT NULL,
    unread  bigint NOT NULL DEFAULT 0 CHECK (unread >= 0),
    PRIMARY KEY (tenant, user_id)
);

CREATE TABLE herald.inbox_notifications (
    id         uuid        PRIMARY KEY,
    tenant     text        NOT NULL,
    user_id    text        NOT NULL,
    -- The cursor of this notification's `notification` event in the stream inbox:<user_id>:
    -- dense with the stream's other events, commit-ordered, so "newest first" is cursor DESC.
    cursor     bigint      NOT NULL,
    title      text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 256),
    content    text        CHECK (octet_length(content) <= 8192),
    icon       text        CHECK (char_length(icon) <= 2048),
    targets    text[]      NOT NULL DEFAULT '{}',
    actions    jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(actions) = 'array'),
    read_at    timestamptz,
    created_at timestamptz NOT NULL,
    UNIQUE (tenant, user_id, cursor)
);
-- The list (read_status=all) walks the UNIQUE index backwards; these serve read_status=unread
-- and read_status=read the same way, whatever the mix of read and unread notifications.
CREATE INDEX inbox_notifications_unread ON herald.inbox_notifications (tenant, user_id, cursor) WHERE read_at IS NULL;
CREATE INDEX inbox_notifications_read ON herald.inbox_notifications (tenant, user_id, cursor) WHERE read_at IS NOT NULL;

-- One row per (notification, target), so `targets=a,b` walks the newest notifications
-- carrying target a through an index, however rare a is among the user's notifications.
CREATE TABLE herald.inbox_targets (
    tenant  text   NOT NULL,
    user_id text   NOT NULL,
    target  text   NOT NULL,
    cursor  bigint NOT NULL,
    PRIMARY KEY (tenant, user_id, target, cursor),
    FOREIGN KEY (tenant, user_id, cursor) REFERENCES herald.inbox_notifications (tenant, user_id, cursor) ON DELETE CASCADE
);

-- RFC 3339 UTC with microseconds, whatever the session's TimeZone.
CREATE FUNCTION herald.inbox_time(t timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- An action URL: absolute http(s) with a host, or a relative reference (no scheme at all).
-- Whitespace, control characters and backslashes are refused: browsers strip or rewrite them,
-- which could turn "java\nscript:" into a script URL.
CREATE FUNCTION herald.inbox_url_ok(u text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS
$$
    SELECT char_length(u) BETWEEN 1 AND 2048
       AND u !~ '[\x01-\x20\x7f\\]'
       AND CASE
               WHEN u ~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN u ~* '^https?://[^/?#]'
               ELSE true
           END
$$;

-- Creates a notification for a user from the caller's transaction and returns its id.
-- Subscribers of inbox:<user> see it if and when that transaction commits.
CREATE FUNCTION herald.notify_inbox(p_tenant text, p_user text, p_title text, p_content text DEFAULT NULL,
                                    p_icon text DEFAULT NULL, p_targets text[] DEFAULT NULL, p_actions jsonb DEFAULT NULL)
    RETURNS uuid
    LANGUAGE plpgsql AS
$$
DECLARE
    v_id      uuid := gen_random_uuid();
    v_now     timestamptz := clock_timestamp();
    v_targets text[];
    v_actions jsonb := '[]'::jsonb;
    v_action  jsonb;
    v_unread  bigint;
    v_cursor  bigint;
    t         text;
BEGIN
    IF p_tenant IS NULL OR p_tenant !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid tenant %', coalesce(p_tenant, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF p_user IS NULL OR p_user !~ '^[A-Za-z0-9_.@:-]{1,128}$' THEN
        RAISE EXCEPTION 'herald: invalid user %', coalesce(p_user, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF p_title IS NULL OR btrim(p_title, E' \t\r\n') = '' OR char_length(p_title) > 256 THEN
        RAISE EXCEPTION 'herald: title is required and must be 1-256 characters' USING ERRCODE = '22023';
    END IF;
    IF octet_length(p_content) > 8192 THEN
        RAISE EXCEPTION 'herald: content must be at most 8192 bytes (UTF-8)' USING ERRCODE = '22023';
    END IF;
    IF char_length(p_icon) > 2048 THEN
        RAISE EXCEPTION 'herald: icon must be at most 2048 characters' USING ERRCODE = '22023';
    END IF;
    IF p_targets IS NOT NULL THEN
        IF array_ndims(p_targets) > 1 THEN
            RAISE EXCEPTION 'herald: targets must be a one-dimensional text array' USING ERRCODE = '22023';
        END IF;
        FOREACH t IN ARRAY p_targets LOOP
            IF t IS NULL OR char_length(t) NOT BETWEEN 1 AND 128 OR position(',' IN t) > 0 THEN
                RAISE EXCEPTION 'herald: each target must be 1-128 characters without commas, got %', coalesce(quote_literal(t), 'NULL') USING ERRCODE = '22023';
            END IF;
        END LOOP;
    END IF;
    -- Duplicates dropped, first occurrence kept.
    v_targets := ARRAY(SELECT x.t FROM unnest(coalesce(p_targets, '{}')) WITH ORDINALITY AS x(t, i) GROUP BY x.t ORDER BY min(x.i));
    IF cardinality(v_targets) > 32 THEN
        RAISE EXCEPTION 'herald: at most 32 targets' USING ERRCODE = '22023';
    END IF;
    IF p_actions IS NOT NULL AND jsonb_typeof(p_actions) <> 'null' THEN
        IF jsonb_typeof(p_actions) <> 'array' THEN
            RAISE EXCEPTION 'herald: actions must be a JSON array' USING ERRCODE = '22023';
        END IF;
        IF jsonb_array_length(p_actions) > 10 THEN
            RAISE EXCEPTION 'herald: at most 10 actions' USING ERRCODE = '22023';
        END IF;
        FOR v_action IN SELECT value FROM jsonb_array_elements(p_actions) LOOP
            IF jsonb_typeof(v_action) <> 'object'
               OR jsonb_typeof(v_action -> 'label') IS DISTINCT FROM 'string'
               OR jsonb_typeof(v_action -> 'url') IS DISTINCT FROM 'string' THEN
                RAISE EXCEPTION 'herald: each action must be an object {"label": string, "url": string}' USING ERRCODE = '22023';
            END IF;
            IF char_length(v_action ->> 'label') NOT BETWEEN 1 AND 128 THEN
                RAISE EXCEPTION 'herald: an action label must be 1-128 characters' USING ERRCODE = '22023';
            END IF;
            IF NOT herald.inbox_url_ok(v_action ->> 'url') THEN
                RAISE EXCEPTION 'herald: an action url must be an http(s) URL or a relative path, got %', quote_literal(left(v_action ->> 'url', 100)) USING ERRCODE = '22023';
            END IF;
            v_actions := v_actions || jsonb_build_array(jsonb_build_object('label', v_action -> 'label', 'url', v_action -> 'url'));
        END LOOP;
    END IF;

    -- The per-user lock first (see the top of this file), then the stream's head row.
    INSERT INTO herald.inbox_counters AS c (tenant, user_id, unread)
    VALUES (p_tenant, p_user, 1)
    ON CONFLICT (tenant, user_id) DO UPDATE SET unread = c.unread + 1
    RETURNING c.unread INTO v_unread;

    -- The event carries the notification without its cursor: the cursor is the event's own,
    -- and the inbox renderer puts it in on the wire.
    v_cursor := herald.publish(p_tenant, 'inbox:' || p_user, 'notification', jsonb_build_object(
        'notification', jsonb_build_object(
            'id', v_id, 'user', p_user, 'title', p_title, 'content', p_content, 'icon', p_icon,
            'targets', to_jsonb(v_targets), 'actions', v_actions, 'read_at', NULL,
            'created_at', herald.inbox_time(v_now)),
        'unread_count', v_unread));

    INSERT INTO herald.inbox_notifications (id, tenant, user_id, cursor, title, content, icon, targets, actions, created_at)
    VALUES (v_id, p_tenant, p_user, v_cursor, p_title, p_content, p_icon, v_targets, v_actions, v_now);
    INSERT INTO herald.inbox_targets (tenant, user_id, target, cursor)
    SELECT p_tenant, p_user, x, v_cursor FROM unnest(v_targets) AS x;
    RETURN v_id;
END
$$;

-- Marks one notification read (p_read) or unread. Returns true if its state changed (and a
-- `read_status` event was published), false if it already was so, NULL if the user has no
-- such notification.
CREATE FUNCTION herald.inbox_mark(p_tenant text, p_user text, p_id uuid, p_read boolean)
    RETURNS boolean
    LANGUAGE plpgsql AS
$$
DECLARE
    v_unread bigint;
    v_read_at timestamptz;
BEGIN
    IF p_read IS NULL THEN
        RAISE EXCEPTION 'herald: p_read must be true or false' USING ERRCODE = '22023';
    END IF;
    PERFORM 1 FROM herald.inbox_counters WHERE tenant = p_tenant AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL; -- no notification was ever created for this user
    END IF;
    UPDATE herald.inbox_notifications
       SET read_at = CASE WHEN p_read THEN clock_timestamp() END
     WHERE id = p_id AND tenant = p_tenant AND user_id = p_user AND (read_at IS NULL) = p_read
    RETURNING read_at INTO v_read_at;
    IF NOT FOUND THEN
        PERFORM 1 FROM herald.inbox_notifications WHERE id = p_id AND tenant = p_tenant AND user_id = p_user;
        RETURN CASE WHEN FOUND THEN false END;
    END IF;
    UPDATE herald.inbox_counters SET unread = unread + CASE WHEN p_read THEN -1 ELSE 1 END
     WHERE tenant = p_tenant AND user_id = p_user
    RETURNING unread INTO v_unread;
    PERFORM herald.publish(p_tenant, 'inbox:' || p_user, 'read_status', jsonb_build_object(
        'unread_count', v_unread, 'id', p_id, 'read_at', herald.inbox_time(v_read_at)));
    RETURN true;
END
$$;

-- Marks every unread notification of the user read; returns how many changed. Publishes one
-- `read_status` event (unread_count 0, "all": true) when any did, none otherwise.
CREATE FUNCTION herald.inbox_mark_all_read(p_tenant text, p_user text)
    RETURNS integer
    LANGUAGE plpgsql AS
$$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_n   integer;
BEGIN
    PERFORM 1 FROM herald.inbox_counters WHERE tenant = p_tenant AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE herald.inbox_notifications SET read_at = v_now
     WHERE tenant = p_tenant AND user_id = p_user AND read_at IS NULL;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN
        RETURN 0;
    END IF;
    -- Every notification of this user committed before we took the lock is now read, and
    -- none can be created while we hold it.
    UPDATE herald.inbox_counters SET unread = 0 WHERE tenant = p_tenant AND user_id = p_user;
    PERFORM herald.publish(p_tenant, 'inbox:' || p_user, 'read_status', jsonb_build_object(
        'unread_count', 0, 'all', true, 'read_at', herald.inbox_time(v_now)));
    RETURN v_n;
END
$$;
