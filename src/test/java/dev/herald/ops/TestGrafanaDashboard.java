package dev.herald.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/ops/grafana-dashboard.json asks only for metrics Herald exports: every metric name in its
 * PromQL (panel targets and template variables) is a sample name in a real replica's /metrics —
 * scraped after one subscribe, publish and delivery, so lazily created meters exist. Sample
 * names carry Prometheus' suffixes (`_total`, `_bucket`, `_sum`, `_count`), so they are compared
 * as written. It also checks what makes the file importable anywhere: a Prometheus datasource
 * variable that every panel and query uses.
 */
class TestGrafanaDashboard {
    private static final Path DASHBOARD =
            Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve("docs/ops/grafana-dashboard.json");

    /** What the dashboard must show (docs/ops/README.md). */
    private static final Set<String> REQUIRED = Set.of(
            "herald_sse_connections",
            "herald_events_published_total",
            "herald_events_delivered_total",
            "herald_commit_to_send_seconds_bucket",
            "herald_listener_reconnects_total",
            "herald_listener_connected",
            "herald_slow_clients_dropped_total",
            "hikaricp_connections_active",
            "hikaricp_connections_idle",
            "hikaricp_connections_pending",
            "herald_notify_queue_usage",
            "herald_replay_refused_total",
            "herald_retention_deleted_events_total");

