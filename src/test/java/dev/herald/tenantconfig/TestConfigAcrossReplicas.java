package dev.herald.tenantconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Latencies;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two replicas on one database: a write on A must reach B's cache, fast, after listener
 * failures too, and never leave B holding a value older than one already read.
 */
class TestConfigAcrossReplicas {
    static final Duration VISIBLE_WITHIN = Duration.ofSeconds(5);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(2);

    static String admin;
    static String reader;

    // Replicas A and B: JUnit makes a test instance per test, after the extension started them.
    final Api a = server.api(0);
    final Api b = server.api(1);

    @BeforeAll
    static void mintTokens(Api api) {
        admin = api.mint("acme", null, "admin", "events:read");
        reader = api.mint("acme", "alice", "events:read");
    }

    static Map<String, Object> value(Object v) {
        return Map.of("value", v);
    }

    static long put(Api api, String path, Object v) {
        Api.Response r = api.put(path, admin, value(v));
        if (r.status() != 200) throw new AssertionError("PUT " + path + ": " + r);
        return r.json().get("version").asLong();
    }

    /** Polls GET until it returns at least {@code version}; the response, or fails after the deadline. */
    static JsonNode awaitVersion(Api api, String path, long version) {
        long until = System.nanoTime() + VISIBLE_WITHIN.toNanos();
        Api.Response last = null;
        while (System.nanoTime() < until) {
            last = api.get(path, reader);
            if (last.status() == 200 && last.json().get("version").asLong() >= version) return last.json();
        }
        throw new AssertionError(
                path + " did not reach version " + version + " within " + VISIBLE_WITHIN + "; last: " + last);
    }

