package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 3: a replica is stopped (what SIGTERM does) with many open SSE clients. It stops
 * accepting, ends every stream cleanly (the terminating chunk, not a reset) well within 10 s,
 * and the clients resume on the other replica from their cursor without losing or repeating
 * anything. {@code -Dherald.shutdownClients=1000} runs it with 1,000 clients.
 */
class TestGracefulShutdown {
    static final String TENANT = "shutdown";
    static final int CLIENTS = Integer.getInteger("herald.shutdownClients", 200);
    static final int USERS = 20;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void a_stopping_replica_ends_its_streams_cleanly_and_clients_resume_elsewhere_losing_nothing() throws Exception {
        try (TestServer server = TestServer.start(2)) {
            Api a1 = server.api(1);
            int port0 = server.replica(0).port();
            int port1 = server.replica(1).port();
            String write = a1.mint(TENANT, null, "events:write");
            List<String> users = new ArrayList<>();
            List<String> reads = new ArrayList<>();
            for (int u = 0; u < USERS; u++) {
                users.add("s" + u);
                reads.add(a1.mint(TENANT, "s" + u, "events:read"));
            }
            List<Follower> followers = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                followers.add(new Follower(
                        "/api/v1/events", reads.get(i % USERS), 0, Follower.port(port0), Follower.port(port1)));
            }
            for (Follower f : followers) assertTrue(f.awaitConnected(Duration.ofSeconds(30)), f.toString());
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (server.replica(0).sessions().count() < CLIENTS && System.nanoTime() < until) Thread.sleep(20);
            assertEquals(CLIENTS, server.replica(0).sessions().count());

            // Writers use the surviving replica; events flow before, during and after the stop.
            Writers writers = Writers.start(USERS, 1_000_000, Duration.ofMillis(50), i -> a1, write, users, null);
            Thread.sleep(1_000);

            // Probe the stopping replica's port: once the first stream has ended, nothing may
            // be accepted there any more (clients and load balancers must go elsewhere).
            AtomicInteger acceptedAfterFirstEnd = new AtomicInteger();
            AtomicInteger probes = new AtomicInteger();
            Thread prober = Thread.ofVirtual().start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    boolean anyEnded = followers.stream().anyMatch(f -> f.cleanEnds.get() + f.abortedEnds.get() > 0);
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port0), 1_000);
                        if (anyEnded) acceptedAfterFirstEnd.incrementAndGet();
                    } catch (IOException refused) {
                        // closed: as it should be
                    }
                    if (anyEnded) probes.incrementAndGet();
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });

            long t0 = System.nanoTime();
            server.stopReplica(0);
            long stopMs = (System.nanoTime() - t0) / 1_000_000;
            Thread.sleep(300);
            prober.interrupt();
            prober.join();

            Thread.sleep(1_000);
            writers.stop();
            assertTrue(writers.join(Duration.ofSeconds(30)));
            assertEquals(List.of(), writers.failures);

            int clean = 0;
            int aborted = 0;
            for (int i = 0; i < followers.size(); i++) {
                Follower f = followers.get(i);
                List<Writers.Published> committed = writers.of(users.get(i % USERS));
                Ledger.assertDense(committed);
                assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(30)), f.toString());
                clean += f.cleanEnds.get();
                aborted += f.abortedEnds.get();
            }
            Thread.sleep(200);
            int published = 0;
            int delivered = 0;
            for (int i = 0; i < followers.size(); i++) {
                Follower f = followers.get(i);
                Ledger.Figures fig = Ledger.compare(writers.of(users.get(i % USERS)), f);
                Ledger.assertExact(fig, f.toString());
                assertEquals(2, f.connects.get(), "one stream on the stopped replica, one on the other: " + f);
                assertEquals(1, f.connectedTo(), f.toString());
                published += fig.published();
                delivered += fig.delivered();
            }
            System.out.println("[fault 3] " + CLIENTS + " SSE clients: stop took " + stopMs + " ms; clean ends=" + clean
                    + " aborted=" + aborted
                    + "; probes after the first end=" + probes.get() + " accepted=" + acceptedAfterFirstEnd.get()
                    + "; events committed=" + writers.published.size() + " delivered (sum over clients)=" + delivered
                    + " expected=" + published + " lost=0 dup=0; " + writers.latencySummary());
            assertTrue(stopMs < 10_000, "stop took " + stopMs + " ms");
            assertEquals(CLIENTS, clean, "every stream must end cleanly");
            assertEquals(0, aborted);
            assertTrue(probes.get() > 0, "the port was never probed after the first stream ended");
            assertEquals(
                    0,
                    acceptedAfterFirstEnd.get(),
                    "the stopping replica accepted connections after it began ending streams");
            followers.forEach(Follower::close);
        }
    }
}
