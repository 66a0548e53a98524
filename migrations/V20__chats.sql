-- Chats (API.md section 2). A chat belongs to one user (its owner) of one tenant. Its
-- lifecycle events go to the owner's stream `chats:<owner>`; its messages ARE the events of
-- the stream `chat:<chat id>` (message id = that stream's dense cursor), so they need no table
-- of their own and inherit the engine's dense, commit-ordered cursors.
CREATE TABLE herald.chats (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant      text        NOT NULL,
    owner       text        NOT NULL,
    title       text        NOT NULL CHECK (char_length(title) BETWEEN 1 AND 256),
    status      text        NOT NULL DEFAULT 'waiting'
                            CHECK (status IN ('waiting', 'running', 'paused', 'completed', 'error')),
    -- Free-form JSON object a worker sets (e.g. the chat's git diff / pull request state);
    -- a change publishes `diff_status_change`.
    diff_status jsonb       CHECK (diff_status IS NULL OR jsonb_typeof(diff_status) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- Listing an owner's chats, newest first.
CREATE INDEX chats_owner ON herald.chats (tenant, owner, created_at DESC, id DESC);

-- Posts one message to a chat in ONE statement: checks that the chat exists and belongs to
-- the owner (FOR KEY SHARE: concurrent posts and title/status updates do not wait for each
-- other, but a deletion waits for posts in flight, and a post after a committed deletion
-- finds no row), then publishes through herald.publish, so the head-row lock is held from
-- the increment to the commit and no longer. Returns the stored row (all NULL when the chat
-- is not the owner's).
CREATE FUNCTION herald.post_chat_message(p_tenant text, p_owner text, p_chat uuid, p_role text, p_content jsonb,
                                         OUT o_id bigint, OUT o_data jsonb, OUT o_created_at timestamptz)
    LANGUAGE plpgsql AS
$$
DECLARE
    s text := 'chat:' || p_chat::text;
BEGIN
    PERFORM 1 FROM herald.chats c
     WHERE c.id = p_chat AND c.tenant = p_tenant AND c.owner = p_owner
       FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_role IS NULL OR p_role NOT IN ('user', 'assistant', 'system', 'tool') THEN
        RAISE EXCEPTION 'herald: invalid chat message role %', p_role USING ERRCODE = '22023';
    END IF;
    o_id := herald.publish(p_tenant, s, 'message',
                           jsonb_build_object('chat_id', p_chat::text, 'role', p_role,
                                              'content', coalesce(p_content, 'null'::jsonb)));
    SELECT e.data, e.created_at INTO o_data, o_created_at
      FROM herald.events e
     WHERE e.tenant = p_tenant AND e.stream = s AND e.cursor = o_id;
END
$$;
