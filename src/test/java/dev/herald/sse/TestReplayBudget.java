package dev.herald.sse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The replay budget over HTTP: 10 connects and 200 backlog rows per user per minute here. */
class TestReplayBudget {
    static final int CONNECTS = 10;

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, c -> c.replay(CONNECTS, 200, Duration.ofMinutes(1)));

    static void assertTooMany(int status, String body, String retryAfter) {
        assertEquals(429, status, body);
        assertTrue(body.contains("\"code\":\"too_many_requests\""), body);
        assertTrue(
                retryAfter != null && Integer.parseInt(retryAfter) >= 1 && Integer.parseInt(retryAfter) <= 60,
                "Retry-After: " + retryAfter);
    }

    @Test
    void a_reconnect_storm_from_one_user_gets_429_with_retry_after_while_another_user_is_unaffected(Api api) {
        String storm = api.userToken("replay", "storm");
        String calm = api.userToken("replay", "calm");
        assertEquals(
                201,
                api.post("/api/v1/users/storm/events", storm, Map.of("type", "x"))
                        .status());
        int accepted = 0;
        SseClient refused = null;
        for (int i = 0; i < CONNECTS * 3 && refused == null; i++) {
            SseClient c = api.sse("/api/v1/events", storm, 1L);
            if (c.status == 200) accepted++;
            else refused = c;
            c.close();
        }
        assertTrue(refused != null, "a tight reconnect loop must be refused");
        assertTrue(accepted >= CONNECTS - 1 && accepted <= CONNECTS + 1, "accepted " + accepted);
        assertTooMany(
                refused.status,
                refused.errorBody(),
                refused.response.headers().firstValue("Retry-After").orElse(null));

        // Every SSE endpoint goes through the same budget: the team stream refuses this user too.
        try (SseClient team = api.sse("/api/v1/teams/replay/events", storm)) {
            assertEquals(429, team.status);
        }
        // The backlog endpoint as well.
        Api.Response backlog = api.get("/api/v1/events/backlog", storm);
        assertTooMany(backlog.status(), backlog.body(), backlog.header("Retry-After"));

        // Another user of the same tenant reconnects normally.
        for (int i = 0; i < 3; i++) {
            try (SseClient ok = api.sse("/api/v1/events", calm, 0L)) {
                assertEquals(200, ok.status, ok.errorBody());
            }
        }
        assertEquals(200, api.get("/api/v1/events/backlog", calm).status());
        assertTrue(api.get("/metrics", null).body().contains("herald_replay_refused_total"));
    }

    @Test
    void asking_for_huge_backlogs_repeatedly_runs_out_of_rows(Api api) {
        String token = api.userToken("replay", "hungry");
        Sql.scalar(
                server.databaseUrl(),
                "SELECT count(herald.publish_user_event('replay', 'hungry', 'bulk', jsonb_build_object('n', g))) FROM generate_series(1, 150) g");
        // 150 rows of a 200-row budget, then 150 more (an overdraft is allowed once), then 429.
        for (int i = 0; i < 2; i++) {
            try (SseClient sse = api.sse("/api/v1/events", token, 0L)) {
                assertEquals(200, sse.status, sse.errorBody());
                assertEquals(
                        150, sse.take(150, Duration.ofSeconds(10)).getLast().id());
            }
        }
        try (SseClient sse = api.sse("/api/v1/events", token, 0L)) {
            assertTooMany(
                    sse.status,
                    sse.errorBody(),
                    sse.response.headers().firstValue("Retry-After").orElse(null));
        }
        // A tenant-wide token has its own budget (per token), so the team's dashboards still work.
        String dashboard = api.mint("replay", null, "events:read");
        try (SseClient sse = api.sse("/api/v1/teams/replay/events", dashboard, 0L)) {
            assertEquals(200, sse.status, sse.errorBody());
        }
    }

    @Test
    void normal_reconnects_with_the_default_budget_are_never_refused() {
        try (TestServer defaults = TestServer.start()) {
            Api a = defaults.api();
            String token = a.userToken("replay-d", "normal");
            assertEquals(
                    201,
                    a.post("/api/v1/users/normal/events", token, Map.of("type", "x"))
                            .status());
            // A page with three streams, reloaded ten times in a row, plus backlog fetches.
            for (int i = 0; i < 10; i++) {
                for (String path :
                        new String[] {"/api/v1/events", "/api/v1/teams/replay-d/events", "/api/v1/events?after=0"}) {
                    try (SseClient sse = a.sse(path, token)) {
                        assertEquals(200, sse.status, path + " " + sse.errorBody());
                    }
                }
                assertEquals(200, a.get("/api/v1/events/backlog", token).status());
            }
        }
    }
}
