package dev.herald.stream;

import static dev.herald.stream.TestGroupCommit.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every write path shares the group commit: team job events, inbox notifications and read
 * state, chat messages and config writes that arrive while a batch is in flight are committed
 * together in the next transaction, and each caller still gets its own result — or its own
 * error, while the others in the same transaction succeed. The batch in flight is made certain
 * by holding a stream's head row locked from another connection.
 */
class TestGroupCommitWritePaths {
    static final String TENANT = "wp";
    static final int CALLERS = 12;
    /** Any event whose data contains this fails to insert (a test trigger). */
    static final String POISON = "poison-pill";

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static ExecutorService pool;
    static String writer;
    static String admin;

    @BeforeAll
    static void poisonAndTokens() {
        pool = Executors.newFixedThreadPool(CALLERS + 4);
        Api api = server.api();
        writer = api.mint(TENANT, null, "events:write", "events:read");
        admin = api.mint(TENANT, null, "admin");
        Sql.execute(server.databaseUrl(), """
                CREATE FUNCTION herald.test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.data::text LIKE '%%%s%%' THEN
                        RAISE EXCEPTION 'poisoned event' USING ERRCODE = '22023';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER test_poison BEFORE INSERT ON herald.events
                    FOR EACH ROW EXECUTE FUNCTION herald.test_poison();
                """.formatted(POISON));
    }

    @AfterAll
    static void stopPool() {
        pool.shutdownNow();
    }

    @BeforeEach
    void writerWaitsForHeldHeads() {
        publisher().lockTimeoutMillis(60_000);
    }

    static Publisher publisher() {
        return server.herald().publisher();
    }

