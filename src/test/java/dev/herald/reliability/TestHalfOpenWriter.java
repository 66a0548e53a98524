package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 8: the group-commit writer's pool connection goes half-open in the middle of a batch
 * transaction — the proxy stops forwarding after a write of the batch has taken its stream's
 * head row, and closes nothing. The writer's network timeout must answer that batch's callers
 * with 503 {@code write_timeout} (outcome unknown) within the bound; the server must end the
 * abandoned transaction and release the head (idle-in-transaction timeout) though it never
 * hears from the client again; the next batch must run on a fresh connection; and retries with
 * the same Idempotency-Key must leave every publish in the stream exactly once, dense, and
 * delivered to subscribers on both replicas.
 */
class TestHalfOpenWriter {
    static final String TENANT = "halfopenwriter";
    /** The writer's statement timeout here; its network timeout is 5 s more, a caller's deadline 16 s. */
    static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);

    static final Duration NETWORK_TIMEOUT = WRITE_TIMEOUT.plusSeconds(5);
    /**
     * The stream whose name freezes the writer's connection. Only the writer sends it to the
     * database: first in the publish (which takes the head row), then in the idempotency
     * record of the same write — the bytes the proxy holds.
     */
    static final String FROZEN_USER = "frozen-7q3x";

    static final int WRITERS = 2;
    static final int BURST = 6;

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void a_half_open_writer_connection_fails_its_batch_within_the_bound_and_the_writer_recovers() throws Exception {
        DatabaseUrl direct = TestDatabase.fresh();
        try (TcpProxy proxy = new TcpProxy(direct.host(), direct.port());
                Cluster proxied = Cluster.start(
                        new DatabaseUrl("127.0.0.1", proxy.port(), direct.database(), direct.user(), direct.password()),
                        1,
                        b -> b.writeTimeout(WRITE_TIMEOUT));
                Cluster plain = Cluster.start(direct, 1, b -> b.writeTimeout(WRITE_TIMEOUT))) {
            Api api = proxied.api(0);
            assertEquals(
                    Duration.ofSeconds(16),
                    proxied.replica(0).publisher().deadline(),
                    "a caller's deadline: two network timeouts and the lock timeout");
            String write = api.mint(TENANT, null, "events:write");
            String read = api.mint(TENANT, "ann", "events:read");
            // The frozen write will be cursor 2 of its stream: cursor 1 makes the head a row to lock.
            Api.Response first = api.post("/api/v1/users/" + FROZEN_USER + "/events", write, Map.of("type", "first"));
            assertEquals(201, first.status(), first.toString());

            try (Follower viaProxy = new Follower(
                            "/api/v1/events",
                            read,
                            0,
                            Follower.port(proxied.replica(0).port()));
                    Follower viaOther = new Follower(
                            "/api/v1/events",
                            read,
                            0,
                            Follower.port(plain.replica(0).port()))) {
                assertTrue(viaProxy.awaitConnected(Duration.ofSeconds(10)));
                assertTrue(viaOther.awaitConnected(Duration.ofSeconds(10)));
                KeyedWriters writers = KeyedWriters.start(WRITERS, api, write);
                Thread.sleep(500);

                // Freeze the writer's connection at the frozen write's idempotency record, and
                // watch its head from outside: held by the abandoned transaction, then released.
                var frozen = proxy.freezeOnSend(FROZEN_USER, 2);
                var head = frozen.thenApplyAsync(
                        link -> watchHead(direct, link.frozenAt),
                        r -> Thread.ofVirtual().start(r));
                long t0 = System.nanoTime();
                // Others publish at the same moment: whether they share the frozen batch or
                // queue behind it, each is answered within the bound.
                writers.burst(100, BURST);
                Api.Response timedOut = publish(api, write, FROZEN_USER, "frozen-1", Map.of());
                long answeredMs = ms(t0);
                assertTrue(frozen.isDone(), "the writer's connection must have been frozen");
                long frozenAtMs = (frozen.get().frozenAt - t0) / 1_000_000;
                assertEquals(503, timedOut.status(), timedOut.toString());
                assertEquals("write_timeout", timedOut.errorCode(), timedOut.toString());
                assertEquals("1", timedOut.header("Retry-After"));
                String message = timedOut.json().path("error").path("message").asText();
                assertTrue(message.contains("may or may not have been committed"), message);
                assertTrue(message.contains("Idempotency-Key"), message);
                // Answered by the writer's network timeout (7 s here), not by the caller's
                // deadline (16 s) nor the pool's socket timeout (75 s); slack for a loaded machine.
                assertTrue(
                        answeredMs >= NETWORK_TIMEOUT.toMillis() - 500
                                && answeredMs < NETWORK_TIMEOUT.toMillis() + 5_000,
                        "the frozen batch was answered after " + answeredMs + " ms");
                assertEquals(0, proxied.replica(0).publisher().stats().timedOut(), "no caller reached its deadline");
                long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (writers.burst.size() < BURST && System.nanoTime() < until) Thread.sleep(20);
                assertEquals(BURST, writers.burst.size(), "every publish of the burst is answered");
                for (KeyedWriters.FirstAnswer a : writers.burst) {
                    assertTrue(
                            a.status() == 201 || "write_timeout".equals(a.code()),
                            "a publish beside the frozen one: " + a);
                    assertTrue(a.ms() < NETWORK_TIMEOUT.toMillis() + 5_000, "a publish beside the frozen one: " + a);
                }

                // The server ended the abandoned transaction by itself (its idle-in-transaction
                // timeout is the write timeout, 2 s here), though the client never spoke again.
                HeadWatch watch = head.get(10, TimeUnit.SECONDS);
                assertTrue(
                        watch.heldAtFirstLook() || watch.firstLookMs() > WRITE_TIMEOUT.toMillis(),
                        "the frozen transaction must hold the head: " + watch);
                assertTrue(
                        watch.releasedMs() >= WRITE_TIMEOUT.toMillis() - 500
                                && watch.releasedMs() < WRITE_TIMEOUT.toMillis() + 3_000,
                        "the head was released " + watch.releasedMs() + " ms after the freeze");
                int acknowledgedBefore = writers.acknowledged.size();
                long released = System.nanoTime();

                // The writer carries on with a fresh connection: the retry publishes, once.
                Api.Response retried = publish(api, write, FROZEN_USER, "frozen-1", Map.of());
                long retryMs = ms(released);
                assertEquals(201, retried.status(), retried.toString());
                assertEquals(2, retried.json().get("cursor").asLong(), "nothing of the frozen write was committed");
                assertNull(retried.header("Idempotency-Replayed"));
                Api.Response replayed = publish(api, write, FROZEN_USER, "frozen-1", Map.of());
                assertEquals(201, replayed.status(), replayed.toString());
                assertEquals(2, replayed.json().get("cursor").asLong());
                assertEquals("true", replayed.header("Idempotency-Replayed"));

                Thread.sleep(500);
                writers.stop();
                assertTrue(writers.join(Duration.ofSeconds(60)), "writers did not finish");
                assertEquals(List.of(), writers.unexpected, "only 503s that say to retry");
                assertTrue(
                        writers.acknowledged.size() > acknowledgedBefore,
                        "background publishes must succeed after the freeze");

                // Every publish is in the stream exactly once, dense, and was acknowledged as such.
                List<Writers.Published> committed = committed(direct, "ann");
                Ledger.assertDense(committed);
                Set<String> once = new HashSet<>();
                for (Writers.Published p : committed)
                    assertTrue(once.add(p.writer() + "/" + p.seq()), "published twice: " + p);
                assertEquals(
                        writers.acknowledged.stream()
                                .sorted(java.util.Comparator.comparingLong(Writers.Published::cursor))
                                .toList(),
                        committed,
                        "every acknowledged publish is committed at the cursor it was told, and nothing else");
                assertEquals(
                        List.of(1L, 2L),
                        committed(direct, FROZEN_USER).stream()
                                .map(Writers.Published::cursor)
                                .toList());

                for (Follower f : List.of(viaProxy, viaOther)) {
                    assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(15)), f.toString());
                    Thread.sleep(200);
                    Ledger.Figures fig = Ledger.compare(committed, f);
                    Ledger.assertExact(fig, f.toString());
                    assertEquals(1, f.connects.get(), f.toString());
                }
                System.out.println("[fault 8] writer connection frozen " + frozenAtMs + " ms into the publish;"
                        + " answered 503 write_timeout after " + answeredMs + " ms (network timeout "
                        + NETWORK_TIMEOUT.toMillis() + " ms); retry on a fresh connection took " + retryMs
                        + " ms; the abandoned transaction's head " + watch + "; background publishes: "
                        + writers.acknowledged.size() + " acknowledged, retried after " + writers.retries
                        + "; publishes beside the frozen one first answered " + writers.burst);
            }
        }
    }

    private static Api.Response publish(Api api, String token, String user, String key, Map<String, Object> data) {
        return api.send(
                "POST",
                "/api/v1/users/" + user + "/events",
                token,
                Map.of("type", "tick", "data", data),
                Map.of("Idempotency-Key", key));
    }

    /** From the freeze: whether the head was held when first looked at, and when it was free. */
    record HeadWatch(boolean heldAtFirstLook, long firstLookMs, long releasedMs) {
        @Override
        public String toString() {
            return (heldAtFirstLook ? "held" : "free") + " at " + firstLookMs + " ms, released at " + releasedMs
                    + " ms";
        }
    }

    private static HeadWatch watchHead(DatabaseUrl url, long frozenAt) {
        try {
            boolean held = !headIsFree(url, FROZEN_USER);
            long firstLook = (System.nanoTime() - frozenAt) / 1_000_000;
            while (!headIsFree(url, FROZEN_USER)) {
                if (System.nanoTime() - frozenAt > Duration.ofSeconds(30).toNanos()) break;
                Thread.sleep(20);
            }
            return new HeadWatch(held, firstLook, (System.nanoTime() - frozenAt) / 1_000_000);
        } catch (SQLException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether the stream's head row can be locked now (no transaction holds it). */
    private static boolean headIsFree(DatabaseUrl url, String user) throws SQLException {
        try (Connection c = Sql.connect(url)) {
            return Sql.query(
                                    c,
                                    "SELECT head FROM herald.streams WHERE tenant = ? AND stream = ? FOR UPDATE NOWAIT",
                                    rs -> rs.getLong(1),
                                    TENANT,
                                    "user:" + user)
                            .size()
                    == 1;
        } catch (RuntimeException | SQLException e) {
            if ("55P03".equals(sqlState(e))) return false;
            throw e;
        }
    }

    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) if (t instanceof SQLException s) return s.getSQLState();
        return null;
    }

    private static long ms(long since) {
        return (System.nanoTime() - since) / 1_000_000;
    }

    /** The stream as committed: (cursor, writer, seq) in cursor order. */
    private static List<Writers.Published> committed(DatabaseUrl url, String user) {
        return Sql.query(
                url,
                "SELECT cursor, coalesce((data->>'w')::int, -1), coalesce((data->>'i')::int, -1) FROM herald.events"
                        + " WHERE tenant = ? AND stream = ? ORDER BY cursor",
                rs -> new Writers.Published(user, rs.getLong(1), rs.getInt(2), rs.getInt(3)),
                TENANT,
                "user:" + user);
    }

    /**
     * Writers publishing to ann with an Idempotency-Key per publish, retrying a 503 with the same
     * key until it is acknowledged, as API.md tells clients to.
     */
    static final class KeyedWriters {
        /** The 503s API.md says to retry with the same key. */
        static final Set<String> RETRY = Set.of("write_timeout", "stream_locked", "database_unavailable");

        /** The first answer to a publish of a burst: its status, error code and when it came. */
        record FirstAnswer(int status, String code, long ms) {}

        final List<Writers.Published> acknowledged = new CopyOnWriteArrayList<>();
        /** Every 503 answered, by code. */
        final List<String> retries = new CopyOnWriteArrayList<>();

        final List<FirstAnswer> burst = new CopyOnWriteArrayList<>();
        final List<String> unexpected = new CopyOnWriteArrayList<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final Api api;
        private final String token;

        private KeyedWriters(Api api, String token) {
            this.api = api;
            this.token = token;
        }

        /** {@code n} writers publishing one event after another until {@link #stop}. */
        static KeyedWriters start(int n, Api api, String token) {
            KeyedWriters ws = new KeyedWriters(api, token);
            for (int w = 0; w < n; w++) {
                int writer = w;
                ws.threads.add(Thread.ofVirtual().name("keyed-writer-" + w).start(() -> {
                    for (int i = 1; !ws.stop.get() && ws.publishUntilAcknowledged(writer, i, null); i++) pause(20);
                }));
            }
            return ws;
        }

        /** {@code n} more writers (ids from {@code firstWriter}) publishing one event each, at once. */
        void burst(int firstWriter, int n) {
            for (int j = 0; j < n; j++) {
                int writer = firstWriter + j;
                threads.add(Thread.ofVirtual()
                        .name("burst-writer-" + writer)
                        .start(() -> publishUntilAcknowledged(writer, 1, System.nanoTime())));
            }
        }

        /** False on an answer that is neither 201 nor a 503 to retry. */
        private boolean publishUntilAcknowledged(int w, int i, Long burstStart) {
            while (true) {
                Api.Response r = publish(api, token, "ann", "w" + w + "-" + i, Map.of("w", w, "i", i));
                String code = r.status() == 503 ? r.errorCode() : null;
                if (burstStart != null) {
                    burst.add(new FirstAnswer(r.status(), code, ms(burstStart)));
                    burstStart = null;
                }
                if (r.status() == 201) {
                    acknowledged.add(
                            new Writers.Published("ann", r.json().get("cursor").asLong(), w, i));
                    return true;
                }
                if (code == null || !RETRY.contains(code)) {
                    unexpected.add(w + "/" + i + ": " + r);
                    return false;
                }
                retries.add(code);
                pause(100);
            }
        }

        void stop() {
            stop.set(true);
        }

        boolean join(Duration timeout) throws InterruptedException {
            long until = System.nanoTime() + timeout.toNanos();
            for (Thread t : threads) {
                long left = until - System.nanoTime();
                if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
            }
            return true;
        }

        private static void pause(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
