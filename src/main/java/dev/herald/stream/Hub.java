package dev.herald.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fan-out on one replica: routes pings to the topics that have local subscribers and lets
 * each subscriber read the events after its own cursor — from the topic's ring when it is
 * live (or catching up on what the ring still holds for it), from the database when it is
 * further behind. The rings of all topics share one byte budget ({@link RingBudget}).
 */
public final class Hub implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Hub.class);
    private final EventStore store;
    private final int ringSize;
    private final HubMetrics metrics;
    private final Map<StreamKey, Topic> topics = new ConcurrentHashMap<>();
    private final RingBudget budget;
    /** Streams whose heads one resync query reads. */
    static final int HEADS_CHUNK = 1_000;
    /** Resync fetches running at once. */
    static final int RESYNC_CONCURRENCY = 4;

    private final AtomicInteger resyncing = new AtomicInteger();
    private final AtomicInteger maxResyncing = new AtomicInteger();
    private final Map<String, StreamKind> kinds = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("hub-fetch-", 0).factory());

    /**
     * {@code ringSize}: events a topic keeps for its live readers (its ring grows to that);
     * {@code ringBytes}: what the rings of all topics may hold together.
     */
    public Hub(EventStore store, int ringSize, long ringBytes, HubMetrics metrics) {
        this.store = store;
        this.ringSize = ringSize;
        this.metrics = metrics;
        this.budget = new RingBudget(ringBytes, topics::values);
    }

    /** A kind of stream this replica serves: its events are rendered by the kind's renderer. */
    public void register(StreamKind kind) {
        kinds.put(kind.prefix(), kind);
    }

    public Renderer rendererFor(StreamKey key) {
        StreamKind kind = kinds.get(key.kind());
        return kind == null ? Renderer.AS_STORED : kind.renderer();
    }

    /**
     * Registers a subscriber, then reads the stream's head. Registering first means no ping
     * can fall between "read the head" and "listen".
     */
    public Subscription subscribe(StreamKey key, Subscriber s) {
        Topic.Reader reader = new Topic.Reader(s);
        Topic t = topics.compute(key, (k, existing) -> {
            Topic topic = existing != null
                    ? existing
                    : new Topic(k, rendererFor(k), store, executor, ringSize, budget, metrics);
            topic.readers.add(reader);
            return topic;
        });
        Subscription sub = new Subscription(this, t, reader);
        try {
            EventStore.StreamInfo info = store.info(key);
            reader.position = info.head();
            t.start(info.head());
            sub.info = info;
        } catch (RuntimeException e) {
            sub.close();
            throw e;
        }
        return sub;
    }

    void unsubscribe(Topic t, Topic.Reader r) {
        topics.computeIfPresent(t.key, (k, topic) -> {
            topic.readers.remove(r);
            if (!topic.readers.isEmpty()) return topic;
            topic.close();
            return null;
        });
    }

    /** Events after a cursor, encoded: from the ring if it can answer, else from the database. */
    List<Encoded> read(Topic t, Topic.Reader r, long after, int max) {
        r.position = after; // the ring keeps what follows for it, within the budget
        List<Encoded> fromRing = t.read(after, max);
        if (fromRing != null) return fromRing;
        List<Event> rows = store.after(t.key, after, max);
        metrics.fetched(rows.size());
        List<Encoded> out = new ArrayList<>(rows.size());
        for (Event e : rows) out.add(t.encode(e));
        return out;
    }

    public void onPing(StreamKey key, long cursor) {
        Topic t = topics.get(key);
        if (t != null) t.onPing(cursor);
    }

    public void onTransient(StreamKey key, String event, String data) {
        Topic t = topics.get(key);
        if (t == null) return;
        byte[] frame = Frame.transientEvent(event, data);
        for (Topic.Reader r : t.readers) r.subscriber.offerTransient(frame);
    }

    /**
     * After a listener reconnect pings may have been lost. One query per
     * {@value #HEADS_CHUNK} live topics reads their streams' heads; only the topics whose head
     * moved past what they fetched re-query, at most {@value #RESYNC_CONCURRENCY} at a time (in
     * the background: this returns once the heads are read). Called after LISTEN is back, so
     * a commit after the heads were read comes with its ping. If the heads cannot be read
     * (the database is down), every topic of the chunk re-queries, retrying until it can.
     */
    public void resyncAll() {
        List<Topic> live = new ArrayList<>(topics.values());
        metrics.resynced(live.size());
        List<Topic> moved = new ArrayList<>();
        for (int from = 0; from < live.size(); from += HEADS_CHUNK) {
            List<Topic> chunk = live.subList(from, Math.min(from + HEADS_CHUNK, live.size()));
            Map<StreamKey, Long> heads;
            try {
                List<StreamKey> keys = new ArrayList<>(chunk.size());
                for (Topic t : chunk) keys.add(t.key);
                heads = store.heads(keys);
                metrics.headsQueried(keys.size());
            } catch (RuntimeException e) {
                log.warn(
                        "resync: the heads of {} streams could not be read, each re-queries: {}",
                        chunk.size(),
                        e.getMessage());
                moved.addAll(chunk);
                continue;
            }
            for (Topic t : chunk) {
                if (t.movedTo(heads.getOrDefault(t.key, 0L))) moved.add(t);
            }
        }
        if (!moved.isEmpty()) executor.execute(() -> refetch(moved));
    }

    /** Re-queries the topics, {@value #RESYNC_CONCURRENCY} at a time. */
    private void refetch(List<Topic> moved) {
        Semaphore permits = new Semaphore(RESYNC_CONCURRENCY);
        for (Topic t : moved) {
            try {
                permits.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            executor.execute(() -> {
                int now = resyncing.incrementAndGet();
                maxResyncing.accumulateAndGet(now, Math::max);
                try {
                    t.fetchNow();
                } finally {
                    resyncing.decrementAndGet();
                    permits.release();
                }
            });
        }
    }

    /** The most resync fetches that ran at once since start (tests check the bound). */
    int maxConcurrentResyncFetches() {
        return maxResyncing.get();
    }

    public int topicCount() {
        return topics.size();
    }

    public int subscriberCount() {
        int n = 0;
        for (Topic t : topics.values()) n += t.readers.size();
        return n;
    }

    /** Bytes the rings of all topics hold (approximate heap), within HERALD_RING_BYTES. */
    public long cachedBytes() {
        return budget.used();
    }

    /** Topics whose cached frames the byte budget evicted since start. */
    public long ringEvictions() {
        return budget.evictions();
    }

    /** The topic of a stream with local subscribers (tests look at its ring). */
    Topic topic(StreamKey key) {
        return topics.get(key);
    }

    @Override
    public void close() {
        topics.values().forEach(Topic::close);
        executor.shutdownNow();
    }

    /** A subscriber's registration with one topic. */
    public static final class Subscription implements AutoCloseable {
        private final Hub hub;
        private final Topic topic;
        private final Topic.Reader reader;
        private EventStore.StreamInfo info;
        private boolean closed;

        Subscription(Hub hub, Topic topic, Topic.Reader reader) {
            this.hub = hub;
            this.topic = topic;
            this.reader = reader;
        }

        /** Head and pruning point, read right after registering. */
        public EventStore.StreamInfo info() {
            return info;
        }

        public StreamKey key() {
            return topic.key;
        }

        /** Encoded events with cursor &gt; after (at most max); empty when caught up. */
        public List<Encoded> read(long after, int max) {
            return hub.read(topic, reader, after, max);
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            hub.unsubscribe(topic, reader);
        }
    }
}
