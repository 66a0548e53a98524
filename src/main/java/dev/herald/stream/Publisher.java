package dev.herald.stream;

import dev.herald.jooq.Routines;
import dev.herald.web.ApiException;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

import java.nio.charset.StandardCharsets;

/**
 * The one publish path: {@code herald.publish()} increments the stream's head, inserts the
 * row and sends the ping in one call, so the head-row lock lives only until commit.
 */
public final class Publisher {
    private final DSLContext db;

    public Publisher(DSLContext db) {
        this.db = db;
    }

    /** Publishes in its own transaction and returns the event's cursor. */
    public long publish(StreamKey key, String type, String jsonData) {
        return publish(db, key, type, jsonData);
    }

    /** Publishes inside the caller's transaction: subscribers see it only if that commits. */
    public static long publish(DSLContext tx, StreamKey key, String type, String jsonData) {
        Long c = Routines.publish(tx.configuration(), key.tenant(), key.stream(), type, JSONB.valueOf(jsonData));
        return c;
    }

    /** Sends a transient signal (never stored, never replayed) to a stream's live subscribers. */
    public void signal(StreamKey key, String event, com.fasterxml.jackson.databind.JsonNode data) {
        notify(Ping.transientSignal(key, event, data));
    }

    /** A raw NOTIFY on Herald's channel; 413 if the payload is too large for PostgreSQL. */
    public void notify(String payload) {
        if (payload.getBytes(StandardCharsets.UTF_8).length > Ping.MAX_PAYLOAD_BYTES) {
            throw ApiException.tooLarge("signal payload exceeds PostgreSQL's NOTIFY limit of 8,000 bytes");
        }
        db.select(DSL.function("pg_notify", Object.class, DSL.val(Ping.CHANNEL), DSL.val(payload))).fetch();
    }
}
