package dev.herald.stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.jooq.Routines;
import java.time.Duration;
import java.util.function.Function;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.impl.DSL;

/**
 * The one publish path: {@code herald.publish()} increments the stream's head, inserts the
 * row and sends the ping in one call, so the head-row lock lives only until commit. A publish
 * in its own transaction is validated, then group-committed ({@link GroupCommit}); a publish
 * in the caller's transaction runs there and is seen only if that commits.
 */
public final class Publisher {
    private final DSLContext db;
    private final PingSeal seal;
    private final GroupCommit groupCommit;

    /**
     * {@code lockTimeout}: the longest a publish waits for a stream's head row that another
     * transaction holds before it fails with {@link StreamBusy}; {@code slowLane}: how many
     * such waits may run at once; {@code writeTimeout}: the bound on each statement of a
     * group-commit transaction, from which its network timeout and every caller's deadline
     * follow ({@link GroupCommit}); {@code seal}: what gives Herald's own messages on the
     * channel authority.
     */
    public Publisher(DSLContext db, PingSeal seal, Duration lockTimeout, int slowLane, Duration writeTimeout) {
        this.db = db;
        this.seal = seal;
        this.groupCommit = new GroupCommit(db, lockTimeout, slowLane, writeTimeout);
    }

    /**
     * Publishes in its own transaction; returns the event's cursor once it has committed, or
     * throws {@link WriteTimeout} when that was not confirmed in time.
     */
    public long publish(StreamKey key, String type, String jsonData) {
        PublishInput.validate(key, type, jsonData);
        return groupCommit.submit(key, type, jsonData);
    }

    /**
     * Runs a feature's statements that publish to {@code key}'s stream (and change its own
     * tables) as part of the next group-commit transaction, in a savepoint of their own: one
     * commit and one ping per stream are shared with concurrent publishes and writes, while a
     * failure rolls back and reaches only this caller. Returns {@code work}'s result once the
     * transaction has committed. {@code work} must not commit, and runs on the writer's thread.
     */
    public <T> T write(StreamKey key, Function<DSLContext, T> work) {
        return groupCommit.submitWork(key, work);
    }

    /** Publishes inside the caller's transaction: subscribers see it only if that commits. */
    public static long publishInTransaction(DSLContext tx, StreamKey key, String type, String jsonData) {
        return Routines.publish(tx.configuration(), key.tenant(), key.stream(), type, JSONB.valueOf(jsonData));
    }

    /** Sends a transient signal (never stored, never replayed) to a stream's live subscribers. */
    public void signal(StreamKey key, String event, JsonNode data) {
        notify(Ping.transientSignal(key, event, data));
    }

    /**
     * Sends a message built by {@link Ping} on Herald's channel, sealed; refused if the sealed
     * payload is too large for PostgreSQL.
     */
    public void notify(String message) {
        if (PingSeal.sealedBytes(message) > Ping.MAX_PAYLOAD_BYTES) {
            throw new EventRejected(
                    EventRejected.Reason.TOO_LARGE, "signal payload exceeds PostgreSQL's NOTIFY limit of 8,000 bytes");
        }
        String payload = seal.seal(message);
        db.select(DSL.function("pg_notify", Object.class, DSL.val(Ping.CHANNEL), DSL.val(payload)))
                .fetch();
    }

    /** Counters of the group commit since start (the bench and /metrics read them). */
    public GroupCommit.Stats stats() {
        return groupCommit.stats();
    }

    /** Publishes waiting for the batch in flight to commit (tests and the bench watch it). */
    public int queued() {
        return groupCommit.queued();
    }

    /** How long a publish or write waits for the group commit before {@link WriteTimeout}. */
    public Duration deadline() {
        return groupCommit.deadline();
    }

    /** Tests hold a head row locked to force batches; they raise this so the writer keeps waiting. */
    void lockTimeoutMillis(int ms) {
        groupCommit.lockTimeoutMillis(ms);
    }
}
