package dev.herald.inbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.jooq.DSLContext;
import org.jooq.Param;
import org.jooq.ResultQuery;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One user with 100,000 notifications (inserted with generate_series, not through HTTP):
 * every list variant is planned as a backward index walk that stops after `limit` rows — no
 * sequential scan, no sort — both as a custom and as a generic (prepared) plan, and the list
 * latency over HTTP is measured and printed. Writes run last (they change the fixture).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestInboxScale {
    static final int ROWS = 100_000;

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static String token;
    static String midId;

    @BeforeAll
    static void insertNotifications(Api api) throws Exception {
        token = api.userToken("acme", "big");
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            long t0 = System.nanoTime();
            // Half read (cursor % 4 < 2); targets, independently: ci on 10%, rare on 0.1% (all also ci), deploy on a
            // third.
            st.execute("""
                    INSERT INTO herald.inbox_notifications (id, tenant, user_id, cursor, title, content, targets, actions, read_at, created_at)
                    SELECT gen_random_uuid(), 'acme', 'big', i, 'Notification ' || i, 'Body of notification number ' || i,
                           array_remove(ARRAY[CASE WHEN i % 10 = 0 THEN 'ci' END,
                                              CASE WHEN i % 1000 = 0 THEN 'rare' END,
                                              CASE WHEN i % 3 = 0 THEN 'deploy' END], NULL),
                           '[{"label":"Open","url":"/n"}]'::jsonb,
                           CASE WHEN i % 4 < 2 THEN now() END,
                           now() - make_interval(secs => :rows - i)
                      FROM generate_series(1, :rows) AS i
                    """.replace(":rows", Integer.toString(ROWS)));
            // Other users of the tenant, so the indexes are not one user's alone.
            st.execute("""
                    INSERT INTO herald.inbox_notifications (id, tenant, user_id, cursor, title, targets, created_at)
                    SELECT gen_random_uuid(), 'acme', 'user' || (i % 100), i, 'Other ' || i, '{ci}', now()
                      FROM generate_series(1, 20000) AS i
                    """);
            st.execute("INSERT INTO herald.inbox_targets (tenant, user_id, target, cursor) "
                    + "SELECT tenant, user_id, unnest(targets), cursor FROM herald.inbox_notifications");
            st.execute("INSERT INTO herald.inbox_counters (tenant, user_id, unread) VALUES ('acme', 'big', " + ROWS / 2
                    + ")");
            st.execute("INSERT INTO herald.streams (tenant, stream, head) VALUES ('acme', 'inbox:big', " + ROWS + ")");
            st.execute("ANALYZE herald.inbox_notifications");
            st.execute("ANALYZE herald.inbox_targets");
            st.execute("ANALYZE herald.inbox_counters");
            ResultSet rs = st.executeQuery(
                    "SELECT id FROM herald.inbox_notifications WHERE tenant = 'acme' AND user_id = 'big' AND cursor = "
                            + ROWS / 2);
            rs.next();
            midId = rs.getString(1);
            System.out.printf(
                    "[inbox-scale] inserted %,d notifications (+20,000 of other users) in %d ms%n",
                    ROWS, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    static InboxRepository.Query q(InboxRepository.ReadStatus s, List<String> targets, Long before, int limit) {
        return new InboxRepository.Query("acme", "big", s, targets, before, limit);
    }

    /** The list variants: HTTP query string → the repository query it runs. */
    static Map<String, InboxRepository.Query> variants() {
        var all = InboxRepository.ReadStatus.ALL;
        var unread = InboxRepository.ReadStatus.UNREAD;
        var read = InboxRepository.ReadStatus.READ;
        Map<String, InboxRepository.Query> m = new LinkedHashMap<>();
        m.put("", q(all, List.of(), null, 25));
        m.put("?limit=100", q(all, List.of(), null, 100));
        m.put("?read_status=unread", q(unread, List.of(), null, 25));
        m.put("?read_status=read", q(read, List.of(), null, 25));
        m.put("?starting_before=MID", q(all, List.of(), (long) ROWS / 2, 25));
        m.put("?read_status=unread&starting_before=MID", q(unread, List.of(), (long) ROWS / 2, 25));
        m.put("?targets=ci", q(all, List.of("ci"), null, 25));
        m.put("?targets=rare", q(all, List.of("rare"), null, 25));
        m.put("?targets=ci,rare", q(all, List.of("ci", "rare"), null, 25));
        m.put("?targets=rare,ci", q(all, List.of("rare", "ci"), null, 25));
        m.put("?targets=ci,rare&read_status=read", q(read, List.of("ci", "rare"), null, 25));
        m.put("?targets=deploy&read_status=unread", q(unread, List.of("deploy"), null, 25));
        m.put("?targets=ci&starting_before=MID", q(all, List.of("ci"), (long) ROWS / 2, 25));
        m.put("?targets=deploy,ci&starting_before=MID", q(all, List.of("deploy", "ci"), (long) ROWS / 2, 25));
        m.put("?targets=ci&read_status=unread&starting_before=MID", q(unread, List.of("ci"), (long) ROWS / 2, 25));
        return m;
    }

    private static final Pattern SORT_NODE = Pattern.compile("(?m)^\\s*(->\\s*)?(Incremental )?Sort\\b");

    static void assertIndexWalk(String what, String plan) {
        assertFalse(plan.contains("Seq Scan on inbox_notifications"), what + "\n" + plan);
        assertFalse(plan.contains("Seq Scan on inbox_targets"), what + "\n" + plan);
        assertFalse(plan.contains("Bitmap Heap Scan"), what + "\n" + plan);
        assertFalse(
                SORT_NODE.matcher(plan).find(),
                "no sort: the index order is the answer's order. " + what + "\n" + plan);
        assertTrue(
                plan.contains("Index Scan Backward using inbox_")
                        || plan.contains("Index Only Scan Backward using inbox_"),
                what + "\n" + plan);
    }

    private static final Pattern ACTUAL = Pattern.compile("actual rows=(\\d+) loops=(\\d+)");

    /** No plan node handles more than a few pages' worth of rows (limit ≤ 100, 'rare' = 100 rows). */
    static void assertBoundedWork(String what, String plan) {
        java.util.regex.Matcher m = ACTUAL.matcher(plan);
        while (m.find()) {
            long rows = Long.parseLong(m.group(1)) * Long.parseLong(m.group(2));
            assertTrue(rows <= 2_000, "a node handled " + rows + " rows: " + what + "\n" + plan);
        }
    }

    @Test
    @Order(1)
    void every_list_variant_walks_an_index_backwards_without_seq_scan_or_sort() throws Exception {
        DSLContext inline = DSL.using(SQLDialect.POSTGRES);
        DSLContext numbered = DSL.using(SQLDialect.POSTGRES, new Settings().withRenderNamedParamPrefix("$"));
        try (Connection c = Sql.connect(server.databaseUrl());
                Statement st = c.createStatement()) {
            int n = 0;
            List<String> timings = new ArrayList<>();
            for (var v : variants().entrySet()) {
                ResultQuery<?> query = InboxRepository.listQuery(inline, v.getValue());
                // The plan for these values, executed, with the rows it really read.
                String custom =
                        plan(st, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + inline.renderInlined(query));
                java.util.regex.Matcher exec =
                        Pattern.compile("Execution Time: ([0-9.]+) ms").matcher(custom);
                timings.add(String.format(
                        "  %-48s %s ms",
                        v.getKey().isEmpty() ? "(all)" : v.getKey(), exec.find() ? exec.group(1) : "?"));
                assertIndexWalk("custom plan of " + v.getKey(), custom);
                assertBoundedWork("custom plan of " + v.getKey(), custom);
                // The generic plan a prepared statement may switch to after five executions.
                String name = "inbox_list_" + n++;
                ResultQuery<?> bound = InboxRepository.listQuery(numbered, v.getValue());
                st.execute("PREPARE " + name + " AS " + numbered.renderNamedParams(bound));
                List<String> args = new ArrayList<>();
                for (Param<?> p : numbered.extractParams(bound).values()) args.add(inline.renderInlined(p));
                st.execute("SET plan_cache_mode = force_generic_plan");
                String generic = plan(st, "EXPLAIN (COSTS OFF) EXECUTE " + name + "(" + String.join(", ", args) + ")");
                st.execute("RESET plan_cache_mode");
                assertIndexWalk("generic plan of " + v.getKey(), generic);
                if (v.getKey().isEmpty() || v.getKey().startsWith("?targets=ci")) {
                    System.out.println("[inbox-scale] plan for GET /api/v1/inbox" + v.getKey() + ":\n" + custom);
                }
            }
            System.out.println("[inbox-scale] database execution time of each list query (EXPLAIN ANALYZE, one run):\n"
                    + String.join("\n", timings));
        }
    }

    static String plan(Statement st, String sql) throws Exception {
        List<String> lines = new ArrayList<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) lines.add(rs.getString(1));
        }
        return String.join("\n", lines);
    }

    @Test
    @Order(2)
    void list_latency_at_100k_notifications(Api api) {
        List<String> report = new ArrayList<>();
        // The headline: the default first page (limit 25, read_status=all), 151 requests.
        long[] headline = measure(api, "", 40, 151);
        report.add(line("", headline));
        for (String variant : variants().keySet()) {
            if (!variant.isEmpty()) report.add(line(variant, measure(api, variant, 3, 15)));
        }
        System.out.println("[inbox-scale] list latency over HTTP (loopback, client-measured), one user with " + ROWS
                + " notifications:\n" + String.join("\n", report));
        // Generous: the plans above are what keeps it fast; this only catches a disaster.
        assertTrue(headline[headline.length / 2] < 250_000, "p50 " + headline[headline.length / 2] + " µs");

        // Spot checks of the answers at this size.
        JsonNode first = api.get("/api/v1/inbox?limit=3", token).json();
        assertEquals(List.of(ROWS, ROWS - 1, ROWS - 2), cursors(first));
        JsonNode rare = api.get("/api/v1/inbox?targets=ci,rare&limit=3&starting_before=" + midId, token)
                .json();
        assertEquals(List.of(49_000, 48_000, 47_000), cursors(rare));
        JsonNode unread =
                api.get("/api/v1/inbox?read_status=unread&limit=2", token).json();
        assertEquals(List.of(ROWS - 1, ROWS - 2), cursors(unread));
    }

    /** Sorted latencies in microseconds of {@code runs} requests after {@code warmup}. */
    static long[] measure(Api api, String variant, int warmup, int runs) {
        String query = variant.replace("MID", midId);
        long[] micros = new long[runs];
        JsonNode last = null;
        for (int i = 0; i < warmup + runs; i++) {
            long t0 = System.nanoTime();
            Api.Response r = api.get("/api/v1/inbox" + query, token);
            long took = (System.nanoTime() - t0) / 1_000;
            assertEquals(200, r.status(), variant + " -> " + r);
            if (i >= warmup) micros[i - warmup] = took;
            last = r.json();
        }
        assertEquals(ROWS / 2, last.get("unread_count").asInt());
        assertFalse(last.get("notifications").isEmpty(), variant);
        Arrays.sort(micros);
        return micros;
    }

    static String line(String variant, long[] sorted) {
        long p50 = sorted[sorted.length / 2];
        long p90 = sorted[(int) Math.ceil(sorted.length * 0.9) - 1];
        return String.format(
                "  GET /api/v1/inbox%-42s n=%3d  p50 %6.2f ms  p90 %6.2f ms",
                variant.replace("MID", "<id@50000>"), sorted.length, p50 / 1000.0, p90 / 1000.0);
    }

    static List<Integer> cursors(JsonNode page) {
        List<Integer> out = new ArrayList<>();
        for (JsonNode n : page.get("notifications")) out.add(n.get("cursor").asInt());
        return out;
    }

    @Test
    @Order(3)
    void writes_at_100k_stay_consistent(Api api) {
        long[] creates = new long[21];
        JsonNode created = null;
        for (int i = 0; i < creates.length; i++) {
            long t0 = System.nanoTime();
            Api.Response r = api.post(
                    "/api/v1/users/big/inbox", token, Map.of("title", "the newest " + i, "targets", List.of("ci")));
            creates[i] = (System.nanoTime() - t0) / 1_000;
            assertEquals(201, r.status(), r.toString());
            created = r.json();
        }
        Arrays.sort(creates);
        assertEquals(
                ROWS + creates.length, created.get("cursor").asLong(), "cursors continue after the fixture's head");
        assertEquals(
                ROWS / 2 + creates.length,
                api.get("/api/v1/inbox", token).json().get("unread_count").asInt());
        long createMicros = creates[creates.length / 2];
        long t0 = System.nanoTime();
        assertEquals(204, api.put("/api/v1/inbox/mark-all-read", token, null).status());
        long markAllMillis = (System.nanoTime() - t0) / 1_000_000;
        JsonNode after = api.get("/api/v1/inbox?read_status=unread", token).json();
        assertEquals(0, after.get("unread_count").asInt());
        assertTrue(after.get("notifications").isEmpty());
        System.out.printf(
                "[inbox-scale] create at 100k: p50 %.2f ms (21 requests); mark-all-read of %,d unread: %d ms%n",
                createMicros / 1000.0, ROWS / 2 + creates.length, markAllMillis);
    }
}
