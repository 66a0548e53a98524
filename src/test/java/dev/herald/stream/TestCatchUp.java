package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseFrames;
import dev.herald.testing.TestServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A burst committed at once (a 5,000-event backlog in one transaction) reaching 100 live
 * subscribers of one stream: the replica fetches it page by page, waking the subscribers after
 * every page, and keeps in the ring what they have not read yet, so the database sees
 * O(events / page) queries whatever the number of subscribers.
 */
class TestCatchUp {
    // One user, 100 connections: the per-user replay budget would (rightly) refuse them.
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, b -> b.replay(0, 0, Duration.ofMinutes(1)));

    static final HttpClient CLIENT =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** An SSE client that checks ids as they come (1, 2, 3, …) without keeping the events. */
    static final class Checker implements AutoCloseable {
        final HttpResponse<InputStream> response;
        final CountDownLatch done = new CountDownLatch(1);
        final long expect;
        volatile long last;
        volatile long received;
        volatile String error;

        Checker(String url, String token, long expect) throws Exception {
            this.expect = expect;
            HttpRequest req = HttpRequest.newBuilder(URI.create(url))
                    .header("Accept", "text/event-stream")
                    .header("Authorization", "Bearer " + token)
                    .build();
            response = CLIENT.send(req, HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            Thread.ofVirtual().start(this::read);
        }

        private void read() {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                SseFrames.parse(r, (id, event, data) -> {
                    if (id == null) return;
                    received++;
                    if (id != last + 1 && error == null) error = "after " + last + " came " + id + " (" + event + ")";
                    last = id;
                    if (last == expect) done.countDown();
                });
            } catch (Exception ignored) {
                // closed by the test
            } finally {
                done.countDown();
            }
        }

        @Override
        public void close() {
            try {
                response.body().close();
            } catch (Exception ignored) {
                // closed
            }
        }
    }

    @Test
    void a_5000_event_backlog_reaches_100_subscribers_in_order_with_one_query_per_page(Api api) throws Exception {
        Herald h = server.herald();
        String token = api.userToken("burst", "bo");
        int subscribers = 100, events = 5_000;
        List<Checker> checkers = new ArrayList<>();
        for (int i = 0; i < subscribers; i++) checkers.add(new Checker(api.base + "/api/v1/events", token, events));
        // Every subscriber is registered (its 200 came after its subscription).
        assertEquals(subscribers, h.hub().subscriberCount());

        double fetchesBefore = h.metrics().fetchCount();
        long reconnectsBefore = h.listener().reconnects();
        try (Connection c = Sql.connect(server.databaseUrl())) {
            // One transaction, one statement: 5,000 cursors, one ping.
            Sql.scalar(
                    c,
                    "SELECT cardinality(herald.publish_batch(array_fill('burst'::text, ARRAY[?]),"
                            + " array_fill('user:bo'::text, ARRAY[?]), array_fill('tick'::text, ARRAY[?]),"
                            + " (SELECT array_agg(jsonb_build_object('i', i)) FROM generate_series(1, ?) i)))",
                    events,
                    events,
                    events,
                    events);
        }
        for (Checker ch : checkers) {
            assertTrue(ch.done.await(120, TimeUnit.SECONDS), "a subscriber got only up to " + ch.last);
        }
        Thread.sleep(200); // anything extra (a duplicate) would arrive now
        for (Checker ch : checkers) {
            assertNull(ch.error);
            assertEquals(events, ch.last);
            assertEquals(events, ch.received, "every event exactly once");
            ch.close();
        }
        double fetches = h.metrics().fetchCount() - fetchesBefore;
        long reconnects = h.listener().reconnects() - reconnectsBefore;
        System.out.printf(
                "[catch-up] %,d events in one transaction to %d subscribers: %.0f event queries (page %d), %d listener reconnects%n",
                events, subscribers, fetches, Topic.PAGE, reconnects);
        // 10 full pages + the empty one that ends the catch-up = 11; slack: a ping that
        // arrives while the topic fetches makes it look once more (+1), and a listener
        // reconnect on this loaded machine re-queries the topic (+2 each: one page of
        // whatever is new, one empty).
        assertTrue(
                fetches <= 15 + 2 * reconnects,
                fetches + " queries for " + events + " events: must be O(events / page), not O(subscribers)");
    }
}
