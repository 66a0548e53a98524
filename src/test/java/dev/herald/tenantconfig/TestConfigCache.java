package dev.herald.tenantconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The cache's race guard, step by step: each test plays one interleaving of a loader (stamp,
 * read the database, fill) with evictions, as they happen on a replica.
 */
class TestConfigCache {
    static final ConfigKey KEY = new ConfigKey("acme", ConfigKind.MODEL_CONFIG, "gpt");
    final AtomicBoolean listening = new AtomicBoolean(true);
    final ConfigCache cache = new ConfigCache(1_000, Duration.ofMinutes(5), listening::get);

    static ConfigEntry v(ConfigKey key, long version) {
        return ConfigEntry.present(
                key, "{\"v\":" + version + "}", version, OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC));
    }

    @Test
    void a_filled_entry_is_served_until_its_key_is_evicted() {
        ConfigCache.Stamp s = cache.stamp(KEY);
        ConfigEntry v1 = v(KEY, 1);
        cache.fill(KEY, s, v1);
        assertSame(v1, cache.get(KEY));
        assertSame(v1, cache.get(KEY));
        cache.evict(KEY);
        assertNull(cache.get(KEY));
        assertEquals(2, cache.hits());
    }

    @Test
    void a_load_that_read_the_old_row_before_an_eviction_is_never_served_after_it() {
        ConfigCache.Stamp s = cache.stamp(KEY); // GET misses, takes its stamp
        ConfigEntry old = v(KEY, 1); // ...reads version 1 from the database
        cache.evict(KEY); // version 2 commits; its ping evicts
        cache.fill(KEY, s, old); // the slow GET stores version 1 too late
        assertNull(cache.get(KEY), "the stale row must not be served");
        ConfigCache.Stamp s2 = cache.stamp(KEY); // the next GET loads version 2
        cache.fill(KEY, s2, v(KEY, 2));
        assertEquals(2, cache.get(KEY).version());
    }

    @Test
    void an_eviction_that_lands_between_the_check_and_the_read_still_wins() {
        ConfigCache.Stamp s = cache.stamp(KEY);
        cache.fill(KEY, s, v(KEY, 1)); // stored while still current...
        cache.evict(KEY); // ...then evicted: gone
        assertNull(cache.get(KEY));
        cache.fill(KEY, s, v(KEY, 1)); // a duplicate late fill with the old stamp
        assertNull(cache.get(KEY));
    }

    @Test
    void evicting_everything_invalidates_loads_in_flight_for_every_key() {
        ConfigKey other = new ConfigKey("globex", ConfigKind.PROVIDERS, "openai");
        ConfigCache.Stamp s1 = cache.stamp(KEY);
        ConfigCache.Stamp s2 = cache.stamp(other);
        cache.fill(KEY, s1, v(KEY, 1));
        cache.evictAll(); // listener reconnected
        cache.fill(other, s2, v(other, 7)); // a load that began before the reconnect
        assertNull(cache.get(KEY));
        assertNull(cache.get(other));
        assertEquals(1, cache.flushes());
    }

    @Test
    void of_two_concurrent_loads_the_newer_version_stays_whatever_order_they_finish_in() {
        ConfigCache.Stamp a = cache.stamp(KEY);
        ConfigCache.Stamp b = cache.stamp(KEY);
        cache.fill(KEY, b, v(KEY, 3));
        cache.fill(KEY, a, v(KEY, 2));
        assertEquals(3, cache.get(KEY).version());
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 4));
        assertEquals(4, cache.get(KEY).version());
    }

    @Test
    void a_load_that_could_not_be_stored_still_raises_the_floor_so_reads_never_go_back() {
        ConfigCache.Stamp early = cache.stamp(KEY); // load L1 starts
        cache.evict(KEY); // a ping (for an older write) arrives
        ConfigCache.Stamp late = cache.stamp(KEY); // load L2 starts, reads version 62
        cache.fill(KEY, early, v(KEY, 63)); // L1 read 63 (committed meanwhile): hands it out
        cache.fill(KEY, late, v(KEY, 62)); // L2's stamp is current, but 62 < 63
        assertNull(cache.get(KEY), "62 must not be served after 63 was");
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 63));
        assertEquals(63, cache.get(KEY).version());
    }

    @Test
    void a_writer_never_reads_back_an_older_version_than_it_wrote() {
        ConfigCache.Stamp writer = cache.stamp(KEY); // PUT starts
        cache.evict(KEY); // the ping of someone else's version 1
        ConfigCache.Stamp reader = cache.stamp(KEY); // a GET reads version 1 before the PUT commits
        cache.fill(KEY, reader, v(KEY, 1));
        cache.fill(KEY, writer, v(KEY, 2)); // the PUT committed version 2 (stale stamp)
        assertNull(cache.get(KEY), "version 1 must not be served to anyone after version 2 was written here");
    }

    @Test
    void an_eviction_drops_the_value_but_keeps_the_floor() {
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 5));
        cache.evict(KEY);
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 4));
        assertNull(cache.get(KEY));
        cache.evictAll();
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 4));
        assertNull(cache.get(KEY));
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 6));
        assertEquals(6, cache.get(KEY).version());
    }

    @Test
    void an_absent_entry_is_cached_and_replaced_by_a_newer_write() {
        cache.fill(KEY, cache.stamp(KEY), ConfigEntry.absent(KEY, 0));
        assertEquals(false, cache.get(KEY).present());
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 1));
        assertEquals(true, cache.get(KEY).present());
        cache.fill(KEY, cache.stamp(KEY), ConfigEntry.absent(KEY, 2)); // deleted
        assertEquals(false, cache.get(KEY).present());
        assertEquals(2, cache.get(KEY).version());
    }

    @Test
    void nothing_is_served_from_the_cache_while_the_listener_is_down() {
        cache.fill(KEY, cache.stamp(KEY), v(KEY, 1));
        listening.set(false);
        assertNull(cache.get(KEY));
        listening.set(true);
        assertEquals(1, cache.get(KEY).version());
    }

    @Test
    void an_entry_dropped_for_size_advances_its_generation_so_older_loads_cannot_return() {
        ConfigCache small = new ConfigCache(1, Duration.ofMinutes(5), () -> true);
        List<ConfigKey> keys = new ArrayList<>();
        List<ConfigCache.Stamp> stamps = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            ConfigKey k = new ConfigKey("acme", ConfigKind.USER_PROMPT, "u" + i);
            keys.add(k);
            stamps.add(small.stamp(k));
            small.fill(k, small.stamp(k), v(k, 5));
            small.cleanUp();
        }
        small.cleanUp();
        int dropped = 0;
        for (int i = 0; i < keys.size(); i++) {
            ConfigKey k = keys.get(i);
            if (small.get(k) != null) continue;
            dropped++;
            small.fill(k, stamps.get(i), v(k, 4)); // a slow load of an older version
            assertNull(small.get(k), "an older version came back after a newer one was dropped");
        }
        assertTrue(dropped >= 45, "expected most entries dropped for size, got " + dropped);
    }
}
