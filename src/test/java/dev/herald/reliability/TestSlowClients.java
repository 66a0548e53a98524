package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 4: clients that send their request and never read share a stream with normal
 * clients while a few thousand ~1.5 KB events flow. The normal clients' delivery latency must
 * not suffer (p99 measured without, then with the slow ones), the slow ones are disconnected
 * (each counted once in herald_slow_clients_dropped), and the heap stays bounded.
 */
class TestSlowClients {
    static final String TENANT = "slow";
    static final int NORMAL = 20;
    static final int SLOW = 100;
    static final int EVENTS_BEFORE = 600;
    static final int EVENTS_WITH = 1_200;
    static final int EVENTS_STUCK = 800;
    static final Duration SLOW_TIMEOUT = Duration.ofSeconds(3);

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void clients_that_never_read_are_dropped_without_slowing_anyone_else() throws Exception {
        try (TestServer server = TestServer.start(
                1,
                c -> c.slowClientTimeout(SLOW_TIMEOUT)
                        // 120 streams of one user: the per-user replay budget would refuse most of them.
                        .replay(0, 0, Duration.ofMinutes(1)))) {
            Herald h = server.herald();
            Api api = server.api();
            String write = api.mint(TENANT, null, "events:write");
            String read = api.mint(TENANT, "hot", "events:read");
            String pad = "x".repeat(1_500);
            List<Follower> normal = new ArrayList<>();
            for (int i = 0; i < NORMAL; i++)
                normal.add(new Follower("/api/v1/events", read, 0, Follower.port(h.port())));
            for (Follower f : normal) assertTrue(f.awaitConnected(Duration.ofSeconds(10)));

            // Phase A: normal clients only.
            Writers a = Writers.start(4, EVENTS_BEFORE / 4, Duration.ZERO, i -> api, write, List.of("hot"), pad);
            assertTrue(a.join(Duration.ofSeconds(60)));
            assertEquals(List.of(), a.failures);
            for (Follower f : normal) assertTrue(f.awaitId(EVENTS_BEFORE, Duration.ofSeconds(30)), f.toString());
            long heapBefore = usedHeapAfterGc();

            // Phase B: 100 clients that send the request and never read a byte.
            List<Socket> slow = openSlow(h, read, EVENTS_BEFORE);

            Writers b = Writers.start(4, EVENTS_WITH / 4, Duration.ZERO, i -> api, write, List.of("hot"), pad);
            assertTrue(b.join(Duration.ofSeconds(60)));
            assertEquals(List.of(), b.failures);
            for (Follower f : normal)
                assertTrue(f.awaitId(EVENTS_BEFORE + EVENTS_WITH, Duration.ofSeconds(30)), f.toString());

            // Every slow client is dropped once its write has been stuck past the timeout.
            long until = System.nanoTime() + SLOW_TIMEOUT.multipliedBy(4).toNanos();
            while (h.sessions().count() > NORMAL && System.nanoTime() < until) Thread.sleep(50);
            assertEquals(NORMAL, h.sessions().count(), "slow clients still open");
            double dropped = counter(h, "herald_slow_clients_dropped_total");
            for (Socket s : slow) s.close();

            // Phase C (heap only, no latency measured: the forced GCs pause everything): another
            // batch of stuck clients; sample the live heap while they hang on, then after.
            slow = openSlow(h, read, EVENTS_BEFORE + EVENTS_WITH);
            long stuckHeap = -1;
            Writers c = Writers.start(4, EVENTS_STUCK / 4, Duration.ZERO, i -> api, write, List.of("hot"), pad);
            while (!c.join(Duration.ofMillis(50))) {
                if (stuckHeap < 0
                        && c.published.size() >= EVENTS_STUCK / 2
                        && h.sessions().count() == NORMAL + SLOW) stuckHeap = usedHeapAfterGc();
            }
            assertEquals(List.of(), c.failures);
            until = System.nanoTime() + SLOW_TIMEOUT.multipliedBy(4).toNanos();
            while (h.sessions().count() > NORMAL && System.nanoTime() < until) Thread.sleep(50);
            assertEquals(NORMAL, h.sessions().count(), "slow clients still open");
            double droppedTotal = counter(h, "herald_slow_clients_dropped_total");
            for (Socket s : slow) s.close();
            for (Follower f : normal)
                assertTrue(f.awaitId(EVENTS_BEFORE + EVENTS_WITH + EVENTS_STUCK, Duration.ofSeconds(30)), f.toString());
            long heapAfter = usedHeapAfterGc();

            List<Writers.Published> committed = new ArrayList<>(a.of("hot"));
            committed.addAll(b.of("hot"));
            committed.addAll(c.of("hot"));
            committed.sort(java.util.Comparator.comparingLong(Writers.Published::cursor));
            Ledger.assertDense(committed);
            List<Long> latA = new ArrayList<>();
            List<Long> latB = new ArrayList<>();
            for (Follower f : normal) {
                Ledger.Figures fig = Ledger.compare(committed, f);
                Ledger.assertExact(fig, f.toString());
                assertEquals(1, f.connects.get(), "a normal client was disconnected: " + f);
                for (Follower.Received r : f.received()) {
                    if (r.id() <= EVENTS_BEFORE) latA.add(r.latencyMicros());
                    else if (r.id() <= EVENTS_BEFORE + EVENTS_WITH) latB.add(r.latencyMicros());
                }
            }
            latA.sort(null);
            latB.sort(null);
            System.out.printf(
                    "[fault 4] %d normal + %d slow clients, %d + %d events of ~1.6 KB: delivery latency (created_at -> client) without slow clients p50=%.1f ms p99=%.1f ms max=%.1f ms; with slow clients p50=%.1f ms p99=%.1f ms max=%.1f ms; slow dropped=%.0f (phase C: %.0f more); used heap after GC %d MB before, %d MB while they were stuck, %d MB after they were dropped; published=%d delivered per normal client=%d lost=0 dup=0%n",
                    NORMAL,
                    SLOW,
                    EVENTS_BEFORE,
                    EVENTS_WITH,
                    pct(latA, 50),
                    pct(latA, 99),
                    pct(latA, 100),
                    pct(latB, 50),
                    pct(latB, 99),
                    pct(latB, 100),
                    dropped,
                    droppedTotal - dropped,
                    heapBefore >> 20,
                    stuckHeap >> 20,
                    heapAfter >> 20,
                    committed.size(),
                    committed.size());
            assertEquals(SLOW, (int) dropped, "each slow client is dropped exactly once");
            assertEquals(2 * SLOW, (int) droppedTotal, "each slow client is dropped exactly once");
            // Held behind a stuck client, a normal one would wait at least the slow-client timeout.
            assertTrue(
                    pct(latB, 99) < SLOW_TIMEOUT.toMillis(),
                    "normal clients were slowed down: p99 " + pct(latB, 99) + " ms");
            // What a stuck client costs is bounded (its batch and Jetty's buffer), and freed when it is dropped.
            // A stuck client holds at most its current batch (<= 256 events) and Jetty's buffer.
            assertTrue(stuckHeap > 0, "the slow clients were dropped before the heap could be sampled");
            assertTrue(
                    stuckHeap - heapBefore < 64L << 20,
                    "stuck clients held " + ((stuckHeap - heapBefore) >> 20) + " MB");
            assertTrue(heapAfter - heapBefore < 64L << 20, "heap grew by " + ((heapAfter - heapBefore) >> 20) + " MB");
            normal.forEach(Follower::close);
        }
    }