    static double metric(Api api, String name) {
        String text = api.get("/metrics", null).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " "))
                return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
        throw new AssertionError("no metric " + name);
    }

    @Test
    void a_write_on_a_is_read_on_b_and_a_delete_on_b_is_seen_on_a() {
        String path = "/api/v1/config/providers/cross-1";
        long v1 = put(a, path, Map.of("url", "https://one"));
        assertEquals(
                "https://one", awaitVersion(b, path, v1).get("value").get("url").asText());
        long v2 = put(a, path, Map.of("url", "https://two"));
        assertEquals(
                "https://two", awaitVersion(b, path, v2).get("value").get("url").asText());

        assertEquals(200, a.get(path, reader).status(), "A has it cached");
        assertEquals(204, b.delete(path, admin).status());
        long until = System.nanoTime() + VISIBLE_WITHIN.toNanos();
        while (a.get(path, reader).status() != 404) {
            if (System.nanoTime() > until) throw new AssertionError("A still serves a deleted entry");
        }
        long v4 = put(b, path, "again");
        assertEquals(v2 + 2, v4, "the delete took a version");
        assertEquals("again", awaitVersion(a, path, v4).get("value").asText());
    }

    @Test
    void b_serves_repeated_reads_from_its_cache_until_a_writes() {
        String path = "/api/v1/config/model_config/cached";
        long v1 = put(a, path, 1);
        awaitVersion(b, path, v1);
        double hitsBefore = metric(b, "herald_config_cache_hits");
        for (int i = 0; i < 10; i++)
            assertEquals(v1, b.get(path, reader).json().get("version").asLong());
        assertTrue(metric(b, "herald_config_cache_hits") >= hitsBefore + 9, "repeated reads on B are cache hits");
        double evictionsBefore = metric(b, "herald_config_cache_evictions");
        long v2 = put(a, path, 2);
        assertEquals(2, awaitVersion(b, path, v2).get("value").asInt());
        assertTrue(metric(b, "herald_config_cache_evictions") > evictionsBefore);
    }

    /**
     * Time from A's PUT returning to B's GET returning the new version, polled every 0.5 ms.
     * The contract is p99 below 100 ms. The machine is shared (tests of other work run at the
     * same time on 2 cores), so a run whose p99 misses is measured again, up to 3 runs in all:
     * an implementation that does not evict promptly (a TTL, a lost ping) misses every time.
     */
    @Test
    void time_to_visible_on_b_after_a_put_returns_is_below_100_ms_p99_over_120_writes() {
        String path = "/api/v1/config/model_config/ttv";
        for (int i = 0; i < 30; i++) awaitVersion(b, path, put(a, path, -1)); // warm-up (JIT)
        List<String> runs = new ArrayList<>();
        for (int run = 1; run <= 3; run++) {
            Latencies ttv = new Latencies();
            Latencies cachedGet = new Latencies();
            int firstPoll = 0;
            double hitsBefore = metric(b, "herald_config_cache_hits");
            int n = 120;
            for (int i = 0; i < n; i++) {
                long g0 = System.nanoTime();
                b.get(path, reader); // B holds the previous version (normally a cache hit)
                cachedGet.add(System.nanoTime() - g0);
                long v = put(a, path, i);
                long t0 = System.nanoTime();
                polls = 0;
                JsonNode got = pollVersion(b, path, v);
                ttv.add(System.nanoTime() - t0);
                if (polls == 1) firstPoll++;
                assertEquals(v, got.get("version").asLong(), "no version skipped (single writer)");
                assertEquals(i, got.get("value").asInt());
            }
            double hits = metric(b, "herald_config_cache_hits") - hitsBefore;
            String line = "run " + run + ": " + ttv.summary() + "; new version on the first GET " + firstPoll + "/" + n
                    + "; one GET of a cached entry on B: " + cachedGet.summary() + "; B cache hits " + (long) hits;
            runs.add(line);
            System.out.println("[config] time-to-visible on B after A's PUT returned, " + line);
            assertTrue(hits >= n / 2.0, "B's reads were served from its cache between writes (hits " + hits + ")");
            if (ttv.millis(99) < 100) return;
        }
        throw new AssertionError("API.md: every replica drops the stale entry within 100 ms (p99); measured " + runs);
    }

    static int polls;

    /** Like awaitVersion, pausing 0.5 ms between polls so the poller does not starve the server. */
    static JsonNode pollVersion(Api api, String path, long version) {
        long until = System.nanoTime() + VISIBLE_WITHIN.toNanos();
        Api.Response last = null;
        while (System.nanoTime() < until) {
            last = api.get(path, reader);
            polls++;
            if (last.status() == 200 && last.json().get("version").asLong() >= version) return last.json();
            java.util.concurrent.locks.LockSupport.parkNanos(500_000);
        }
        throw new AssertionError(
                path + " did not reach version " + version + " within " + VISIBLE_WITHIN + "; last: " + last);
    }

    @Test
    void after_b_listener_backend_is_killed_b_drops_everything_and_keeps_evicting() {
        String path = "/api/v1/config/user_prompt/killed-b";
        long v1 = put(a, path, "one");
        awaitVersion(b, path, v1);
        b.get(path, reader); // cached on B
        double flushesBefore = metric(b, "herald_config_cache_flushes");
        long before = ListenerFaults.kill(server, 1);
        long v2 = put(a, path, "two"); // its ping may never reach B
        ListenerFaults.awaitReconnect(server, 1, before, Duration.ofSeconds(10));
        JsonNode after = b.get(path, reader).json();
        assertEquals(v2, after.get("version").asLong(), "B must not serve the entry cached before its listener died");
        assertEquals("two", after.get("value").asText());
        assertTrue(metric(b, "herald_config_cache_flushes") > flushesBefore, "B evicted everything after reconnecting");

        // The new LISTEN connection evicts again, and B caches again.
        long v3 = put(a, path, "three");
        assertEquals("three", awaitVersion(b, path, v3).get("value").asText());
        double hits = metric(b, "herald_config_cache_hits");
        b.get(path, reader);
        b.get(path, reader);
        assertTrue(metric(b, "herald_config_cache_hits") >= hits + 1, "B serves from its cache again");
        long v4 = put(a, path, "four");
        assertEquals("four", awaitVersion(b, path, v4).get("value").asText());
    }

    @Test
    void after_a_listener_backend_is_killed_writes_still_propagate_both_ways() {
        String path = "/api/v1/config/providers/killed-a";
        long v1 = put(b, path, 1);
        awaitVersion(a, path, v1);
        ListenerFaults.killAndAwaitReconnect(server, 0, Duration.ofSeconds(10));
        long v2 = put(a, path, 2);
        assertEquals(2, awaitVersion(b, path, v2).get("value").asInt(), "A's writes ping B whatever A's listener does");
        assertEquals(v2, a.get(path, reader).json().get("version").asLong(), "A reads its own write");
        long v3 = put(b, path, 3);
        assertEquals(3, awaitVersion(a, path, v3).get("value").asInt(), "A's new listener evicts");
    }

    @Test
    void watch_on_b_sees_every_change_made_on_a_in_order() {
        String watchAdmin = a.mint("watch-x", null, "admin");
        String watcher = a.mint("watch-x", "u", "events:read");
        try (SseClient sse = b.sse("/api/v1/config/watch", watcher)) {
            assertEquals(200, sse.status);
            for (int i = 0; i < 20; i++) {
                Api.Response r = a.put("/api/v1/config/model_config/w" + (i % 3), watchAdmin, value(i));
                assertEquals(200, r.status(), r.toString());
            }
            List<SseClient.Event> got = sse.take(20, Duration.ofSeconds(10));
            for (int i = 0; i < 20; i++) {
                assertEquals(i + 1L, got.get(i).id());
                assertEquals("w" + (i % 3), got.get(i).json().get("entity_id").asText());
            }
            assertTrue(sse.drain(Duration.ofMillis(200)).isEmpty(), "exactly once");
        }
    }

    /**
     * Writers on A and B and readers on both, on two hot keys. Checks: every (version, value)
     * read was actually written under that version; each reader's versions per key never go
     * back; a writer's replica reads its own write; after the writes stop both replicas
     * converge on the last version and stay there (no stale entry was left behind).
     */
    @Test
    void no_stale_value_under_concurrent_writes_and_reads_on_two_replicas() throws Exception {
        List<String> paths = List.of("/api/v1/config/model_config/hot-1", "/api/v1/config/providers/hot-2");
        Api[] replicas = {a, b};
        Map<String, Map<Long, JsonNode>> written = new ConcurrentHashMap<>();
        for (String p : paths) written.put(p, new ConcurrentHashMap<>());
        record Read(String path, long version, JsonNode value) {}
        List<Read> reads = Collections.synchronizedList(new ArrayList<>());
        List<String> violations = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean writing = new AtomicBoolean(true);
        int writesPerWriter = 80;

        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 4; r++) {
            Api api = replicas[r % 2];
            String who = "reader " + r + " on " + (r % 2 == 0 ? "A" : "B");
            readers.add(Thread.ofVirtual().start(() -> {
                Map<String, Long> last = new java.util.HashMap<>();
                int budget = 20_000;
                while (writing.get() && budget-- > 0) {
                    String p = paths.get(ThreadLocalRandom.current().nextInt(paths.size()));
                    Api.Response res = api.get(p, reader);
                    if (res.status() == 404) continue;
                    if (res.status() != 200) {
                        violations.add(who + ": " + res);
                        continue;
                    }
                    long v = res.json().get("version").asLong();
                    reads.add(new Read(p, v, res.json().get("value")));
                    Long prev = last.put(p, v);
                    if (prev != null && v < prev)
                        violations.add(who + " read " + p + " version " + v + " after " + prev);
                }
            }));
        }
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            Api api = replicas[w];
            int writer = w;
            writers.add(Thread.ofVirtual().start(() -> {
                for (int n = 0; n < writesPerWriter; n++) {
                    String p = paths.get(n % paths.size());
                    Api.Response res = api.put(p, admin, value(Map.of("writer", writer, "n", n)));
                    if (res.status() != 200) {
                        violations.add("writer " + writer + ": " + res);
                        continue;
                    }
                    long v = res.json().get("version").asLong();
                    if (written.get(p).put(v, res.json().get("value")) != null)
                        violations.add("version " + v + " of " + p + " written twice");
                    long seen = api.get(p, reader).json().get("version").asLong();
                    if (seen < v)
                        violations.add("writer " + writer + " wrote " + p + " v" + v + " and then read v" + seen
                                + " on its own replica");
                }
            }));
        }
        for (Thread t : writers) t.join(Duration.ofSeconds(60));
        writing.set(false);
        for (Thread t : readers) t.join(Duration.ofSeconds(30));
        assertTrue(
                violations.isEmpty(),
                violations.size() + " violations, first: " + violations.subList(0, Math.min(10, violations.size())));

        for (String p : paths) assertEquals(writesPerWriter, written.get(p).size(), "every write got its own version");
        for (Read r : reads) {
            JsonNode expected = written.get(r.path).get(r.version);
            assertEquals(expected, r.value, "value read for " + r.path + " v" + r.version);
        }
        for (String p : paths) {
            long last = Collections.max(written.get(p).keySet());
            for (Api api : replicas) {
                awaitVersion(api, p, last);
                for (int i = 0; i < 20; i++) {
                    assertEquals(
                            last,
                            api.get(p, reader).json().get("version").asLong(),
                            "a replica went back to an older version of " + p);
                }
            }
        }
        System.out.println(
                "[config] concurrent run: " + 2 * writesPerWriter + " writes, " + reads.size() + " reads checked");
        assertTrue(reads.size() > 100, "readers ran alongside the writers");
    }
}
