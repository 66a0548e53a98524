package dev.herald.userevents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * User event streams across three replicas on one database: published through one replica,
 * read through another, every event exactly once and in cursor order — also when publishers
 * race on two replicas, when a client resumes on a third, and when a listener is killed.
 */
class TestUserEventsAcrossReplicas {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(3);

    static Api api(int i) {
        return server.api(i);
    }

    static long publish(Api api, String token, String user, Map<String, Object> data) {
        Api.Response r =
                api.post("/api/v1/users/" + user + "/events", token, Map.of("type", "job.progress", "data", data));
        if (r.status() != 201) throw new AssertionError("publish failed: " + r);
        return r.json().get("cursor").asLong();
    }

    /** Asserts ids from..to, one each, in order, and nothing more within a short window. */
    static void assertExactlyOnceInOrder(List<SseClient.Event> got, long from, SseClient sse) {
        for (int i = 0; i < got.size(); i++)
            assertEquals(from + i, got.get(i).id(), "position " + i + " of " + got.size());
        List<SseClient.Event> extra = sse.drain(Duration.ofMillis(300));
        assertTrue(extra.isEmpty(), "duplicates or extras: " + extra);
    }

    @Test
    void every_event_published_on_a_arrives_once_and_in_order_on_b_and_c() {
        String token = api(0).userToken("acme", "fan");
        try (SseClient onB = api(1).sse("/api/v1/events", token);
                SseClient onC = api(2).sse("/api/v1/events", token)) {
            assertEquals(200, onB.status);
            assertEquals(200, onC.status);
            int n = 150;
            for (int i = 1; i <= n; i++) assertEquals(i, publish(api(0), token, "fan", Map.of("n", i)));
            for (SseClient sse : List.of(onB, onC)) {
                List<SseClient.Event> got = sse.take(n, Duration.ofSeconds(15));
                for (int i = 0; i < n; i++) {
                    assertEquals(i + 1, got.get(i).json().get("data").get("n").asInt());
                    assertEquals("job.progress", got.get(i).event());
                }
                assertExactlyOnceInOrder(got, 1, sse);
            }
        }
    }

    @Test
    void publishers_racing_on_a_and_c_give_b_one_dense_commit_ordered_stream() throws Exception {
        String token = api(0).userToken("acme", "race");
        int perPublisher = 60;
        try (SseClient onB = api(1).sse("/api/v1/events", token)) {
            assertEquals(200, onB.status);
            List<Thread> publishers = new ArrayList<>();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int p : new int[] {0, 2}) {
                publishers.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < perPublisher; i++) {
                        try {
                            publish(api(p), token, "race", Map.of("p", p, "n", i));
                        } catch (AssertionError e) {
                            failures.add(e.getMessage());
                        }
                    }
                }));
            }
            for (Thread t : publishers) t.join(Duration.ofSeconds(60));
            assertTrue(failures.isEmpty(), failures.toString());
            List<SseClient.Event> got = onB.take(2 * perPublisher, Duration.ofSeconds(15));
            Set<String> seen = new HashSet<>();
            Map<Integer, Integer> lastN = new java.util.HashMap<>();
            for (SseClient.Event e : got) {
                int p = e.json().get("data").get("p").asInt();
                int n = e.json().get("data").get("n").asInt();
                assertTrue(seen.add(p + "/" + n), "duplicate " + p + "/" + n);
                Integer prev = lastN.put(p, n);
                assertTrue(prev == null || n == prev + 1, "publisher " + p + ": " + n + " after " + prev);
            }
            assertExactlyOnceInOrder(got, 1, onB);
        }
    }

    @Test
    void a_client_resumes_on_another_replica_without_loss_or_duplicates() {
        String token = api(0).userToken("acme", "mover");
        int n = 60;
        List<SseClient.Event> first;
        try (SseClient onB = api(1).sse("/api/v1/events", token)) {
            for (int i = 1; i <= n; i++) publish(api(0), token, "mover", Map.of("n", i));
            first = onB.take(25, Duration.ofSeconds(10));
        }
        long cursor = first.get(first.size() - 1).id();
        assertEquals(25, cursor);
        try (SseClient onC = api(2).sse("/api/v1/events", token, cursor)) {
            List<SseClient.Event> rest = onC.take(n - 25, Duration.ofSeconds(10));
            assertEquals(26, rest.get(0).json().get("data").get("n").asInt());
            assertExactlyOnceInOrder(rest, 26, onC);
        }
    }

    @Test
    void killing_b_listener_mid_stream_loses_and_repeats_nothing() throws Exception {
        String token = api(0).userToken("acme", "survivor");
        int n = 100;
        try (SseClient onB = api(1).sse("/api/v1/events", token)) {
            assertEquals(200, onB.status);
            long before = -1;
            for (int i = 1; i <= n; i++) {
                publish(api(0), token, "survivor", Map.of("n", i));
                if (i == 30) before = ListenerFaults.kill(server, 1);
                if (i % 10 == 0) Thread.sleep(20); // spread the publishes over the outage
            }
            ListenerFaults.awaitReconnect(server, 1, before, Duration.ofSeconds(10));
            List<SseClient.Event> got = onB.take(n, Duration.ofSeconds(15));
            for (int i = 0; i < n; i++)
                assertEquals(i + 1, got.get(i).json().get("data").get("n").asInt());
            assertExactlyOnceInOrder(got, 1, onB);
            // And the new LISTEN connection delivers live again.
            publish(api(0), token, "survivor", Map.of("n", n + 1));
            assertEquals(n + 1L, onB.next(Duration.ofSeconds(5)).id());
        }
    }
}
