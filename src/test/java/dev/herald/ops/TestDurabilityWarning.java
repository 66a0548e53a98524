package dev.herald.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A database that acknowledges commits it can lose (synchronous_commit or fsync off): the
 * replica starts and serves (readiness stays 200), but warns loudly in its log at start and says
 * so in /readyz's body.
 */
class TestDurabilityWarning {

    static List<String> warnings(JsonNode ready) {
        List<String> out = new ArrayList<>();
        ready.get("warnings").forEach(w -> out.add(w.asText()));
        return out;
    }

    @Test
    void synchronous_commit_off_is_a_loud_warning_at_start_and_in_readyz_but_the_replica_is_ready() {
        Logger herald = (Logger) LoggerFactory.getLogger(Herald.class);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        herald.addAppender(captured);
        try (TestServer server = TestServer.start(0, b -> b)) {
            // Herald's sessions get it from the database's settings, as from postgresql.conf.
            Sql.execute(
                    server.databaseUrl(),
                    "ALTER DATABASE " + server.databaseUrl().database() + " SET synchronous_commit = off");
            server.addReplica();
            Api.Response ready = server.api().get("/readyz", null);
            assertEquals(200, ready.status(), ready.toString());
            JsonNode body = ready.json();
            assertEquals("ready", body.get("status").asText());
            assertEquals("off", body.get("durability").get("synchronous_commit").asText());
            List<String> w = warnings(body);
            assertTrue(w.stream().anyMatch(s -> s.startsWith("synchronous_commit is off")), w.toString());
            assertTrue(
                    captured.list.stream()
                            .anyMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN
                                    && e.getFormattedMessage()
                                            .startsWith("DURABILITY WARNING: synchronous_commit is off")),
                    "a warning in the log at start");
        } finally {
            herald.detachAppender(captured);
        }
    }

    @Test
    void readyz_reports_the_settings_as_they_are_and_warns_only_about_what_is_off() {
        try (TestServer server = TestServer.start()) {
            String sync = (String) Sql.value(server.databaseUrl(), "SELECT current_setting('synchronous_commit')");
            String fsync = (String) Sql.value(server.databaseUrl(), "SELECT current_setting('fsync')");
            JsonNode body = server.api().get("/readyz", null).json();
            assertEquals(sync, body.get("durability").get("synchronous_commit").asText());
            assertEquals(fsync, body.get("durability").get("fsync").asText());
            List<String> w = warnings(body);
            assertEquals(
                    sync.equals("off"), w.stream().anyMatch(s -> s.startsWith("synchronous_commit")), w.toString());
            assertEquals(fsync.equals("off"), w.stream().anyMatch(s -> s.startsWith("fsync")), w.toString());
            assertEquals((sync.equals("off") ? 1 : 0) + (fsync.equals("off") ? 1 : 0), w.size(), w.toString());
        }
    }
}
