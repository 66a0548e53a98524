package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.database.DatabaseUrl;
import dev.herald.stream.EventRejected;
import dev.herald.stream.StreamKey;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 6: NOTIFY fails. PostgreSQL queues a transaction's notifications at commit
 * (PreCommit_Notify) and, when its 8 GB queue is full (a LISTENer somewhere stopped reading),
 * fails the COMMIT with 54000 "too many notifications in the NOTIFY queue": the transaction
 * rolls back, so no row is ever committed whose ping can never come. A payload of 8,000 bytes
 * or more fails at once (22023) and aborts its transaction the same way. The tests simulate
 * the full queue with a deferred trigger that raises exactly that error at commit time, and
 * check that Herald answers 503 JSON, writes nothing, and carries on densely afterwards.
 */
class TestNotifyFailure {
    static final String TENANT = "notifyfail";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_commit_refused_for_a_full_notify_queue_is_a_clean_503_and_writes_nothing() throws Exception {
        try (TestServer server = TestServer.start(1)) {
            Api api = server.api();
            DatabaseUrl db = server.databaseUrl();
            String write = api.mint(TENANT, null, "events:write");
            String read = api.mint(TENANT, "nina", "events:read");
            try (Follower f = new Follower(
                    "/api/v1/events", read, 0, Follower.port(server.herald().port()))) {
                assertTrue(f.awaitConnected(Duration.ofSeconds(10)));
                for (int i = 1; i <= 3; i++)
                    assertEquals(201, post(api, write, i).status());

                Pg.execute(db, """
                        CREATE FUNCTION public.simulate_full_notify_queue() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN
                            RAISE EXCEPTION 'too many notifications in the NOTIFY queue' USING ERRCODE = '54000';
                        END $$;
                        CREATE CONSTRAINT TRIGGER simulate_full_notify_queue AFTER INSERT ON herald.events
                            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.simulate_full_notify_queue();
                        """);
                for (int i = 4; i <= 6; i++) {
                    Api.Response r = post(api, write, i);
                    assertEquals(503, r.status(), r.toString());
                    assertEquals("notify_queue_full", r.errorCode(), r.toString());
                    assertTrue(r.header("Content-Type").startsWith("application/json"));
                    assertEquals("5", r.header("Retry-After"));
                    assertTrue(
                            !r.body().contains("Exception") && !r.body().contains("PL/pgSQL"),
                            "no internals leak: " + r.body());
                }
                // Nothing was written: no rows, and the head did not move (cursors stay dense).
                assertEquals(3, Pg.events(db, TENANT, "nina"));
                assertEquals(
                        3,
                        Pg.scalar(
                                db,
                                "SELECT head FROM herald.streams WHERE tenant = ? AND stream = 'user:nina'",
                                TENANT));

                // An application publishing from its own transaction: its domain rows roll back too.
                Pg.execute(db, "CREATE TABLE public.orders (id int PRIMARY KEY)");
                try (Connection c = Pg.connect(db);
                        Statement st = c.createStatement()) {
                    c.setAutoCommit(false);
                    st.execute("INSERT INTO public.orders VALUES (1)");
                    st.execute("SELECT herald.publish_user_event('" + TENANT
                            + "', 'nina', 'order.placed', '{\"w\":-1,\"i\":-1}')");
                    SQLException e = assertThrows(SQLException.class, c::commit);
                    assertEquals("54000", e.getSQLState());
                }
                assertEquals(0, Pg.scalar(db, "SELECT count(*) FROM public.orders"));
                assertEquals(3, Pg.events(db, TENANT, "nina"));

                // The queue drains (the trigger goes): publishing resumes at the next cursor.
                Pg.execute(db, "DROP TRIGGER simulate_full_notify_queue ON herald.events");
                Api.Response ok = post(api, write, 7);
                assertEquals(201, ok.status(), ok.toString());
                assertEquals(4, ok.json().get("cursor").asLong());

                List<Writers.Published> committed = List.of(
                        new Writers.Published("nina", 1, 0, 1), new Writers.Published("nina", 2, 0, 2),
                        new Writers.Published("nina", 3, 0, 3), new Writers.Published("nina", 4, 0, 7));
                assertTrue(f.awaitId(4, Duration.ofSeconds(10)), f.toString());
                Thread.sleep(300);
                Ledger.Figures fig = Ledger.compare(committed, f);
                System.out.println(
                        "[fault 6] full NOTIFY queue: 3 writes refused with 503 notify_queue_full, 0 rows committed for them; "
                                + fig);
                Ledger.assertExact(fig, f.toString());
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_notify_payload_over_the_limit_aborts_its_transaction_and_a_signal_is_refused_with_413() throws Exception {
        try (TestServer server = TestServer.start(1)) {
            DatabaseUrl db = server.databaseUrl();
            // In a transaction: the oversized NOTIFY fails at once, the event published before it
            // in the same transaction is never committed.
            try (Connection c = Pg.connect(db);
                    Statement st = c.createStatement()) {
                c.setAutoCommit(false);
                st.execute("SELECT herald.publish_user_event('" + TENANT + "', 'otto', 'x.y', '{}')");
                SQLException e = assertThrows(
                        SQLException.class, () -> st.execute("SELECT pg_notify('herald', repeat('x', 8000))"));
                assertEquals("22023", e.getSQLState());
                c.rollback();
            }
            assertEquals(0, Pg.events(db, TENANT, "otto"));
            // Herald's own transient signals check the limit before PostgreSQL does (HTTP: 413).
            EventRejected tooBig = assertThrows(
                    EventRejected.class,
                    () -> server.herald()
                            .publisher()
                            .signal(
                                    new StreamKey(TENANT, "user:otto"),
                                    "status",
                                    Api.JSON.valueToTree(Map.of("blob", "é".repeat(4_000)))));
            assertEquals(EventRejected.Reason.TOO_LARGE, tooBig.reason());
        }
    }

    private static Api.Response post(Api api, String token, int i) {
        return api.post("/api/v1/users/nina/events", token, Map.of("type", "n.tick", "data", Map.of("w", 0, "i", i)));
    }
}
