-- The key that seals what only Herald may say on its NOTIFY channel (worker signals, token
-- revocations, the watchdog's self-ping). NOTIFY and LISTEN need no privilege in PostgreSQL:
-- any role that can connect may send or read any payload, so a payload that carries authority
-- is encrypted and authenticated (AES-GCM) with this key, which only Herald's own role can
-- read (the table has no grants). Change pings stay plain: they only make a replica re-query.
-- 32 bytes from PostgreSQL's strong random source (two version-4 UUIDs: 244 random bits).
CREATE TABLE herald.secrets (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
REVOKE ALL ON herald.secrets FROM PUBLIC;
INSERT INTO herald.secrets (name, value)
VALUES ('ping', uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()));
