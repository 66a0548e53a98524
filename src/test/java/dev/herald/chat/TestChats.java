package dev.herald.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Chat CRUD, lifecycle events on /chats/watch, and who may see what (API.md section 2). */
class TestChats {
    static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static JsonNode create(Api api, String token, String title) {
        Api.Response r = api.post("/api/v1/chats", token, Map.of("title", title));
        assertEquals(201, r.status(), r.toString());
        return r.json();
    }

    @Test
    void a_created_chat_has_the_api_shape_and_can_be_fetched_and_listed(Api api) {
        String token = api.userToken("acme", "shape-user");
        JsonNode chat = create(api, token, "First chat");
        assertTrue(
                chat.path("id").asText().matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
                chat.toString());
        assertEquals("shape-user", chat.path("owner").asText());
        assertEquals("First chat", chat.path("title").asText());
        assertEquals("waiting", chat.path("status").asText());
        assertTrue(chat.path("created_at").asText().endsWith("Z"));
        assertEquals(chat.path("created_at"), chat.path("updated_at"));
        assertTrue(chat.path("diff_status").isNull());

        Api.Response got = api.get("/api/v1/chats/" + chat.path("id").asText(), token);
        assertEquals(200, got.status(), got.toString());
        assertEquals(chat, got.json());

        JsonNode second = create(api, token, "Second chat");
        Api.Response list = api.get("/api/v1/chats", token);
        assertEquals(200, list.status(), list.toString());
        JsonNode chats = list.json().path("chats");
        assertEquals(2, chats.size());
        assertEquals(second, chats.get(0), "newest first");
        assertEquals(chat, chats.get(1));
    }

    @Test
    void the_list_pages_newest_first_with_starting_before_and_limit(Api api) {
        String token = api.userToken("acme", "pager");
        JsonNode a = create(api, token, "a");
        JsonNode b = create(api, token, "b");
        JsonNode c = create(api, token, "c");
        JsonNode page1 = api.get("/api/v1/chats?limit=2", token).json().path("chats");
        assertEquals(
                List.of(c.path("id").asText(), b.path("id").asText()),
                List.of(
                        page1.get(0).path("id").asText(),
                        page1.get(1).path("id").asText()));
        JsonNode page2 = api.get(
                        "/api/v1/chats?limit=2&starting_before=" + b.path("id").asText(), token)
                .json()
                .path("chats");
        assertEquals(1, page2.size());
        assertEquals(a, page2.get(0));
        assertEquals(400, api.get("/api/v1/chats?limit=0", token).status());
        assertEquals(400, api.get("/api/v1/chats?limit=101", token).status());
        assertEquals(
                "invalid_starting_before",
                api.get("/api/v1/chats?starting_before=nope", token).errorCode());
    }

