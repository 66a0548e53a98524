package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TestRetentionSchedule {

    @Test
    void the_janitor_runs_by_itself_every_interval_with_the_configured_retention() throws Exception {
        // Retention of one hour, janitor every 300 ms: rows aged 2 h go, rows aged 30 min stay.
        try (TestServer server = TestServer.start(
                1, c -> c.retentionMaxAge(Duration.ofHours(1)).retentionInterval(Duration.ofMillis(300)))) {
            Api api = server.api();
            String token = api.mint("sched", null, "events:read", "events:write");
            for (int i = 0; i < 6; i++) {
                assertEquals(
                        201,
                        api.post("/api/v1/teams/sched/jobs/j/events", token, Map.of("status", "progress"))
                                .status());
            }
            Sql.age(server.databaseUrl(), "sched", "team:sched", 6, "30 minutes");
            Sql.age(server.databaseUrl(), "sched", "team:sched", 4, "2 hours");
            long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (Sql.prunedThrough(server.databaseUrl(), "sched", "team:sched") < 4 && System.nanoTime() < until)
                Thread.sleep(50);
            assertEquals(4, Sql.prunedThrough(server.databaseUrl(), "sched", "team:sched"));
            Thread.sleep(700); // a few more runs: the younger rows stay
            assertEquals(2, Sql.count(server.databaseUrl(), "sched", "team:sched"));
            assertEquals(4, Sql.prunedThrough(server.databaseUrl(), "sched", "team:sched"));
            assertTrue(server.herald().janitor().runs() >= 2);
            String metrics = api.get("/metrics", null).body();
            assertTrue(metrics.contains("herald_retention_deleted_events_total 4.0"), metrics);
        }
    }
}
