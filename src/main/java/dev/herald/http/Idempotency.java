package dev.herald.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import dev.herald.stream.Publisher;
import dev.herald.stream.StreamKey;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.regex.Pattern;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code Idempotency-Key} on the POSTs that publish (docs/API.md): the first answer to a key
 * is stored in the same transaction as what the request published, so a repeat of the same
 * request by the same tenant within 24 hours gets that answer again and publishes nothing,
 * and the same key with a different request is 422 {@code idempotency_key_reused}. Two
 * requests racing with one key: the second's insert of the key fails, its savepoint rolls
 * back with what it published, and it answers with the first one's stored answer.
 */
public final class Idempotency {
    public static final String HEADER = "Idempotency-Key";
    /** How long a key is remembered. */
    public static final Duration TTL = Duration.ofHours(24);

    private static final Pattern KEY = Pattern.compile("[\\x20-\\x7E]{1,128}");
    private static final Logger log = LoggerFactory.getLogger(Idempotency.class);

    private final DSLContext db;

    public Idempotency(DSLContext db) {
        this.db = db;
    }

    /** A request's key and the digest of what it asked; {@link #NONE} when it sent no key. */
    public record Claim(String tenant, String key, byte[] requestHash) {}

    public static final Claim NONE = null;

    /** Stores the answer inside the publishing transaction; does nothing without a key. */
    @FunctionalInterface
    public interface Recorder {
        void record(DSLContext tx, JsonNode answer);

        default boolean active() {
            return true;
        }
    }

    private static final Recorder OFF = new Recorder() {
        @Override
        public void record(DSLContext tx, JsonNode answer) {}

        @Override
        public boolean active() {
            return false;
        }
    };

    /** The request's claim: null without the header, 400 {@code invalid_idempotency_key} if malformed. */
    public static Claim claim(Context ctx, String tenant, Body body) {
        String key = ctx.header(HEADER);
        if (key == null) return NONE;
        if (!KEY.matcher(key).matches()) {
            throw ApiException.badRequest(
                    "invalid_idempotency_key", "'Idempotency-Key' must be 1-128 printable ASCII characters");
        }
        MessageDigest sha = sha256();
        sha.update((ctx.method() + " " + ctx.path() + "\n").getBytes(StandardCharsets.UTF_8));
        sha.update(body.raw());
        return new Claim(tenant, key, sha.digest());
    }

    /**
     * Answers with {@code status} and what {@code write} returns, once per key: a repeat is
     * answered from the stored first answer. {@code write} publishes and calls the recorder
     * inside its transaction (or publishes however it likes when the recorder is not active).
     * Returns whether this request published (false: answered from the first one).
     */
    public boolean respondOnce(Context ctx, Claim claim, int status, Function<Recorder, JsonNode> write) {
        if (claim != null && replayed(ctx, claim)) return false;
        JsonNode answer;
        try {
            answer = write.apply(claim == null ? OFF : (tx, a) -> store(tx, claim, status, a));
        } catch (KeyTaken raced) {
            if (replayed(ctx, claim)) return false;
            throw raced;
        }
        JsonResponses.respond(ctx, status, answer);
        return true;
    }

    /**
     * Publishes one event and answers 201 with {@code answer} of its cursor, once per key: the
     * plain group-committed publish without a key, or with the answer recorded in the event's
     * own transaction. Returns whether this request published.
     */
    public boolean publishOnce(
            Context ctx,
            Claim claim,
            Publisher publisher,
            StreamKey key,
            String type,
            String json,
            LongFunction<ObjectNode> answer) {
        return respondOnce(ctx, claim, 201, once -> {
            if (!once.active()) return answer.apply(publisher.publish(key, type, json));
            return publisher.write(key, tx -> {
                ObjectNode out = answer.apply(Publisher.publishInTransaction(tx, key, type, json));
                once.record(tx, out);
                return out;
            });
        });
    }

    /** Answers from a stored first answer to the claim's key, if there is one. */
    private boolean replayed(Context ctx, Claim claim) {
        Optional<org.jooq.Record> first = db.fetchOptional(
                "SELECT request_hash, status, body FROM herald.idempotency"
                        + " WHERE tenant = ? AND key = ? AND created_at > now() - ?::interval",
                claim.tenant(),
                claim.key(),
                TTL.toSeconds() + " seconds");
        if (first.isEmpty()) return false;
        if (!Arrays.equals(first.get().get(0, byte[].class), claim.requestHash())) {
            throw new ApiException(
                    422,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request within the last 24 hours");
        }
        ctx.header("Idempotency-Replayed", "true");
        JsonResponses.respondRaw(
                ctx, first.get().get(1, Integer.class), first.get().get(2, String.class));
        return true;
    }

    /** Inserts the key (or takes over an expired one); {@link KeyTaken} if a live one exists. */
    private static void store(DSLContext tx, Claim claim, int status, JsonNode answer) {
        int stored = tx.execute(
                "INSERT INTO herald.idempotency AS i (tenant, key, request_hash, status, body) VALUES (?, ?, ?, ?, ?)"
                        + " ON CONFLICT (tenant, key) DO UPDATE SET request_hash = excluded.request_hash,"
                        + " status = excluded.status, body = excluded.body, created_at = now()"
                        + " WHERE i.created_at <= now() - ?::interval",
                claim.tenant(),
                claim.key(),
                claim.requestHash(),
                status,
                Json.write(answer),
                TTL.toSeconds() + " seconds");
        if (stored == 0) throw new KeyTaken();
    }

    /** Deletes keys older than the TTL, a batch at a time; returns how many. */
    public int prune(int batch) {
        int n = db.execute(
                "DELETE FROM herald.idempotency WHERE ctid IN (SELECT ctid FROM herald.idempotency"
                        + " WHERE created_at <= now() - ?::interval LIMIT ?)",
                TTL.toSeconds() + " seconds",
                batch);
        if (n > 0) log.debug("idempotency: pruned {} expired keys", n);
        return n;
    }

    /** Another request with the same key committed first: this one's write rolls back. */
    private static final class KeyTaken extends RuntimeException {
        KeyTaken() {
            super("idempotency key taken by a concurrent request", null, false, false);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
