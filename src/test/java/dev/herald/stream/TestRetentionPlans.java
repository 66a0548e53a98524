package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The query plans of the event log at size (EXPLAIN, as in TestInboxScale): 100,000 old chat
 * messages (never retained), 100,000 young events of every retained kind and 50 old ones. The
 * janitor's candidate query walks the partial index of retained kinds oldest first and touches
 * only the old rows — never a chat message; its deletes and every reader walk the primary key;
 * the events table has no other index.
 */
class TestRetentionPlans {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    @BeforeAll
    static void fill() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            // 100 chats x 1,000 messages, all far older than retention.
            st.execute("""
                    INSERT INTO herald.events (tenant, stream, cursor, type, data, created_at)
                    SELECT 'plan', 'chat:' || (i / 1000), i % 1000 + 1, 'message', '{"content":"old"}',
                           now() - interval '90 days' + make_interval(secs => i)
                      FROM generate_series(0, 99999) AS i
                    """);
            // Young events of every retained kind, 500 streams.
            st.execute("""
                    INSERT INTO herald.events (tenant, stream, cursor, type, data, created_at)
                    SELECT 'plan', (ARRAY['user:', 'team:', 'inbox:', 'chats:', 'config:'])[i % 5 + 1] || (i % 100),
                           i, 'x', '{}', now() - make_interval(secs => i % 3600)
                      FROM generate_series(1, 100000) AS i
                    """);
            // 50 old events of one user stream: what the janitor must find.
            st.execute("""
                    INSERT INTO herald.events (tenant, stream, cursor, type, data, created_at)
                    SELECT 'plan', 'user:old', i, 'x', '{}', now() - interval '30 days' + make_interval(secs => i)
                      FROM generate_series(1, 50) AS i
                    """);
            st.execute("INSERT INTO herald.streams (tenant, stream, head) SELECT tenant, stream, max(cursor)"
                    + " FROM herald.events GROUP BY tenant, stream");
            // Many more streams with a head (most never followed on any replica).
            st.execute("INSERT INTO herald.streams (tenant, stream, head)"
                    + " SELECT 'many', 'user:s' || i, i FROM generate_series(1, 100000) AS i");
            st.execute("ANALYZE herald.events");
            st.execute("ANALYZE herald.streams");
        }
    }

    @Test
    void the_event_log_has_only_the_primary_key_and_the_partial_index_of_retained_kinds() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            Set<String> indexes = new TreeSet<>();
            try (ResultSet rs = st.executeQuery(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = 'herald' AND tablename = 'events'")) {
                while (rs.next()) indexes.add(rs.getString(1));
            }
            assertEquals(Set.of("events_pkey", "events_retained_created_at"), indexes);
        }
    }

    @Test
    void the_janitors_candidates_walk_the_partial_index_oldest_first_and_never_touch_chat_messages() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            // As the janitor calls it (jOOQ: select * from herald.retention_candidates(?, ?)).
            String custom = plan(
                    st,
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM herald.retention_candidates(interval '7 days', 10000)");
            System.out.println("[retention-plans] retention_candidates:\n" + custom);
            assertIndexWalk(custom, "events_retained_created_at");
            assertBoundedWork(custom, 200);
            st.execute("PREPARE candidates AS SELECT * FROM herald.retention_candidates($1, $2)");
            st.execute("SET plan_cache_mode = force_generic_plan");
            String generic = plan(st, "EXPLAIN (COSTS OFF) EXECUTE candidates(interval '7 days', 10000)");
            st.execute("RESET plan_cache_mode");
            assertIndexWalk(generic, "events_retained_created_at");
            // And it finds exactly the old user stream.
            try (ResultSet rs =
                    st.executeQuery("SELECT * FROM herald.retention_candidates(interval '7 days', 10000)")) {
                assertTrue(rs.next());
                assertEquals("user:old", rs.getString("stream"));
                assertEquals(50, rs.getLong("through"));
                assertFalse(rs.next());
            }
        }
    }

    @Test
    void the_janitors_delete_and_every_reader_walk_the_primary_key() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            // The DELETE inside herald.prune_stream, taken from the function itself.
            String def = plan(st, "SELECT pg_get_functiondef('herald.prune_stream'::regproc)");
            Matcher m = Pattern.compile("DELETE FROM herald\\.events e\\s+WHERE [^;]+;")
                    .matcher(def);
            assertTrue(m.find(), def);
            String delete = m.group()
                    .replace(";", "")
                    .replaceAll("\\bp_tenant\\b", "\\$1")
                    .replaceAll("\\bp_stream\\b", "\\$2")
                    .replaceAll("\\bpt\\b", "\\$3")
                    .replaceAll("\\bupto\\b", "\\$4");
            st.execute("PREPARE prune_delete(text, text, bigint, bigint) AS " + delete);
            assertPrimaryKey(st, "EXECUTE prune_delete('plan', 'user:old', 0, 10)");

            // EventStore.after: a topic's fetch and a lagging subscriber's read.
            st.execute("PREPARE after_cursor(text, text, bigint, int) AS SELECT cursor, type, data, created_at"
                    + " FROM herald.events WHERE tenant = $1 AND stream = $2 AND cursor > $3 ORDER BY cursor LIMIT $4");
            assertPrimaryKey(st, "EXECUTE after_cursor('plan', 'inbox:7', 100, 500)");
            // A chat's history (ChatRepository.messages).
            st.execute("PREPARE history(text, text, bigint, int) AS SELECT cursor, type, data, created_at"
                    + " FROM herald.events WHERE tenant = $1 AND stream = $2 AND type = 'message' AND cursor > $3"
                    + " ORDER BY cursor LIMIT $4");
            assertPrimaryKey(st, "EXECUTE history('plan', 'chat:7', 0, 100)");
        }
    }

    @Test
    void a_resync_reads_a_thousand_heads_through_the_primary_key() throws Exception {
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            String sql = EventStore.HEADS.replaceFirst("\\?", "\\$1").replaceFirst("\\?", "\\$2");
            st.execute("PREPARE heads(text[], text[]) AS " + sql);
            StringBuilder tenants = new StringBuilder("ARRAY[");
            StringBuilder streams = new StringBuilder("ARRAY[");
            for (int i = 1; i <= Hub.HEADS_CHUNK; i++) {
                tenants.append(i > 1 ? "," : "").append("'many'");
                streams.append(i > 1 ? "," : "")
                        .append("'user:s")
                        .append(i * 97)
                        .append("'");
            }
            String execute = "EXECUTE heads(" + tenants + "], " + streams + "])";
            String custom = plan(st, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + execute);
            st.execute("SET plan_cache_mode = force_generic_plan");
            String generic = plan(st, "EXPLAIN (COSTS OFF) " + execute);
            st.execute("RESET plan_cache_mode");
            System.out.println("[retention-plans] resync heads of 1,000 streams:\n" + custom);
            for (String p : List.of(custom, generic)) {
                assertFalse(p.contains("Seq Scan on streams"), p);
                assertTrue(p.contains("using streams_pkey"), p);
            }
            assertBoundedWork(custom, 1_000);
        }
    }

    /** Custom and generic plan of a prepared statement: the primary key, no scan, no sort. */
    static void assertPrimaryKey(Statement st, String execute) throws Exception {
        String custom = plan(st, "EXPLAIN (COSTS OFF) " + execute);
        st.execute("SET plan_cache_mode = force_generic_plan");
        String generic = plan(st, "EXPLAIN (COSTS OFF) " + execute);
        st.execute("RESET plan_cache_mode");
        for (String p : List.of(custom, generic)) assertIndexWalk(p, "events_pkey");
    }

    private static final Pattern SORT_NODE = Pattern.compile("(?m)^\\s*(->\\s*)?(Incremental )?Sort\\b");

    static void assertIndexWalk(String plan, String index) {
        assertFalse(plan.contains("Seq Scan"), plan);
        assertFalse(plan.contains("Bitmap Heap Scan"), plan);
        assertFalse(SORT_NODE.matcher(plan).find(), "the index order is the answer's order\n" + plan);
        assertTrue(plan.contains("Index Scan using " + index) || plan.contains("Index Only Scan using " + index), plan);
    }

    private static final Pattern ACTUAL = Pattern.compile("actual rows=(\\d+(?:\\.\\d+)?) loops=(\\d+)");

    static void assertBoundedWork(String plan, long max) {
        Matcher m = ACTUAL.matcher(plan);
        while (m.find()) {
            double rows = Double.parseDouble(m.group(1)) * Long.parseLong(m.group(2));
            assertTrue(rows <= max, "a node handled " + rows + " rows\n" + plan);
        }
    }

    static String plan(Statement st, String sql) throws Exception {
        List<String> lines = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) lines.add(rs.getString(1));
        }
        return String.join("\n", lines);
    }
}
