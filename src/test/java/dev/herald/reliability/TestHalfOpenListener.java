package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 7: the listener's TCP connection goes half-open — a proxy between it and PostgreSQL
 * stops forwarding without closing anything. Nothing tells the driver; only the watchdog's
 * self-ping can notice. It must do so within its deadline, reconnect, resync, and the
 * subscribers must lose nothing.
 */
class TestHalfOpenListener {
    static final String TENANT = "halfopen";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_frozen_listener_connection_is_detected_within_the_deadline_and_nothing_is_lost() throws Exception {
        DatabaseUrl direct = TestDatabase.fresh();
        try (TcpProxy proxy = new TcpProxy(direct.host(), direct.port());
                Cluster cluster = Cluster.start(
                        new DatabaseUrl("127.0.0.1", proxy.port(), direct.database(), direct.user(), direct.password()),
                        1,
                        c -> c)) {
            Herald h = cluster.replica(0);
            Api api = cluster.api(0);
            assertEquals(1, proxy.open("herald-listener"), "the listener must connect through the proxy");
            String write = api.mint(TENANT, null, "events:write");
            String read = api.mint(TENANT, "ann", "events:read");
            try (Follower f = new Follower("/api/v1/events", read, 0, Follower.port(h.port()))) {
                assertTrue(f.awaitConnected(Duration.ofSeconds(10)));
                Writers writers = Writers.start(2, 60, Duration.ofMillis(40), i -> api, write, List.of("ann"), null);
                Thread.sleep(500);

                int oldPid = h.listener().backendPid();
                long reconnectsBefore = h.listener().reconnects();
                long frozenAt = System.nanoTime();
                assertEquals(1, proxy.freeze("herald-listener"));
                while (h.listener().connected()
                        && System.nanoTime() - frozenAt < Duration.ofSeconds(10).toNanos()) Thread.sleep(10);
                long detectedMs = (System.nanoTime() - frozenAt) / 1_000_000;
                // test config: self-ping every 300 ms, deadline 1,500 ms; allow a loaded machine slack
                assertTrue(detectedMs < 4_000, "the watchdog took " + detectedMs + " ms to notice");
                while (h.listener().reconnects() == reconnectsBefore
                        && System.nanoTime() - frozenAt < Duration.ofSeconds(15).toNanos()) Thread.sleep(10);
                long recoveredMs = (System.nanoTime() - frozenAt) / 1_000_000;
                assertEquals(reconnectsBefore + 1, h.listener().reconnects());
                assertNotEquals(oldPid, h.listener().backendPid());

                assertTrue(writers.join(Duration.ofSeconds(30)));
                assertEquals(List.of(), writers.failures);
                List<Writers.Published> committed = writers.of("ann");
                Ledger.assertDense(committed);
                assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(15)), f.toString());
                Thread.sleep(200);
                Ledger.Figures fig = Ledger.compare(committed, f);
                System.out.println("[fault 7] frozen listener detected after " + detectedMs + " ms, reconnected after "
                        + recoveredMs + " ms; " + fig);
                Ledger.assertExact(fig, f.toString());
                assertEquals(1, f.connects.get(), f.toString());

                // The stale backend would pin the cluster-wide NOTIFY queue: the listener ends it.
                long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (Sql.scalar(direct, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", oldPid) > 0
                        && System.nanoTime() < until) Thread.sleep(50);
                assertEquals(
                        0,
                        Sql.scalar(direct, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", oldPid),
                        "the half-open listener's backend must be terminated");
            }
        }
    }
}
