package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What topics cost the heap: a ring allocated at the first event and grown by doubling up to
 * HERALD_RING_SIZE, kept longer only for readers still catching up, and one byte budget
 * (HERALD_RING_BYTES) for all rings that evicts the least recently used topics' frames — whose
 * readers then read the database, losing nothing. Plus the heap an idle topic costs.
 */
class TestTopicMemory {
    static final Duration WAIT = Duration.ofSeconds(20);

    /** A reader the test drives by hand: it only reads when the test calls read(). */
    static final class Quiet implements Subscriber {
        @Override
        public void wake() {}

        @Override
        public void offerTransient(byte[] frame) {}
    }

    static void publish(DatabaseUrl db, String tenant, String stream, int n, int padding) throws Exception {
        try (Connection c = Sql.connect(db)) {
            Sql.scalar(
                    c,
                    "SELECT cardinality(herald.publish_batch(array_fill(?::text, ARRAY[?]), array_fill(?::text, ARRAY[?]),"
                            + " array_fill('tick'::text, ARRAY[?]),"
                            + " (SELECT array_agg(jsonb_build_object('i', i, 'pad', repeat('x', ?))) FROM generate_series(1, ?) i)))",
                    tenant,
                    n,
                    stream,
                    n,
                    n,
                    padding,
                    n);
        }
    }

    static void awaitFetched(Topic t, long cursor) throws InterruptedException {
        long until = System.nanoTime() + WAIT.toNanos();
        while (t.lastFetched() < cursor) {
            if (System.nanoTime() > until) throw new AssertionError(t.key + " fetched only " + t.lastFetched());
            Thread.sleep(5);
        }
    }