    @Test
    void every_lifecycle_change_arrives_on_watch_in_order_with_the_chat_snapshot(Api api) {
        String token = api.userToken("acme", "watcher");
        String other = api.userToken("acme", "someone-else");
        try (SseClient watch = api.sse("/api/v1/chats/watch", token)) {
            assertEquals(200, watch.status, watch.errorBody());
            JsonNode chat = create(api, token, "Plan");
            String id = chat.path("id").asText();
            create(api, other, "not yours"); // another user's chat never shows up here
            assertEquals(
                    200,
                    api.patch("/api/v1/chats/" + id, token, Map.of("title", "Plan B"))
                            .status());
            assertEquals(
                    200,
                    api.patch("/api/v1/chats/" + id, token, Map.of("status", "running"))
                            .status());
            assertEquals(
                    200,
                    api.patch(
                                    "/api/v1/chats/" + id,
                                    token,
                                    Map.of("diff_status", Map.of("url", "https://git.example/pr/1", "additions", 3)))
                            .status());
            // Two fields at once: two events, each with the snapshot after the whole change.
            Api.Response both =
                    api.patch("/api/v1/chats/" + id, token, Map.of("title", "Plan C", "status", "completed"));
            assertEquals(200, both.status(), both.toString());
            // Nothing changes: no event.
            Api.Response same =
                    api.patch("/api/v1/chats/" + id, token, Map.of("title", "Plan C", "status", "completed"));
            assertEquals(200, same.status());
            assertEquals(both.json(), same.json());
            Map<String, Object> clear = new HashMap<>();
            clear.put("diff_status", null);
            Api.Response cleared = api.patch("/api/v1/chats/" + id, token, clear);
            assertTrue(cleared.json().path("diff_status").isNull(), cleared.toString());
            assertEquals(204, api.delete("/api/v1/chats/" + id, token).status());

            List<String> kinds = List.of(
                    "created",
                    "title_change",
                    "status_change",
                    "diff_status_change",
                    "title_change",
                    "status_change",
                    "diff_status_change",
                    "deleted");
            List<SseClient.Event> got = watch.take(kinds.size(), WAIT);
            for (int i = 0; i < kinds.size(); i++) {
                SseClient.Event e = got.get(i);
                assertEquals(kinds.get(i), e.event(), got.toString());
                assertEquals(i + 1, e.id());
                assertEquals(kinds.get(i), e.json().path("kind").asText());
                assertEquals(id, e.json().path("chat").path("id").asText());
                assertEquals("watcher", e.json().path("chat").path("owner").asText());
            }
            assertEquals(chat, got.get(0).json().path("chat"));
            assertEquals("Plan B", got.get(1).json().path("chat").path("title").asText());
            assertEquals(
                    "waiting", got.get(1).json().path("chat").path("status").asText());
            assertEquals(
                    "running", got.get(2).json().path("chat").path("status").asText());
            assertEquals(
                    3,
                    got.get(3)
                            .json()
                            .path("chat")
                            .path("diff_status")
                            .path("additions")
                            .asInt());
            assertEquals(both.json(), got.get(4).json().path("chat"));
            assertEquals(both.json(), got.get(5).json().path("chat"));
            assertEquals(cleared.json(), got.get(7).json().path("chat"), "deleted carries the last snapshot");
            assertTrue(
                    got.get(0).data().startsWith("{\"kind\":\"created\",\"chat\":{\"id\":"),
                    got.get(0).data());
            assertTrue(watch.drain(Duration.ofMillis(300)).isEmpty());
            assertFalse(watch.closed(), "the watch stream outlives a chat");
        }
        // Resuming the watch replays from the cursor.
        try (SseClient again = api.sse("/api/v1/chats/watch", token, 6L)) {
            List<SseClient.Event> rest = again.take(2, WAIT);
            assertEquals(List.of(7L, 8L), List.of(rest.get(0).id(), rest.get(1).id()));
            assertEquals("deleted", rest.get(1).event());
        }
    }

