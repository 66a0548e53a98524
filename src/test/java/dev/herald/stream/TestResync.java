package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The resync after a listener reconnect: one query reads the heads of (up to) 1,000 live topics,
 * and only the topics whose stream moved while the listener was down re-query, a few at a time
 * — not every topic at once.
 */
class TestResync {
    static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static final class Quiet implements Subscriber {
        @Override
        public void wake() {}

        @Override
        public void offerTransient(byte[] frame) {}
    }

    @Test
    void two_thousand_live_topics_ten_moved_while_the_listener_was_down_resync_in_a_dozen_queries(Api api)
            throws Exception {
        Herald h = server.herald();
        Hub hub = h.hub();
        int idle = 1_990, moved = 10;
        // Every stream has one event already, so its head row exists.
        try (Connection c = Sql.connect(server.databaseUrl())) {
            Sql.scalar(
                    c,
                    "SELECT cardinality(herald.publish_batch(array_fill('rs'::text, ARRAY[2000]),"
                            + " (SELECT array_agg('user:' || CASE WHEN i < 10 THEN 'm' || i ELSE 'q' || i END)"
                            + " FROM generate_series(0, 1999) i),"
                            + " array_fill('tick'::text, ARRAY[2000]), array_fill('{}'::jsonb, ARRAY[2000])))");
        }
        List<Hub.Subscription> quiet = new ArrayList<>();
        for (int i = moved; i < moved + idle; i++)
            quiet.add(hub.subscribe(new StreamKey("rs", "user:q" + i), new Quiet()));
        List<SseClient> clients = new ArrayList<>();
        for (int i = 0; i < moved; i++) {
            SseClient s = api.sse("/api/v1/events", api.userToken("rs", "m" + i));
            assertEquals(200, s.status, s.errorBody());
            clients.add(s);
        }
        assertEquals(idle + moved, hub.topicCount());

        // Kill the listener's backend and hold its reconnect until the ten streams moved.
        CountDownLatch release = new CountDownLatch(1);
        h.listener().beforeReconnect = () -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        long before = ListenerFaults.kill(server, 0);
        long until = System.nanoTime() + WAIT.toNanos();
        while (h.listener().connected() && System.nanoTime() < until) Thread.sleep(5);
        assertFalse(h.listener().connected(), "the listener noticed its backend is gone");
        try (Connection c = Sql.connect(server.databaseUrl())) {
            for (int i = 0; i < moved; i++)
                Sql.scalar(c, "SELECT herald.publish('rs', ?, 'tick', '{\"missed\":true}'::jsonb)", "user:m" + i);
        }
        double fetches = h.metrics().fetchCount();
        double headQueries = h.metrics().headQueryCount();
        h.listener().beforeReconnect = () -> {};
        release.countDown();
        ListenerFaults.awaitReconnect(server, 0, before, WAIT);

        // Each of the ten gets the event it missed.
        for (SseClient s : clients) {
            SseClient.Event e = s.next(WAIT);
            assertEquals(2L, e == null ? null : e.id(), "the missed event");
            assertTrue(e.data().contains("missed"), e.data());
        }
        double fetched = h.metrics().fetchCount() - fetches;
        double heads = h.metrics().headQueryCount() - headQueries;
        System.out.printf(
                "[resync] %d live topics, %d moved while the listener was down: %.0f head queries + %.0f fetches,"
                        + " at most %d fetches at once%n",
                idle + moved, moved, heads, fetched, hub.maxConcurrentResyncFetches());
        assertEquals(2, heads, "2,000 topics: two queries of 1,000 heads");
        assertEquals(moved, fetched, "only the topics that moved re-query");
        assertTrue(heads + fetched <= 20);
        assertTrue(hub.maxConcurrentResyncFetches() <= Hub.RESYNC_CONCURRENCY);
        clients.forEach(SseClient::close);
        quiet.forEach(Hub.Subscription::close);
    }
}
