package dev.herald.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * An SSE subscriber that behaves like a well-written client: it follows one stream, and when
 * the stream ends or a replica refuses it, it reconnects — to the next replica in its list —
 * with {@code Last-Event-ID} set to the last cursor it saw. It records every persisted event
 * and counts duplicates and gaps as they arrive, so a test can assert "exactly the committed
 * sequence": published = delivered, lost = 0, dup = 0, in order.
 */
final class Follower implements AutoCloseable {
    /**
     * One persisted event as received: its cursor, name, the writer's (w, i) from its data
     * (-1 when absent), its created_at, and when it arrived. Only this is kept (tests measure
     * the heap while hundreds of followers run).
     */
    record Received(long id, String event, int w, int i, java.time.Instant createdAt, java.time.Instant receivedAt) {
        /** From the event's created_at (database clock, same host) to its arrival here. */
        long latencyMicros() {
            return java.time.Duration.between(createdAt, receivedAt).toNanos() / 1_000;
        }
    }

    private final String path;
    private final String token;
    private final IntSupplier[] ports;
    private final List<Received> received = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopped;
    private volatile long lastId;
    private volatile RawSse current;
    final AtomicInteger connects = new AtomicInteger();
    final AtomicInteger failedOpens = new AtomicInteger();
    final AtomicInteger cleanEnds = new AtomicInteger();
    final AtomicInteger abortedEnds = new AtomicInteger();
    final AtomicInteger duplicates = new AtomicInteger();
    final AtomicInteger gaps = new AtomicInteger();
    private volatile int connectedTo = -1;
    private final java.util.concurrent.CountDownLatch firstConnect = new java.util.concurrent.CountDownLatch(1);

    /** Follows path from cursor {@code after}; ports are tried in turn (suppliers: a replica may be replaced). */
    Follower(String path, String token, long after, IntSupplier... ports) {
        this(0, 0, path, token, after, ports);
    }

    private final int receiveBuffer;
    private final int eventsPerMilli;

    /**
     * A slow reader: a small socket receive buffer and at most eventsPerMilli events taken per
     * millisecond, so the server must keep reading the database for it.
     */
    Follower(int receiveBuffer, int eventsPerMilli, String path, String token, long after, IntSupplier... ports) {
        this.receiveBuffer = receiveBuffer;
        this.eventsPerMilli = eventsPerMilli;
        this.path = path;
        this.token = token;
        this.ports = ports;
        this.lastId = after;
        this.thread = Thread.ofVirtual().name("follower").start(this::loop);
    }

    static IntSupplier port(int p) {
        return () -> p;
    }

    private void loop() {
        int i = 0;
        long backoff = 50;
        while (!stopped) {
            int port = ports[i % ports.length].getAsInt();
            RawSse sse;
            try {
                sse = RawSse.open(port, path, token, lastId, java.util.Map.of(), receiveBuffer, eventsPerMilli);
            } catch (Exception e) {
                failedOpens.incrementAndGet();
                i++;
                sleep(backoff);
                backoff = Math.min(backoff * 2, 1_000);
                continue;
            }
            if (sse.status != 200) {
                failedOpens.incrementAndGet();
                i++;
                sleep(backoff);
                backoff = Math.min(backoff * 2, 1_000);
                continue;
            }
            backoff = 50;
            current = sse;
            connectedTo = i % ports.length;
            connects.incrementAndGet();
            firstConnect.countDown();
            try {
                while (!stopped) {
                    RawSse.Event e = sse.next(Duration.ofMillis(50));
                    if (e == null) {
                        if (sse.ended()) {
                            // take what was parsed before the end
                            for (RawSse.Event rest; (rest = sse.poll()) != null; ) accept(rest);
                            break;
                        }
                        continue;
                    }
                    accept(e);
                }
            } catch (InterruptedException ie) {
                return;
            } finally {
                sse.close();
            }
            if (stopped) return;
            if (sse.end() == RawSse.End.CLEAN) cleanEnds.incrementAndGet();
            else abortedEnds.incrementAndGet();
            i++; // resume on the next replica
        }
    }

    private void accept(RawSse.Event e) {
        if (e.id() == null) return; // transient
        long id = e.id();
        if ("reset".equals(e.event())) {
            // Its id is the cursor before the oldest retained event: a resume point, not an event.
            lastId = Math.max(lastId, id);
            return;
        }
        if (id <= lastId) {
            duplicates.incrementAndGet();
            return;
        }
        if (id != lastId + 1) gaps.incrementAndGet();
        int w = -1;
        int i = -1;
        java.time.Instant created = null;
        try {
            JsonNode data = Api.JSON.readTree(e.data());
            w = data.path("data").path("w").asInt(-1);
            i = data.path("data").path("i").asInt(-1);
            if (data.hasNonNull("created_at"))
                created = java.time.Instant.parse(data.get("created_at").asText());
        } catch (Exception x) {
            // not a user event: only the cursor counts
        }
        synchronized (received) {
            received.add(new Received(id, e.event(), w, i, created, java.time.Instant.now()));
        }
        lastId = id;
    }

    long lastId() {
        return lastId;
    }

    int connectedTo() {
        return connectedTo;
    }

    boolean awaitConnected(Duration timeout) throws InterruptedException {
        return firstConnect.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    List<Received> received() {
        synchronized (received) {
            return new ArrayList<>(received);
        }
    }

    /** Waits until the last cursor seen reaches {@code id}; false after the timeout. */
    boolean awaitId(long id, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (lastId < id && System.nanoTime() < until) Thread.sleep(20);
        return lastId >= id;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopped = true;
        RawSse c = current;
        if (c != null) c.close();
        thread.interrupt();
    }

    @Override
    public String toString() {
        return "Follower[" + path + " last=" + lastId + " connects=" + connects + " clean=" + cleanEnds + " aborted="
                + abortedEnds + " dup=" + duplicates + " gaps=" + gaps + "]";
    }
}
