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
 * One stream's state on this replica: its local readers and a ring of its recent events,
 * already encoded. A ping triggers one fetch after the ring's end (single-flight, re-run if
 * more pings came meanwhile), page by page, waking the readers after every page; every reader
 * then reads from the ring, so the database sees one query per page per replica, whatever the
 * number of readers.
 *
 * <p>Memory: the ring is allocated at the first event with {@value #MIN_SLOTS} slots and
 * doubles up to the configured ring size as events come. Beyond that it keeps only what a
 * reader has not read yet — so readers catching up on a burst (a backlog committed at once)
 * read it from here instead of each querying the database — within a share of the byte budget
 * ({@link RingBudget}), which evicts least recently used topics' frames when the replica's
 * total is over it. Whatever the ring does not hold, a reader reads from the database itself
 * ({@link Hub#read}): eviction costs queries, never correctness.
 */
final class Topic {
    private static final Logger log = LoggerFactory.getLogger(Topic.class);
    static final int PAGE = 500;
    static final int MIN_SLOTS = 16;

    final StreamKey key;
    final Set<Reader> readers = ConcurrentHashMap.newKeySet();
    private final Renderer renderer;
    private final EventStore store;
    private final Executor executor;
    private final HubMetrics metrics;
    private final int ringSize;
    private final RingBudget budget;

    private Encoded[] ring; // null until the first event (an idle topic holds no slots)
    private long first = 1; // cursor of the oldest entry in the ring
    private long last = -1; // highest cursor fetched; -1 until the head is known
    private long bytes; // what the entries cost, as counted by the budget
    /** When a reader or a fetch last used this topic (System.nanoTime()): the budget's LRU order. */
    volatile long lastUsed = System.nanoTime();

    private final AtomicBoolean fetching = new AtomicBoolean();
    private volatile boolean dirty;
    private volatile boolean closed;

    /** A local reader of the topic and how far it has read (the cursor it last read after). */
    static final class Reader {
        final Subscriber subscriber;
        /** Entries after this cursor are still to be read; MAX_VALUE until the head is known. */
        volatile long position = Long.MAX_VALUE;

        Reader(Subscriber subscriber) {
            this.subscriber = subscriber;
        }
    }

    Topic(
            StreamKey key,
            Renderer renderer,
            EventStore store,
            Executor executor,
            int ringSize,
            RingBudget budget,
            HubMetrics metrics) {
        this.key = key;
        this.renderer = renderer;
        this.store = store;
        this.executor = executor;
        this.metrics = metrics;
        this.ringSize = Math.max(MIN_SLOTS, ringSize);
        this.budget = budget;
    }

    Encoded encode(Event e) {
        return new Encoded(e, Frame.persisted(e.cursor(), renderer.render(e)));
    }

    /** What an entry costs the heap, approximately: its frame, its data and the objects around them. */
    static long cost(Encoded e) {
        return e.frame().length
                + 2L * e.event().data().length()
                + e.event().type().length()
                + 256;
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

    /**
     * A resync read the stream's head: true if it is past what this topic fetched (it must
     * re-query). A topic whose head is not known yet re-queries once it is.
     */
    synchronized boolean movedTo(long head) {
        if (last >= 0) return head > last;
        dirty = true; // start() fetches when it sees it
        return false;
    }

    /** Re-queries on the calling thread (a resync bounds how many run at once); if a fetch is running, it will. */
    void fetchNow() {
        dirty = true;
        if (!fetching.compareAndSet(false, true)) return;
        fetchLoop();
    }

    synchronized long lastFetched() {
        return last;
    }

    /**
     * Entries with cursor &gt; after, from the ring; null if the ring cannot answer (the head
     * is unknown yet, or the caller is behind the ring and must read the database itself).
     */
    synchronized List<Encoded> read(long after, int max) {
        lastUsed = System.nanoTime();
        if (last < 0 || after < first - 1) return null;
        if (after >= last) return List.of();
        int n = (int) Math.min(max, last - after);
        List<Encoded> out = new ArrayList<>(n);
        for (long c = after + 1; c <= after + n; c++) out.add(ring[slot(c)]);
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
                        if (!rows.isEmpty()) {
                            append(rows);
                            // Every page at once: readers start on it while the next is fetched,
                            // and read it from here rather than each from the database.
                            wakeAll();
                        }
                        more = rows.size() == PAGE;
                    }
                    backoff = 50;
                } catch (RuntimeException e) {
                    // The database may be restarting: keep trying while anyone listens.
                    dirty = true;
                    log.warn("fetch for {} failed, retrying in {} ms: {}", key, backoff, e.getMessage());
                    wakeAll();
                    sleep(backoff);
                    backoff = Math.min(backoff * 2, 2_000);
                }
            }
        } finally {
            fetching.set(false);
            // A ping that arrived between the last check and the release must not be lost.
            if (dirty && !closed && fetching.compareAndSet(false, true)) executor.execute(this::fetchLoop);
        }
    }

    private void wakeAll() {
        for (Reader r : readers) r.subscriber.wake();
    }

    /** The lowest cursor some reader has read up to (its next read wants what follows). */
    private long minPosition() {
        long min = Long.MAX_VALUE;
        for (Reader r : readers) min = Math.min(min, r.position);
        return min;
    }

    private void append(List<Event> rows) {
        List<Encoded> encoded = new ArrayList<>(rows.size());
        for (Event e : rows) encoded.add(encode(e));
        long minPosition = minPosition();
        long delta;
        synchronized (this) {
            if (closed) return; // closed meanwhile: its bytes are no longer counted
            long before = bytes;
            for (Encoded en : encoded) {
                long c = en.event().cursor();
                if (c <= last) continue;
                if (c != last + 1) {
                    // A hole (retention pruned what we never saw): restart the ring here.
                    dropThrough(last);
                    first = c;
                }
                makeRoom(c, minPosition);
                ring[slot(c)] = en;
                bytes += cost(en);
                last = c;
            }
            trim(minPosition);
            delta = bytes - before;
            lastUsed = System.nanoTime();
        }
        budget.add(delta);
    }

    private int slot(long cursor) {
        return (int) (cursor % ring.length);
    }

    /** Makes a slot for cursor c (= last + 1): grow, or drop the oldest entry. */
    private void makeRoom(long c, long minPosition) {
        if (ring == null) ring = new Encoded[Math.min(MIN_SLOTS, ringSize)];
        while (c - first + 1 > ring.length) {
            if (ring.length < ringSize) {
                resize((int) Math.min((long) ring.length * 2, ringSize));
            } else if (minPosition < first && bytes < budget.perTopicLimit() && ring.length < (1 << 30)) {
                // A reader has not read the oldest entry yet: keep it, within the budget.
                resize(ring.length * 2);
            } else {
                dropThrough(first);
            }
        }
    }

    /** Beyond the ring size, entries every reader has read go; an extended ring shrinks back. */
    private void trim(long minPosition) {
        if (ring == null) return;
        while (last - first + 1 > ringSize && first <= minPosition) dropThrough(first);
        long size = last - first + 1;
        if (ring.length > ringSize && size <= ringSize) resize(ringSize);
        else if (ring.length > ringSize && size <= ring.length / 4) resize(Math.max(ringSize, ring.length / 2));
    }

    /** Drops the entries with cursor &le; through. */
    private void dropThrough(long through) {
        if (ring == null) {
            first = Math.max(first, through + 1);
            return;
        }
        long end = Math.min(through, last);
        for (long c = first; c <= end; c++) {
            int i = slot(c);
            Encoded en = ring[i];
            if (en != null) {
                bytes -= cost(en);
                ring[i] = null;
            }
        }
        first = Math.max(first, through + 1);
    }

    private void resize(int slots) {
        Encoded[] next = new Encoded[slots];
        for (long c = first; c <= last; c++) next[(int) (c % slots)] = ring[slot(c)];
        ring = next;
    }

    /** The budget's eviction: drops every cached frame (readers behind read the database). */
    long evict() {
        long freed;
        synchronized (this) {
            freed = bytes;
            if (last >= 0) dropThrough(last);
            ring = null;
            bytes = 0;
        }
        budget.add(-freed);
        return freed;
    }

    synchronized long cachedBytes() {
        return bytes;
    }

    /** Slots allocated (0 while idle). */
    synchronized int capacity() {
        return ring == null ? 0 : ring.length;
    }

    /** Events the ring holds. */
    synchronized int cachedEvents() {
        return ring == null || last < first ? 0 : (int) (last - first + 1);
    }

    void close() {
        closed = true;
        evict();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