    @Test
    void team_job_events_share_a_batch_and_each_caller_gets_its_own_dense_cursor(Api api) throws Exception {
        long retriedBefore = publisher().stats().retriedAlone();
        List<Api.Response> answers = batched(
                api,
                i -> () -> api.post(
                        "/api/v1/teams/" + TENANT + "/jobs/job-" + i + "/events",
                        writer,
                        Map.of("status", "progress", "data", Map.of("n", i, "note", i == 3 ? POISON : "fine"))));
        Set<Long> cursors = new HashSet<>();
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = answers.get(i);
            if (i == 3) {
                assertEquals(500, r.status(), "the poisoned publish fails alone: " + r);
                continue;
            }
            assertEquals(201, r.status(), r.toString());
            assertEquals("job-" + i, r.json().get("job_id").asText());
            assertTrue(cursors.add(r.json().get("cursor").asLong()), "a cursor handed out twice: " + r);
        }
        Set<Long> dense = new HashSet<>();
        for (long c = 1; c <= CALLERS - 1; c++) dense.add(c);
        assertEquals(dense, cursors, "the team stream's cursors are exactly 1..N");
        assertTrue(
                publisher().stats().retriedAlone() - retriedBefore >= CALLERS,
                "plain publishes share one statement: the poisoned one failed the batch, then each went alone");
    }

    @Test
    void inbox_notifications_share_a_batch_and_a_failing_one_rolls_back_alone(Api api) throws Exception {
        long retriedBefore = publisher().stats().retriedAlone();
        long batchedBefore = publisher().stats().batchedEvents();
        List<Api.Response> answers = batched(
                api,
                i -> () -> api.post(
                        "/api/v1/users/reader-" + i + "/inbox",
                        writer,
                        Map.of("title", i == 5 ? POISON : "hello " + i)));
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = answers.get(i);
            String reader = api.mint(TENANT, "reader-" + i, "events:read");
            Api.Response listed = api.get("/api/v1/inbox", reader);
            if (i == 5) {
                assertEquals(500, r.status(), "the poisoned notification fails alone: " + r);
                assertEquals(0, listed.json().get("notifications").size(), "nothing of it was committed");
                assertEquals(0, listed.json().get("unread_count").asLong(), "its unread count rolled back too");
                continue;
            }
            assertEquals(201, r.status(), r.toString());
            assertEquals("hello " + i, r.json().get("title").asText());
            assertEquals(1, listed.json().get("notifications").size());
            assertEquals(
                    r.json().get("id").asText(),
                    listed.json().get("notifications").get(0).get("id").asText());
            assertEquals(1, listed.json().get("unread_count").asLong());
        }
        assertEquals(
                retriedBefore,
                publisher().stats().retriedAlone(),
                "one write's failure rolls back its savepoint, not the batch");
        assertTrue(
                publisher().stats().batchedEvents() - batchedBefore >= CALLERS,
                "the queued writes were committed in one transaction: "
                        + publisher().stats());
    }

    @Test
    void read_state_changes_share_a_batch(Api api) throws Exception {
        String user = "marker";
        String token = api.mint(TENANT, user, "events:read");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = api.post("/api/v1/users/" + user + "/inbox", writer, Map.of("title", "n" + i));
            assertEquals(201, r.status(), r.toString());
            ids.add(r.json().get("id").asText());
        }
        long batchedBefore = publisher().stats().batchedEvents();
        List<Api.Response> answers = batched(
                api,
                i -> () -> api.put("/api/v1/inbox/" + ids.get(i) + "/read-status", token, Map.of("is_read", true)));
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = answers.get(i);
            assertEquals(200, r.status(), r.toString());
            assertEquals(ids.get(i), r.json().get("id").asText());
            assertTrue(r.json().hasNonNull("read_at"), "marked read: " + r);
        }
        assertEquals(
                0, api.get("/api/v1/inbox", token).json().get("unread_count").asLong());
        assertTrue(
                publisher().stats().batchedEvents() - batchedBefore >= CALLERS,
                "the queued writes were committed in one transaction: "
                        + publisher().stats());
    }

    @Test
    void chat_messages_share_a_batch_and_a_failing_one_fails_alone(Api api) throws Exception {
        List<String> tokens = new ArrayList<>();
        List<String> chats = new ArrayList<>();
        for (int i = 0; i < CALLERS; i++) {
            String token = api.userToken(TENANT, "talker-" + i);
            Api.Response chat = api.post("/api/v1/chats", token, Map.of("title", "chat " + i));
            assertEquals(201, chat.status(), chat.toString());
            tokens.add(token);
            chats.add(chat.json().get("id").asText());
        }
        long retriedBefore = publisher().stats().retriedAlone();
        long batchedBefore = publisher().stats().batchedEvents();
        List<Api.Response> answers = batched(
                api,
                i -> () -> api.post(
                        "/api/v1/chats/" + chats.get(i) + "/messages",
                        tokens.get(i),
                        Map.of("role", "user", "content", i == 7 ? POISON : "message " + i)));
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = answers.get(i);
            Api.Response listed = api.get("/api/v1/chats/" + chats.get(i) + "/messages", tokens.get(i));
            if (i == 7) {
                assertEquals(500, r.status(), "the poisoned message fails alone: " + r);
                assertEquals(0, listed.json().get("messages").size(), listed.toString());
                continue;
            }
            assertEquals(201, r.status(), r.toString());
            assertEquals(chats.get(i), r.json().get("chat_id").asText());
            assertEquals("message " + i, r.json().get("content").asText());
            assertEquals(1, listed.json().get("messages").size(), listed.toString());
            assertEquals(
                    r.json().get("id").asLong(),
                    listed.json().get("messages").get(0).get("id").asLong());
        }
        assertEquals(retriedBefore, publisher().stats().retriedAlone());
        assertTrue(
                publisher().stats().batchedEvents() - batchedBefore >= CALLERS,
                "the queued writes were committed in one transaction: "
                        + publisher().stats());
    }

    @Test
    void config_writes_share_a_batch_and_a_failing_one_fails_alone(Api api) throws Exception {
        long batchedBefore = publisher().stats().batchedEvents();
        List<Api.Response> answers = batched(
                api,
                i -> () -> api.put(
                        "/api/v1/config/providers/" + (i == 2 ? POISON : "entity-" + i),
                        admin,
                        Map.of("value", Map.of("i", i))));
        for (int i = 0; i < CALLERS; i++) {
            Api.Response r = answers.get(i);
            String entity = i == 2 ? POISON : "entity-" + i;
            Api.Response read = api.get("/api/v1/config/providers/" + entity, writer);
            if (i == 2) {
                assertEquals(500, r.status(), "the poisoned write fails alone: " + r);
                assertEquals(404, read.status(), "nothing of it was committed: " + read);
                continue;
            }
            assertEquals(200, r.status(), r.toString());
            assertEquals(1, r.json().get("version").asLong(), r.toString());
            assertEquals(i, read.json().get("value").get("i").asInt(), read.toString());
        }
        assertTrue(
                publisher().stats().batchedEvents() - batchedBefore >= CALLERS,
                "the queued writes were committed in one transaction: "
                        + publisher().stats());
    }

    /**
     * Holds a stream's head so that one publish waits in the writer, queues {@link #CALLERS}
     * calls behind it (so the writer takes them as one batch), releases the lock and returns the
     * answers in call order.
     */
    static List<Api.Response> batched(Api api, IntFunction<Callable<Api.Response>> call) throws Exception {
        String blocker = "blocker";
        Api.Response first =
                api.post("/api/v1/users/" + blocker + "/events", writer, Map.of("type", "first", "data", Map.of()));
        assertEquals(201, first.status(), first.toString());
        List<Future<Api.Response>> calls = new ArrayList<>();
        Future<Api.Response> held;
        try (TestGroupCommit.HeadLock lock =
                TestGroupCommit.HeadLock.take(server.databaseUrl(), TENANT, "user:" + blocker)) {
            held = pool.submit(() ->
                    api.post("/api/v1/users/" + blocker + "/events", writer, Map.of("type", "held", "data", Map.of())));
            await(() -> lock.waiters() >= 1, "the batch in flight waits for the held head");
            for (int i = 0; i < CALLERS; i++) calls.add(pool.submit(call.apply(i)));
            await(() -> publisher().queued() >= CALLERS, "every call queues behind the batch in flight");
        }
        assertEquals(201, held.get(30, TimeUnit.SECONDS).status());
        List<Api.Response> answers = new ArrayList<>();
        for (Future<Api.Response> f : calls) answers.add(f.get(30, TimeUnit.SECONDS));
        return answers;
    }
}
