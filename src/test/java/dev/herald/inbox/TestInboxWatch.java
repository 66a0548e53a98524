package dev.herald.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /api/v1/inbox/watch: live notifications and read-state changes, the same in every tab. */
class TestInboxWatch {
    static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(2);

    static JsonNode create(String token, String user, String title) {
        Api.Response r = server.api()
                .post("/api/v1/users/" + user + "/inbox", token, Map.of("title", title, "targets", List.of("t")));
        assertEquals(201, r.status(), r.toString());
        return r.json();
    }

    static void mark(String token, String id, boolean read) {
        Api.Response r = server.api().put("/api/v1/inbox/" + id + "/read-status", token, Map.of("is_read", read));
        assertEquals(200, r.status(), r.toString());
    }

    /** What a tab shows: event name, cursor and data, in arrival order. */
    static List<String> frames(List<SseClient.Event> events) {
        List<String> out = new ArrayList<>();
        for (SseClient.Event e : events) out.add(e.id() + " " + e.event() + " " + e.data());
        return out;
    }

    @Test
    void two_tabs_see_the_same_events_and_badge_counts_including_a_mark_all_read_from_a_third_request(Api api) {
        String tabToken = api.userToken("acme", "tabs");
        String backend = api.mint("acme", null, "events:write");
        try (SseClient tab1 = api.sse("/api/v1/inbox/watch", tabToken);
                // The second tab landed on another replica.
                SseClient tab2 = server.api(1).sse("/api/v1/inbox/watch", api.userToken("acme", "tabs"))) {
            assertEquals(200, tab1.status, tab1.errorBody());
            assertEquals(200, tab2.status, tab2.errorBody());
            List<JsonNode> created = new ArrayList<>();
            for (int i = 1; i <= 3; i++) created.add(create(backend, "tabs", "n" + i));
            mark(tabToken, created.get(1).get("id").asText(), true);
            // The third request: another token of the same user, as another device would have.
            Api.Response all = api.put("/api/v1/inbox/mark-all-read", api.userToken("acme", "tabs"), null);
            assertEquals(204, all.status(), all.toString());

            List<SseClient.Event> seen1 = tab1.take(5, WAIT);
            List<SseClient.Event> seen2 = tab2.take(5, WAIT);
            assertEquals(frames(seen1), frames(seen2), "both tabs see the very same frames");

            for (int i = 0; i < 3; i++) {
                SseClient.Event e = seen1.get(i);
                assertEquals("notification", e.event());
                assertEquals(i + 1L, e.id());
                JsonNode data = e.json();
                assertEquals(
                        created.get(i),
                        data.get("notification"),
                        "the stream carries exactly what the create returned");
                assertEquals(
                        i + 1L,
                        data.get("notification").get("cursor").asLong(),
                        "a notification's cursor is its event's id");
                assertEquals(i + 1, data.get("unread_count").asInt());
            }
            SseClient.Event one = seen1.get(3);
            assertEquals("read_status", one.event());
            assertEquals(4L, one.id());
            assertEquals(2, one.json().get("unread_count").asInt());
            assertEquals(created.get(1).get("id"), one.json().get("id"));
            assertTrue(one.json().get("read_at").asText().endsWith("Z"));
            SseClient.Event everything = seen1.get(4);
            assertEquals("read_status", everything.event());
            assertEquals(5L, everything.id());
            assertEquals(0, everything.json().get("unread_count").asInt());
            assertTrue(everything.json().get("all").asBoolean());
            assertEquals(
                    List.of(1, 2, 3, 2, 0),
                    seen2.stream()
                            .map(e -> e.json().get("unread_count").asInt())
                            .toList());

            // Changes that change nothing publish nothing: the next event's cursor follows on.
            mark(tabToken, created.get(0).get("id").asText(), true);
            assertEquals(
                    204, api.put("/api/v1/inbox/mark-all-read", tabToken, null).status());
            assertEquals(List.of(), tab1.drain(Duration.ofMillis(300)));
            mark(tabToken, created.get(2).get("id").asText(), false);
            SseClient.Event back1 = tab1.next(WAIT);
            SseClient.Event back2 = tab2.next(WAIT);
            assertEquals(6L, back1.id());
            assertEquals("read_status", back1.event());
            assertEquals(1, back1.json().get("unread_count").asInt());
            assertTrue(back1.json().get("read_at").isNull());
            assertEquals(frames(List.of(back1)), frames(List.of(back2)));
            assertEquals(
                    1,
                    api.get("/api/v1/inbox", tabToken)
                            .json()
                            .get("unread_count")
                            .asInt(),
                    "the badge agrees with the list");
        }
    }

