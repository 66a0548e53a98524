package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An application transaction that publishes and then hangs holds its stream's head row. It
 * must never stall other streams: publishes to the held stream fail with 503 once the lock
 * timeout passes (or at once when the slow lane is full), while every other stream keeps
 * publishing and delivering, and the pool never runs dry.
 */
class TestHeldLock {
    static final String TENANT = "held";

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, b -> b.lockTimeout(Duration.ofSeconds(1)));

    @Test
    void a_held_head_fails_its_own_publishes_with_503_and_stalls_nothing_else(Api api) throws Exception {
        String writer = api.mint(TENANT, null, "events:write");
        String reader = api.mint(TENANT, "other", "events:read");
        assertEquals(201, publish(api, writer, "stuck", 0).status());
        var pool = server.herald().database().pool().getHikariPoolMXBean();
        AtomicInteger mostWaiting = new AtomicInteger();
        ExecutorService callers = Executors.newFixedThreadPool(72);
        try (SseClient live = api.sse("/api/v1/events", reader);
                TestGroupCommit.HeadLock lock =
                        TestGroupCommit.HeadLock.take(server.databaseUrl(), TENANT, "user:stuck")) {
            List<Future<Api.Response>> held = new ArrayList<>();
            for (int i = 1; i <= 64; i++) {
                int n = i;
                held.add(callers.submit(() -> publish(api, writer, "stuck", n)));
            }
            // While the head stays held, every other stream publishes and delivers.
            List<Future<Api.Response>> others = new ArrayList<>();
            for (int i = 1; i <= 40; i++) {
                int n = i;
                others.add(callers.submit(() -> {
                    mostWaiting.accumulateAndGet(pool.getThreadsAwaitingConnection(), Math::max);
                    return publish(api, writer, n % 2 == 0 ? "other" : "bystander-" + n % 5, n);
                }));
            }
            for (Future<Api.Response> f : others)
                assertEquals(201, f.get(30, TimeUnit.SECONDS).status());
            assertEquals(20, live.take(20, Duration.ofSeconds(20)).size(), "the other user's events arrived");
            // The held stream's publishes are all answered while its head is still held.
            for (Future<Api.Response> f : held) {
                Api.Response r = f.get(30, TimeUnit.SECONDS);
                mostWaiting.accumulateAndGet(pool.getThreadsAwaitingConnection(), Math::max);
                assertEquals(503, r.status(), r.toString());
                assertEquals("stream_locked", r.errorCode());
                assertEquals("1", r.header("Retry-After"));
            }
        } finally {
            callers.shutdownNow();
        }
        assertTrue(mostWaiting.get() <= 8, "the pool never ran dry: at most " + mostWaiting + " callers waited");
        // Nothing of the refused publishes was written; the stream works again once released.
        Api.Response after = publish(api, writer, "stuck", 65);
        assertEquals(201, after.status(), after.toString());
        assertEquals(2, after.json().get("cursor").asLong(), "the 64 refused publishes left no trace");
    }

    static Api.Response publish(Api api, String token, String user, int n) {
        return api.post("/api/v1/users/" + user + "/events", token, Map.of("type", "tick", "data", Map.of("n", n)));
    }
}
