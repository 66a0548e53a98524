package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The retention janitor, triggered by hand (runOnce); the periodic runs are in
 * TestRetentionSchedule. Events are made old by moving their created_at back.
 */
class TestRetention {
    static final Duration WAIT = Duration.ofSeconds(5);
    static final Duration QUIET = Duration.ofMillis(300);

    // Batches of 4 rows, so pruning a stream takes several transactions.
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, c -> c.retentionBatch(4));

    // The server's database: JUnit makes a test instance per test, after the extension started it.
    final DatabaseUrl db = server.databaseUrl();

    static RetentionJanitor janitor() {
        return server.herald().janitor();
    }

    static long publishJob(Api api, String team, String job, String token) {
        Api.Response r =
                api.post("/api/v1/teams/" + team + "/jobs/" + job + "/events", token, Map.of("status", "progress"));
        assertEquals(201, r.status(), r.toString());
        return r.json().get("cursor").asLong();
    }

    @Test
    void old_team_events_are_deleted_and_a_stale_cursor_gets_reset_then_the_rest(Api api) {
        String token = api.mint("ret", null, "events:read", "events:write");
        for (int i = 1; i <= 10; i++) publishJob(api, "ret", i % 2 == 0 ? "even" : "odd", token);
        assertEquals(6, Sql.age(db, "ret", "team:ret", 6, "8 days"));

        RetentionJanitor.Run run = janitor().runOnce();
        assertTrue(run.worked());
        assertTrue(run.deleted() >= 6, run.toString());
        assertEquals(6, Sql.prunedThrough(db, "ret", "team:ret"));
        assertEquals(4, Sql.count(db, "ret", "team:ret"));
        assertEquals(7, Sql.minCursor(db, "ret", "team:ret"));

        // A cursor older than retention: reset first, then everything retained, in order.
        try (SseClient sse = api.sse("/api/v1/teams/ret/events", token, 2L)) {
            assertEquals(200, sse.status, sse.errorBody());
            List<SseClient.Event> got = sse.take(5, WAIT);
            SseClient.Event reset = got.get(0);
            assertEquals("reset", reset.event());
            assertEquals(6L, reset.id(), "the cursor just before the oldest retained event");
            assertEquals("cursor_expired", reset.json().get("reason").asText());
            assertEquals(7, reset.json().get("oldest").asLong());
            assertEquals(
                    List.of(7L, 8L, 9L, 10L),
                    got.subList(1, 5).stream().map(SseClient.Event::id).toList());
            long live = publishJob(api, "ret", "odd", token);
            assertEquals(live, sse.next(WAIT).id());
        }
        // Resuming from the reset's id (or having seen everything up to the pruning point)
        // continues exactly, without another reset.
        try (SseClient sse = api.sse("/api/v1/teams/ret/events", token, 6L)) {
            assertEquals(
                    List.of(7L, 8L, 9L, 10L, 11L),
                    sse.take(5, WAIT).stream().map(SseClient.Event::id).toList());
        }
        // A filtered client with a stale cursor: reset, then only its job.
        try (SseClient sse = api.sse("/api/v1/teams/ret/events?job_id=even", token, 0L)) {
            List<SseClient.Event> got = sse.take(3, WAIT);
            assertEquals("reset", got.get(0).event());
            assertEquals(6L, got.get(0).id());
            assertEquals(
                    List.of(8L, 10L),
                    got.subList(1, 3).stream().map(SseClient.Event::id).toList());
            assertTrue(sse.drain(QUIET).isEmpty());
        }
        // Nothing more is old: a second run deletes nothing of this stream.
        janitor().runOnce();
        assertEquals(5, Sql.count(db, "ret", "team:ret"));
    }

    @Test
    void user_streams_are_pruned_too_and_the_backlog_reports_the_oldest_cursor(Api api) {
        String token = api.userToken("ret-u", "ann");
        for (int i = 0; i < 9; i++) {
            assertEquals(
                    201,
                    api.post("/api/v1/users/ann/events", token, Map.of("type", "ingest.progress"))
                            .status());
        }
        Sql.age(db, "ret-u", "user:ann", 5, "30 days");
        assertTrue(janitor().runOnce().worked());
        assertEquals(5, Sql.prunedThrough(db, "ret-u", "user:ann"));

        JsonNode backlog = api.get("/api/v1/events/backlog?after=0", token).json();
        assertEquals(9, backlog.get("head").asLong());
        assertEquals(6, backlog.get("oldest").asLong());
        assertEquals(6, backlog.get("events").get(0).get("cursor").asLong());
        assertEquals(4, backlog.get("events").size());

        try (SseClient sse = api.sse("/api/v1/events", token, 1L)) {
            List<SseClient.Event> got = sse.take(5, WAIT);
            assertEquals("reset", got.get(0).event());
            assertEquals(6, got.get(0).json().get("oldest").asLong());
            assertEquals(
                    List.of(6L, 7L, 8L, 9L),
                    got.subList(1, 5).stream().map(SseClient.Event::id).toList());
        }
    }

    /** A stale cursor: reset (id = the pruning point) first, then exactly the retained rest. */
    static void assertResetThenRest(SseClient opened, long prunedThrough, List<Long> rest) {
        try (SseClient sse = opened) {
            assertEquals(200, sse.status, sse.errorBody());
            List<SseClient.Event> got = sse.take(1 + rest.size(), WAIT);
            SseClient.Event reset = got.get(0);
            assertEquals("reset", reset.event(), got.toString());
            assertEquals(prunedThrough, reset.id());
            assertEquals(prunedThrough + 1, reset.json().get("oldest").asLong());
            assertEquals(
                    rest,
                    got.subList(1, got.size()).stream().map(SseClient.Event::id).toList());
            assertTrue(sse.drain(QUIET).isEmpty());
        }
    }

    @Test
    void inbox_streams_are_pruned_the_notifications_stay_and_a_stale_cursor_gets_reset_then_the_rest(Api api) {
        String writer = api.mint("ret-i", null, "events:write");
        String reader = api.userToken("ret-i", "ivy");
        for (int i = 1; i <= 5; i++) {
            Api.Response r = api.post("/api/v1/users/ivy/inbox", writer, Map.of("title", "n" + i));
            assertEquals(201, r.status(), r.toString());
        }
        assertEquals(3, Sql.age(db, "ret-i", "inbox:ivy", 3, "8 days"));
        assertTrue(janitor().runOnce().worked());
        assertEquals(3, Sql.prunedThrough(db, "ret-i", "inbox:ivy"));
        assertEquals(2, Sql.count(db, "ret-i", "inbox:ivy"));
        // What the events described stays: every notification, and the unread count.
        JsonNode list = api.get("/api/v1/inbox", reader).json();
        assertEquals(5, list.get("notifications").size());
        assertEquals(5, list.get("unread_count").asInt());
        assertResetThenRest(api.sse("/api/v1/inbox/watch", reader, 1L), 3, List.of(4L, 5L));
    }

    @Test
    void chat_list_streams_are_pruned_but_a_chats_own_message_stream_never_is(Api api) throws Exception {
        String token = api.userToken("ret-c", "cy");
        List<String> chats = new java.util.ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            Api.Response r = api.post("/api/v1/chats", token, Map.of("title", "c" + i));
            assertEquals(201, r.status(), r.toString());
            chats.add(r.json().get("id").asText());
        }
        assertEquals(
                200,
                api.patch("/api/v1/chats/" + chats.get(0), token, Map.of("title", "renamed"))
                        .status());
        String messages = "chat:" + chats.get(0);
        for (int i = 0; i < 3; i++) {
            assertEquals(
                    201,
                    api.post(
                                    "/api/v1/chats/" + chats.get(0) + "/messages",
                                    token,
                                    Map.of("role", "user", "content", "m" + i))
                            .status());
        }
        Sql.age(db, "ret-c", "chats:cy", 2, "8 days");
        Sql.age(db, "ret-c", messages, 3, "365 days");

        assertTrue(janitor().runOnce().worked());
        assertEquals(2, Sql.prunedThrough(db, "ret-c", "chats:cy"));
        assertEquals(2, Sql.count(db, "ret-c", "chats:cy"));
        // The chats stay, and so do a chat's messages, however old.
        assertEquals(3, api.get("/api/v1/chats", token).json().get("chats").size());
        assertEquals(3, Sql.count(db, "ret-c", messages));
        assertEquals(0, Sql.prunedThrough(db, "ret-c", messages));
        assertEquals(
                3,
                api.get("/api/v1/chats/" + chats.get(0) + "/messages", token)
                        .json()
                        .get("messages")
                        .size());
        assertResetThenRest(api.sse("/api/v1/chats/watch", token, 1L), 2, List.of(3L, 4L));
        // The SQL function refuses a chat's message stream outright too.
        try (Connection c = Sql.connect(db)) {
            java.sql.SQLException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.sql.SQLException.class,
                    () -> Sql.scalar(c, "SELECT herald.prune_stream('ret-c', ?, 3, 100)", messages));
            assertEquals("22023", e.getSQLState());
        }
    }

    @Test
    void config_streams_are_pruned_the_entries_stay_and_a_stale_cursor_gets_reset_then_the_rest(Api api) {
        String admin = api.mint("ret-cfg", null, "admin", "events:read");
        for (String entity : List.of("p1", "p2", "p3", "p1")) {
            Api.Response r = api.put("/api/v1/config/providers/" + entity, admin, Map.of("value", entity));
            assertEquals(200, r.status(), r.toString());
        }
        assertEquals(2, Sql.age(db, "ret-cfg", "config:all", 2, "8 days"));
        assertTrue(janitor().runOnce().worked());
        assertEquals(2, Sql.prunedThrough(db, "ret-cfg", "config:all"));
        assertEquals(2, Sql.count(db, "ret-cfg", "config:all"));
        JsonNode p1 = api.get("/api/v1/config/providers/p1", admin).json();
        assertEquals(2, p1.get("version").asInt());
        assertEquals(200, api.get("/api/v1/config/providers/p2", admin).status(), "the entries stay");
        assertResetThenRest(api.sse("/api/v1/config/watch", admin, 0L), 2, List.of(3L, 4L));
    }

    @Test
    void a_stream_whose_head_a_writer_holds_is_skipped_without_blocking_and_pruned_next_run(Api api) throws Exception {
        String token = api.mint("busy", null, "events:read", "events:write");
        String other = api.mint("idle", null, "events:read", "events:write");
        for (int i = 0; i < 5; i++) {
            publishJob(api, "busy", "j", token);
            publishJob(api, "idle", "j", other);
        }
        Sql.age(db, "busy", "team:busy", 5, "8 days");
        Sql.age(db, "idle", "team:idle", 5, "8 days");
        try (Connection writer = Sql.connect(db)) {
            writer.setAutoCommit(false);
            long held = Sql.publishJobEvent(writer, "busy", "j", "running", "{}"); // holds team:busy's head row
            assertEquals(6, held);

            long t0 = System.nanoTime();
            RetentionJanitor.Run run = janitor().runOnce();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(run.worked());
            assertTrue(ms < 15_000, "gave up on the held stream after its lock timeout, took " + ms + " ms");
            assertEquals(
                    5,
                    Sql.count(db, "busy", "team:busy"),
                    "rolled back: nothing deleted while the writer holds the head");
            assertEquals(0, Sql.prunedThrough(db, "busy", "team:busy"));
            assertEquals(0, Sql.count(db, "idle", "team:idle"), "other streams are pruned meanwhile");
            // The writer was never blocked by the janitor: it still publishes, then commits.
            assertEquals(7, Sql.publishJobEvent(writer, "busy", "j", "completed", "{}"));
            writer.commit();
        }
        assertTrue(janitor().runOnce().worked());
        assertEquals(5, Sql.prunedThrough(db, "busy", "team:busy"));
        assertEquals(2, Sql.count(db, "busy", "team:busy"));
        assertEquals(8, publishJob(api, "busy", "j", token));
    }

    @Test
    void janitors_of_two_replicas_may_run_at_once_and_prune_exactly_once() throws Exception {
        try (TestServer two = TestServer.start(2, c -> c.retentionBatch(3))) {
            Api a = two.api(0);
            String token = a.mint("pair", null, "events:read", "events:write");
            for (int i = 0; i < 20; i++) {
                assertEquals(
                        201,
                        a.post("/api/v1/teams/pair/jobs/j" + (i % 3) + "/events", token, Map.of("status", "progress"))
                                .status());
            }
            Sql.age(two.databaseUrl(), "pair", "team:pair", 14, "8 days");
            CompletableFuture<RetentionJanitor.Run> r0 =
                    CompletableFuture.supplyAsync(() -> two.replica(0).janitor().runOnce());
            CompletableFuture<RetentionJanitor.Run> r1 =
                    CompletableFuture.supplyAsync(() -> two.replica(1).janitor().runOnce());
            RetentionJanitor.Run a0 = r0.get();
            RetentionJanitor.Run a1 = r1.get();
            assertTrue(a0.worked() || a1.worked());
            assertEquals(14, a0.deleted() + a1.deleted(), a0 + " " + a1);
            assertEquals(14, Sql.prunedThrough(two.databaseUrl(), "pair", "team:pair"));
            assertEquals(6, Sql.count(two.databaseUrl(), "pair", "team:pair"));
            // The other replica's subscribers see the reset too.
            try (SseClient sse = two.api(1).sse("/api/v1/teams/pair/events", token, 3L)) {
                List<SseClient.Event> got = sse.take(7, WAIT);
                assertEquals("reset", got.get(0).event());
                assertEquals(15, got.get(0).json().get("oldest").asLong());
                assertEquals(
                        List.of(15L, 16L, 17L, 18L, 19L, 20L),
                        got.subList(1, 7).stream().map(SseClient.Event::id).toList());
            }
            assertFalse(two.replica(0).janitor().runOnce().deleted() > 0);
        }
    }
}
