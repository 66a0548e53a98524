package dev.herald.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.MetricsText;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Before /readyz turns 200 a replica publishes and delivers its warm-up over loopback, through
 * the real HTTP, SSE and database paths, then removes every trace of it. Readiness waits for the
 * warm-up, and never longer than its limit.
 */
class TestWarmup {

    @Test
    void a_replica_publishes_and_delivers_its_warmup_before_it_is_ready_and_leaves_nothing_behind() throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.warmup(400, Duration.ofSeconds(60)))) {
            Api api = server.api();
            JsonNode ready = awaitReady(api, Duration.ofSeconds(60));
            assertTrue(ready.get("warmed_up").asBoolean(), ready.toString());

            // By readiness, the warm-up went through the real publish and delivery paths: each of
            // its events reached four SSE subscribers.
            String metrics = MetricsText.scrape(api);
            assertEquals(400, MetricsText.value(metrics, "herald_events_published_total"), metrics);
            assertTrue(MetricsText.value(metrics, "herald_events_delivered_total") >= 1_600, metrics);

            assertNoWarmupTraces(server);

            // The replica serves as usual.
            String token = api.userToken("acme", "ann");
            Api.Response published =
                    api.post("/api/v1/users/ann/events", token, Map.of("type", "after.warmup", "data", Map.of()));
            assertEquals(201, published.status(), published.toString());
            assertEquals(1, published.json().get("cursor").asLong());
        }
    }

    @Test
    void readiness_waits_for_the_warmup_but_never_longer_than_its_limit() throws Exception {
        long started = System.nanoTime();
        try (TestServer server = TestServer.start(1, b -> b.warmup(1_000_000, Duration.ofSeconds(4)))) {
            Api api = server.api();
            Api.Response warming = api.get("/readyz", null);
            assertEquals(503, warming.status(), warming.toString());
            assertFalse(warming.json().get("warmed_up").asBoolean(), warming.toString());

            awaitReady(api, Duration.ofSeconds(30));
            double seconds = (System.nanoTime() - started) / 1e9;
            assertTrue(seconds >= 4, "ready after " + seconds + " s, before the warm-up's limit");
            assertNoWarmupTraces(server);
        }
    }

    @Test
    void readyz_says_warming_up_while_the_database_and_listener_are_fine() throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.warmup(1_000_000, Duration.ofSeconds(20)))) {
            Api api = server.api();
            JsonNode body = null;
            for (int i = 0; i < 100; i++) {
                body = api.get("/readyz", null).json();
                if (body.get("listener").asBoolean()) break;
                Thread.sleep(50);
            }
            assertEquals("warming_up", body.get("status").asText(), body.toString());
            assertTrue(body.get("database").asBoolean(), body.toString());
            assertFalse(body.get("warmed_up").asBoolean(), body.toString());
        }
    }

    private static JsonNode awaitReady(Api api, Duration within) throws InterruptedException {
        long until = System.nanoTime() + within.toNanos();
        Api.Response r = api.get("/readyz", null);
        while (r.status() != 200 && System.nanoTime() < until) {
            Thread.sleep(100);
            r = api.get("/readyz", null);
        }
        assertEquals(200, r.status(), r.toString());
        return r.json();
    }

    /** The warm-up's tenant, token, streams and events are gone. */
    private static void assertNoWarmupTraces(TestServer server) {
        for (String sql : new String[] {
            "SELECT count(*) FROM herald.tenants WHERE id LIKE 'herald-warmup-%'",
            "SELECT count(*) FROM herald.tokens WHERE tenant LIKE 'herald-warmup-%'",
            "SELECT count(*) FROM herald.streams WHERE tenant LIKE 'herald-warmup-%'",
            "SELECT count(*) FROM herald.events WHERE tenant LIKE 'herald-warmup-%'"
        }) {
            assertEquals(0, Sql.scalar(server.databaseUrl(), sql), sql);
        }
    }
}
