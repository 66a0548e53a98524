package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** One query per ping per replica, whatever the subscriber count; connections fully released. */
class TestFanOut {
    // Hundreds of connections of one user: the per-user replay budget would (rightly) refuse them.
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, c -> c.replay(0, 0, Duration.ofMinutes(1)));

    @Test
    void database_queries_grow_with_pings_not_with_subscribers(Api api) {
        Herald h = server.herald();
        String token = api.userToken("acme", "crowd");
        int subscribers = 100, pings = 50;
        List<SseClient> subs = new ArrayList<>();
        for (int i = 0; i < subscribers; i++) subs.add(api.sse("/api/v1/events", token));
        double before = h.metrics().fetchCount();
        for (int i = 0; i < pings; i++) {
            assertEquals(
                    201,
                    api.post("/api/v1/users/crowd/events", token, Map.of("type", "tick"))
                            .status());
        }
        for (SseClient s : subs) {
            List<SseClient.Event> got = s.take(pings, Duration.ofSeconds(30));
            assertEquals(pings, got.get(pings - 1).id());
            s.close();
        }
        double queries = h.metrics().fetchCount() - before;
        System.out.printf("[fan-out] %d subscribers, %d pings -> %.0f event queries%n", subscribers, pings, queries);
        assertTrue(queries <= pings + 5, "queries " + queries + " must be O(pings), not O(pings x subscribers)");
    }

    @Test
    void commit_to_client_latency_for_100_subscribers(Api api) {
        String token = api.userToken("acme", "latency");
        int subscribers = 100, events = 200;
        List<SseClient> subs = new ArrayList<>();
        for (int i = 0; i < subscribers; i++) subs.add(api.sse("/api/v1/events", token));
        long[] committedAt = new long[events + 1];
        java.util.concurrent.atomic.AtomicLongArray[] receivedAt =
                new java.util.concurrent.atomic.AtomicLongArray[subscribers];
        List<Thread> readers = new ArrayList<>();
        for (int k = 0; k < subscribers; k++) {
            SseClient s = subs.get(k);
            var mine = receivedAt[k] = new java.util.concurrent.atomic.AtomicLongArray(events + 1);
            readers.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < events; i++) {
                    SseClient.Event e = s.next(Duration.ofSeconds(30));
                    if (e == null) return;
                    mine.set(e.id().intValue(), System.nanoTime());
                }
            }));
        }
        for (int i = 1; i <= events; i++) {
            long sent = System.nanoTime();
            Api.Response r = api.post("/api/v1/users/latency/events", token, Map.of("type", "tick"));
            assertEquals(i, r.json().get("cursor").asLong());
            // The POST returns right after COMMIT: take the midpoint of send and return.
            committedAt[i] = (sent + System.nanoTime()) / 2;
            sleep(5);
        }
        for (Thread t : readers) join(t);
        subs.forEach(SseClient::close);
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        for (var mine : receivedAt) {
            for (int i = 1; i <= events; i++) if (mine.get(i) != 0) latencies.add(mine.get(i) - committedAt[i]);
        }
        long[] l = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        assertEquals(subscribers * events, l.length);
        System.out.printf(
                "[latency] commit->client, %d subscribers x %d events: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                subscribers, events, l[l.length / 2] / 1e6, l[(int) (l.length * 0.99)] / 1e6, l[l.length - 1] / 1e6);
        assertTrue(l[l.length / 2] < 250_000_000L, "p50 well under a quarter second");
    }

    @Test
    void two_thousand_opened_and_closed_connections_release_descriptors_and_subscriptions(Api api) throws Exception {
        Herald h = server.herald();
        String token = api.userToken("acme", "churn");
        int baseFds = openFds();
        int baseSubs = h.hub().subscriberCount();
        int port = h.port();
        byte[] request =
                ("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer "
                                + token + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII);
        Semaphore inFlight = new Semaphore(50);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<Boolean>> all = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                inFlight.acquire();
                all.add(pool.submit(() -> {
                    try (Socket s = new Socket("127.0.0.1", port)) {
                        s.setSoTimeout(10_000);
                        OutputStream out = s.getOutputStream();
                        out.write(request);
                        out.flush();
                        return readUntil(s.getInputStream(), ": connected");
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            for (Future<Boolean> f : all) assertTrue(f.get(), "every connection got ': connected'");
        }
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while ((h.sessions().count() > 0 || h.hub().subscriberCount() > baseSubs || openFds() > baseFds + 20)
                && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        System.out.printf(
                "[churn] fds %d -> %d, sessions %d, subscribers %d -> %d%n",
                baseFds, openFds(), h.sessions().count(), baseSubs, h.hub().subscriberCount());
        assertEquals(0, h.sessions().count());
        assertEquals(baseSubs, h.hub().subscriberCount());
        assertTrue(openFds() <= baseFds + 20, "descriptors back near " + baseFds + ", now " + openFds());
    }

    private static boolean readUntil(InputStream in, String marker) throws Exception {
        StringBuilder sb = new StringBuilder();
        byte[] buf = new byte[1024];
        int n;
        while ((n = in.read(buf)) > 0) {
            sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            if (sb.indexOf(marker) >= 0) return true;
        }
        return false;
    }

    private static int openFds() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return (int) s.count();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void join(Thread t) {
        try {
            t.join(Duration.ofSeconds(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