    @Test
    void a_tab_resumes_after_its_last_event_id_and_without_one_starts_at_now(Api api) {
        String token = api.userToken("acme", "resume");
        List<JsonNode> created = new ArrayList<>();
        for (int i = 1; i <= 3; i++) created.add(create(token, "resume", "r" + i));
        mark(token, created.get(0).get("id").asText(), true); // cursor 4
        assertEquals(204, api.put("/api/v1/inbox/mark-all-read", token, null).status()); // cursor 5

        try (SseClient resumed = api.sse("/api/v1/inbox/watch", token, 2L)) {
            List<SseClient.Event> got = resumed.take(3, WAIT);
            assertEquals(
                    List.of(3L, 4L, 5L), got.stream().map(SseClient.Event::id).toList());
            assertEquals(
                    List.of("notification", "read_status", "read_status"),
                    got.stream().map(SseClient.Event::event).toList());
            assertEquals(
                    created.get(2), got.get(0).json().get("notification"), "replayed events render like live ones");
            assertEquals(
                    List.of(3, 2, 0),
                    got.stream().map(e -> e.json().get("unread_count").asInt()).toList());
            JsonNode next = create(token, "resume", "r4");
            SseClient.Event live = resumed.next(WAIT);
            assertEquals(6L, live.id());
            assertEquals(next, live.json().get("notification"));
        }
        try (SseClient fromQuery =
                SseClient.open(api.base + "/api/v1/inbox/watch?after=5&access_token=" + token, null, null)) {
            assertEquals(200, fromQuery.status, fromQuery.errorBody());
            SseClient.Event e = fromQuery.next(WAIT);
            assertEquals(6L, e.id());
        }
        try (SseClient now = api.sse("/api/v1/inbox/watch", token)) {
            assertEquals(List.of(), now.drain(Duration.ofMillis(300)), "no backlog without a cursor");
            create(token, "resume", "r5");
            assertEquals(7L, now.next(WAIT).id());
        }
        try (SseClient ahead = api.sse("/api/v1/inbox/watch", token, 99L)) {
            assertEquals(400, ahead.status);
            assertTrue(ahead.errorBody().contains("cursor_ahead"), ahead.errorBody());
        }
    }

    @Test
    void watch_is_own_user_only_and_follows_the_sse_rules(Api api) {
        String token = api.userToken("acme", "watch-auth");
        Api.Response noAccept =
                api.send("GET", "/api/v1/inbox/watch", token, null, Map.of("Accept", "application/json"));
        assertEquals(406, noAccept.status());
        try (SseClient s = api.sse("/api/v1/inbox/watch", null)) {
            assertEquals(401, s.status);
        }
        try (SseClient s = api.sse("/api/v1/inbox/watch", api.mint("acme", null, "events:read"))) {
            assertEquals(403, s.status, "a token without a user has no inbox to watch");
        }
        try (SseClient s = api.sse("/api/v1/inbox/watch", api.mint("acme", "watch-auth", "events:write"))) {
            assertEquals(403, s.status);
        }
        // Another user's and another tenant's notifications never reach this stream.
        try (SseClient s = api.sse("/api/v1/inbox/watch", token)) {
            assertEquals(200, s.status);
            create(api.userToken("acme", "watch-other"), "watch-other", "not yours");
            create(api.userToken("globex", "watch-auth"), "watch-auth", "other tenant");
            assertEquals(List.of(), s.drain(Duration.ofMillis(400)));
            create(token, "watch-auth", "yours");
            assertEquals(
                    "yours",
                    s.next(WAIT).json().get("notification").get("title").asText());
        }
    }

    /**
     * Many concurrent creates and read-state changes for one user: replaying the stream in
     * cursor order, every event's unread_count must equal the count after applying the events
     * before it — i.e. the counts agree with commit order, with no gaps in the cursors.
     */
    @Test
    void concurrent_changes_publish_unread_counts_that_agree_with_commit_order(Api api) throws Exception {
        String token = api.userToken("acme", "race");
        List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 8; i++)
            ids.add(create(token, "race", "seed" + i).get("id").asText());
        int threads = 8;
        int opsPerThread = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = t;
            futures.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                for (int i = 0; i < opsPerThread; i++) {
                    int op = rnd.nextInt(10);
                    if (op < 3) {
                        ids.add(create(token, "race", "c" + seed + "-" + i)
                                .get("id")
                                .asText());
                    } else if (op < 9) {
                        String id = ids.get(rnd.nextInt(ids.size()));
                        mark(token, id, rnd.nextBoolean());
                    } else {
                        assertEquals(
                                204,
                                api.put("/api/v1/inbox/mark-all-read", token, null)
                                        .status());
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) f.get(60, TimeUnit.SECONDS);
        pool.shutdown();

        long head;
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            ResultSet rs =
                    st.executeQuery("SELECT head FROM herald.streams WHERE tenant = 'acme' AND stream = 'inbox:race'");
            assertTrue(rs.next());
            head = rs.getLong(1);
            rs = st.executeQuery(
                    "SELECT count(*) FILTER (WHERE read_at IS NULL), (SELECT unread FROM herald.inbox_counters WHERE tenant = 'acme' AND user_id = 'race') "
                            + "FROM herald.inbox_notifications WHERE tenant = 'acme' AND user_id = 'race'");
            assertTrue(rs.next());
            assertEquals(rs.getLong(1), rs.getLong(2), "the maintained counter equals the rows' truth");
        }

        try (SseClient replay = api.sse("/api/v1/inbox/watch", token, 0L)) {
            List<SseClient.Event> events = replay.take((int) head, Duration.ofSeconds(20));
            Set<String> unread = new HashSet<>();
            long expectedCursor = 1;
            for (SseClient.Event e : events) {
                assertEquals(expectedCursor++, e.id(), "dense cursors");
                JsonNode d = e.json();
                switch (e.event()) {
                    case "notification" ->
                        unread.add(d.get("notification").get("id").asText());
                    case "read_status" -> {
                        if (d.path("all").asBoolean(false)) unread.clear();
                        else if (d.get("read_at").isNull())
                            assertTrue(unread.add(d.get("id").asText()), "a change event always changes something");
                        else assertTrue(unread.remove(d.get("id").asText()), "a change event always changes something");
                    }
                    default -> throw new AssertionError("unexpected event " + e);
                }
                assertEquals(unread.size(), d.get("unread_count").asInt(), "unread_count at cursor " + e.id());
            }
            assertEquals(
                    unread.size(),
                    api.get("/api/v1/inbox", token).json().get("unread_count").asInt());
            assertTrue(head >= ids.size(), "every create published: head " + head + ", notifications " + ids.size());
        }
    }
}
