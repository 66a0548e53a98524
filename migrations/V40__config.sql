-- Config entries (API.md section 3): one JSON value per tenant and {kind}/{entity}.
--
-- A DELETE leaves a tombstone (deleted = true, value NULL) so `version` never goes back:
-- delete + recreate continues from the tombstone's version (docs/adr/0040).
CREATE TABLE herald.config_entries (
    tenant     text        NOT NULL REFERENCES herald.tenants (id),
    kind       text        NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,63}$'),
    entity     text        NOT NULL CHECK (entity ~ '^[A-Za-z0-9_.@:-]{1,128}$'),
    value      jsonb,
    version    bigint      NOT NULL CHECK (version > 0),
    deleted    boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (tenant, kind, entity),
    CHECK (deleted = (value IS NULL))
);

-- Every change, however it is made (a physical DELETE too, e.g. a manual purge), in the writer's transaction (so only on commit):
--  1. a tiny ping on channel 'chat:config_change' — every replica evicts that cache entry;
--  2. a persisted event on the tenant's stream 'config:all' (GET /api/v1/config/watch),
--     so watchers get cursors and resume like on every other stream.
CREATE FUNCTION herald.config_changed() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    r herald.config_entries;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    PERFORM pg_notify('chat:config_change',
        json_build_object('tenant', r.tenant, 'kind', r.kind, 'entity_id', r.entity)::text);
    PERFORM herald.publish(r.tenant, 'config:all', 'config_change',
        jsonb_build_object('kind', r.kind, 'entity_id', r.entity, 'version', r.version,
                           'deleted', TG_OP = 'DELETE' OR r.deleted));
    RETURN NULL;
END
$$;

CREATE TRIGGER config_entries_changed
    AFTER INSERT OR UPDATE OR DELETE ON herald.config_entries
    FOR EACH ROW EXECUTE FUNCTION herald.config_changed();
