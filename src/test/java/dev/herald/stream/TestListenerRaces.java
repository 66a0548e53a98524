package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import dev.herald.Herald;
import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The LISTEN connection's races, each forced with a fault (a backend killed with
 * pg_terminate_backend) and, where the timing cannot be forced from outside, a package-private
 * hook of the Listener: every close is handled against the connection it belongs to, a close
 * during the reconnect's hooks and resync is not lost, a failed connect leaves nothing open,
 * and a stale backend is matched by its start time too.
 */
class TestListenerRaces {
    static final Duration WAIT = Duration.ofSeconds(20);

    static long listenerBackends(DatabaseUrl db) {
        return Sql.scalar(
                db,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        + " AND application_name = 'herald-listener'");
    }

    static void publishAndReceive(Api api, String user) {
        String token = api.userToken("races", user);
        try (SseClient s = api.sse("/api/v1/events", token)) {
            Api.Response r = api.post("/api/v1/users/" + user + "/events", token, Map.of("type", "tick"));
            assertEquals(201, r.status(), r.toString());
            SseClient.Event e = s.next(WAIT);
            assertEquals(r.json().get("cursor").asLong(), e == null ? null : e.id(), "delivered live");
        }
    }

    @Test
    void a_late_close_of_an_old_connection_does_not_tear_down_the_new_one() throws Exception {
        try (TestServer server = TestServer.start()) {
            Herald h = server.herald();
            Listener listener = h.listener();
            PGNotificationListener old = listener.currentCallback();
            ListenerFaults.killAndAwaitReconnect(server, 0, WAIT);
            long reconnects = listener.reconnects();
            int pid = listener.backendPid();
            // The driver reports the old connection's close once more, late (as it may when the
            // watchdog gave up on a half-open connection that only now fails).
            old.closed();
            assertTrue(listener.connected(), "the new connection is not torn down");
            assertEquals(pid, listener.backendPid());
            assertEquals(reconnects, listener.reconnects());
            assertEquals(
                    1, Sql.scalar(server.databaseUrl(), "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", pid));
            publishAndReceive(server.api(), "after-late-close");
            assertEquals(reconnects, listener.reconnects());
        }
    }

    @Test
    void a_close_while_the_reconnect_hooks_and_resync_run_is_not_lost() throws Exception {
        // A watchdog deadline of a minute: only the close itself can make the listener reconnect
        // within this test's bounds.
        try (TestServer server = TestServer.start(1, b -> b.watchdog(Duration.ofMillis(300), Duration.ofSeconds(60)))) {
            Herald h = server.herald();
            Listener listener = h.listener();
            DatabaseUrl db = server.databaseUrl();
            AtomicBoolean armed = new AtomicBoolean(true);
            AtomicBoolean closeReported = new AtomicBoolean();
            AtomicInteger hookRuns = new AtomicInteger();
            listener.onReconnect(() -> {
                hookRuns.incrementAndGet();
                if (!armed.getAndSet(false)) return;
                // The new connection dies while the hooks run, and its close is reported
                // before the listener is marked connected.
                ListenerFaults.terminateBackend(db, listener.backendPid());
                long until = System.nanoTime() + WAIT.toNanos();
                while (!listener.currentLost() && System.nanoTime() < until) sleep(5);
                closeReported.set(listener.currentLost());
            });
            long before = ListenerFaults.kill(server, 0);
            // First reconnect (whose connection is killed in the hook), then a second one.
            ListenerFaults.awaitReconnect(server, 0, before + 1, WAIT);
            assertTrue(closeReported.get(), "the driver reported the close during the hooks");
            assertEquals(2, hookRuns.get());
            assertTrue(listener.connected());
            long until = System.nanoTime() + WAIT.toNanos();
            while (listenerBackends(db) != 1 && System.nanoTime() < until) Thread.sleep(20);
            assertEquals(1, listenerBackends(db), "the killed connections are gone, one listens");
            publishAndReceive(server.api(), "after-close-in-resync");
        }
    }

    @Test
    void a_connection_whose_listen_failed_is_closed() throws Exception {
        try (TestServer server = TestServer.start()) {
            Listener listener = server.herald().listener();
            DatabaseUrl db = server.databaseUrl();
            AtomicInteger failures = new AtomicInteger(3);
            listener.beforeListen = () -> {
                if (failures.getAndDecrement() > 0) throw new IllegalStateException("LISTEN refused (test)");
            };
            ListenerFaults.killAndAwaitReconnect(server, 0, WAIT);
            assertTrue(failures.get() < 0, "three connects failed after their connection was open");
            // Three connections were opened and failed: none may stay open beside the listener's.
            long until = System.nanoTime() + WAIT.toNanos();
            while (listenerBackends(db) != 1 && System.nanoTime() < until) Thread.sleep(20);
            assertEquals(1, listenerBackends(db));
            publishAndReceive(server.api(), "after-failed-connects");
        }
    }

    @Test
    void a_stale_backend_is_ended_only_if_its_start_time_matches_too() throws Exception {
        try (TestServer server = TestServer.start(2)) {
            Listener a = server.replica(0).listener();
            Listener b = server.replica(1).listener();
            DatabaseUrl db = server.databaseUrl();
            int bPid = b.backendPid();
            long bReconnects = b.reconnects();
            // As after a PostgreSQL restart: the pid a gave up on now belongs to b's new listener.
            a.markStale(bPid, b.backendStartMicros() + 1);
            ListenerFaults.killAndAwaitReconnect(server, 0, WAIT);
            assertEquals(1, Sql.scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", bPid));
            assertEquals(bReconnects, b.reconnects());
            assertTrue(b.connected());
            // The same pid with its real start time is that backend: it is ended.
            a.markStale(bPid, b.backendStartMicros());
            ListenerFaults.killAndAwaitReconnect(server, 0, WAIT);
            ListenerFaults.awaitReconnect(server, 1, bReconnects, WAIT);
            assertNotEquals(bPid, b.backendPid());
            assertEquals(0, Sql.scalar(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", bPid));
            publishAndReceive(server.api(1), "after-stale");
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
