package dev.herald.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.database.DatabaseUrl;
import dev.herald.stream.Ping;
import dev.herald.stream.PingSeal;
import dev.herald.stream.StreamKey;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Chat messages and the chat stream (API.md section 2) on two replicas: dense ids under
 * concurrent writers, snapshot then tail, worker signals, deletion ending open streams.
 */
class TestChatStreams {
    static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(2);

    // Replicas A and B: JUnit makes a test instance per test, after the extension started them.
    final Api a = server.api(0);
    final Api b = server.api(1);

    String createChat(String token) {
        Api.Response r = a.post("/api/v1/chats", token, Map.of("title", "t"));
        assertEquals(201, r.status(), r.toString());
        return r.json().path("id").asText();
    }

    static JsonNode post(Api api, String token, String chat, Object content) {
        Api.Response r =
                api.post("/api/v1/chats/" + chat + "/messages", token, Map.of("role", "assistant", "content", content));
        assertEquals(201, r.status(), r.toString());
        return r.json();
    }

    /** Runs writers × each posts, spread over both replicas; returns the ids the posts got. */
    List<Long> postConcurrently(String token, String chat, int writers, int each, String pad) throws Exception {
        ConcurrentLinkedQueue<Long> ids = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                fs.add(pool.submit(() -> {
                    Api api = writer % 2 == 0 ? a : b;
                    for (int i = 0; i < each; i++) {
                        ids.add(post(api, token, chat, Map.of("w", writer, "i", i, "pad", pad))
                                .path("id")
                                .asLong());
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        return new ArrayList<>(ids);
    }

    static void assertIdsAreOneTo(int n, List<SseClient.Event> events) {
        for (int i = 0; i < n; i++) {
            assertEquals(i + 1L, events.get(i).id(), "event " + i + " of " + n);
            assertEquals("message", events.get(i).event());
            assertEquals(i + 1L, events.get(i).json().path("id").asLong());
        }
    }

    @Test
    void four_concurrent_writers_get_dense_ids_and_the_stream_delivers_each_message_once_in_order() throws Exception {
        String token = a.userToken("acme", "busy");
        String chat = createChat(token);
        try (SseClient s1 = b.sse("/api/v1/chats/" + chat + "/stream", token);
                SseClient s0 = a.sse("/api/v1/chats/" + chat + "/stream", token)) {
            long t0 = System.nanoTime();
            List<Long> ids = postConcurrently(token, chat, 4, 50, "");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf(
                    "[chat-bench] 4 writers x 50 posts on one chat: %d ms (%.0f posts/s)%n",
                    ms, 200_000.0 / Math.max(1, ms));
            List<Long> sorted = new ArrayList<>(ids);
            sorted.sort(null);
            List<Long> expected = new ArrayList<>();
            for (long i = 1; i <= 200; i++) expected.add(i);
            assertEquals(expected, sorted, "ids are exactly 1..200");
            for (SseClient s : List.of(s0, s1)) {
                List<SseClient.Event> got = s.take(200, WAIT);
                assertIdsAreOneTo(200, got);
                Set<String> seen = new HashSet<>();
                for (SseClient.Event e : got)
                    seen.add(e.json().path("content").path("w").asInt() + "/"
                            + e.json().path("content").path("i").asInt());
                assertEquals(200, seen.size(), "every post exactly once");
                assertTrue(s.drain(Duration.ofMillis(300)).isEmpty());
            }
        }
        // The JSON history agrees, in pages of at most 100.
        JsonNode p1 = a.get("/api/v1/chats/" + chat + "/messages", token).json().path("messages");
        JsonNode p2 = b.get("/api/v1/chats/" + chat + "/messages?after_id=100&limit=100", token)
                .json()
                .path("messages");
        assertEquals(100, p1.size());
        assertEquals(100, p2.size());
        for (int i = 0; i < 100; i++) {
            assertEquals(i + 1, p1.get(i).path("id").asLong());
            assertEquals(i + 101, p2.get(i).path("id").asLong());
        }
        assertEquals(
                0,
                a.get("/api/v1/chats/" + chat + "/messages?after_id=200", token)
                        .json()
                        .path("messages")
                        .size());
        assertEquals(
                5,
                a.get("/api/v1/chats/" + chat + "/messages?after_id=195&limit=10", token)
                        .json()
                        .path("messages")
                        .size());
    }

    @Test
    void without_a_cursor_the_stream_sends_the_snapshot_then_the_tail_with_no_gap_or_duplicate_at_the_seam()
            throws Exception {
        String token = a.userToken("acme", "seam");
        String chat = createChat(token);
        String pad = "x".repeat(2_000);
        int before = 400;
        int during = 100;
        postConcurrently(token, chat, 4, before / 4, pad);

        // A writer is already posting when the stream opens, and goes on while the snapshot is sent.
        AtomicInteger posted = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(1);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        Future<?> tail = writer.submit(() -> {
            for (int i = 0; i < during; i++) {
                post(i % 2 == 0 ? a : b, token, chat, Map.of("tail", i, "pad", pad));
                posted.incrementAndGet();
                if (i == 5) started.countDown();
            }
            return null;
        });
        try {
            assertTrue(started.await(30, TimeUnit.SECONDS));
            try (SseClient s = b.sse("/api/v1/chats/" + chat + "/stream", token)) {
                assertEquals(200, s.status, s.errorBody());
                int postedAtOpen = posted.get();
                tail.get(60, TimeUnit.SECONDS);
                List<SseClient.Event> got = s.take(before + during, WAIT);
                assertIdsAreOneTo(before + during, got);
                for (int i = 0; i < during; i++) {
                    assertEquals(
                            i,
                            got.get(before + i)
                                    .json()
                                    .path("content")
                                    .path("tail")
                                    .asInt(),
                            "tail order");
                }
                assertTrue(s.drain(Duration.ofMillis(300)).isEmpty(), "no duplicates after the tail");
                assertTrue(postedAtOpen < during, "some messages were posted after the stream opened");
            }
        } finally {
            writer.shutdownNow();
        }
        // With a cursor only later messages come, whether as header or as ?after=.
        try (SseClient s = a.sse("/api/v1/chats/" + chat + "/stream", token, 490L)) {
            List<SseClient.Event> got = s.take(10, WAIT);
            for (int i = 0; i < 10; i++) assertEquals(491L + i, got.get(i).id());
            assertTrue(s.drain(Duration.ofMillis(200)).isEmpty());
        }
        try (SseClient s = a.sse("/api/v1/chats/" + chat + "/stream?after=498", token)) {
            assertEquals(
                    List.of(499L, 500L),
                    s.take(2, WAIT).stream().map(SseClient.Event::id).toList());
        }
        try (SseClient s = a.sse("/api/v1/chats/" + chat + "/stream", token, 501L)) {
            assertEquals(400, s.status);
            assertTrue(s.errorBody().contains("cursor_ahead"));
        }
        try (SseClient s = a.sse("/api/v1/chats/" + chat + "/stream?after=-1", token)) {
            assertEquals(400, s.status);
            assertTrue(s.errorBody().contains("invalid_cursor"));
        }
    }

    @Test
    void a_message_looks_the_same_in_the_post_response_the_history_and_the_stream() {
        String token = a.userToken("acme", "shapes");
        String chat = createChat(token);
        List<Object> contents = new ArrayList<>();
        contents.add("plain text");
        contents.add(Map.of("parts", List.of(Map.of("type", "text", "text", "hé ✓")), "tokens", 12));
        contents.add(List.of(1, 2.5, true));
        contents.add(42);
        List<JsonNode> posted = new ArrayList<>();
        String[] roles = {"user", "assistant", "system", "tool"};
        for (int i = 0; i < contents.size(); i++) {
            Api.Response r = a.post(
                    "/api/v1/chats/" + chat + "/messages", token, Map.of("role", roles[i], "content", contents.get(i)));
            assertEquals(201, r.status(), r.toString());
            posted.add(r.json());
        }
        Api.Response nullContent =
                a.post("/api/v1/chats/" + chat + "/messages", token, "{\"role\":\"tool\",\"content\":null}");
        assertEquals(201, nullContent.status(), nullContent.toString());
        assertTrue(nullContent.json().has("content")
                && nullContent.json().path("content").isNull());
        posted.add(nullContent.json());

        JsonNode first = posted.get(0);
        assertEquals(1, first.path("id").asLong());
        assertEquals(chat, first.path("chat_id").asText());
        assertEquals("user", first.path("role").asText());
        assertEquals("plain text", first.path("content").asText());
        assertTrue(first.path("created_at").asText().endsWith("Z"));
        assertEquals(List.of("id", "chat_id", "role", "content", "created_at"), fieldNames(first));

        JsonNode history =
                b.get("/api/v1/chats/" + chat + "/messages", token).json().path("messages");
        try (SseClient s = b.sse("/api/v1/chats/" + chat + "/stream", token)) {
            List<SseClient.Event> streamed = s.take(posted.size(), WAIT);
            for (int i = 0; i < posted.size(); i++) {
                assertEquals(posted.get(i), history.get(i));
                assertEquals(posted.get(i), streamed.get(i).json());
                assertEquals(posted.get(i).path("id").asLong(), streamed.get(i).id());
            }
        }

        // Bad input.
        String base = "/api/v1/chats/" + chat + "/messages";
        assertEquals(
                "invalid_field",
                a.post(base, token, Map.of("role", "robot", "content", "x")).errorCode());
        assertEquals(
                "missing_field", a.post(base, token, Map.of("content", "x")).errorCode());
        assertEquals(
                "missing_field", a.post(base, token, Map.of("role", "user")).errorCode());
        assertEquals(
                413,
                a.post(base, token, Map.of("role", "user", "content", "x".repeat(70_000)))
                        .status());
        assertEquals("invalid_limit", a.get(base + "?limit=0", token).errorCode());
        assertEquals("invalid_limit", a.get(base + "?limit=101", token).errorCode());
        assertEquals("invalid_after_id", a.get(base + "?after_id=-1", token).errorCode());
        assertEquals("invalid_after_id", a.get(base + "?after_id=abc", token).errorCode());
        assertEquals(posted.size(), a.get(base, token).json().path("messages").size(), "rejected posts left nothing");
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    @Test
    void each_signal_kind_reaches_the_live_streams_of_every_replica_with_its_fields_and_no_id_and_is_never_replayed() {
        String token = a.userToken("acme", "worker-owner");
        String chat = createChat(token);
        try (SseClient s0 = a.sse("/api/v1/chats/" + chat + "/stream", token);
                SseClient s1 = b.sse("/api/v1/chats/" + chat + "/stream", token)) {
            Map<String, Object> signal = Map.of(
                    "status",
                    "running",
                    "worker_id",
                    "replica-7",
                    "retry",
                    Map.of("attempt", 2, "delay_ms", 1500, "error", "rate limited"),
                    "error",
                    Map.of("message", "provider down", "kind", "overloaded", "retryable", true),
                    "queue_update",
                    true,
                    "full_refresh",
                    true);
            Api.Response r = a.post("/api/v1/chats/" + chat + "/signals", token, signal);
            assertEquals(202, r.status(), r.toString());
            assertEquals(
                    "[\"status\",\"retry\",\"error\",\"queue_update\",\"full_refresh\"]",
                    r.json().path("relayed").toString());
            for (SseClient s : List.of(s0, s1)) {
                List<SseClient.Event> got = s.take(5, WAIT);
                assertEquals(
                        List.of("status", "retry", "error", "queue_update", "full_refresh"),
                        got.stream().map(SseClient.Event::event).toList());
                for (SseClient.Event e : got) {
                    assertNull(e.id(), "transient events carry no id: " + e);
                    assertEquals(chat, e.json().path("chat_id").asText());
                }
                assertEquals("running", got.get(0).json().path("status").asText());
                assertEquals("replica-7", got.get(0).json().path("worker_id").asText());
                JsonNode retry = got.get(1).json().path("retry");
                assertEquals(2, retry.path("attempt").asInt());
                assertEquals(1500, retry.path("delay_ms").asInt());
                assertEquals("rate limited", retry.path("error").asText());
                assertEquals(
                        "provider down",
                        got.get(2).json().path("error").path("message").asText());
                assertTrue(got.get(2).json().path("error").path("retryable").asBoolean());
                assertTrue(got.get(3).json().path("queue_update").asBoolean());
                assertTrue(got.get(4).json().path("full_refresh").asBoolean());
            }
            // One field alone is one event; a status without worker_id has none.
            assertEquals(
                    202,
                    b.post("/api/v1/chats/" + chat + "/signals", token, Map.of("status", "paused"))
                            .status());
            SseClient.Event only = s0.next(WAIT);
            assertEquals("status", only.event());
            assertEquals("paused", only.json().path("status").asText());
            assertFalse(only.json().has("worker_id"));
            assertTrue(s0.drain(Duration.ofMillis(300)).isEmpty());
            // Signals persist nothing: the chat's status is unchanged and the message ids stay dense.
            assertEquals(
                    "waiting",
                    a.get("/api/v1/chats/" + chat, token).json().path("status").asText());
            assertEquals(1, post(a, token, chat, "after signals").path("id").asLong());
            List<SseClient.Event> rest = s1.take(2, WAIT);
            assertEquals("paused", rest.get(0).json().path("status").asText());
            assertEquals(1L, rest.get(1).id());
        }
        // A reconnect from the beginning replays the one message and none of the signals.
        try (SseClient again = b.sse("/api/v1/chats/" + chat + "/stream", token, 0L)) {
            SseClient.Event e = again.next(WAIT);
            assertEquals("message", e.event());
            assertEquals(1L, e.id());
            assertTrue(again.drain(Duration.ofMillis(400)).isEmpty());
        }
    }

    @Test
    void a_signal_whose_notify_payload_would_reach_8000_bytes_is_413_and_nothing_is_relayed() {
        String token = a.userToken("acme", "big-signals");
        String chat = createChat(token);
        StreamKey key = ChatRepository.chatStream("acme", java.util.UUID.fromString(chat));
        // The whole NOTIFY payload (envelope and seal included) counts: find the largest error that fits.
        int fits = 0;
        while (payloadBytes(key, chat, "e".repeat(fits + 1)) <= Ping.MAX_PAYLOAD_BYTES) fits++;
        assertTrue(payloadBytes(key, chat, "e".repeat(fits)) > Ping.MAX_PAYLOAD_BYTES - 3, "base64 steps are 4 bytes");
        assertTrue(
                errorData(chat, "e".repeat(fits + 1)).toString().getBytes(StandardCharsets.UTF_8).length < 8_000,
                "the data alone would fit; only the envelope pushes it over");
        String base = "/api/v1/chats/" + chat + "/signals";
        try (SseClient s = b.sse("/api/v1/chats/" + chat + "/stream", token)) {
            Api.Response tooBig =
                    a.post(base, token, Map.of("status", "running", "error", Map.of("message", "e".repeat(fits + 1))));
            assertEquals(413, tooBig.status(), tooBig.toString());
            assertEquals("payload_too_large", tooBig.errorCode());
            assertEquals(
                    413,
                    a.post(
                                    base,
                                    token,
                                    Map.of("retry", Map.of("attempt", 1, "delay_ms", 1, "error", "é".repeat(4_000))))
                            .status());
            assertTrue(s.drain(Duration.ofMillis(400)).isEmpty(), "a rejected signal relays none of its fields");

            Api.Response justFits = a.post(base, token, Map.of("error", Map.of("message", "e".repeat(fits))));
            assertEquals(202, justFits.status(), justFits.toString());
            SseClient.Event e = s.next(WAIT);
            assertEquals("error", e.event());
            assertEquals(fits, e.json().path("error").path("message").asText().length());
        }
    }

    private static ObjectNode errorData(String chat, String message) {
        ObjectNode err = Api.JSON.createObjectNode().put("message", message);
        ObjectNode d = Api.JSON.createObjectNode().put("chat_id", chat);
        d.set("error", err);
        return d;
    }

    private static int payloadBytes(StreamKey key, String chat, String message) {
        return PingSeal.sealedBytes(Ping.transientSignal(key, "error", errorData(chat, message)));
    }

    @Test
    void malformed_signals_are_400() {
        String token = a.userToken("acme", "bad-signals");
        String base = "/api/v1/chats/" + createChat(token) + "/signals";
        assertEquals("missing_field", a.post(base, token, Map.of()).errorCode());
        assertEquals(
                "invalid_field",
                a.post(base, token, Map.of("status", "sleeping")).errorCode());
        assertEquals(
                "invalid_field", a.post(base, token, Map.of("worker_id", "w1")).errorCode());
        assertEquals(
                "missing_field",
                a.post(base, token, Map.of("retry", Map.of("delay_ms", 5))).errorCode());
        assertEquals(
                "invalid_field",
                a.post(base, token, Map.of("retry", Map.of("attempt", -1, "delay_ms", 5)))
                        .errorCode());
        assertEquals(
                "invalid_field",
                a.post(base, token, Map.of("retry", Map.of("attempt", 1, "delay_ms", 5, "error", 3)))
                        .errorCode());
        assertEquals(
                "invalid_field", a.post(base, token, Map.of("retry", "soon")).errorCode());
        assertEquals(
                "invalid_field", a.post(base, token, Map.of("error", "boom")).errorCode());
        assertEquals(
                "invalid_field",
                a.post(base, token, Map.of("queue_update", "yes")).errorCode());
        assertEquals(
                "invalid_field", a.post(base, token, Map.of("full_refresh", 1)).errorCode());
        assertEquals("invalid_json", a.post(base, token, "not json").errorCode());
    }

    @Test
    void deleting_a_chat_ends_its_open_streams_on_every_replica_with_a_final_deleted_event() {
        String token = a.userToken("acme", "ender");
        String chat = createChat(token);
        post(a, token, chat, "one");
        post(b, token, chat, "two");
        try (SseClient s0 = a.sse("/api/v1/chats/" + chat + "/stream", token);
                SseClient s1 = b.sse("/api/v1/chats/" + chat + "/stream", token);
                SseClient lagging = b.sse("/api/v1/chats/" + chat + "/stream", token, 2L);
                SseClient watch = a.sse("/api/v1/chats/watch", token)) {
            assertEquals(2, s0.take(2, WAIT).size());
            assertEquals(2, s1.take(2, WAIT).size());
            assertEquals(204, b.delete("/api/v1/chats/" + chat, token).status());
            for (SseClient s : List.of(s0, s1, lagging)) {
                SseClient.Event end = s.next(WAIT);
                assertEquals("deleted", end.event(), String.valueOf(end));
                assertEquals(3L, end.id());
                assertEquals(chat, end.json().path("chat_id").asText());
                assertTrue(end.json().path("deleted_at").asText().endsWith("Z"));
                assertTrue(s.awaitClosed(WAIT), "the stream ends after its deleted event");
            }
            SseClient.Event gone = watch.next(WAIT);
            assertEquals("deleted", gone.event());
            assertEquals(chat, gone.json().path("chat").path("id").asText());
            assertFalse(watch.closed());
        }
        // The chat and its messages are gone: the stream, a resume and the history are 404.
        try (SseClient s = a.sse("/api/v1/chats/" + chat + "/stream", token, 2L)) {
            assertEquals(404, s.status);
        }
        assertEquals(404, b.get("/api/v1/chats/" + chat + "/messages", token).status());
        assertEquals(
                404,
                a.post("/api/v1/chats/" + chat + "/messages", token, Map.of("role", "user", "content", "x"))
                        .status());
        assertEquals(404, a.delete("/api/v1/chats/" + chat, token).status());
    }

    @Test
    void posts_racing_a_deletion_either_land_before_it_or_are_404_and_the_stream_ends_after_them() throws Exception {
        String token = a.userToken("acme", "racer");
        String chat = createChat(token);
        try (SseClient s = b.sse("/api/v1/chats/" + chat + "/stream", token)) {
            ConcurrentLinkedQueue<Long> landed = new ConcurrentLinkedQueue<>();
            AtomicInteger notFound = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int w = 0; w < 2; w++) {
                    Api api = w == 0 ? a : b;
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < 200; i++) {
                            Api.Response r = api.post(
                                    "/api/v1/chats/" + chat + "/messages", token, Map.of("role", "user", "content", i));
                            if (r.status() == 201)
                                landed.add(r.json().path("id").asLong());
                            else if (r.status() == 404) notFound.incrementAndGet();
                            else throw new AssertionError(r.toString());
                            if (notFound.get() > 0) return null;
                        }
                        return null;
                    }));
                }
                while (landed.size() < 10) Thread.sleep(5);
                assertEquals(204, a.delete("/api/v1/chats/" + chat, token).status());
                for (Future<?> f : fs) f.get(60, TimeUnit.SECONDS);
            } finally {
                pool.shutdownNow();
            }
            int n = landed.size();
            assertTrue(notFound.get() > 0 || n == 400);
            // Every landed message arrives, in order, then the deletion: the deletion purges
            // nothing an open stream may still have to fetch.
            List<SseClient.Event> got = new ArrayList<>();
            SseClient.Event e;
            do {
                e = s.next(WAIT);
                assertTrue(e != null, "stream ended without 'deleted': " + got);
                got.add(e);
            } while (!e.event().equals("deleted"));
            SseClient.Event deleted = got.get(got.size() - 1);
            assertEquals(n + 1L, deleted.id());
            List<SseClient.Event> messages =
                    got.stream().filter(x -> x.event().equals("message")).toList();
            assertEquals(n, messages.size(), "every committed message before 'deleted': " + got);
            for (int i = 0; i < messages.size(); i++)
                assertEquals(i + 1L, messages.get(i).id());
            assertEquals(n + 1, got.size(), "no reset: " + got);
            assertTrue(s.awaitClosed(WAIT));
        }
    }

    @Test
    void a_message_committed_just_before_the_deletion_reaches_every_open_stream_and_is_purged_later() throws Exception {
        String token = a.userToken("acme", "late");
        String chat = createChat(token);
        String path = "/api/v1/chats/" + chat + "/stream";
        String stream = "chat:" + chat;
        DatabaseUrl db = server.databaseUrl();
        post(a, token, chat, "one");
        try (SseClient s0 = a.sse(path, token);
                SseClient s1 = b.sse(path, token)) {
            assertEquals(1, s0.take(1, WAIT).size());
            assertEquals(1, s1.take(1, WAIT).size());
            // An application transaction posts a message and stays open; the deletion (on the
            // other replica) waits for its row lock, so the two commit back to back.
            try (Connection app = Sql.connect(db)) {
                app.setAutoCommit(false);
                long id = Sql.scalar(
                        app,
                        "SELECT o_id FROM herald.post_chat_message('acme', 'late', ?::uuid, 'assistant', '\"two\"'::jsonb)",
                        chat);
                assertEquals(2, id);
                CompletableFuture<Api.Response> deletion =
                        CompletableFuture.supplyAsync(() -> b.delete("/api/v1/chats/" + chat, token));
                long until = System.nanoTime() + WAIT.toNanos();
                while (Sql.scalar(
                                        db,
                                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                                + " AND wait_event_type = 'Lock'")
                                == 0
                        && System.nanoTime() < until) Thread.sleep(5);
                app.commit();
                assertEquals(204, deletion.get(30, TimeUnit.SECONDS).status());
            }
            // The deletion purged nothing: whatever a replica had not fetched yet is still there.
            assertEquals(3, Sql.count(db, "acme", stream));
            for (SseClient s : List.of(s0, s1)) {
                List<SseClient.Event> got = s.take(2, WAIT);
                assertEquals(
                        List.of("message", "deleted"),
                        got.stream().map(SseClient.Event::event).toList(),
                        got.toString());
                assertEquals(
                        List.of(2L, 3L), got.stream().map(SseClient.Event::id).toList());
                assertEquals("two", got.get(0).json().path("content").asText());
                assertTrue(s.awaitClosed(WAIT));
            }
        }
        // The chat is 404 at once; its messages go once the deletion is older than the purge delay.
        assertEquals(404, a.get("/api/v1/chats/" + chat + "/messages", token).status());
        server.replica(0).janitor().runOnce();
        assertEquals(3, Sql.count(db, "acme", stream), "not yet: HERALD_PURGE_DELAY is a minute");
        Sql.update(
                db,
                "UPDATE herald.stream_purges SET deleted_at = now() - interval '2 minutes' WHERE stream = ?",
                stream);
        assertTrue(server.replica(0).janitor().runOnce().deleted() >= 2);
        assertEquals(1, Sql.count(db, "acme", stream), "only the final 'deleted' event is left");
        assertEquals(3, Sql.minCursor(db, "acme", stream));
        assertEquals(2, Sql.prunedThrough(db, "acme", stream));
        // Once the deletion is older than retention, nothing of the chat's stream is left.
        Sql.update(
                db, "UPDATE herald.stream_purges SET deleted_at = now() - interval '8 days' WHERE stream = ?", stream);
        server.replica(1).janitor().runOnce();
        assertEquals(0, Sql.count(db, "acme", stream));
        assertEquals(0, Sql.scalar(db, "SELECT count(*) FROM herald.streams WHERE stream = ?", stream));
        assertEquals(0, Sql.scalar(db, "SELECT count(*) FROM herald.stream_purges WHERE stream = ?", stream));
    }
}
