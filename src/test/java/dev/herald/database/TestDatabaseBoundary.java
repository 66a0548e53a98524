package dev.herald.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The database boundary (docs/API.md "The database boundary"): a LOGIN role granted herald_app publishes
 * from its own transactions through the documented functions and can do nothing else in schema
 * herald; a role without grants (PUBLIC) can do nothing there at all. Tables and functions are
 * enumerated from pg_catalog, so whatever a later migration adds is covered.
 */
class TestDatabaseBoundary {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final Duration QUIET = Duration.ofMillis(300);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static LoginRoles roles;
    /** A LOGIN role granted herald_app, as an application would use. */
    static DatabaseUrl app;
    /** A LOGIN role with no grants at all: what PUBLIC may do (which includes NOTIFY and LISTEN). */
    static DatabaseUrl nobody;

    @BeforeAll
    static void roles() {
        roles = new LoginRoles(server.databaseUrl(), "herald_test");
        app = roles.app;
        nobody = roles.nobody;
    }

    @AfterAll
    static void dropRoles() {
        if (roles != null) roles.close();
    }

    // --- publishing through herald_app ---

    @Test
    void herald_app_publishes_user_events_seen_on_commit_never_on_rollback(Api api) throws Exception {
        String token = api.userToken("boundary", "alice");
        try (SseClient sse = api.sse("/api/v1/events", token);
                Connection c = Sql.connect(app)) {
            assertEquals(200, sse.status, sse.errorBody());
            c.setAutoCommit(false);
            String publish = "SELECT herald.publish_user_event('boundary', 'alice', ?, '{\"n\":1}')";
            assertEquals(1, scalar(c, publish, "app.rolled_back"));
            c.rollback();
            assertNull(sse.next(QUIET), "a rolled-back event never arrives");

            assertEquals(1, scalar(c, publish, "app.committed"), "the rollback returned its cursor");
            assertNull(sse.next(QUIET), "not visible before commit");
            c.commit();
            SseClient.Event e = sse.next(WAIT);
            assertNotNull(e, "the committed event arrives");
            assertEquals("app.committed", e.event());
            assertEquals(1L, e.id());
            assertTrue(sse.drain(QUIET).isEmpty());
        }
    }

    @Test
    void herald_app_publishes_job_events_seen_on_commit_never_on_rollback(Api api) throws Exception {
        String token = api.mint("bteam", null, "events:read");
        try (SseClient sse = api.sse("/api/v1/teams/bteam/events", token);
                Connection c = Sql.connect(app)) {
            assertEquals(200, sse.status, sse.errorBody());
            c.setAutoCommit(false);
            String publish = "SELECT herald.publish_job_event('bteam', 'etl', ?, '{\"rows\":7}')";
            assertEquals(1, scalar(c, publish, "failed"));
            c.rollback();
            assertNull(sse.next(QUIET), "a rolled-back event never arrives");

            assertEquals(1, scalar(c, publish, "running"));
            c.commit();
            SseClient.Event e = sse.next(WAIT);
            assertNotNull(e, "the committed event arrives");
            assertEquals(1L, e.id());
            assertEquals("running", e.json().get("status").asText());
            assertEquals("etl", e.json().get("job_id").asText());
            assertEquals(7, e.json().get("data").get("rows").asInt());
            assertTrue(sse.drain(QUIET).isEmpty());
        }
    }

    @Test
    void herald_app_creates_inbox_notifications_seen_on_commit_never_on_rollback(Api api) throws Exception {
        String token = api.userToken("boundary", "bob");
        try (SseClient sse = api.sse("/api/v1/inbox/watch", token);
                Connection c = Sql.connect(app)) {
            assertEquals(200, sse.status, sse.errorBody());
            c.setAutoCommit(false);
            String notify = "SELECT herald.notify_inbox('boundary', 'bob', ?, 'body', NULL, ARRAY['billing'],"
                    + " '[{\"label\":\"Open\",\"url\":\"/invoices/1\"}]')";
            scalar(c, notify, "Rolled back");
            c.rollback();
            assertNull(sse.next(QUIET), "a rolled-back notification never arrives");

            scalar(c, notify, "Committed");
            c.commit();
            SseClient.Event e = sse.next(WAIT);
            assertNotNull(e, "the committed notification arrives");
            assertEquals("notification", e.event());
            assertEquals(1L, e.id());
            assertEquals("Committed", e.json().get("notification").get("title").asText());
            assertEquals(1, e.json().get("unread_count").asInt());
            assertTrue(sse.drain(QUIET).isEmpty());
        }
        assertEquals(
                1, api.get("/api/v1/inbox", token).json().get("notifications").size());
    }

