package dev.herald.reliability;

import static dev.herald.testing.MetricsText.awaitValue;
import static dev.herald.testing.MetricsText.scrape;
import static dev.herald.testing.MetricsText.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * /metrics exposes what an operator needs, with exact values: open SSE connections, events
 * published and delivered, the commit-to-send histogram (one observation per delivery),
 * listener reconnects and resyncs, slow-client drops, pool usage, and the NOTIFY queue's
 * usage (sampled in the background). And each SSE connection logs one line when it opens
 * and one when it closes.
 */
class TestMetrics {
    static final String TENANT = "metrics";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void metrics_count_exactly_what_happened() throws Exception {
        Logger connections = (Logger) LoggerFactory.getLogger("dev.herald.sse.connections");
        Level level = connections.getLevel();
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        connections.addAppender(lines);
        connections.setLevel(Level.INFO);
        try (TestServer server = TestServer.start()) {
            Herald h = server.herald();
            Api api = server.api();
            String text = scrape(api);
            for (String name : List.of(
                    "herald_sse_connections ",
                    "herald_events_published_total ",
                    "herald_events_delivered_total ",
                    "herald_listener_reconnects_total ",
                    "herald_resyncs_total ",
                    "herald_slow_clients_dropped_total ",
                    "herald_commit_to_send_seconds_bucket{",
                    "herald_commit_to_send_seconds_count ",
                    "herald_notify_queue_usage ",
                    "hikaricp_connections_active{",
                    "hikaricp_connections_idle{",
                    "hikaricp_connections_pending{",
                    "hikaricp_connections_max{",
                    "herald_listener_connected ")) {
                assertTrue(text.contains("\n" + name) || text.startsWith(name), "/metrics lacks " + name.trim());
            }
            assertEquals(8, value(text, "hikaricp_connections_max"), "the harness's pool size");
            assertEquals(0, value(text, "herald_sse_connections"));

            String write = api.mint(TENANT, null, "events:write");
            String read = api.mint(TENANT, "mia", "events:read");
            List<RawSse> streams = new ArrayList<>();
            for (int i = 0; i < 3; i++) streams.add(RawSse.open(h.port(), "/api/v1/events", read, null));
            awaitValue(api, "herald_sse_connections", v -> v == 3);
            for (int i = 1; i <= 5; i++)
                assertEquals(
                        201,
                        api.post("/api/v1/users/mia/events", write, Map.of("type", "m.tick", "data", Map.of("i", i)))
                                .status());
            for (RawSse s : streams) for (int i = 0; i < 5; i++) assertTrue(s.next(Duration.ofSeconds(5)) != null);
            text = scrape(api);
            assertEquals(5, value(text, "herald_events_published_total"));
            assertEquals(15, value(text, "herald_events_delivered_total"));
            assertEquals(
                    15, value(text, "herald_commit_to_send_seconds_count"), "one latency observation per delivery");
            assertTrue(value(text, "herald_commit_to_send_seconds_sum") > 0);

            // A killed listener: one reconnect, one resync of every local stream.
            ListenerFaults.terminateBackend(server.databaseUrl(), h.listener().backendPid());
            text = awaitValue(api, "herald_resyncs_total", v -> v == 1);
            assertEquals(1, value(text, "herald_listener_reconnects_total"));
            assertEquals(1, value(text, "herald_listener_connected"));

            for (RawSse s : streams) s.close();
            awaitValue(api, "herald_sse_connections", v -> v == 0);
            assertEquals(0, value(scrape(api), "herald_slow_clients_dropped_total"));

            // NOTIFY queue usage: a LISTENer stuck in a transaction pins the queue's tail while
            // events are published; the sampler sees it grow, and fall back once it commits.
            awaitValue(api, "herald_notify_queue_usage", v -> v == 0);
            try (Connection stuck = Sql.connect(server.databaseUrl());
                    Statement st = stuck.createStatement()) {
                st.execute("LISTEN metrics_test_stuck");
                stuck.setAutoCommit(false);
                st.execute("SELECT 1");
                Sql.execute(
                        server.databaseUrl(),
                        "SELECT herald.publish_user_event('" + TENANT
                                + "', 'nobody', 'q.fill', jsonb_build_object('i', g)) FROM generate_series(1, 2000) g");
                text = awaitValue(api, "herald_notify_queue_usage", v -> v > 0);
                double pinned = value(text, "herald_notify_queue_usage");
                stuck.commit();
                stuck.setAutoCommit(true);
                st.execute("UNLISTEN *");
                awaitValue(api, "herald_notify_queue_usage", v -> v == 0);
                System.out.println("[metrics] NOTIFY queue usage with a stuck listener after 2,000 notifies: " + pinned
                        + ", then 0 once it committed");
            }
        } finally {
            connections.detachAppender(lines);
            connections.setLevel(level);
        }
        List<String> opens = lines.list.stream()
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("sse open "))
                .toList();
        List<String> closes = lines.list.stream()
                .map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("sse close "))
                .toList();
        assertEquals(3, opens.size(), "one line per connection opened: " + opens);
        assertEquals(3, closes.size(), "one line per connection closed: " + closes);
        for (String l : opens)
            assertTrue(
                    l.contains("tenant=" + TENANT)
                            && l.contains("stream=user:mia")
                            && l.contains("cursor=0")
                            && l.contains("remote=127.0.0.1:"),
                    l);
        for (String l : closes)
            assertTrue(
                    l.contains("reason=\"client closed\"")
                            && l.contains("events=5")
                            && l.contains("cursor=5")
                            && l.contains("duration_ms="),
                    l);
        assertTrue(lines.list.stream().allMatch(e -> e.getLevel() == Level.INFO));
    }
}