    /** Clients that send an SSE request (resuming at a cursor) and never read a byte. */
    private static List<Socket> openSlow(Herald h, String token, long cursor) throws Exception {
        List<Socket> slow = new ArrayList<>();
        for (int i = 0; i < SLOW; i++) {
            Socket s = new Socket();
            s.setReceiveBufferSize(4 * 1024);
            s.connect(new InetSocketAddress("127.0.0.1", h.port()), 5_000);
            OutputStream out = s.getOutputStream();
            out.write(
                    ("GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer "
                                    + token + "\r\nLast-Event-ID: " + cursor + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            slow.add(s);
        }
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (h.sessions().count() < NORMAL + SLOW && System.nanoTime() < until) Thread.sleep(20);
        assertEquals(NORMAL + SLOW, h.sessions().count(), "the slow clients' streams must be open");
        return slow;
    }

    private static double pct(List<Long> sortedMicros, int p) {
        if (sortedMicros.isEmpty()) return Double.NaN;
        int i = Math.min(sortedMicros.size() - 1, (int) Math.ceil(sortedMicros.size() * p / 100.0) - 1);
        return sortedMicros.get(Math.max(0, i)) / 1000.0;
    }

    static double counter(Herald h, String name) {
        for (String line : h.metrics().scrape().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{"))
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError(name + " not in /metrics");
    }

    private static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        System.gc();
        Thread.sleep(200);
        System.gc();
        return usedHeap();
    }
}