    @Test
    void the_publish_functions_run_as_their_owner_with_a_fixed_search_path() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl())) {
            for (String f : DatabaseBoundary.PUBLISH_FUNCTIONS) {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT prosecdef, proconfig::text FROM pg_proc WHERE oid = ?::regprocedure")) {
                    ps.setString(1, f);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next(), f);
                        assertTrue(rs.getBoolean(1), f + " is SECURITY DEFINER");
                        assertEquals("{\"search_path=pg_catalog, pg_temp\"}", rs.getString(2), f);
                    }
                }
            }
        }
        // Whatever the caller's own search_path, and whatever it created, the functions reach
        // Herald's objects and the built-ins.
        try (Connection c = Sql.connect(app);
                Statement st = c.createStatement()) {
            st.execute("CREATE TEMP TABLE events (tenant text, stream text, cursor bigint, type text, data jsonb)");
            st.execute("CREATE TEMP TABLE streams (tenant text, stream text, head bigint)");
            st.execute("SET search_path = pg_temp, public");
            assertEquals(
                    1, scalar(c, "SELECT herald.publish_user_event('boundary', 'carol', ?, NULL)", "app.shadowed"));
            assertEquals(0, scalar(c, "SELECT count(*) FROM pg_temp.events"));
        }
        assertEquals(
                1,
                scalar(
                        server.databaseUrl(),
                        "SELECT count(*) FROM herald.events WHERE tenant = 'boundary' AND stream = 'user:carol'"));
    }

    // --- nothing else for herald_app, nothing at all for PUBLIC ---

    @Test
    void herald_app_may_read_or_write_no_table_of_schema_herald() throws Exception {
        List<String[]> relations = relations();
        assertTrue(
                relations.stream().anyMatch(r -> r[0].equals("herald.tokens")),
                "herald.tokens is among the tables checked");
        try (Connection c = Sql.connect(app)) {
            assertDenied(c, "SELECT * FROM herald.tokens");
            assertEveryRelationDenied(c, relations);
        }
    }

    @Test
    void herald_app_may_execute_the_documented_functions_and_no_other() throws Exception {
        Set<String> documented = documented();
        List<Routine> routines = routines();
        Set<String> executable = new TreeSet<>();
        try (Connection c = Sql.connect(server.databaseUrl());
                PreparedStatement ps =
                        c.prepareStatement("SELECT has_function_privilege(?, ?::regprocedure, 'EXECUTE')")) {
            for (Routine r : routines) {
                ps.setString(1, app.user());
                ps.setString(2, r.signature);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getBoolean(1)) executable.add(r.signature);
                }
            }
        }
        assertEquals(documented, executable, "exactly the documented functions are executable by herald_app");

        List<Routine> undocumented =
                routines.stream().filter(r -> !documented.contains(r.signature)).toList();
        assertTrue(
                undocumented.stream().anyMatch(r -> r.signature.equals("herald.publish(text,text,text,jsonb)")),
                "the internal herald.publish is among the functions checked: " + undocumented);
        try (Connection c = Sql.connect(app)) {
            for (Routine r : undocumented) assertDenied(c, r.call);
        }
    }

    @Test
    void public_may_do_nothing_in_schema_herald() throws Exception {
        try (Connection c = Sql.connect(nobody)) {
            for (Routine r : routines()) assertDenied(c, r.call);
            assertEveryRelationDenied(c, relations());
        }
        // ... nor is anything granted to PUBLIC in the catalog (a NULL ACL means the defaults,
        // which let PUBLIC execute a function).
        long publicGrants = scalar(server.databaseUrl(), """
                SELECT (SELECT count(*) FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                         WHERE n.nspname = 'herald' AND a.grantee = 0)
                     + (SELECT count(*) FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault(
                                  (CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
                         WHERE c.relnamespace = 'herald'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                           AND a.grantee = 0)
                     + (SELECT count(*) FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                         WHERE p.pronamespace = 'herald'::regnamespace AND a.grantee = 0)
                """);
        assertEquals(0, publicGrants, "PUBLIC has no right in schema herald");
    }

    @Test
    void a_function_created_later_is_not_executable_by_public_or_herald_app() throws Exception {
        // Default privileges of Herald's role (the one that runs the migrations).
        DatabaseUrl owner = server.databaseUrl();
        Sql.execute(owner, "CREATE FUNCTION herald.test_later() RETURNS int LANGUAGE sql AS 'SELECT 1'");
        try {
            for (DatabaseUrl who : new DatabaseUrl[] {app, nobody}) {
                try (Connection c = Sql.connect(who)) {
                    assertDenied(c, "SELECT herald.test_later()");
                }
            }
        } finally {
            Sql.execute(owner, "DROP FUNCTION herald.test_later()");
        }
    }

    @Test
    void everything_in_schema_herald_belongs_to_heralds_role() {
        DatabaseUrl db = server.databaseUrl();
        String owner = db.user();
        assertEquals(0, scalar(db, """
                        SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'herald' AND nspowner::regrole::text <> ?)
                             + (SELECT count(*) FROM pg_class WHERE relnamespace = 'herald'::regnamespace
                                                               AND relowner::regrole::text <> ?)
                             + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'herald'::regnamespace
                                                              AND proowner::regrole::text <> ?)
                             + (SELECT count(*) FROM pg_type WHERE typnamespace = 'herald'::regnamespace
                                                              AND typowner::regrole::text <> ?)
                        """, owner, owner, owner, owner));
    }

    // --- helpers ---

    record Routine(String signature, String call) {}

    /** The documented publish functions, as regprocedure prints them. */
    static Set<String> documented() throws SQLException {
        Set<String> out = new TreeSet<>();
        try (Connection c = Sql.connect(server.databaseUrl());
                PreparedStatement ps = c.prepareStatement("SELECT ?::regprocedure::text")) {
            for (String f : DatabaseBoundary.PUBLISH_FUNCTIONS) {
                ps.setString(1, f);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /**
     * Every routine in schema herald, with a call of it: NULL for every argument, each behind a
     * sub-select (a constant NULL would let the planner fold a STRICT function away without
     * calling it, or checking the right to).
     */
    static List<Routine> routines() throws SQLException {
        List<Routine> out = new ArrayList<>();
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("""
                        SELECT p.oid::regprocedure::text, p.prokind,
                               'herald.' || quote_ident(p.proname) || '(' || coalesce((
                                   SELECT string_agg('(SELECT NULL::' || format_type(t, NULL) || ')', ', ' ORDER BY i)
                                     FROM unnest(p.proargtypes) WITH ORDINALITY AS a(t, i)), '') || ')'
                          FROM pg_proc p
                         WHERE p.pronamespace = 'herald'::regnamespace
                         ORDER BY 1
                        """)) {
            while (rs.next()) {
                String call = switch (rs.getString(2)) {
                    case "p" -> "CALL " + rs.getString(3);
                    case "w" -> "SELECT " + rs.getString(3) + " OVER ()";
                    default -> "SELECT " + rs.getString(3);
                };
                out.add(new Routine(rs.getString(1), call));
            }
        }
        assertTrue(out.size() >= DatabaseBoundary.PUBLISH_FUNCTIONS.size(), "routines found: " + out);
        return out;
    }

    /** Every table, view and sequence in schema herald: {qualified name, relkind, a column}. */
    static List<String[]> relations() throws SQLException {
        List<String[]> out = new ArrayList<>();
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("""
                        SELECT 'herald.' || quote_ident(c.relname), c.relkind::text,
                               (SELECT quote_ident(a.attname) FROM pg_attribute a
                                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                 ORDER BY a.attnum LIMIT 1)
                          FROM pg_class c
                         WHERE c.relnamespace = 'herald'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                         ORDER BY 1
                        """)) {
            while (rs.next()) out.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
        }
        assertTrue(out.size() >= 8, "tables found: " + out.size());
        return out;
    }

    static void assertEveryRelationDenied(Connection c, List<String[]> relations) {
        for (String[] r : relations) {
            String name = r[0];
            if (r[1].equals("S")) {
                assertDenied(c, "SELECT nextval('" + name + "')");
                continue;
            }
            assertDenied(c, "SELECT * FROM " + name + " LIMIT 1");
            assertDenied(c, "INSERT INTO " + name + " DEFAULT VALUES");
            assertDenied(c, "UPDATE " + name + " SET " + r[2] + " = " + r[2] + " WHERE false");
            assertDenied(c, "DELETE FROM " + name + " WHERE false");
            if (!r[1].equals("v")) assertDenied(c, "TRUNCATE " + name);
        }
    }

    /** The statement fails with SQLSTATE 42501 (insufficient privilege), and nothing else. */
    static void assertDenied(Connection c, String sql) {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
            fail("allowed: " + sql);
        } catch (SQLException e) {
            assertEquals("42501", e.getSQLState(), sql + " → " + e.getMessage());
        }
        try {
            assertTrue(c.getAutoCommit(), "each denial in its own transaction");
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
    }

    static long scalar(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) ps.setObject(i + 1, args[i]);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next(), sql);
                Object v = rs.getObject(1);
                return v instanceof Number n ? n.longValue() : 0;
            }
        }
    }

    static long scalar(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = Sql.connect(url)) {
            return scalar(c, sql, args);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }
}