    /** PromQL words that look like names but are not metrics. */
    private static final Set<String> KEYWORDS =
            Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan");

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    @Test
    void every_metric_the_dashboard_queries_is_exported(Api api) throws Exception {
        JsonNode dashboard = Api.JSON.readTree(Files.readString(DASHBOARD));
        List<String> queries = queries(dashboard);
        assertFalse(queries.isEmpty());
        Set<String> used = new TreeSet<>();
        for (String q : queries) used.addAll(metricNames(q));
        assertTrue(used.containsAll(REQUIRED), "the dashboard lacks " + missing(REQUIRED, used));

        // One subscription, one publish, one delivery: every meter has a sample.
        String write = api.mint("grafana", null, "events:write");
        String read = api.mint("grafana", "gil", "events:read");
        try (SseClient sse = api.sse("/api/v1/events", read)) {
            assertEquals(200, sse.status);
            Api.Response published =
                    api.post("/api/v1/users/gil/events", write, Map.of("type", "dash.tick", "data", Map.of()));
            assertEquals(201, published.status(), published.toString());
            assertNotNull(sse.next(Duration.ofSeconds(10)), "the event was not delivered");
            Api.Response metrics = api.get("/metrics", null);
            assertEquals(200, metrics.status());
            Set<String> exported = new HashSet<>();
            for (String line : metrics.body().split("\n")) {
                if (line.isEmpty() || line.startsWith("#")) continue;
                Matcher m = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)").matcher(line);
                if (m.find()) exported.add(m.group(1));
            }
            assertEquals(Set.of(), missing(used, exported), "queried by the dashboard but not in /metrics");
            System.out.println("[dashboard] " + used.size() + " metrics queried, all exported: " + used);
        }
    }

    @Test
    void the_dashboard_is_importable_with_any_prometheus_datasource() throws Exception {
        JsonNode d = Api.JSON.readTree(Files.readString(DASHBOARD));
        assertTrue(d.path("title").isTextual() && d.path("uid").isTextual(), "title and uid");
        assertTrue(d.path("schemaVersion").isInt());
        assertTrue(d.path("id").isNull(), "id null: Grafana assigns one on import");
        JsonNode variable = null;
        for (JsonNode v : d.path("templating").path("list")) {
            if (v.path("name").asText().equals("datasource")) variable = v;
        }
        assertNotNull(variable, "a datasource variable");
        assertEquals("datasource", variable.path("type").asText());
        assertEquals("prometheus", variable.path("query").asText());

        Set<Integer> ids = new HashSet<>();
        List<JsonNode> panels = new ArrayList<>();
        for (JsonNode p : d.path("panels")) {
            panels.add(p);
            p.path("panels").forEach(panels::add); // collapsed rows hold their panels
        }
        for (JsonNode p : panels) {
            assertTrue(ids.add(p.path("id").asInt()), "panel ids are unique: " + p.path("id"));
            for (String key : List.of("x", "y", "w", "h")) {
                assertTrue(p.path("gridPos").path(key).isInt(), p.path("title") + " gridPos." + key);
            }
            if (p.path("type").asText().equals("row")) continue;
            assertDatasource(p.path("datasource"), p.path("title").asText());
            assertTrue(p.path("targets").size() > 0, p.path("title") + " has no query");
            for (JsonNode t : p.path("targets")) {
                assertDatasource(t.path("datasource"), p.path("title").asText());
                String expr = t.path("expr").asText();
                if (expr.contains("histogram_quantile(")) {
                    assertTrue(
                            expr.contains("_bucket") && expr.contains("by (le)"),
                            "a quantile from the buckets, summed by le: " + expr);
                }
            }
        }
        for (JsonNode v : d.path("templating").path("list")) {
            if (v.path("type").asText().equals("query"))
                assertDatasource(v.path("datasource"), v.path("name").asText());
        }
    }

    private static void assertDatasource(JsonNode ds, String where) {
        assertEquals("prometheus", ds.path("type").asText(), where);
        assertEquals("${datasource}", ds.path("uid").asText(), where);
    }

    /** Every PromQL text in the dashboard: panel targets (rows included) and variable queries. */
    static List<String> queries(JsonNode dashboard) {
        List<String> out = new ArrayList<>();
        collect(dashboard.path("panels"), out);
        for (JsonNode v : dashboard.path("templating").path("list")) {
            if (v.path("type").asText().equals("query")) {
                JsonNode q = v.path("query");
                out.add(q.isTextual() ? q.asText() : q.path("query").asText());
            }
        }
        return out;
    }

    private static void collect(JsonNode panels, List<String> out) {
        for (JsonNode p : panels) {
            for (JsonNode t : p.path("targets")) {
                if (t.hasNonNull("expr")) out.add(t.path("expr").asText());
            }
            collect(p.path("panels"), out);
        }
    }

    /**
     * The metric names in a PromQL expression: what is left after removing strings, label
     * matchers, ranges, grouping label lists, Grafana variables, function names (a name before
     * "("), keywords and numbers.
     */
    static Set<String> metricNames(String promql) {
        String e = promql.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^\\]]*]", " ")
                .replaceAll("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("\\$\\{?\\w+}?", " ");
        // label_values(metric, label): the label is not a metric.
        e = e.replaceAll("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*,\\s*\\w+\\s*\\)", "$1");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w.])([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\\s*\\()")
                .matcher(e);
        while (m.find()) {
            String name = m.group(1);
            if (!KEYWORDS.contains(name.toLowerCase())) names.add(name);
        }
        return names;
    }

    private static Set<String> missing(Set<String> wanted, Set<String> have) {
        Set<String> out = new TreeSet<>(wanted);
        out.removeAll(have);
        return out;
    }

    @Test
    void metric_names_are_found_in_promql() {
        assertEquals(
                Set.of("a_bucket"),
                metricNames(
                        "histogram_quantile(0.99, sum by (le) (rate(a_bucket{x=~\"$i\", pool=\"p\"}[$__rate_interval])))"));
        assertEquals(
                Set.of("a_sum", "a_count"),
                metricNames("sum(rate(a_sum[5m])) / sum without (instance) (rate(a_count[5m]))"));
        assertEquals(Set.of("up", "b"), metricNames("up == 1 and on (instance) b offset 5m"));
        assertEquals(Set.of("c"), metricNames("label_values(c, instance)"));
        assertEquals(Set.of("d"), metricNames("max by (instance) (d{instance=~\"$instance\"}) > 0.5e3"));
    }
}
