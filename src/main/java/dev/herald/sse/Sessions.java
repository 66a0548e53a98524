package dev.herald.sse;

import java.time.Duration;
import java.util.Map;
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
    /** Open (and opening) streams per owner: a user, or a tenant-wide token. */
    private final Map<String, Integer> perOwner = new ConcurrentHashMap<>();

    private final long slowNanos;
    private final long tickMillis;
    private final SseMetrics metrics;
    private final Thread sweeper;
    private volatile boolean shuttingDown;

    /**
     * The sweeper ticks every quarter of the slow-client timeout and of the heartbeat (20 to
     * 500 ms): it drops slow clients and wakes idle sessions whose heartbeat, token expiry or
     * read retry is due, so those come at most a tick late.
     */
    public Sessions(Duration slowClientTimeout, Duration heartbeat, SseMetrics metrics) {
        this.slowNanos = slowClientTimeout.toNanos();
        this.tickMillis = Math.max(20, Math.min(500, Math.min(slowNanos, heartbeat.toNanos()) / 4_000_000));
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

    /** Takes one of the owner's {@code max} stream slots; false if all are taken. */
    boolean claim(String owner, int max) {
        boolean[] ok = {false};
        perOwner.compute(owner, (k, n) -> {
            int have = n == null ? 0 : n;
            if (have >= max) return n;
            ok[0] = true;
            return have + 1;
        });
        return ok[0];
    }

    /** Gives back a slot {@link #claim} took. */
    void release(String owner) {
        perOwner.computeIfPresent(owner, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** The owner's open streams on this replica. */
    public int streamsOf(String owner) {
        return perOwner.getOrDefault(owner, 0);
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
                Thread.sleep(tickMillis);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (SseSession s : open) {
                s.wakeIfDue(now);
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
