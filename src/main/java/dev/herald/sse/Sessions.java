package dev.herald.sse;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every open SSE session of this replica: closes a revoked token's streams, drops clients
 * whose writes stay blocked past the slow-client timeout, and ends all streams at shutdown.
 */
public final class Sessions implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);

    private final Set<SseSession> open = ConcurrentHashMap.newKeySet();
    private final long slowNanos;
    private final SseMetrics metrics;
    private final Thread sweeper;
    private volatile boolean shuttingDown;

    public Sessions(Duration slowClientTimeout, SseMetrics metrics) {
        this.slowNanos = slowClientTimeout.toNanos();
        this.metrics = metrics;
        this.sweeper = Thread.ofPlatform().daemon().name("herald-sse-sweeper").start(this::sweep);
    }

    boolean add(SseSession s) {
        if (shuttingDown) return false;
        open.add(s);
        return true;
    }

    void remove(SseSession s) {
        open.remove(s);
    }

    public int count() {
        return open.size();
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    /** A token was revoked: its streams end now. */
    public void closeByToken(String prefix) {
        for (SseSession s : open) if (prefix.equals(s.tokenPrefix())) s.close("token revoked");
    }

    /** Stops new streams and ends every open one; waits up to the timeout for them to finish. */
    public void shutdown(Duration timeout) {
        shuttingDown = true;
        for (SseSession s : open) s.close("server shutting down");
        long until = System.nanoTime() + timeout.toNanos();
        while (!open.isEmpty() && System.nanoTime() < until) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (SseSession s : open) s.abort("server shutting down");
    }

    private void sweep() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(Math.max(50, Math.min(500, slowNanos / 4_000_000)));
            } catch (InterruptedException e) {
                return;
            }
            for (SseSession s : open) {
                if (s.writeBlockedNanos() > slowNanos) {
                    log.info("dropping a slow SSE client (write blocked > {} ms)", slowNanos / 1_000_000);
                    metrics.slowClientDropped();
                    s.abort("slow client");
                }
            }
        }
    }

    @Override
    public void close() {
        sweeper.interrupt();
    }
}
