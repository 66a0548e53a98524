package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Group commit (docs/adr/0050): publishes that arrive while a batch transaction is in flight share
 * the next one. To make batches certain rather than likely, tests hold the stream's head row
 * locked from another connection while publishers queue up behind it.
 */
class TestGroupCommit {
    // Publishes to a held stream wait here for its release; the lock timeout is TestHeldLock's.
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, b -> b.lockTimeout(Duration.ofMinutes(1)));

    static String writer;
    static ExecutorService pool;

    @BeforeAll
    static void setUp(Api api) {
        writer = api.mint("gc", null, "events:write");
        pool = Executors.newFixedThreadPool(48);
        // A poison for the batch: rows whose data has "poison" fail to insert; a "flaky" row
        // fails the first time only (a sequence is not rolled back with the transaction).
        Sql.execute(server.databaseUrl(), """
                CREATE SEQUENCE herald.test_flaky;
                CREATE FUNCTION herald.test_reject() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.data ? 'poison' THEN
                        RAISE EXCEPTION 'poisoned event' USING ERRCODE = '22023';
                    END IF;
                    IF NEW.type = 'flaky' AND nextval('herald.test_flaky') = 1 THEN
                        RAISE EXCEPTION 'flaky failure' USING ERRCODE = '40001';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER test_reject BEFORE INSERT ON herald.events
                    FOR EACH ROW EXECUTE FUNCTION herald.test_reject();
                """);
    }

    @AfterAll
    static void stop() {
        pool.shutdownNow();
    }

    static Publisher publisher() {
        return server.herald().publisher();
    }

    /** Most tests hold a head row to make batches certain: the writer must keep waiting for it. */
    @BeforeEach
    void writerWaitsForHeldHeads() {
        publisher().lockTimeoutMillis(60_000);
    }

    static Future<Api.Response> publishAsync(String user, String type, Map<String, Object> data) {
        return pool.submit(() ->
                server.api().post("/api/v1/users/" + user + "/events", writer, Map.of("type", type, "data", data)));
    }

    @Test
    void concurrent_publishers_get_distinct_dense_cursors_whose_rows_hold_their_own_data(Api api) throws Exception {
        String hot = "hot";
        assertEquals(
                201,
                api.post(
                                "/api/v1/users/" + hot + "/events",
                                writer,
                                Map.of("type", "first", "data", Map.of("id", "first")))
                        .status());
        long batchedBefore = publisher().stats().batchedEvents();
        List<Future<Api.Response>> hotCalls = new ArrayList<>();
        List<Future<Api.Response>> spreadCalls = new ArrayList<>();
        List<String> spreadUsers = new ArrayList<>();
        try (HeadLock lock = HeadLock.take(server.databaseUrl(), "gc", "user:" + hot)) {
            for (int i = 0; i < 150; i++) hotCalls.add(publishAsync(hot, "hot.event", Map.of("id", "hot-" + i)));
            for (int i = 0; i < 150; i++) {
                String user = "spread" + (i % 15);
                spreadUsers.add(user);
                spreadCalls.add(publishAsync(user, "spread.event", Map.of("id", "spread-" + i)));
            }
            // The first writer waits on the lock; everyone else queues behind its batch.
            await(() -> publisher().queued() >= 20, "publishes queue up behind the batch in flight");
        }
        Map<String, Map<Long, String>> answered = new HashMap<>();
        answered.computeIfAbsent("user:" + hot, k -> new HashMap<>()).put(1L, "first");
        for (int i = 0; i < hotCalls.size(); i++) record(answered, hotCalls.get(i), "user:" + hot, "hot-" + i);
        for (int i = 0; i < spreadCalls.size(); i++)
            record(answered, spreadCalls.get(i), "user:" + spreadUsers.get(i), "spread-" + i);

        assertEquals(151, answered.get("user:" + hot).size(), "every hot publisher got a distinct cursor");
        for (var e : answered.entrySet()) assertStreamMatches("gc", e.getKey(), e.getValue());
        assertTrue(
                publisher().stats().batchedEvents() - batchedBefore >= 20,
                "publishes were written in batches: " + publisher().stats());
        assertTrue(publisher().stats().largestBatch() > 1);
    }

    @Test
    void a_poisoned_publish_in_a_batch_gets_its_own_error_while_the_others_succeed(Api api) throws Exception {
        String user = "poisoned";
        assertEquals(
                201,
                api.post(
                                "/api/v1/users/" + user + "/events",
                                writer,
                                Map.of("type", "first", "data", Map.of("id", "first")))
                        .status());
        long retriedBefore = publisher().stats().retriedAlone();
        List<Future<Api.Response>> calls = new ArrayList<>();
        Future<Api.Response> poison;
        Future<Api.Response> nul;
        try (HeadLock lock = HeadLock.take(server.databaseUrl(), "gc", "user:" + user)) {
            calls.add(publishAsync(user, "ok", Map.of("id", "ok-0")));
            await(() -> lock.waiters() >= 1, "the first publish waits for the head row");
            for (int i = 1; i < 20; i++) calls.add(publishAsync(user, "ok", Map.of("id", "ok-" + i)));
            poison = publishAsync(user, "ok", Map.of("id", "bad", "poison", true));
            nul = publishAsync(user, "ok", Map.of("id", "nul", "text", "a\u0000b"));
            await(() -> publisher().queued() >= 20, "the poisoned publish is queued with 19 others");
        }
        Api.Response bad = poison.get(30, TimeUnit.SECONDS);
        assertEquals(500, bad.status(), bad.toString());
        assertEquals("internal_error", bad.errorCode());
        Api.Response rejected = nul.get(30, TimeUnit.SECONDS);
        assertEquals(400, rejected.status(), rejected.toString());
        assertEquals("invalid_field", rejected.errorCode());

        Map<Long, String> answered = new HashMap<>();
        answered.put(1L, "first");
        Map<String, Map<Long, String>> byStream = new HashMap<>();
        byStream.put("user:" + user, answered);
        for (int i = 0; i < calls.size(); i++) record(byStream, calls.get(i), "user:" + user, "ok-" + i);
        assertStreamMatches("gc", "user:" + user, answered);
        assertEquals(21, answered.size());
        assertTrue(publisher().stats().retriedAlone() - retriedBefore >= 19, "the failed batch was retried one by one");
    }

    @Test
    void a_failing_batch_transaction_loses_and_duplicates_nothing(Api api) throws Exception {
        String user = "flaky";
        assertEquals(
                201,
                api.post(
                                "/api/v1/users/" + user + "/events",
                                writer,
                                Map.of("type", "first", "data", Map.of("id", "first")))
                        .status());
        long retriedBefore = publisher().stats().retriedAlone();
        List<Future<Api.Response>> calls = new ArrayList<>();
        try (HeadLock lock = HeadLock.take(server.databaseUrl(), "gc", "user:" + user)) {
            calls.add(publishAsync(user, "ok", Map.of("id", "ok-0")));
            await(() -> lock.waiters() >= 1, "the first publish waits for the head row");
            for (int i = 1; i < 30; i++)
                calls.add(publishAsync(user, i == 15 ? "flaky" : "ok", Map.of("id", "ok-" + i)));
            await(() -> publisher().queued() >= 29, "29 publishes queue behind the first");
        }
        Map<String, Map<Long, String>> byStream = new HashMap<>();
        byStream.computeIfAbsent("user:" + user, k -> new HashMap<>()).put(1L, "first");
        for (int i = 0; i < calls.size(); i++) record(byStream, calls.get(i), "user:" + user, "ok-" + i);
        assertEquals(31, byStream.get("user:" + user).size());
        assertStreamMatches("gc", "user:" + user, byStream.get("user:" + user));
        assertTrue(
                publisher().stats().retriedAlone() - retriedBefore >= 29,
                "the batch failed once and was retried: " + publisher().stats());
    }

    @Test
    void the_in_transaction_path_is_untouched_and_interleaves_densely_with_batches() throws Exception {
        String user = "mixed";
        StreamKey key = new StreamKey("gc", "user:" + user);
        List<Future<Api.Response>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) calls.add(publishAsync(user, "http", Map.of("id", "http-" + i)));
        List<Long> inTx = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String id = "tx-" + i;
            inTx.add(server.herald()
                    .database()
                    .dsl()
                    .transactionResult(
                            cfg -> Publisher.publishInTransaction(cfg.dsl(), key, "tx", "{\"id\":\"" + id + "\"}")));
        }
        Map<String, Map<Long, String>> byStream = new HashMap<>();
        for (int i = 0; i < calls.size(); i++) record(byStream, calls.get(i), key.stream(), "http-" + i);
        for (int i = 0; i < inTx.size(); i++) {
            assertEquals(null, byStream.get(key.stream()).put(inTx.get(i), "tx-" + i), "cursor handed out twice");
        }
        assertStreamMatches("gc", key.stream(), byStream.get(key.stream()));
    }

    @Test
    void a_stream_whose_head_another_transaction_holds_does_not_stall_publishes_to_other_streams(Api api)
            throws Exception {
        publisher().lockTimeoutMillis(200);
        assertEquals(
                201,
                api.post("/api/v1/users/held/events", writer, Map.of("type", "first", "data", Map.of("id", "first")))
                        .status());
        long slowBefore = publisher().stats().slowLane();
        Future<Api.Response> held1, held2;
        List<Future<Api.Response>> free = new ArrayList<>();
        try (HeadLock lock = HeadLock.take(server.databaseUrl(), "gc", "user:held")) {
            held1 = publishAsync("held", "ok", Map.of("id", "held-1"));
            await(
                    () -> publisher().stats().slowLane() > slowBefore,
                    "the publish to the held stream leaves the group commit");
            held2 = publishAsync("held", "ok", Map.of("id", "held-2"));
            // While the lock is still held, publishes to other streams commit.
            for (int i = 0; i < 10; i++) free.add(publishAsync("free" + (i % 3), "ok", Map.of("id", "free-" + i)));
            Map<String, Map<Long, String>> byStream = new HashMap<>();
            for (int i = 0; i < free.size(); i++) record(byStream, free.get(i), "user:free" + (i % 3), "free-" + i);
            for (var e : byStream.entrySet()) assertStreamMatches("gc", e.getKey(), e.getValue());
            assertTrue(!held1.isDone() && !held2.isDone(), "the held stream's publishes wait for its lock");
        }
        Map<String, Map<Long, String>> held = new HashMap<>();
        held.computeIfAbsent("user:held", k -> new HashMap<>()).put(1L, "first");
        record(held, held1, "user:held", "held-1");
        record(held, held2, "user:held", "held-2");
        assertStreamMatches("gc", "user:held", held.get("user:held"));
    }

    // --- helpers ---------------------------------------------------------------------------

    static void record(Map<String, Map<Long, String>> byStream, Future<Api.Response> call, String stream, String id)
            throws Exception {
        Api.Response r = call.get(30, TimeUnit.SECONDS);
        assertEquals(201, r.status(), r.toString());
        assertEquals(stream, r.json().get("stream").asText());
        long cursor = r.json().get("cursor").asLong();
        String previous = byStream.computeIfAbsent(stream, k -> new HashMap<>()).put(cursor, id);
        if (previous != null)
            fail("cursor " + cursor + " of " + stream + " was handed to both " + previous + " and " + id);
    }

    /** The stream's rows are exactly cursors 1..N, each holding the data its publisher got it for. */
    static void assertStreamMatches(String tenant, String stream, Map<Long, String> answered) throws Exception {
        DatabaseUrl url = server.databaseUrl();
        Map<Long, String> stored = new HashMap<>();
        long head;
        try (Connection c = Sql.connect(url)) {
            List<Map.Entry<Long, String>> rows = Sql.query(
                    c,
                    "SELECT cursor, data->>'id' FROM herald.events WHERE tenant = ? AND stream = ? ORDER BY cursor",
                    rs -> new AbstractMap.SimpleEntry<>(rs.getLong(1), rs.getString(2)),
                    tenant,
                    stream);
            for (Map.Entry<Long, String> row : rows) stored.put(row.getKey(), row.getValue());
            head = (long)
                    Sql.value(c, "SELECT head FROM herald.streams WHERE tenant = ? AND stream = ?", tenant, stream);
        }
        Set<Long> dense = new HashSet<>();
        for (long i = 1; i <= answered.size(); i++) dense.add(i);
        assertEquals(dense, answered.keySet(), stream + ": the cursors handed out are exactly 1.." + answered.size());
        assertEquals(
                answered,
                stored,
                stream + ": each cursor's row holds its publisher's data, and nothing else is stored");
        assertEquals(answered.size(), head, stream + ": the head equals the number of events");
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) fail("timed out waiting until " + what);
            Thread.sleep(10);
        }
    }

    /** Another connection holding a stream's head row locked until closed. */
    static final class HeadLock implements AutoCloseable {
        final Connection c;
        final DatabaseUrl url;

        private HeadLock(Connection c, DatabaseUrl url) {
            this.c = c;
            this.url = url;
        }

        static HeadLock take(DatabaseUrl url, String tenant, String stream) throws Exception {
            Connection c = Sql.connect(url);
            c.setAutoCommit(false);
            List<Long> locked = Sql.query(
                    c,
                    "SELECT head FROM herald.streams WHERE tenant = ? AND stream = ? FOR UPDATE",
                    rs -> rs.getLong(1),
                    tenant,
                    stream);
            assertFalse(locked.isEmpty(), "the stream exists");
            return new HeadLock(c, url);
        }

        /** Backends of this database waiting on a lock. */
        int waiters() {
            try {
                return (int)
                        Sql.scalar(
                                c,
                                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws Exception {
            c.commit();
            c.close();
        }
    }
}
