package dev.herald.tenantconfig;

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
 *     current, so a row read before an eviction is never served after it, however late it is
 *     stored. Validation happens on read: there is no window between "check" and "put".</li>
 * <li>Each key also keeps a <em>floor</em>: the highest version this replica has handed to a
 *     client (read or written). An entry below the floor is never served, so reads on one
 *     replica never go back in time, even when two loads race or a load's entry could not be
 *     stored. Evictions drop the value but keep the floor.</li>
 * <li>A key dropped for size or age also advances its counter (atomically with the drop), so
 *     a load that began before the drop cannot store an entry under the lost floor.</li>
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
    private final Cache<ConfigKey, Node> cache;
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong flushes = new AtomicLong();

    /** When a load started: the key's stripe, its generation and the epoch, read before the query. */
    public record Stamp(int stripe, long generation, long epoch) {}

    /** A key's cached entry (null: none) with the stamp it was loaded under, and its floor. */
    private record Node(ConfigEntry entry, long generation, long epoch, long floor) {
        Node withoutEntry() {
            return entry == null ? this : new Node(null, generation, epoch, floor);
        }
    }

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
                .evictionListener((ConfigKey k, Node v, com.github.benmanes.caffeine.cache.RemovalCause cause) -> {
                    if (k != null) generations.incrementAndGet(stripe(k));
                })
                .build();
    }

    static int stripe(ConfigKey k) {
        int h = k.hashCode();
        h ^= h >>> 16;
        return (h & 0x7fffffff) % STRIPES;
    }

    /** Take before reading the database (or before writing it); pass to {@link #fill}. */
    public Stamp stamp(ConfigKey k) {
        int s = stripe(k);
        long e = epoch.get();
        long g = generations.get(s);
        return new Stamp(s, g, e);
    }

    private boolean current(int stripe, long generation, long ep) {
        return generations.get(stripe) == generation && epoch.get() == ep;
    }

    private boolean servable(int stripe, Node n) {
        return n != null && n.entry != null && n.entry.version() >= n.floor && current(stripe, n.generation, n.epoch);
    }

    /** The cached entry if it may be served, else null (then load and {@link #fill}). */
    public ConfigEntry get(ConfigKey k) {
        if (invalidationsFlowing.getAsBoolean()) {
            Node n = cache.getIfPresent(k);
            if (servable(stripe(k), n)) {
                hits.incrementAndGet();
                return n.entry;
            }
        }
        misses.incrementAndGet();
        return null;
    }

    /**
     * Records an entry read from (or just written to) the database after {@code stamp} was
     * taken, before it is handed to the client: it raises the key's floor to its version, and
     * is stored unless an eviction happened since the stamp or a servable entry already holds
     * the same or a newer version.
     */
    public void fill(ConfigKey k, Stamp stamp, ConfigEntry entry) {
        cache.asMap().compute(k, (key, cur) -> {
            long floor = Math.max(cur == null ? 0 : cur.floor, entry.version());
            boolean curServable = cur != null && cur.entry != null && current(stamp.stripe, cur.generation, cur.epoch);
            if (current(stamp.stripe, stamp.generation, stamp.epoch)
                    && !(curServable && cur.entry.version() >= entry.version())) {
                return new Node(entry, stamp.generation, stamp.epoch, floor);
            }
            if (curServable && cur.entry.version() >= floor)
                return new Node(cur.entry, cur.generation, cur.epoch, floor);
            return new Node(null, stamp.generation, stamp.epoch, floor);
        });
    }

    /** A key changed somewhere: its cached entry (and any load in flight) is stale. */
    public void evict(ConfigKey k) {
        generations.incrementAndGet(stripe(k));
        cache.asMap().computeIfPresent(k, (key, n) -> n.withoutEntry());
        evictions.incrementAndGet();
    }

    /** Invalidations may have been missed (listener reconnect): everything is stale. */
    public void evictAll() {
        epoch.incrementAndGet();
        cache.asMap().replaceAll((key, n) -> n.withoutEntry());
        flushes.incrementAndGet();
    }

    public long hits() {
        return hits.get();
    }

    public long misses() {
        return misses.get();
    }

    public long evictions() {
        return evictions.get();
    }

    public long flushes() {
        return flushes.get();
    }

    public long size() {
        return cache.estimatedSize();
    }

    /** Runs pending size/age evictions now (tests). */
    void cleanUp() {
        cache.cleanUp();
    }
}
