package dev.herald.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Fan-out on one replica: routes pings to the topics that have local subscribers and lets
 * each subscriber read the events after its own cursor — from the topic's ring when it is
 * live, from the database when it is catching up.
 */
public final class Hub implements AutoCloseable {
    private final EventStore store;
    private final int ringSize;
    private final HubMetrics metrics;
    private final Map<StreamKey, Topic> topics = new ConcurrentHashMap<>();
    private final Map<String, StreamKind> kinds = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("hub-fetch-", 0).factory());

    public Hub(EventStore store, int ringSize, HubMetrics metrics) {
        this.store = store;
        this.ringSize = ringSize;
        this.metrics = metrics;
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
        Topic t = topics.compute(key, (k, existing) -> {
            Topic topic =
                    existing != null ? existing : new Topic(k, rendererFor(k), store, executor, ringSize, metrics);
            topic.subscribers.add(s);
            return topic;
        });
        Subscription sub = new Subscription(this, t, s);
        try {
            EventStore.StreamInfo info = store.info(key);
            t.start(info.head());
            sub.info = info;
        } catch (RuntimeException e) {
            sub.close();
            throw e;
        }
        return sub;
    }

    void unsubscribe(Topic t, Subscriber s) {
        topics.computeIfPresent(t.key, (k, topic) -> {
            topic.subscribers.remove(s);
            if (!topic.subscribers.isEmpty()) return topic;
            topic.close();
            return null;
        });
    }

    /** Events after a cursor, encoded: from the ring if it can answer, else from the database. */
    List<Encoded> read(Topic t, long after, int max) {
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
        for (Subscriber s : t.subscribers) s.offerTransient(frame);
    }

    /** After a listener reconnect pings may have been lost: every topic re-queries. */
    public void resyncAll() {
        metrics.resynced(topics.size());
        for (Topic t : topics.values()) t.resync();
    }

    public int topicCount() {
        return topics.size();
    }

    public int subscriberCount() {
        int n = 0;
        for (Topic t : topics.values()) n += t.subscribers.size();
        return n;
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
        private final Subscriber subscriber;
        private EventStore.StreamInfo info;
        private boolean closed;

        Subscription(Hub hub, Topic topic, Subscriber subscriber) {
            this.hub = hub;
            this.topic = topic;
            this.subscriber = subscriber;
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
            return hub.read(topic, after, max);
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            hub.unsubscribe(topic, subscriber);
        }
    }
}
