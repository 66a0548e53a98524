package dev.herald.stream;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One byte budget for the frames every topic of the replica keeps (HERALD_RING_BYTES). When
 * the total goes over it, the least recently used topics (by their last read or fetch) drop
 * their cached frames until the total is a tenth under it; their readers read the database
 * until new events fill the rings again. One topic may extend its ring past the ring size for
 * readers still catching up only while it holds less than a quarter of the budget.
 */
final class RingBudget {
    private final long limit;
    private final Supplier<Collection<Topic>> topics;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final ReentrantLock evicting = new ReentrantLock();

    RingBudget(long limit, Supplier<Collection<Topic>> topics) {
        this.limit = Math.max(0, limit);
        this.topics = topics;
    }

    /** A topic's cached bytes changed by delta. */
    void add(long delta) {
        long now = used.addAndGet(delta);
        if (delta > 0 && now > limit) evictLeastRecentlyUsed();
    }

    long perTopicLimit() {
        return limit / 4;
    }

    long used() {
        return used.get();
    }

    long limit() {
        return limit;
    }

    /** Topics whose frames were evicted since start. */
    long evictions() {
        return evictions.get();
    }

    private record Candidate(long lastUsed, Topic topic) {}

    private void evictLeastRecentlyUsed() {
        // Whoever holds the lock checks again after its pass, so an addition made meanwhile
        // (whose own attempt found the lock taken) is never left over the limit.
        for (int pass = 0; pass < 3 && used.get() > limit; pass++) {
            if (!evicting.tryLock()) return;
            try {
                evictOnce();
            } finally {
                evicting.unlock();
            }
        }
    }

    /** Evicts the least recently used topics' frames until the total is a tenth under the limit. */
    private void evictOnce() {
        if (used.get() <= limit) return;
        // Snapshot the order first: lastUsed keeps moving while we sort.
        List<Candidate> cached = new ArrayList<>();
        for (Topic t : topics.get()) if (t.cachedBytes() > 0) cached.add(new Candidate(t.lastUsed, t));
        cached.sort(Comparator.comparingLong(Candidate::lastUsed));
        long target = limit - limit / 10;
        for (Candidate c : cached) {
            if (used.get() <= target) break;
            if (c.topic().evict() > 0) evictions.incrementAndGet();
        }
    }
}
