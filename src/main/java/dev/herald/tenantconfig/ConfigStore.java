package dev.herald.tenantconfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import dev.herald.ops.Metrics;
import dev.herald.stream.Listener;
import dev.herald.stream.Renderer;
import dev.herald.stream.StreamKey;
import dev.herald.stream.StreamKind;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Config entries behind a per-replica cache that every replica keeps fresh: a write commits
 * (its trigger pings {@value #CHANNEL} in the same transaction), each replica's listener
 * evicts that key, and after a listener reconnect each replica evicts everything.
 */
public final class ConfigStore {
    private static final Logger log = LoggerFactory.getLogger(ConfigStore.class);
    /** The invalidation channel; payload {@code {"tenant","kind","entity_id"}}. */
    public static final String CHANNEL = "chat:config_change";

    private final ConfigRepository repo;
    private final Listener listener;
    private final ConfigCache cache;
    /** The listener's reconnect count when the cache was last flushed. */
    private final AtomicLong flushedAfter;

    /** A cache that serves only while the listener is connected and was flushed since its last reconnect. */
    public ConfigStore(ConfigRepository repo, Listener listener) {
        this.repo = repo;
        this.listener = listener;
        // Serve from the cache only while pings can arrive: the listener is connected AND the
        // cache was flushed after its latest reconnect (the listener reports "connected" a
        // moment before its reconnect hooks run; pings sent while it was down are lost).
        this.flushedAfter = new AtomicLong(listener.reconnects());
        this.cache = new ConfigCache(
                100_000,
                Duration.ofMinutes(30),
                () -> listener.connected() && listener.reconnects() == flushedAfter.get());
    }

    /** The listener reconnected: pings may have been lost, so nothing cached is trusted. */
    public void flush() {
        cache.evictAll();
        flushedAfter.set(listener.reconnects());
    }

    /** The cache's figures on /metrics. */
    public void registerMetrics(Metrics metrics) {
        metrics.gauge("herald_config_cache_hits", "Config reads served from this replica's cache", cache::hits);
        metrics.gauge("herald_config_cache_misses", "Config reads that went to the database", cache::misses);
        metrics.gauge(
                "herald_config_cache_evictions",
                "Config cache entries evicted by chat:config_change pings",
                cache::evictions);
        metrics.gauge(
                "herald_config_cache_flushes",
                "Whole config cache evictions (after listener reconnects)",
                cache::flushes);
        metrics.gauge("herald_config_cache_entries", "Entries in this replica's config cache", cache::size);
    }

    public static StreamKey watchStream(String tenant) {
        return KIND.key(tenant, "all");
    }

    /** Wire form of a watch event: {"kind","entity_id","version","deleted"}, one line. */
    static final Renderer RENDERER = e -> {
        JsonNode d = Json.parse(e.data());
        ObjectNode o = Json.object();
        o.set("kind", d.get("kind"));
        o.set("entity_id", d.get("entity_id"));
        if (d.has("version")) o.set("version", d.get("version"));
        if (d.has("deleted")) o.set("deleted", d.get("deleted"));
        return new Renderer.Rendered(e.type(), Json.write(o));
    };

    /**
     * {@code config:all}: each tenant's persisted change stream (GET /api/v1/config/watch);
     * retention prunes its events, never the entries.
     */
    public static final StreamKind KIND = new StreamKind("config", RENDERER, true);

    /** The current entry (absent if never written or deleted): from the cache, else the database. */
    public ConfigEntry get(ConfigKey key) {
        ConfigEntry e = cache.get(key);
        if (e != null) return e;
        ConfigCache.Stamp stamp = cache.stamp(key);
        e = repo.find(key);
        cache.fill(key, stamp, e);
        return e;
    }

    /** Writes, then caches the written version here (this replica reads its own writes). */
    public ConfigEntry put(ConfigKey key, String valueJson) {
        ConfigCache.Stamp stamp = cache.stamp(key);
        ConfigEntry e = repo.put(key, valueJson);
        cache.fill(key, stamp, e);
        return e;
    }

    /** Deletes; empty if there was nothing to delete. */
    public Optional<ConfigEntry> delete(ConfigKey key) {
        ConfigCache.Stamp stamp = cache.stamp(key);
        Optional<ConfigEntry> e = repo.delete(key);
        e.ifPresent(tomb -> cache.fill(key, stamp, tomb));
        return e;
    }

    public ConfigCache cache() {
        return cache;
    }

    /** A {@value #CHANNEL} ping; anything unreadable evicts everything (never keep a stale entry). */
    public void onInvalidation(String payload) {
        JsonNode n;
        try {
            n = Json.parse(payload);
        } catch (RuntimeException e) {
            n = null;
        }
        String tenant = n == null ? null : n.path("tenant").asText(null);
        String kind = n == null ? null : n.path("kind").asText(null);
        String entity = n == null ? null : n.path("entity_id").asText(null);
        if (tenant == null || kind == null || entity == null) {
            log.warn("unreadable {} payload; evicting the whole config cache", CHANNEL);
            cache.evictAll();
            return;
        }
        for (ConfigKind k : ConfigKind.values()) {
            // A kind this replica does not know (a newer replica's) is never in its cache.
            if (k.wire().equals(kind)) cache.evict(new ConfigKey(tenant, k, entity));
        }
    }
}