    @Test
    void bad_bodies_are_400_with_a_code(Api api) {
        String token = api.userToken("acme", "validator");
        String id = create(api, token, "x").path("id").asText();
        assertEquals("missing_field", api.post("/api/v1/chats", token, Map.of()).errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/chats", token, Map.of("title", "")).errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/chats", token, Map.of("title", 5)).errorCode());
        assertEquals(
                "invalid_field",
                api.post("/api/v1/chats", token, Map.of("title", "t".repeat(257)))
                        .errorCode());
        assertEquals("invalid_json", api.post("/api/v1/chats", token, "{nope").errorCode());
        assertEquals(
                201,
                api.post("/api/v1/chats", token, Map.of("title", "t".repeat(256)))
                        .status());
        for (Object bad : List.of("done", "", 3, "RUNNING")) {
            Api.Response r = api.patch("/api/v1/chats/" + id, token, Map.of("status", bad));
            assertEquals(400, r.status(), bad + " → " + r);
            assertEquals("invalid_field", r.errorCode());
        }
        assertEquals(
                400,
                api.patch("/api/v1/chats/" + id, token, Map.of("title", "")).status());
        assertEquals(
                400,
                api.patch("/api/v1/chats/" + id, token, Map.of("diff_status", "open"))
                        .status());
        assertEquals(
                400,
                api.patch("/api/v1/chats/" + id, token, Map.of("diff_status", Map.of("x", "y".repeat(5000))))
                        .status());
        assertEquals(400, api.patch("/api/v1/chats/" + id, token, "[1]").status());
        JsonNode still = api.get("/api/v1/chats/" + id, token).json();
        assertEquals("waiting", still.path("status").asText());
        assertEquals("x", still.path("title").asText());
        for (String s : List.of("waiting", "running", "paused", "completed", "error")) {
            assertEquals(
                    s,
                    api.patch("/api/v1/chats/" + id, token, Map.of("status", s))
                            .json()
                            .path("status")
                            .asText());
        }
    }

    @Test
    void another_users_chat_and_a_malformed_id_are_404_on_every_chat_route(Api api) {
        String alice = api.userToken("acme", "alice");
        String bob = api.userToken("acme", "bob");
        String aliceElsewhere = api.userToken("globex", "alice");
        String id = create(api, alice, "secret").path("id").asText();
        for (String intruder : List.of(bob, aliceElsewhere)) {
            assertAllRoutes404(api, id, intruder);
        }
        for (String malformed : List.of("nope", "12345", id.toUpperCase().replace('-', 'x'), id + "0", "1-1-1-1-1")) {
            assertAllRoutes404(api, malformed, alice);
        }
        // Nothing the intruders did landed.
        JsonNode chat = api.get("/api/v1/chats/" + id, alice).json();
        assertEquals("secret", chat.path("title").asText());
        assertEquals("waiting", chat.path("status").asText());
        assertEquals(
                0,
                api.get("/api/v1/chats/" + id + "/messages", alice)
                        .json()
                        .path("messages")
                        .size());
        assertEquals(0, api.get("/api/v1/chats", bob).json().path("chats").size());
        // Upper-case UUIDs name the same chat.
        assertEquals(200, api.get("/api/v1/chats/" + id.toUpperCase(), alice).status());
    }

    private static void assertAllRoutes404(Api api, String id, String token) {
        String base = "/api/v1/chats/" + id;
        List<Api.Response> rs = List.of(
                api.get(base, token),
                api.patch(base, token, Map.of("title", "mine now")),
                api.post(base + "/messages", token, Map.of("role", "user", "content", "hi")),
                api.get(base + "/messages", token),
                api.post(base + "/signals", token, Map.of("status", "running")),
                api.delete(base, token));
        for (Api.Response r : rs) {
            assertEquals(404, r.status(), id + ": " + r);
            assertEquals("not_found", r.errorCode());
        }
        try (SseClient s = api.sse(base + "/stream", token)) {
            assertEquals(404, s.status, s.errorBody());
            assertTrue(s.errorBody().contains("not_found"));
        }
    }

    @Test
    void tokens_without_a_user_or_the_scope_are_refused(Api api) {
        String tenantWide = api.mint("acme", null, "events:read", "events:write");
        String readOnly = api.mint("acme", "reader", "events:read");
        String writeOnly = api.mint("acme", "reader", "events:write");
        String id = create(api, writeOnly, "mine").path("id").asText();
        assertEquals(
                "no_user",
                api.post("/api/v1/chats", tenantWide, Map.of("title", "x")).errorCode());
        assertEquals(403, api.get("/api/v1/chats", tenantWide).status());
        assertEquals(403, api.get("/api/v1/chats/" + id, tenantWide).status());
        try (SseClient s = api.sse("/api/v1/chats/watch", tenantWide)) {
            assertEquals(403, s.status);
        }
        assertEquals(
                "missing_scope",
                api.post("/api/v1/chats", readOnly, Map.of("title", "x")).errorCode());
        assertEquals(
                403,
                api.patch("/api/v1/chats/" + id, readOnly, Map.of("title", "x")).status());
        assertEquals(
                403,
                api.post("/api/v1/chats/" + id + "/messages", readOnly, Map.of("role", "user", "content", "x"))
                        .status());
        assertEquals(
                403,
                api.post("/api/v1/chats/" + id + "/signals", readOnly, Map.of("status", "running"))
                        .status());
        assertEquals(403, api.delete("/api/v1/chats/" + id, readOnly).status());
        assertEquals(403, api.get("/api/v1/chats/" + id, writeOnly).status());
        assertEquals(
                403, api.get("/api/v1/chats/" + id + "/messages", writeOnly).status());
        assertEquals(200, api.get("/api/v1/chats/" + id, readOnly).status());
        assertEquals(401, api.get("/api/v1/chats", null).status());
        assertEquals(401, api.get("/api/v1/chats", "not-a-token").status());
        try (SseClient s = api.sse("/api/v1/chats/" + id + "/stream", null)) {
            assertEquals(401, s.status);
        }
        Api.Response noAccept =
                api.send("GET", "/api/v1/chats/watch", readOnly, null, Map.of("Accept", "application/json"));
        assertEquals(406, noAccept.status());
    }

    @Test
    void a_deleted_chat_is_gone_everywhere(Api api) {
        String token = api.userToken("acme", "deleter");
        String id = create(api, token, "short-lived").path("id").asText();
        assertEquals(
                201,
                api.post("/api/v1/chats/" + id + "/messages", token, Map.of("role", "user", "content", "bye"))
                        .status());
        assertEquals(204, api.delete("/api/v1/chats/" + id, token).status());
        assertAllRoutes404(api, id, token);
        assertEquals(0, api.get("/api/v1/chats", token).json().path("chats").size());
        assertNotNull(id);
    }
}
