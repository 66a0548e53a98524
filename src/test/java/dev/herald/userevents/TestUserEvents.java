package dev.herald.userevents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TestUserEvents {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    @Test
    void published_events_arrive_live_with_dense_cursors_and_api_shape(Api api) {
        String token = api.userToken("acme", "live-user");
        try (SseClient sse = api.sse("/api/v1/events", token)) {
            assertEquals(200, sse.status);
            assertEquals(
                    "text/event-stream",
                    sse.response.headers().firstValue("Content-Type").orElse(""));
            assertEquals(
                    "no-cache",
                    sse.response.headers().firstValue("Cache-Control").orElse(""));
            assertEquals(
                    "no", sse.response.headers().firstValue("X-Accel-Buffering").orElse(""));
            for (int i = 1; i <= 3; i++) {
                Api.Response r = api.post(
                        "/api/v1/users/live-user/events",
                        token,
                        Map.of("type", "source.ingest.progress", "data", Map.of("n", i)));
                assertEquals(201, r.status(), r.toString());
                assertEquals("user:live-user", r.json().get("stream").asText());
                assertEquals(i, r.json().get("cursor").asLong());
            }
            List<SseClient.Event> got = sse.take(3, Duration.ofSeconds(5));
            for (int i = 0; i < 3; i++) {
                assertEquals(i + 1, got.get(i).id());
                assertEquals("source.ingest.progress", got.get(i).event());
                assertEquals(i + 1, got.get(i).json().path("data").path("n").asInt());
                assertEquals(
                        "source.ingest.progress", got.get(i).json().path("type").asText());
                assertTrue(got.get(i).json().path("created_at").asText().endsWith("Z"));
            }
            assertEquals("2000", sse.retry());
            assertTrue(sse.comments().contains("connected"));
        }
    }

    @Test
    void without_a_cursor_the_stream_starts_at_now(Api api) {
        String token = api.userToken("acme", "now-user");
        api.post("/api/v1/users/now-user/events", token, Map.of("type", "old.one"));
        try (SseClient sse = api.sse("/api/v1/events", token)) {
            api.post("/api/v1/users/now-user/events", token, Map.of("type", "new.one"));
            SseClient.Event e = sse.next(Duration.ofSeconds(5));
            assertEquals("new.one", e.event());
            assertEquals(2L, e.id());
            assertNull(sse.next(Duration.ofMillis(200)));
        }
    }

    @Test
    void a_body_postgresql_cannot_store_is_a_400_not_a_500(Api api) {
        String token = api.userToken("acme", "nul-user");
        for (String body : new String[] {
            "{\"type\":\"a.b\",\"data\":{\"k\":\"x\\u0000y\"}}",
            "{\"type\":\"a.b\",\"data\":{\"x\\u0000\":1}}",
            "{\"type\":\"a.b\",\"data\":[1e400]}"
        }) {
            Api.Response r = api.post("/api/v1/users/nul-user/events", token, body);
            assertEquals(400, r.status(), body + " -> " + r);
            assertEquals("invalid_field", r.errorCode());
        }
        assertEquals(
                0, api.get("/api/v1/events/backlog", token).json().get("head").asLong(), "nothing written");
    }

    @Test
    void the_types_reset_and_error_are_reserved_over_http_and_in_sql(Api api) throws Exception {
        String token = api.userToken("acme", "reserved");
        for (String type : List.of("reset", "error")) {
            Api.Response r = api.post("/api/v1/users/reserved/events", token, Map.of("type", type));
            assertEquals(400, r.status(), r.toString());
            assertEquals("reserved_type", r.errorCode());
        }
        assertEquals(
                201,
                api.post("/api/v1/users/reserved/events", token, Map.of("type", "reset.done"))
                        .status());
        try (java.sql.Connection c = dev.herald.testing.Sql.connect(server.databaseUrl())) {
            for (String type : List.of("reset", "error")) {
                java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(
                        java.sql.SQLException.class,
                        () -> dev.herald.testing.Sql.scalar(
                                c, "SELECT herald.publish_user_event('acme', 'reserved', ?, '{}'::jsonb)", type));
                assertEquals("22023", e.getSQLState());
                assertTrue(e.getMessage().contains("reserved"), e.getMessage());
            }
            assertEquals(
                    2L,
                    dev.herald.testing.Sql.scalar(
                            c, "SELECT herald.publish_user_event('acme', 'reserved', 'error.seen', '{}'::jsonb)"));
        }
    }
}
