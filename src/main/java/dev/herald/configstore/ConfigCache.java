package dev.herald.configstore;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;

/**
 * The replica's in-memory config cache, safe against the classic invalidation race (a read
 * that misses, loads the old row, and stores it after the eviction for a newer write has
 * already happened). docs/adr/0040 explains the design; in short:
 *
 * <ul>
 * <li>Every key hashes to one of {@value #STRIPES} <em>generation counters</em>; evicting a
 *     key increments its counter, evicting everything increments a global <em>epoch</em>.</li>
 * <li>A loader takes a {@link Stamp} (counter + epoch) <em>before</em> it reads the database
 *     and stores its entry with that stamp. An entry is served only while its stamp is still
 *     current, so a row read before an eviction can never be served after it, however late it
 *     is stored. Validation happens on read, so there is no window between "check" and "put".</li>
 * <li>Among current entries the higher version wins ({@link #fill}), so two concurrent loads
 *     cannot move an entry backwards; an entry dropped for size or age also advances its
 *     counter, so a slow load cannot resurrect an older version after a newer one was served.</li>
 * <li>While the LISTEN connection is down nothing is served from the cache (invalidations may
 *     be missing); after a reconnect the owner calls {@link #evictAll()}.</li>
 * </ul>
 * A stripe collision only costs a spurious miss, never a stale value.
 */
public final class ConfigCache {
    static final int STRIPES = 4096;

    private final AtomicLongArray generations = new AtomicLongArray(STRIPES);
    private final AtomicLong epoch = new AtomicLong();
    private final BooleanSupplier invalidationsFlowing;
    private final Cache<ConfigKey, Cached> cache;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong flushes = new AtomicLong();

    /** When a load started: the key's stripe, its generation and the epoch, read before the query. */
    public record Stamp(int stripe, long generation, long epoch) {}

    private record Cached(ConfigEntry entry, long generation, long epoch) {}

    /**
     * @param invalidationsFlowing true while invalidation pings can arrive (the listener is
     *                             connected); while false, every read goes to the database
     */
    public ConfigCache(long maxEntries, Duration maxAge, BooleanSupplier invalidationsFlowing) {
        this.invalidationsFlowing = invalidationsFlowing;
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                .expireAfterWrite(maxAge)
                // Runs atomically with the eviction (size, age): see the class comment.
                .evictionListener((ConfigKey k, Cached v, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (k != null) generations.incrementAndGet(stripe(k));
                })
                .build();
    }

    static int stripe(ConfigKey k) {
        int h = k.hashCode();
        h ^= h >>> 16;
        return (h & 0x7fffffff) % STRIPES;
    }

    /** Take before reading the database; pass to {@link #fill}. */
    public Stamp stamp(ConfigKey k) {
        int s = stripe(k);
        long e = epoch.get();
        long g = generations.get(s);
        return new Stamp(s, g, e);
    }

    private boolean current(int stripe, long generation, long ep) {
        return generations.get(stripe) == generation && epoch.get() == ep;
    }

    /** The cached entry if it is still current, else null (then load and {@link #fill}). */
    public ConfigEntry get(ConfigKey k) {
        if (invalidationsFlowing.getAsBoolean()) {
            Cached c = cache.getIfPresent(k);
            if (c != null && current(stripe(k), c.generation, c.epoch)) {
                hits.incrementAndGet();
                return c.entry;
            }
        }
        misses.incrementAndGet();
        return null;
    }

    /**
     * Stores an entry read from (or just written to) the database after {@code stamp} was
     * taken. Ignored if an eviction happened since the stamp, or if a current entry already
     * holds the same or a newer version.
     */
    public void fill(ConfigKey k, Stamp stamp, ConfigEntry entry) {
        cache.asMap().compute(k, (key, cur) -> {
            boolean curValid = cur != null && current(stamp.stripe, cur.generation, cur.epoch);
            if (!current(stamp.stripe, stamp.generation, stamp.epoch)) return curValid ? cur : null;
            if (curValid && cur.entry.version() >= entry.version()) return cur;
            return new Cached(entry, stamp.generation, stamp.epoch);
        });
    }

    /** A key changed somewhere: its cached entry (and any load in flight) is stale. */
    public void evict(ConfigKey k) {
        generations.incrementAndGet(stripe(k));
        cache.invalidate(k);
        evictions.incrementAndGet();
    }

    /** Invalidations may have been missed (listener reconnect): everything is stale. */
    public void evictAll() {
        epoch.incrementAndGet();
        cache.invalidateAll();
        flushes.incrementAndGet();
    }

    public long hits() { return hits.get(); }
    public long misses() { return misses.get(); }
    public long evictions() { return evictions.get(); }
    public long flushes() { return flushes.get(); }
    public long size() { return cache.estimatedSize(); }

    /** Runs pending size/age evictions now (tests). */
    void cleanUp() { cache.cleanUp(); }
}
