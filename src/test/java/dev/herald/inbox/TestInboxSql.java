package dev.herald.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * herald.notify_inbox() and friends, called from an application's own transaction: the
 * notification and its event exist for everyone if and only if that transaction commits.
 */
class TestInboxSql {
    static final Duration WAIT = Duration.ofSeconds(10);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    /** A connection for an application's own transactions (autocommit off). */
    static Connection connect() throws SQLException {
        Connection c = Sql.connect(server.databaseUrl());
        c.setAutoCommit(false);
        return c;
    }

    static UUID notify(
            Connection c,
            String tenant,
            String user,
            String title,
            String content,
            String icon,
            String[] targets,
            String actionsJson)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT herald.notify_inbox(?, ?, ?, ?, ?, ?, ?::jsonb)")) {
            ps.setString(1, tenant);
            ps.setString(2, user);
            ps.setString(3, title);
            ps.setString(4, content);
            ps.setString(5, icon);
            ps.setArray(6, targets == null ? null : c.createArrayOf("text", targets));
            ps.setString(7, actionsJson);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getObject(1, UUID.class);
            }
        }
    }

    @Test
    void a_notification_from_an_app_transaction_appears_only_when_it_commits(Api api) throws Exception {
        String token = api.userToken("acme", "sql-commit");
        try (SseClient tab = api.sse("/api/v1/inbox/watch", token);
                Connection c = connect()) {
            UUID id = notify(
                    c,
                    "acme",
                    "sql-commit",
                    "From SQL",
                    "body",
                    "bell",
                    new String[] {"billing", "billing", "eu"},
                    "[{\"label\":\"Pay\",\"url\":\"https://pay.example.com/i/1\",\"extra\":true}]");
            assertTrue(
                    api.get("/api/v1/inbox", token).json().get("notifications").isEmpty(), "invisible before commit");
            assertEquals(
                    0,
                    api.get("/api/v1/inbox", token).json().get("unread_count").asInt());
            assertEquals(List.of(), tab.drain(Duration.ofMillis(300)), "no event before commit");
            c.commit();

            SseClient.Event e = tab.next(WAIT);
            assertEquals("notification", e.event());
            assertEquals(1L, e.id());
            JsonNode n = e.json().get("notification");
            assertEquals(id.toString(), n.get("id").asText());
            assertEquals(1, n.get("cursor").asInt());
            assertEquals("[\"billing\",\"eu\"]", n.get("targets").toString());
            assertEquals(
                    "[{\"label\":\"Pay\",\"url\":\"https://pay.example.com/i/1\"}]",
                    n.get("actions").toString());
            assertEquals(1, e.json().get("unread_count").asInt());
            JsonNode listed = api.get("/api/v1/inbox", token).json();
            assertEquals(n, listed.get("notifications").get(0), "SQL-made notifications look like HTTP-made ones");
            assertEquals(
                    List.of("From SQL"),
                    TestInbox.titles(
                            api.get("/api/v1/inbox?targets=eu,billing", token).json()));

            // Defaults: only tenant, user and title.
            UUID minimal = (UUID) Sql.value(c, "SELECT herald.notify_inbox('acme', 'sql-commit', 'Minimal')");
            c.commit();
            JsonNode m = tab.next(WAIT).json().get("notification");
            assertEquals(minimal.toString(), m.get("id").asText());
            assertTrue(m.get("content").isNull());
            assertEquals(0, m.get("targets").size());
            assertEquals(0, m.get("actions").size());
        }
    }

    @Test
    void a_rolled_back_notification_leaves_no_row_no_event_and_no_cursor_gap(Api api) throws Exception {
        String token = api.userToken("acme", "sql-rollback");
        try (SseClient tab = api.sse("/api/v1/inbox/watch", token);
                Connection c = connect()) {
            notify(c, "acme", "sql-rollback", "Never", null, null, null, null);
            c.rollback();
            assertEquals(List.of(), tab.drain(Duration.ofMillis(300)));
            JsonNode list = api.get("/api/v1/inbox", token).json();
            assertTrue(list.get("notifications").isEmpty());
            assertEquals(0, list.get("unread_count").asInt(), "the counter rolled back too");

            UUID kept = notify(c, "acme", "sql-rollback", "Kept", null, null, null, null);
            c.commit();
            SseClient.Event e = tab.next(WAIT);
            assertEquals(1L, e.id(), "the rolled-back cursor is reused: cursors stay dense");
            assertEquals(kept.toString(), e.json().get("notification").get("id").asText());
            assertEquals(1, e.json().get("unread_count").asInt());

            // Read state from SQL, in the app's transaction, too.
            assertEquals(true, Sql.value(c, "SELECT herald.inbox_mark('acme', 'sql-rollback', ?, true)", kept));
            c.rollback();
            assertEquals(List.of(), tab.drain(Duration.ofMillis(300)));
            assertTrue(api.get("/api/v1/inbox", token)
                    .json()
                    .get("notifications")
                    .get(0)
                    .get("read_at")
                    .isNull());
            assertEquals(true, Sql.value(c, "SELECT herald.inbox_mark('acme', 'sql-rollback', ?, true)", kept));
            assertEquals(
                    false,
                    Sql.value(c, "SELECT herald.inbox_mark('acme', 'sql-rollback', ?, true)", kept),
                    "already read");
            assertNull(Sql.value(c, "SELECT herald.inbox_mark('acme', 'sql-rollback', ?, true)", UUID.randomUUID()));
            assertNull(Sql.value(c, "SELECT herald.inbox_mark('acme', 'sql-other', ?, true)", kept), "not that user's");
            assertNull(
                    Sql.value(c, "SELECT herald.inbox_mark('globex', 'sql-rollback', ?, true)", kept),
                    "not that tenant's");
            c.commit();
            SseClient.Event read = tab.next(WAIT);
            assertEquals(2L, read.id());
            assertEquals(0, read.json().get("unread_count").asInt());
            assertEquals(0, Sql.scalar(c, "SELECT herald.inbox_mark_all_read('acme', 'sql-rollback')"));
            notify(c, "acme", "sql-rollback", "Another", null, null, null, null);
            assertEquals(1, Sql.scalar(c, "SELECT herald.inbox_mark_all_read('acme', 'sql-rollback')"));
            c.commit();
            List<SseClient.Event> two = tab.take(2, WAIT);
            assertEquals(List.of(3L, 4L), two.stream().map(SseClient.Event::id).toList());
            assertEquals(
                    List.of(1, 0),
                    two.stream().map(x -> x.json().get("unread_count").asInt()).toList());
            assertEquals(List.of(), tab.drain(Duration.ofMillis(200)));
        }
    }

    @Test
    void invalid_arguments_raise_clear_errors_with_sqlstate_22023() throws Exception {
        List<Map.Entry<String, Object[]>> cases = new java.util.ArrayList<>();
        String ok = "[]";
        cases.add(Map.entry("invalid tenant", new Object[] {null, "u", "t", null, null, null, ok}));
        cases.add(Map.entry("invalid tenant", new Object[] {"bad tenant", "u", "t", null, null, null, ok}));
        cases.add(Map.entry("invalid user", new Object[] {"acme", "", "t", null, null, null, ok}));
        cases.add(Map.entry("title is required", new Object[] {"acme", "u", null, null, null, null, ok}));
        cases.add(Map.entry("title is required", new Object[] {"acme", "u", " \n", null, null, null, ok}));
        cases.add(Map.entry("title is required", new Object[] {"acme", "u", "x".repeat(257), null, null, null, ok}));
        cases.add(Map.entry(
                "content must be at most 8192 bytes",
                new Object[] {"acme", "u", "t", "é".repeat(4097), null, null, ok}));
        cases.add(Map.entry(
                "icon must be at most 2048", new Object[] {"acme", "u", "t", null, "i".repeat(2049), null, ok}));
        cases.add(Map.entry("each target", new Object[] {"acme", "u", "t", null, null, new String[] {"a,b"}, ok}));
        cases.add(Map.entry("each target", new Object[] {"acme", "u", "t", null, null, new String[] {""}, ok}));
        cases.add(Map.entry("each target", new Object[] {"acme", "u", "t", null, null, new String[] {"ok", null}, ok}));
        String[] many = new String[33];
        for (int i = 0; i < many.length; i++) many[i] = "t" + i;
        cases.add(Map.entry("at most 32 targets", new Object[] {"acme", "u", "t", null, null, many, ok}));
        cases.add(Map.entry(
                "actions must be a JSON array",
                new Object[] {"acme", "u", "t", null, null, null, "{\"label\":\"a\",\"url\":\"/a\"}"}));
        cases.add(Map.entry(
                "each action must be an object",
                new Object[] {"acme", "u", "t", null, null, null, "[{\"label\":\"a\"}]"}));
        cases.add(Map.entry(
                "each action must be an object",
                new Object[] {"acme", "u", "t", null, null, null, "[{\"label\":1,\"url\":\"/a\"}]"}));
        cases.add(Map.entry(
                "an action label",
                new Object[] {"acme", "u", "t", null, null, null, "[{\"label\":\"\",\"url\":\"/a\"}]"}));
        cases.add(Map.entry("an action url", new Object[] {
            "acme", "u", "t", null, null, null, "[{\"label\":\"a\",\"url\":\"javascript:alert(1)\"}]"
        }));
        cases.add(Map.entry(
                "an action url",
                new Object[] {"acme", "u", "t", null, null, null, "[{\"label\":\"a\",\"url\":\"data:text/html,x\"}]"}));
        cases.add(Map.entry("an action url", new Object[] {
            "acme", "u", "t", null, null, null, "[{\"label\":\"a\",\"url\":\"java\\nscript:alert(1)\"}]"
        }));
        cases.add(Map.entry(
                "an action url",
                new Object[] {"acme", "u", "t", null, null, null, "[{\"label\":\"a\",\"url\":\"\\\\\\\\evil\"}]"}));
        StringBuilder eleven = new StringBuilder("[");
        for (int i = 0; i < 11; i++) eleven.append(i == 0 ? "" : ",").append("{\"label\":\"a\",\"url\":\"/a\"}");
        cases.add(Map.entry("at most 10 actions", new Object[] {
            "acme", "u", "t", null, null, null, eleven.append("]").toString()
        }));
        try (Connection c = connect()) {
            c.setAutoCommit(true);
            for (var e : cases) {
                Object[] a = e.getValue();
                SQLException ex = assertThrows(
                        SQLException.class,
                        () -> notify(
                                c,
                                (String) a[0],
                                (String) a[1],
                                (String) a[2],
                                (String) a[3],
                                (String) a[4],
                                (String[]) a[5],
                                (String) a[6]),
                        e.getKey());
                assertEquals("22023", ex.getSQLState(), e.getKey() + ": " + ex.getMessage());
                assertTrue(ex.getMessage().contains("herald: " + e.getKey()), e.getKey() + " -> " + ex.getMessage());
            }
            SQLException twoDim = assertThrows(
                    SQLException.class,
                    () -> Sql.value(c, "SELECT herald.notify_inbox('acme', 'u', 't', NULL, NULL, ARRAY[['a'],['b']])"));
            assertTrue(twoDim.getMessage().contains("one-dimensional"), twoDim.getMessage());
            SQLException nullRead = assertThrows(
                    SQLException.class,
                    () -> Sql.value(c, "SELECT herald.inbox_mark('acme', 'u', gen_random_uuid(), NULL)"));
            assertEquals("22023", nullRead.getSQLState());
            assertEquals(0L, Sql.scalar(c, "SELECT count(*) FROM herald.inbox_notifications WHERE user_id = 'u'"));
            assertFalse(Sql.scalar(c, "SELECT count(*) FROM herald.events WHERE stream = 'inbox:u'") > 0);
            // The same limits, inclusive, are accepted.
            UUID id = notify(
                    c,
                    "acme",
                    "u",
                    "x".repeat(256),
                    "é".repeat(4096),
                    "i".repeat(2048),
                    java.util.Arrays.copyOf(many, 32),
                    "[{\"label\":\"a\",\"url\":\"/a\"},{\"label\":\"b\",\"url\":\"HTTPS://x.example\"},{\"label\":\"c\",\"url\":\"?q\"}]");
            assertEquals(
                    1L,
                    Sql.scalar(
                            c,
                            "SELECT count(*) FROM herald.inbox_targets t JOIN herald.inbox_notifications n USING (tenant, user_id, cursor) WHERE n.id = ? AND t.target = 't31'",
                            id));
        }
    }

    @Test
    void the_http_and_the_sql_url_rules_agree() throws Exception {
        List<String> urls = List.of(
                "https://example.com",
                "http://x",
                "HTTPS://X.EXAMPLE/a",
                "/a/b",
                "a/b",
                "../a",
                "?q",
                "#f",
                "1abc:x",
                "//cdn.example.com/x",
                "//evil.example/x",
                "///x",
                "/./x",
                "javascript:alert(1)",
                "JAVASCRIPT:x",
                "data:x",
                "vbscript:x",
                "file:///x",
                "ftp://x",
                "mailto:a@b",
                "http:/x",
                "https:x",
                "http://",
                "https://?x",
                "java\nscript:x",
                "java\tscript:x",
                " /a",
                "/a ",
                "/a\u007fb",
                "\\\\x",
                "/\\x",
                "",
                "/" + "a".repeat(2047),
                "/" + "a".repeat(2048),
                "/é",
                "https://例え.jp/パス",
                "/" + "é".repeat(2047),
                "/" + "é".repeat(2048));
        try (Connection c = connect()) {
            for (String u : urls) {
                Object sql = Sql.value(c, "SELECT herald.inbox_url_ok(?)", u);
                assertEquals(NotificationInput.urlAllowed(u), sql, "url " + u.replace("\n", "\\n"));
            }
        }
    }

    @Test
    void a_scheme_relative_action_url_is_refused_in_sql_and_java_alike() throws Exception {
        assertFalse(NotificationInput.urlAllowed("//evil.example/x"));
        try (Connection c = connect()) {
            assertEquals(false, Sql.value(c, "SELECT herald.inbox_url_ok('//evil.example/x')"));
            assertEquals(true, Sql.value(c, "SELECT herald.inbox_url_ok('/x')"));
            SQLException ex = assertThrows(
                    SQLException.class,
                    () -> Sql.value(
                            c,
                            "SELECT herald.notify_inbox('acme', 'u', 't', NULL, NULL, NULL, ?::jsonb)",
                            "[{\"label\":\"go\",\"url\":\"//evil.example/x\"}]"));
            assertEquals("22023", ex.getSQLState(), ex.getMessage());
            c.rollback();
        }
    }
}
