package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The engine's promises: dense commit-ordered cursors, exact resume, survival of listener loss. */
class TestStreamEngine {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static void assertExactly1ToN(List<SseClient.Event> events, int n) {
        assertEquals(n, events.size());
        for (int i = 0; i < n; i++) assertEquals(i + 1, events.get(i).id(), "event #" + i + " of " + events);
    }

    @Test
    void eight_concurrent_writers_and_rollbacks_leave_every_subscriber_exactly_1_to_N(Api api) throws Exception {
        String token = api.userToken("acme", "busy");
        int writers = 8, each = 100;
        List<SseClient> subs = new ArrayList<>();
        for (int i = 0; i < 3; i++) subs.add(api.sse("/api/v1/events?after=0", token));
        AtomicInteger rolledBack = new AtomicInteger();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> jobs = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                jobs.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        Api.Response r = api.post(
                                "/api/v1/users/busy/events",
                                token,
                                Map.of("type", "w.write", "data", Map.of("w", writer, "i", i)));
                        assertEquals(201, r.status(), r.toString());
                    }
                    return null;
                }));
            }
            // Transactions that take a cursor, then roll back, interleaved with the writers.
            jobs.add(pool.submit(() -> {
                try (Connection c = Sql.connect(server.databaseUrl())) {
                    c.setAutoCommit(false);
                    for (int i = 0; i < 20; i++) {
                        Sql.scalar(c, "SELECT herald.publish_user_event('acme', 'busy', 'never.sent', '{}'::jsonb)");
                        c.rollback();
                        rolledBack.incrementAndGet();
                    }
                }
                return null;
            }));
            for (Future<?> f : jobs) f.get();
        }
        int n = writers * each;
        for (SseClient s : subs) {
            List<SseClient.Event> got = s.take(n, Duration.ofSeconds(60));
            assertExactly1ToN(got, n);
            assertTrue(got.stream().noneMatch(e -> e.event().equals("never.sent")));
            assertNull(s.next(Duration.ofMillis(300)), "nothing after N");
            s.close();
        }
        assertEquals(20, rolledBack.get());
        // Each writer's own events arrive in the order it wrote them.
        List<SseClient.Event> all = api.sse("/api/v1/events?after=0", token).take(n, Duration.ofSeconds(30));
        int[] lastI = new int[writers];
        java.util.Arrays.fill(lastI, -1);
        for (SseClient.Event e : all) {
            int w = e.json().path("data").path("w").asInt();
            int i = e.json().path("data").path("i").asInt();
            assertEquals(lastI[w] + 1, i);
            lastI[w] = i;
        }
    }

    @Test
    void a_client_resumes_from_Last_Event_ID_with_exactly_the_missed_events(Api api) {
        String token = api.userToken("acme", "resumer");
        for (int i = 0; i < 3; i++) api.post("/api/v1/users/resumer/events", token, Map.of("type", "before"));
        long seen;
        try (SseClient first = api.sse("/api/v1/events?after=0", token)) {
            seen = first.take(3, Duration.ofSeconds(5)).get(2).id();
        }
        for (int i = 0; i < 4; i++) api.post("/api/v1/users/resumer/events", token, Map.of("type", "missed"));
        try (SseClient again = api.sse("/api/v1/events", token, seen)) {
            List<SseClient.Event> got = again.take(4, Duration.ofSeconds(5));
            assertEquals(
                    List.of(4L, 5L, 6L, 7L),
                    got.stream().map(SseClient.Event::id).toList());
            assertTrue(got.stream().allMatch(e -> e.event().equals("missed")));
            assertNull(again.next(Duration.ofMillis(300)));
        }
        // The header wins over ?after=.
        try (SseClient both = SseClient.open(api.base + "/api/v1/events?after=1", token, 6L)) {
            assertEquals(7L, both.next(Duration.ofSeconds(5)).id());
        }
    }

    @Test
    void bad_and_future_cursors_are_rejected(Api api) {
        String token = api.userToken("acme", "cursors");
        api.post("/api/v1/users/cursors/events", token, Map.of("type", "one"));
        for (String bad : new String[] {"-1", "abc", "1.5", "99999999999999999999", "%F0%9F%98%80", "0x10"}) {
            SseClient s = SseClient.open(api.base + "/api/v1/events?after=" + bad, token, null);
            assertEquals(400, s.status, bad);
            assertTrue(s.errorBody().contains("invalid_cursor"), s.errorBody());
        }
        SseClient ahead = api.sse("/api/v1/events", token, 2L);
        assertEquals(400, ahead.status);
        assertTrue(ahead.errorBody().contains("cursor_ahead"));
        Api.Response noAccept = api.send("GET", "/api/v1/events", token, null, Map.of("Accept", "application/json"));
        assertEquals(406, noAccept.status());
        assertEquals("not_acceptable", noAccept.errorCode());
    }

    @Test
    void a_publish_inside_an_open_transaction_is_invisible_until_commit_and_never_sent_on_rollback(Api api)
            throws Exception {
        String token = api.userToken("acme", "txuser");
        try (SseClient s = api.sse("/api/v1/events?after=0", token);
                Connection c = Sql.connect(server.databaseUrl())) {
            c.setAutoCommit(false);
            long cursor = Sql.scalar(
                    c, "SELECT herald.publish_user_event('acme', 'txuser', 'app.committed', '{\"k\":1}'::jsonb)");
            assertEquals(1, cursor);
            assertNull(s.next(Duration.ofMillis(500)), "invisible before COMMIT");
            assertEquals(
                    0,
                    api.get("/api/v1/events/backlog", token)
                            .json()
                            .get("events")
                            .size());
            c.commit();
            SseClient.Event e = s.next(Duration.ofSeconds(5));
            assertEquals("app.committed", e.event());
            assertEquals(1L, e.id());

            Sql.scalar(c, "SELECT herald.publish_user_event('acme', 'txuser', 'app.rolledback', '{}'::jsonb)");
            c.rollback();
            assertNull(s.next(Duration.ofMillis(500)), "never sent after ROLLBACK");
            assertEquals(
                    2,
                    api.post("/api/v1/users/txuser/events", token, Map.of("type", "after.rollback"))
                            .json()
                            .get("cursor")
                            .asLong(),
                    "no gap");
            assertEquals(2L, s.next(Duration.ofSeconds(5)).id());
        }
    }

    @Test
    void the_sql_function_rejects_bad_input() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl())) {
            for (String call : new String[] {
                "SELECT herald.publish_user_event('acme', 'bad user', 'x', '{}')",
                "SELECT herald.publish_user_event('acme', 'u', 'Bad Type', '{}')",
                "SELECT herald.publish_user_event(NULL, 'u', 'x', '{}')"
            }) {
                try {
                    Sql.scalar(c, call);
                    throw new AssertionError("accepted: " + call);
                } catch (java.sql.SQLException e) {
                    assertEquals("22023", e.getSQLState(), call);
                }
            }
        }
    }

    @Test
    void killing_the_listener_backend_loses_nothing_and_readiness_recovers(Api api) throws Exception {
        Herald h = server.herald();
        String token = api.userToken("acme", "survivor");
        long reconnectsBefore = h.listener().reconnects();
        try (SseClient s = api.sse("/api/v1/events?after=0", token)) {
            int total = 0;
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 10; i++) {
                    api.post("/api/v1/users/survivor/events", token, Map.of("type", "r" + round));
                    total++;
                }
                int pid = h.listener().backendPid();
                ListenerFaults.terminateBackend(server.databaseUrl(), pid);
                // Published while the listener is down or reconnecting.
                for (int i = 0; i < 10; i++) {
                    api.post("/api/v1/users/survivor/events", token, Map.of("type", "r" + round));
                    total++;
                }
                long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (h.listener().reconnects() < reconnectsBefore + round + 1 && System.nanoTime() < until)
                    Thread.sleep(20);
            }
            assertExactly1ToN(s.take(total, Duration.ofSeconds(20)), total);
            assertTrue(h.listener().reconnects() >= reconnectsBefore + 3, "reconnected after each kill");
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (api.get("/readyz", null).status() != 200 && System.nanoTime() < until) Thread.sleep(50);
            assertEquals(200, api.get("/readyz", null).status());
        }
    }
}
