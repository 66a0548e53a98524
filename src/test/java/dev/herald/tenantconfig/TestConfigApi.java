package dev.herald.tenantconfig;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** PUT/GET/DELETE /api/v1/config/{kind}/{entity} and GET /api/v1/config/watch on one replica. */
class TestConfigApi {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static String admin;
    static String reader;

    @BeforeAll
    static void mintTokens(Api api) {
        admin = api.mint("acme", null, "admin", "events:read");
        reader = api.mint("acme", "alice", "events:read");
    }

    static Map<String, Object> value(Object v) {
        Map<String, Object> m = new HashMap<>();
        m.put("value", v);
        return m;
    }

    @Test
    void put_then_get_returns_the_value_with_an_increasing_version(Api api) {
        Map<String, Object> v = Map.of(
                "model", "claude", "temperature", 0.25, "tags", List.of("a", "b"), "nested", Map.of("deep", true));
        Api.Response put = api.put("/api/v1/config/model_config/m-1", admin, value(v));
        assertEquals(200, put.status(), put.toString());
        JsonNode j = put.json();
        assertEquals("model_config", j.get("kind").asText());
        assertEquals("m-1", j.get("entity").asText());
        assertEquals(1, j.get("version").asLong());
        assertEquals(Api.JSON.valueToTree(v), j.get("value"));
        assertTrue(j.get("updated_at").asText().endsWith("Z"));
        assertTrue(put.header("Content-Type").startsWith("application/json"), put.header("Content-Type"));

        Api.Response get = api.get("/api/v1/config/model_config/m-1", reader);
        assertEquals(200, get.status(), get.toString());
        assertEquals(j, get.json());

        Api.Response put2 = api.put("/api/v1/config/model_config/m-1", admin, value("plain string"));
        assertEquals(2, put2.json().get("version").asLong());
        JsonNode g2 = api.get("/api/v1/config/model_config/m-1", reader).json();
        assertEquals(2, g2.get("version").asLong());
        assertEquals("plain string", g2.get("value").asText());
    }

    @Test
    void any_json_value_round_trips_null_and_scalars_and_big_numbers_included(Api api) {
        Object[] values = {null, 0, -17, true, false, "x\ny\u00e9\u2603", List.of(), Map.of(), 1.5};
        int i = 0;
        for (Object v : values) {
            String path = "/api/v1/config/providers/p-any-" + (i++);
            Api.Response put = api.put(path, admin, value(v));
            assertEquals(200, put.status(), put.toString());
            JsonNode got = api.get(path, reader).json().get("value");
            assertEquals(Api.JSON.valueToTree(v), got, "value " + v);
        }
        // Integers beyond 64 bits keep every digit.
        Api.Response big =
                api.put("/api/v1/config/providers/p-big", admin, "{\"value\":123456789012345678901234567890}");
        assertEquals(200, big.status(), big.toString());
        assertTrue(api.get("/api/v1/config/providers/p-big", reader).body().contains("123456789012345678901234567890"));
    }

    @Test
    void a_deleted_entry_is_404_and_its_version_continues_when_recreated(Api api) {
        String path = "/api/v1/config/user_prompt/bob";
        assertEquals(
                1, api.put(path, admin, value("be brief")).json().get("version").asLong());
        assertEquals(
                2,
                api.put(path, admin, value("be briefer")).json().get("version").asLong());
        Api.Response del = api.delete(path, admin);
        assertEquals(204, del.status(), del.toString());
        Api.Response gone = api.get(path, reader);
        assertEquals(404, gone.status());
        assertEquals("not_found", gone.errorCode());
        assertEquals(404, api.delete(path, admin).status(), "deleting twice");
        Api.Response again = api.put(path, admin, value("back"));
        assertEquals(4, again.json().get("version").asLong(), "version 3 was the delete");
        assertEquals("back", api.get(path, reader).json().get("value").asText());
    }

    @Test
    void unknown_entries_are_404_and_bad_paths_are_400(Api api) {
        Api.Response missing = api.get("/api/v1/config/providers/never-written", reader);
        assertEquals(404, missing.status());
        assertEquals("not_found", missing.errorCode());
        assertEquals(
                404, api.delete("/api/v1/config/providers/never-written", admin).status());

        Api.Response kind = api.put("/api/v1/config/colours/x", admin, value(1));
        assertEquals(400, kind.status());
        assertEquals("invalid_kind", kind.errorCode());
        assertEquals("invalid_kind", api.get("/api/v1/config/colours/x", reader).errorCode());
        assertEquals(
                "invalid_kind", api.delete("/api/v1/config/colours/x", admin).errorCode());

        Api.Response entity = api.put("/api/v1/config/providers/bad%20id", admin, value(1));
        assertEquals(400, entity.status());
        assertEquals("invalid_entity", entity.errorCode());
        assertEquals(
                "invalid_entity",
                api.get("/api/v1/config/providers/" + "x".repeat(129), reader).errorCode());
    }

    @Test
    void bad_bodies_are_400_or_413_and_change_nothing(Api api) {
        String path = "/api/v1/config/providers/p-bad";
        Api.Response noValue = api.put(path, admin, Map.of("other", 1));
        assertEquals(400, noValue.status());
        assertEquals("missing_field", noValue.errorCode());
        assertEquals("invalid_json", api.put(path, admin, "{\"value\":").errorCode());
        assertEquals("invalid_json", api.put(path, admin, "[1,2]").errorCode());
        assertEquals("invalid_json", api.put(path, admin, "").errorCode());
        Api.Response nul = api.put(path, admin, "{\"value\":{\"k\":\"a\\u0000b\"}}");
        assertEquals(400, nul.status(), nul.toString());
        assertEquals("invalid_field", nul.errorCode());
        assertEquals(400, api.put(path, admin, "{\"value\":{\"a\\u0000\":1}}").status());
        Api.Response inf = api.put(path, admin, "{\"value\":[1e400]}");
        assertEquals(400, inf.status(), inf.toString());
        Api.Response huge = api.put(path, admin, value("x".repeat(70 * 1024)));
        assertEquals(413, huge.status());
        assertEquals("payload_too_large", huge.errorCode());
        assertEquals(404, api.get(path, reader).status(), "nothing was written");
        assertFalse(api.put(path, admin, "{\"value\":1}").body().contains("Exception"));
    }

