package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The watchdog must tell "the listener is dead" from "the self-ping could not be sent": when
 * the pool is exhausted (every connection busy: an overloaded database) the self-ping waits
 * for a connection, and a watchdog that counted that silence would drop a healthy listener
 * and make every stream re-query the already overloaded database.
 */
class TestWatchdog {
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void an_exhausted_pool_is_not_mistaken_for_a_dead_listener() throws Exception {
        try (TestServer server = TestServer.start()) {
            Herald h = server.herald();
            Thread.sleep(1_000); // settled: the self-pings come back
            long before = h.listener().reconnects();
            List<Connection> held = new ArrayList<>();
            try {
                // take every pooled connection for longer than the watchdog's deadline (1.5 s)
                for (int i = 0; i < h.database().pool().getMaximumPoolSize(); i++)
                    held.add(h.database().pool().getConnection());
                Thread.sleep(6_500); // past the pool's 5 s connection timeout: a self-ping fails
            } finally {
                for (Connection c : held) c.close();
            }
            Thread.sleep(1_500);
            assertTrue(h.listener().connected());
            assertEquals(before, h.listener().reconnects(), "a busy pool made the watchdog drop a healthy listener");
            // and it still detects a real death
            ListenerFaults.terminateBackend(server.databaseUrl(), h.listener().backendPid());
            long until = System.nanoTime() + 10_000_000_000L;
            while (h.listener().reconnects() == before && System.nanoTime() < until) Thread.sleep(20);
            assertEquals(before + 1, h.listener().reconnects());
        }
    }
}
