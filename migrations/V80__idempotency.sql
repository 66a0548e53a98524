-- Idempotency-Key on publishing POSTs: the first answer to a key, stored in the same
-- transaction as what the request published, so a retried request (after a 503 or a lost
-- connection) is answered the same and publishes nothing. Keys live 24 hours; lookups ignore
-- older rows and a pruner deletes them.
CREATE TABLE herald.idempotency (
    tenant       text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    body         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_created_at ON herald.idempotency (created_at);