    @Test
    void writes_need_admin_reads_need_events_read_and_the_operator_has_no_tenant(Api api) {
        String path = "/api/v1/config/providers/p-auth";
        assertEquals(401, api.put(path, null, value(1)).status());
        assertEquals(401, api.get(path, "not-a-token").status());
        String writer = api.mint("acme", null, "events:read", "events:write");
        Api.Response put = api.put(path, writer, value(1));
        assertEquals(403, put.status());
        assertEquals("missing_scope", put.errorCode());
        assertEquals(403, api.delete(path, writer).status());
        String adminOnly = api.mint("acme", null, "admin");
        assertEquals(200, api.put(path, adminOnly, value(1)).status());
        assertEquals(403, api.get(path, adminOnly).status(), "reading needs events:read");
        Api.Response op = api.put(path, TestServer.ADMIN_TOKEN, value(1));
        assertEquals(403, op.status());
        assertEquals("no_tenant", op.errorCode());
    }

    @Test
    void tenants_never_see_each_others_entries(Api api) {
        String path = "/api/v1/config/providers/shared-name";
        assertEquals(200, api.put(path, admin, value("acme's")).status());
        String otherAdmin = api.mint("globex", null, "admin", "events:read");
        assertEquals(404, api.get(path, otherAdmin).status());
        assertEquals(404, api.delete(path, otherAdmin).status());
        Api.Response theirs = api.put(path, otherAdmin, value("globex's"));
        assertEquals(1, theirs.json().get("version").asLong());
        assertEquals("acme's", api.get(path, reader).json().get("value").asText());
        assertEquals("globex's", api.get(path, otherAdmin).json().get("value").asText());
    }

    @Test
    void watch_streams_every_change_with_cursors_and_resumes_after_a_cursor(Api api) {
        String watcher = api.mint("watchco", "w", "events:read");
        String wAdmin = api.mint("watchco", null, "admin");
        try (SseClient sse = api.sse("/api/v1/config/watch", watcher)) {
            assertEquals(200, sse.status, sse.errorBody());
            api.put("/api/v1/config/providers/openai", wAdmin, value(Map.of("key", "k1")));
            api.put("/api/v1/config/model_config/m", wAdmin, value(1));
            assertEquals(
                    204, api.delete("/api/v1/config/providers/openai", wAdmin).status());
            List<SseClient.Event> got = sse.take(3, Duration.ofSeconds(5));
            for (int i = 0; i < 3; i++) {
                assertEquals(i + 1L, got.get(i).id());
                assertEquals("config_change", got.get(i).event());
            }
            assertEquals(
                    "{\"kind\":\"providers\",\"entity_id\":\"openai\",\"version\":1,\"deleted\":false}",
                    got.get(0).data());
            assertEquals(
                    "{\"kind\":\"model_config\",\"entity_id\":\"m\",\"version\":1,\"deleted\":false}",
                    got.get(1).data());
            assertEquals(
                    "{\"kind\":\"providers\",\"entity_id\":\"openai\",\"version\":2,\"deleted\":true}",
                    got.get(2).data());
        }
        // Failed writes publish nothing; a resume replays exactly what came after the cursor.
        assertEquals(400, api.put("/api/v1/config/providers/x", wAdmin, "{}").status());
        api.put("/api/v1/config/user_prompt/w", wAdmin, value("hi"));
        try (SseClient resumed = api.sse("/api/v1/config/watch", watcher, 1L)) {
            List<SseClient.Event> got = resumed.take(3, Duration.ofSeconds(5));
            assertEquals(
                    List.of(2L, 3L, 4L), got.stream().map(SseClient.Event::id).toList());
            assertEquals("user_prompt", got.get(2).json().get("kind").asText());
            assertNull(resumed.next(Duration.ofMillis(200)));
        }
        // Another tenant's watch sees none of it.
        try (SseClient other = api.sse("/api/v1/config/watch", reader, 0L)) {
            List<SseClient.Event> got = other.drain(Duration.ofMillis(300));
            assertTrue(
                    got.stream()
                            .noneMatch(e -> List.of("openai", "m", "w")
                                    .contains(e.json().get("entity_id").asText())),
                    got.toString());
        }
    }

    @Test
    void watch_follows_the_common_sse_rules(Api api) {
        assertEquals(
                406,
                api.send("GET", "/api/v1/config/watch", reader, null, Map.of("Accept", "application/json"))
                        .status());
        try (SseClient bad = api.sse("/api/v1/config/watch", null)) {
            assertEquals(401, bad.status);
        }
        String noRead = api.mint("acme", null, "admin");
        try (SseClient forbidden = api.sse("/api/v1/config/watch", noRead)) {
            assertEquals(403, forbidden.status);
        }
        try (SseClient ahead = api.sse("/api/v1/config/watch", reader, 1_000_000L)) {
            assertEquals(400, ahead.status);
            assertTrue(ahead.errorBody().contains("cursor_ahead"));
        }
    }
}
