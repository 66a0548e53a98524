package dev.herald.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream's state on this replica: its local subscribers and a ring of its most recent
 * events, already encoded. A ping triggers one fetch after the ring's end (single-flight,
 * re-run if more pings came meanwhile); every subscriber then reads from the ring, so the
 * database sees one query per ping per replica, whatever the number of subscribers.
 */
final class Topic {
    private static final Logger log = LoggerFactory.getLogger(Topic.class);
    private static final int PAGE = 500;

    final StreamKey key;
    final Set<Subscriber> subscribers = ConcurrentHashMap.newKeySet();
    private final Renderer renderer;
    private final EventStore store;
    private final Executor executor;
    private final HubMetrics metrics;

    private final Encoded[] ring;
    private long first = 1; // cursor of the oldest entry in the ring
    private long last = -1; // highest cursor fetched; -1 until the head is known
    private final AtomicBoolean fetching = new AtomicBoolean();
    private volatile boolean dirty;
    private volatile boolean closed;

    Topic(StreamKey key, Renderer renderer, EventStore store, Executor executor, int ringSize, HubMetrics metrics) {
        this.key = key;
        this.renderer = renderer;
        this.store = store;
        this.executor = executor;
        this.metrics = metrics;
        this.ring = new Encoded[ringSize];
    }

    Encoded encode(Event e) {
        return new Encoded(e, Frame.persisted(e.cursor(), renderer.render(e)));
    }

    /** The head is known: start the ring there, and catch up on pings that came before. */
    void start(long head) {
        synchronized (this) {
            if (last >= 0) return;
            last = head;
            first = head + 1;
        }
        if (dirty) fetch();
    }

    /** A ping says the stream has an event at this cursor. */
    void onPing(long cursor) {
        synchronized (this) {
            if (last < 0) {
                dirty = true;
                return;
            }
            if (cursor <= last) return;
        }
        fetch();
    }

    /** Re-query after the ring's end whatever pings said (listener reconnect, lost pings). */
    void resync() {
        synchronized (this) {
            if (last < 0) {
                dirty = true;
                return;
            }
        }
        fetch();
    }

    synchronized long lastFetched() {
        return last;
    }

    /**
     * Entries with cursor &gt; after, from the ring; null if the ring cannot answer (the head
     * is unknown yet, or the caller is behind the ring and must read the database itself).
     */
    synchronized List<Encoded> read(long after, int max) {
        if (last < 0 || after < first - 1) return null;
        if (after >= last) return List.of();
        int n = (int) Math.min(max, last - after);
        List<Encoded> out = new ArrayList<>(n);
        for (long c = after + 1; c <= after + n; c++) out.add(ring[(int) (c % ring.length)]);
        return out;
    }

    private void fetch() {
        dirty = true;
        if (!fetching.compareAndSet(false, true)) return;
        executor.execute(this::fetchLoop);
    }

    private void fetchLoop() {
        long backoff = 50;
        try {
            while (dirty && !closed) {
                dirty = false;
                try {
                    boolean more = true;
                    while (more && !closed) {
                        long from;
                        synchronized (this) {
                            from = last;
                        }
                        List<Event> rows = store.after(key, from, PAGE);
                        metrics.fetched(rows.size());
                        if (!rows.isEmpty()) append(rows);
                        more = rows.size() == PAGE;
                    }
                    backoff = 50;
                } catch (RuntimeException e) {
                    // The database may be restarting: keep trying while anyone listens.
                    dirty = true;
                    log.warn("fetch for {} failed, retrying in {} ms: {}", key, backoff, e.getMessage());
                    sleep(backoff);
                    backoff = Math.min(backoff * 2, 2_000);
                }
                for (Subscriber s : subscribers) s.wake();
            }
        } finally {
            fetching.set(false);
            // A ping that arrived between the last check and the release must not be lost.
            if (dirty && !closed && fetching.compareAndSet(false, true)) executor.execute(this::fetchLoop);
        }
    }

    private void append(List<Event> rows) {
        List<Encoded> encoded = new ArrayList<>(rows.size());
        for (Event e : rows) encoded.add(encode(e));
        synchronized (this) {
            for (Encoded en : encoded) {
                long c = en.event().cursor();
                if (c <= last) continue;
                if (c != last + 1) {
                    // A hole (retention pruned what we never saw): restart the ring here.
                    first = c;
                }
                ring[(int) (c % ring.length)] = en;
                last = c;
                if (last - first + 1 > ring.length) first = last - ring.length + 1;
            }
        }
    }

    void close() {
        closed = true;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
