package dev.herald.testing;

import dev.herald.Herald;
import dev.herald.database.DatabaseUrl;
import java.time.Duration;

/**
 * Fault injection on a replica's LISTEN connection, the way an operator or a network would
 * cause it: {@code pg_terminate_backend(<pid>)} from a separate, direct JDBC connection.
 */
public final class ListenerFaults {
    private ListenerFaults() {}

    /** Terminates a backend; true if PostgreSQL signalled it. */
    public static boolean terminateBackend(DatabaseUrl url, int pid) {
        return Sql.scalar(url, "SELECT CASE WHEN pg_terminate_backend(?) THEN 1 ELSE 0 END", pid) == 1;
    }

    /** Kills replica i's LISTEN backend; returns the reconnect count it had before. */
    public static long kill(TestServer server, int replica) {
        Herald h = server.replica(replica);
        long before = h.listener().reconnects();
        int pid = h.listener().backendPid();
        if (!terminateBackend(server.databaseUrl(), pid))
            throw new AssertionError("listener backend " + pid + " was not running");
        return before;
    }

    /** Waits until replica i's listener has reconnected more than {@code before} times and is up. */
    public static void awaitReconnect(TestServer server, int replica, long before, Duration within) {
        Herald h = server.replica(replica);
        long until = System.nanoTime() + within.toNanos();
        while (!(h.listener().reconnects() > before && h.listener().connected())) {
            if (System.nanoTime() > until) {
                throw new AssertionError("replica " + replica + "'s listener did not reconnect within " + within);
            }
            sleep(10);
        }
    }

    /** Kills replica i's LISTEN backend and waits for its watchdog to reconnect. */
    public static void killAndAwaitReconnect(TestServer server, int replica, Duration within) {
        long before = kill(server, replica);
        awaitReconnect(server, replica, before, within);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
