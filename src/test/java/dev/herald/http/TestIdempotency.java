package dev.herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.database.Database;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A publishing POST retried with the same {@code Idempotency-Key} is answered exactly like the
 * first and publishes nothing more; the same key with another request is 422; keys belong to
 * a tenant and live 24 hours.
 */
class TestIdempotency {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(2);

    static Api.Response post(Api api, String path, String token, Object body, String key) {
        return api.send("POST", path, token, body, key == null ? Map.of() : Map.of("Idempotency-Key", key));
    }

    static long events(String tenant, String stream) {
        return Sql.scalar(
                server.databaseUrl(),
                "SELECT count(*) FROM herald.events WHERE tenant = ? AND stream = ?",
                tenant,
                stream);
    }

    @Test
    void a_repeated_user_event_is_answered_the_same_and_published_once_on_any_replica(Api api) {
        String writer = api.mint("idem", null, "events:write");
        Map<String, Object> body = Map.of("type", "job.done", "data", Map.of("n", 1));
        Api.Response first = post(api, "/api/v1/users/ann/events", writer, body, "retry-me-1");
        assertEquals(201, first.status(), first.toString());
        assertNull(first.header("Idempotency-Replayed"));
        Api.Response again = post(server.api(1), "/api/v1/users/ann/events", writer, body, "retry-me-1");
        assertEquals(201, again.status(), again.toString());
        assertEquals(first.json(), again.json(), "the same answer, cursor included");
        assertEquals("true", again.header("Idempotency-Replayed"));
        assertEquals(1, events("idem", "user:ann"), "published once");
        // Without a key, the same request publishes again.
        assertEquals(
                201, post(api, "/api/v1/users/ann/events", writer, body, null).status());
        assertEquals(2, events("idem", "user:ann"));
    }

    @Test
    void the_same_key_with_another_request_is_422_and_keys_belong_to_their_tenant(Api api) {
        String writer = api.mint("idem2", null, "events:write");
        String other = api.mint("idem3", null, "events:write");
        assertEquals(
                201,
                post(api, "/api/v1/users/bo/events", writer, Map.of("type", "a"), "k-1")
                        .status());
        Api.Response reused = post(api, "/api/v1/users/bo/events", writer, Map.of("type", "b"), "k-1");
        assertEquals(422, reused.status(), reused.toString());
        assertEquals("idempotency_key_reused", reused.errorCode());
        Api.Response elsewhere = post(api, "/api/v1/users/bo/events", other, Map.of("type", "b"), "k-1");
        assertEquals(201, elsewhere.status(), "another tenant's key is its own: " + elsewhere);
        assertEquals(1, events("idem2", "user:bo"));
        assertEquals(1, events("idem3", "user:bo"));
    }

    @Test
    void a_malformed_key_is_400(Api api) {
        String writer = api.mint("idem4", null, "events:write");
        for (String key : new String[] {"", "x".repeat(129), "tab\there"}) {
            Api.Response r = post(api, "/api/v1/users/cy/events", writer, Map.of("type", "a"), key);
            assertEquals(400, r.status(), "key '" + key + "': " + r);
            assertEquals("invalid_idempotency_key", r.errorCode());
        }
        assertEquals(0, events("idem4", "user:cy"));
    }

    @Test
    void concurrent_requests_with_one_key_publish_once_and_all_get_the_first_answer(Api api) throws Exception {
        String writer = api.mint("idem5", null, "events:write");
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<Api.Response>> calls = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Api target = server.api(i % 2);
                calls.add(pool.submit(
                        () -> post(target, "/api/v1/users/dee/events", writer, Map.of("type", "once"), "race-key")));
            }
            Set<String> answers = new HashSet<>();
            for (Future<Api.Response> f : calls) {
                Api.Response r = f.get(30, TimeUnit.SECONDS);
                assertEquals(201, r.status(), r.toString());
                answers.add(r.json().toString());
            }
            assertEquals(1, answers.size(), "every caller got the first answer: " + answers);
            assertEquals(1, events("idem5", "user:dee"), "published once");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void team_events_inbox_notifications_and_chat_messages_are_idempotent_too(Api api) {
        String team = api.mint("crew", null, "events:write");
        Map<String, Object> job = Map.of("status", "running", "data", Map.of("p", 1));
        Api.Response a = post(api, "/api/v1/teams/crew/jobs/j1/events", team, job, "team-key");
        Api.Response b = post(api, "/api/v1/teams/crew/jobs/j1/events", team, job, "team-key");
        assertEquals(201, a.status(), a.toString());
        assertEquals(a.json(), b.json());
        assertEquals(1, events("crew", "team:crew"));

        String writer = api.mint("idem6", null, "events:write");
        Map<String, Object> note = Map.of("title", "Build finished");
        Api.Response n1 = post(api, "/api/v1/users/eve/inbox", writer, note, "note-key");
        Api.Response n2 = post(api, "/api/v1/users/eve/inbox", writer, note, "note-key");
        assertEquals(201, n1.status(), n1.toString());
        assertEquals(n1.json(), n2.json(), "the same notification id");
        String eve = api.mint("idem6", "eve", "events:read");
        assertEquals(
                1, api.get("/api/v1/inbox", eve).json().get("notifications").size());
        assertEquals(1, api.get("/api/v1/inbox", eve).json().get("unread_count").asLong());

        String fay = api.userToken("idem6", "fay");
        String chat = api.post("/api/v1/chats", fay, Map.of("title", "t"))
                .json()
                .get("id")
                .asText();
        Map<String, Object> message = Map.of("role", "user", "content", "hello");
        Api.Response m1 = post(api, "/api/v1/chats/" + chat + "/messages", fay, message, "msg-key");
        Api.Response m2 = post(api, "/api/v1/chats/" + chat + "/messages", fay, message, "msg-key");
        assertEquals(201, m1.status(), m1.toString());
        assertEquals(m1.json(), m2.json());
        assertEquals(
                1,
                api.get("/api/v1/chats/" + chat + "/messages", fay)
                        .json()
                        .get("messages")
                        .size());
    }

    @Test
    void keys_expire_after_24_hours_and_are_pruned(Api api) {
        String writer = api.mint("idem7", null, "events:write");
        Map<String, Object> body = Map.of("type", "daily");
        Api.Response first = post(api, "/api/v1/users/gus/events", writer, body, "daily-key");
        assertEquals(201, first.status());
        Sql.update(
                server.databaseUrl(),
                "UPDATE herald.idempotency SET created_at = now() - interval '25 hours' WHERE tenant = 'idem7'");
        Api.Response later = post(api, "/api/v1/users/gus/events", writer, body, "daily-key");
        assertEquals(201, later.status());
        assertTrue(
                later.json().get("cursor").asLong() > first.json().get("cursor").asLong(), "published anew");
        assertNull(later.header("Idempotency-Replayed"));
        Sql.update(
                server.databaseUrl(),
                "UPDATE herald.idempotency SET created_at = now() - interval '25 hours' WHERE tenant = 'idem7'");
        Database db = server.herald().database();
        assertTrue(new Idempotency(db.dsl()).prune(100) >= 1, "the expired key was deleted");
        assertEquals(
                0, Sql.scalar(server.databaseUrl(), "SELECT count(*) FROM herald.idempotency WHERE tenant = 'idem7'"));
    }
}