    @Test
    void a_ring_starts_with_no_slots_doubles_up_to_the_ring_size_and_keeps_more_only_for_readers_behind()
            throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.ringSize(100))) {
            Hub hub = server.herald().hub();
            DatabaseUrl db = server.databaseUrl();
            StreamKey key = new StreamKey("mem", "user:grow");
            Hub.Subscription sub = hub.subscribe(key, new Quiet());
            Topic t = hub.topic(key);
            assertEquals(0, t.capacity(), "an idle topic holds no slots");
            assertEquals(0, t.cachedBytes());

            long head = 0;
            int[][] steps = {{1, 16}, {15, 16}, {1, 32}, {30, 64}, {30, 100}, {23, 100}};
            for (int[] step : steps) {
                publish(db, "mem", "user:grow", step[0], 10);
                head += step[0];
                awaitFetched(t, head);
                assertEquals(step[1], t.capacity(), "after " + head + " events");
                // The reader keeps up: it reads everything, so nothing is kept for it.
                assertEquals(head, sub.read(head - 1, 1).get(0).event().cursor());
                assertEquals(List.of(), sub.read(head, 10));
            }
            assertEquals(100, t.cachedEvents(), "the last ring-size events");

            // 1,000 events at once while the reader has not read them yet: past the ring size the
            // ring keeps every one it still needs (it would otherwise read them from the database).
            publish(db, "mem", "user:grow", 1000, 10);
            awaitFetched(t, head + 1000);
            assertEquals(1000, t.cachedEvents());
            assertTrue(t.capacity() >= 1100, "capacity " + t.capacity());
            List<Encoded> caughtUp = sub.read(head, 2000);
            assertNotNull(caughtUp);
            assertEquals(1000, caughtUp.size());
            assertEquals(head + 1, caughtUp.get(0).event().cursor());
            head += 1000;
            sub.read(head, 10); // read everything
            // The next event trims what everyone has read and the ring shrinks back.
            publish(db, "mem", "user:grow", 1, 10);
            awaitFetched(t, head + 1);
            assertEquals(100, t.cachedEvents());
            assertEquals(100, t.capacity());
            sub.close();
            assertEquals(0, hub.cachedBytes(), "a closed topic gives its bytes back");
        }
    }

    @Test
    void the_byte_budget_evicts_the_least_recently_used_topics_and_their_readers_lose_nothing() throws Exception {
        long budget = 64 * 1024;
        try (TestServer server = TestServer.start(1, b -> b.ringBytes(budget))) {
            Herald h = server.herald();
            Hub hub = h.hub();
            DatabaseUrl db = server.databaseUrl();
            List<StreamKey> keys = new ArrayList<>();
            List<Hub.Subscription> subs = new ArrayList<>();
            for (int i = 1; i <= 4; i++) {
                StreamKey k = new StreamKey("lru", "user:t" + i);
                keys.add(k);
                subs.add(hub.subscribe(k, new Quiet()));
            }
            // ~20 KB per topic: six events of about 3.3 KB each.
            for (int i = 0; i < 3; i++) {
                publish(db, "lru", keys.get(i).stream(), 6, 1000);
                awaitFetched(hub.topic(keys.get(i)), 6);
                subs.get(i).read(6, 10); // each reader keeps up
            }
            long three = hub.cachedBytes();
            assertTrue(three > 55_000 && three <= budget, "three topics: " + three);
            // t1 is read again: now t2 is the least recently used, then t3.
            assertEquals(6, subs.get(0).read(0, 10).size());
            publish(db, "lru", keys.get(3).stream(), 6, 1000);
            awaitFetched(hub.topic(keys.get(3)), 6);
            assertTrue(hub.cachedBytes() <= budget, "within the budget: " + hub.cachedBytes());
            assertTrue(hub.topic(keys.get(0)).cachedBytes() > 0, "t1 was used recently");
            assertEquals(0, hub.topic(keys.get(1)).cachedBytes(), "t2 was the least recently used");
            assertEquals(0, hub.topic(keys.get(2)).cachedBytes(), "then t3");
            assertTrue(hub.topic(keys.get(3)).cachedBytes() > 0, "t4 has just been fetched");
            assertEquals(2, hub.ringEvictions());
            // An evicted topic's reader reads the database: everything is still there.
            double before = h.metrics().fetchCount();
            List<Encoded> fromDb = subs.get(1).read(0, 10);
            assertEquals(6, fromDb.size());
            assertEquals(1L, fromDb.get(0).event().cursor());
            assertEquals(before + 1, h.metrics().fetchCount(), "one query, from the database");
            subs.forEach(Hub.Subscription::close);
            assertEquals(0, hub.cachedBytes());
        }
    }

    @Test
    void over_the_budget_sse_subscribers_of_many_streams_still_get_every_event_in_order() throws Exception {
        long budget = 64 * 1024;
        try (TestServer server = TestServer.start(1, b -> b.ringBytes(budget))) {
            Api api = server.api();
            Hub hub = server.herald().hub();
            int streams = 12, each = 30;
            List<SseClient> clients = new ArrayList<>();
            List<String> tokens = new ArrayList<>();
            for (int s = 0; s < streams; s++) {
                String token = api.userToken("many", "u" + s);
                tokens.add(token);
                clients.add(api.sse("/api/v1/events", token));
            }
            // 12 streams x 30 events x ~3.3 KB: about 1.2 MB through a 64 KB budget.
            for (int round = 0; round < 3; round++) {
                for (int s = 0; s < streams; s++) publish(server.databaseUrl(), "many", "user:u" + s, each / 3, 1000);
            }
            for (int s = 0; s < streams; s++) {
                List<SseClient.Event> got = clients.get(s).take(each, WAIT);
                for (int i = 0; i < each; i++) assertEquals(i + 1L, got.get(i).id(), "stream " + s + ": " + got);
                assertTrue(clients.get(s).drain(Duration.ofMillis(50)).isEmpty());
            }
            System.out.printf(
                    "[ring-budget] %d streams x %d events through a %d-byte budget: %d evictions, %d bytes cached%n",
                    streams, each, budget, hub.ringEvictions(), hub.cachedBytes());
            assertTrue(hub.ringEvictions() > 0, "the budget was exceeded, so topics were evicted");
            assertTrue(hub.cachedBytes() <= budget, "within the budget: " + hub.cachedBytes());
            clients.forEach(SseClient::close);
        }
    }

    @Test
    void heap_per_idle_topic_with_one_subscriber() throws Exception {
        int topics = 5_000;
        try (TestServer server = TestServer.start()) {
            Hub hub = server.herald().hub();
            List<Hub.Subscription> subs = new ArrayList<>(topics);
            // Warm up the code paths (and the pool) first, so only topics are counted.
            for (int i = 0; i < 200; i++) subs.add(hub.subscribe(new StreamKey("warm", "user:w" + i), new Quiet()));
            subs.forEach(Hub.Subscription::close);
            subs.clear();
            long base = liveHeap();
            for (int i = 0; i < topics; i++) subs.add(hub.subscribe(new StreamKey("idle", "user:u" + i), new Quiet()));
            long loaded = liveHeap();
            assertEquals(topics, hub.topicCount());
            long perTopic = (loaded - base) / topics;
            System.out.printf(
                    "[topic-heap] %,d idle topics with one subscriber each: %,d bytes of heap in all, %,d bytes per topic%n",
                    topics, loaded - base, perTopic);
            // A fixed 512-slot ring would be 2 KB of references per idle topic by itself.
            assertTrue(perTopic < 1_500, "per idle topic: " + perTopic + " bytes");
            subs.forEach(Hub.Subscription::close);
            assertEquals(0, hub.topicCount());
        }
    }

    /** Heap in use after full collections (the lowest of three readings). */
    static long liveHeap() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            min = Math.min(min, mem.getHeapMemoryUsage().getUsed());
        }
        return min;
    }
}
