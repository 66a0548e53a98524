package dev.herald.sse;

import dev.herald.stream.Encoded;
import dev.herald.stream.Event;
import dev.herald.stream.Frame;
import dev.herald.stream.Hub;
import dev.herald.stream.Subscriber;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * One SSE connection. Its own virtual thread writes; the hub only wakes it. It pulls the
 * events after its cursor, so it can never skip, repeat or reorder one, and a slow client
 * blocks only itself: the sweeper drops it once a write has been stuck too long, and it
 * resumes from its cursor on reconnect. The client's close is seen at once (EOF on the
 * socket, or the HTTP/2 stream's reset: {@link ClientLink}), not at the next failed write.
 */
public final class SseSession implements Subscriber {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SseSession.class);
    private static final int BATCH = 256;
    /**
     * What one write may carry. A client that stops reading holds its last batch until the
     * sweeper drops it: with 256 events of 1.6 KB that was 400 KB, copied once more for the
     * write. Found by the slow-client test.
     */
    private static final int MAX_BATCH_BYTES = 64 * 1024;

    private static final int MAX_TRANSIENTS = 256;
    private static final byte[] PING = Frame.comment("ping");

    private final OutputStream out;
    private final ClientLink link;
    private final String tokenPrefix;
    private final Predicate<Event> filter;
    private final Predicate<Event> terminal;
    private final long heartbeatMillis;
    /** When the token expires (epoch millis; Long.MAX_VALUE: never): the stream ends then. */
    private final long expiresAtMillis;

    private final SseMetrics metrics;
    private final Signal signal = new Signal();
    // Unbounded queue + counter instead of ArrayBlockingQueue(256): no 1 KB array per idle connection.
    private final ConcurrentLinkedQueue<byte[]> transients = new ConcurrentLinkedQueue<>();
    private final AtomicInteger transientCount = new AtomicInteger();
    private Hub.Subscription subscription;
    private long cursor;
    private volatile long eventsSent;

    private volatile boolean closed;
    private volatile String closeReason;
    private volatile long writeStartedNanos;
    /** When the idle loop must run again by itself (heartbeat, token expiry, a retry); the sweeper wakes it. */
    private volatile long wakeAtNanos = Long.MAX_VALUE;

    SseSession(
            OutputStream out,
            ClientLink link,
            String tokenPrefix,
            Predicate<Event> filter,
            Predicate<Event> terminal,
            long heartbeatMillis,
            Instant expiresAt,
            SseMetrics metrics) {
        this.out = out;
        this.link = link;
        this.tokenPrefix = tokenPrefix;
        this.filter = filter;
        this.terminal = terminal;
        this.heartbeatMillis = heartbeatMillis;
        this.expiresAtMillis = expiresAt == null ? Long.MAX_VALUE : expiresAt.toEpochMilli();
        this.metrics = metrics;
    }

    void attach(Hub.Subscription subscription, long cursor) {
        this.subscription = subscription;
        this.cursor = cursor;
    }

    String tokenPrefix() {
        return tokenPrefix;
    }

    boolean closed() {
        return closed;
    }

    String closeReason() {
        return closeReason;
    }

    long cursor() {
        return cursor;
    }

    long eventsSent() {
        return eventsSent;
    }

    @Override
    public void wake() {
        signal.set();
    }

    @Override
    public void offerTransient(byte[] frame) {
        if (transientCount.incrementAndGet() > MAX_TRANSIENTS) {
            transientCount.decrementAndGet();
            abort("too slow for transient events");
        } else {
            transients.add(frame);
            signal.set();
        }
    }

    /** Ends the stream cleanly at the next turn of the loop (revocation, shutdown, deletion). */
    public void close(String reason) {
        if (closed) return;
        closeReason = reason;
        closed = true;
        signal.set();
    }

    /** Ends the connection now, even mid-write (slow client, client gone). */
    void abort(String reason) {
        close(reason);
        link.abort(reason);
    }

    /** The sweeper's tick: wakes the session if its heartbeat, expiry or retry is due. */
    void wakeIfDue(long nowNanos) {
        if (nowNanos - wakeAtNanos >= 0) signal.set();
    }

    /** How long the current write has been blocked, in nanoseconds (0 when not writing). */
    long writeBlockedNanos() {
        long s = writeStartedNanos;
        return s == 0 ? 0 : System.nanoTime() - s;
    }

    /**
     * Writes a burst of frames as they are (the encoded frames are shared by every subscriber)
     * and flushes once: the response's own buffer aggregates them. Copying them into one array
     * first was 9 % of a subscriber replica's CPU samples at 100 subscribers × 200 events/s.
     */
    private void write(List<byte[]> frames) throws IOException {
        writeStartedNanos = System.nanoTime();
        try {
            for (byte[] f : frames) out.write(f);
            out.flush();
        } finally {
            writeStartedNanos = 0;
            frames.clear();
        }
    }

    void write(byte[] bytes) throws IOException {
        writeStartedNanos = System.nanoTime();
        try {
            out.write(bytes);
            out.flush();
        } finally {
            writeStartedNanos = 0;
        }
    }

    /** Watches for the client's close (EOF on HTTP/1.1, the stream's reset on HTTP/2). */
    void watchForClose() {
        link.watch(this::close, () -> closed);
    }

    /** Milliseconds until the token expires (at least 1; huge when it never does). */
    private long untilExpiry() {
        if (expiresAtMillis == Long.MAX_VALUE) return Long.MAX_VALUE;
        return Math.max(1, expiresAtMillis - System.currentTimeMillis());
    }

    /** The write loop; returns when the stream ends for any reason. */
    void run() throws IOException, InterruptedException {
        long lastWrite = System.nanoTime();
        long retryMillis = 0;
        // The frames of one write burst, by reference; emptied by every write.
        List<byte[]> batch = new ArrayList<>();
        int batchBytes = 0;
        while (!closed) {
            // A JWT's stream ends cleanly at its exp, like a revoked token's; the client
            // reconnects with a fresh token and resumes from its cursor.
            if (System.currentTimeMillis() >= expiresAtMillis) {
                close("token expired");
                break;
            }
            byte[] t;
            while ((t = transients.poll()) != null) {
                transientCount.decrementAndGet();
                batch.add(t);
                batchBytes += t.length;
            }
            List<Encoded> events;
            try {
                events = subscription.read(cursor, BATCH);
                retryMillis = 0;
            } catch (RuntimeException e) {
                // A client behind the ring reads the database itself; while it is unreachable
                // (restarting) keep the stream and retry. Letting the error escape would end a
                // committed event stream with a JSON error body appended, and a browser
                // EventSource whose reconnect then gets 503 gives up for good.
                retryMillis = retryMillis == 0 ? 100 : Math.min(retryMillis * 2, 2_000);
                log.debug(
                        "SSE read after cursor {} failed, retrying in {} ms: {}", cursor, retryMillis, e.getMessage());
                events = List.of();
            }
            int sent = 0;
            Instant now = events.isEmpty() ? null : Instant.now();
            for (Encoded e : events) {
                // The rest next turn (the cursor stays on the last event taken).
                if (batchBytes >= MAX_BATCH_BYTES) break;
                long c = e.event().cursor();
                if (c != cursor + 1) {
                    byte[] reset = Frame.reset(c);
                    batch.add(reset);
                    batchBytes += reset.length;
                }
                if (filter == null || filter.test(e.event())) {
                    batch.add(e.frame());
                    batchBytes += e.frame().length;
                    sent++;
                    eventsSent++;
                    metrics.delivered(e.event(), now);
                }
                cursor = c;
                if (terminal != null && terminal.test(e.event())) {
                    close("stream ended");
                    break;
                }
            }
            if (!batch.isEmpty()) {
                write(batch);
                batchBytes = 0;
                lastWrite = System.nanoTime();
                continue;
            }
            if (events.size() > 0) continue; // all filtered out: keep reading
            long idle = (System.nanoTime() - lastWrite) / 1_000_000;
            if (idle >= heartbeatMillis) {
                write(PING);
                lastWrite = System.nanoTime();
                continue;
            }
            long wait = Math.min(heartbeatMillis - idle, untilExpiry());
            if (retryMillis > 0) wait = Math.min(wait, retryMillis);
            // An untimed wait: a timed one schedules a timer task and cancels it on every wake,
            // 12 % of the subscribers' replica's CPU samples at 100 subscribers x 200 events/s
            // (JFR). Idle sessions are woken by the sweeper when this is due, within its tick.
            wakeAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.min(wait, 86_400_000L));
            try {
                signal.await();
            } finally {
                wakeAtNanos = Long.MAX_VALUE;
            }
        }
    }
}
