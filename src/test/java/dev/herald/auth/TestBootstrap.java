package dev.herald.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.database.Database;
import dev.herald.database.DatabaseUrl;
import dev.herald.settings.Settings;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestDatabase;
import dev.herald.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `make run` without HERALD_DATABASE_URL: an embedded PostgreSQL whose data persists in
 * HERALD_DATA_DIR; the generated operator token is printed once and survives restarts.
 */
class TestBootstrap {

    @Test
    void an_embedded_server_prints_its_operator_token_once_and_keeps_data_across_restarts(@TempDir Path dir) {
        Settings config = Settings.defaults()
                .with(b -> b.port(0).host("127.0.0.1").dataDir(dir).warmup(0));
        String operator;
        String userToken;
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        Herald first;
        try {
            first = Herald.start(config);
        } finally {
            System.setOut(original);
        }
        try {
            Matcher m = Pattern.compile("\\n\\s+([A-Za-z0-9]{40})\\s*\\n")
                    .matcher(captured.toString(StandardCharsets.UTF_8));
            assertTrue(m.find(), "the operator token is printed");
            operator = m.group(1);
            // Durable: zonky's defaults (fsync and synchronous_commit off) are overridden.
            assertEquals("on", first.database().dsl().fetchValue("SHOW fsync"));
            assertEquals("on", first.database().dsl().fetchValue("SHOW synchronous_commit"));
            Api api = new Api("http://127.0.0.1:" + first.port());
            Api.Response minted = api.post(
                    "/api/v1/admin/tokens",
                    operator,
                    Map.of("tenant", "acme", "user", "zed", "scopes", List.of("events:read", "events:write")));
            assertEquals(201, minted.status(), minted.toString());
            userToken = minted.json().get("token").asText();
            assertEquals(
                    201,
                    api.post("/api/v1/users/zed/events", userToken, Map.of("type", "kept.across.restart"))
                            .status());
        } finally {
            first.close();
        }

        captured.reset();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        Herald second;
        try {
            second = Herald.start(config);
        } finally {
            System.setOut(original);
        }
        try {
            assertFalse(captured.toString(StandardCharsets.UTF_8).contains(operator), "printed only once");
            Api api = new Api("http://127.0.0.1:" + second.port());
            Api.Response backlog = api.get("/api/v1/events/backlog", userToken);
            assertEquals(200, backlog.status(), "the token survived the restart");
            assertEquals(
                    "kept.across.restart",
                    backlog.json().get("events").get(0).get("type").asText());
            assertEquals(
                    201,
                    api.post("/api/v1/admin/tokens", operator, Map.of("tenant", "acme", "scopes", List.of("admin")))
                            .status());
        } finally {
            second.close();
        }
    }

    private static final Pattern PRINTED = Pattern.compile("\\n\\s+([A-Za-z0-9]{40})\\s*\\n");
    private static final Map<String, Object> MINT = Map.of("tenant", "acme", "scopes", List.of("events:read"));

    private static Settings settings(DatabaseUrl url, String adminToken) {
        return TestServer.baseSettings(url).with(b -> b.adminToken(adminToken));
    }

    @Test
    void an_admin_token_under_32_characters_stops_the_server_with_a_clear_message() {
        var env = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_ADMIN_TOKEN", "x".repeat(31))));
        assertTrue(env.getMessage().contains("HERALD_ADMIN_TOKEN"), env.getMessage());
        assertTrue(env.getMessage().contains("32"), env.getMessage());
        assertFalse(env.getMessage().contains("x".repeat(31)), "the token itself is not shown");
        DatabaseUrl url = TestDatabase.fresh();
        try (Database db = Database.connect(url, 2)) {
            var start = assertThrows(
                    IllegalArgumentException.class, () -> Herald.start(settings(url, "short-".repeat(5)), db));
            assertTrue(start.getMessage().contains("at least 32 characters"), start.getMessage());
        }
    }

    @Test
    void the_admin_token_gets_a_random_prefix_and_setting_an_earlier_one_again_reinstates_it() {
        DatabaseUrl url = TestDatabase.fresh();
        String first = "first-operator-token-" + "a".repeat(20);
        String second = "second-operator-token-" + "b".repeat(20);
        try (Database db = Database.connect(url, 4)) {
            for (String[] step : new String[][] {{first, second}, {second, first}, {first, second}}) {
                Herald h = Herald.start(settings(url, step[0]), db);
                try {
                    Api api = new Api("http://127.0.0.1:" + h.port());
                    assertEquals(
                            201, api.post("/api/v1/admin/tokens", step[0], MINT).status(), "the set token works");
                    assertEquals(
                            401, api.post("/api/v1/admin/tokens", step[1], MINT).status(), "the other is revoked");
                } finally {
                    h.stop(false);
                }
            }
            assertEquals(
                    1L, Sql.scalar(url, "SELECT count(*) FROM herald.tokens WHERE operator AND revoked_at IS NULL"));
            assertEquals(2L, Sql.scalar(url, "SELECT count(*) FROM herald.tokens WHERE operator"), "no duplicates");
            assertEquals(
                    0L,
                    Sql.scalar(
                            url,
                            "SELECT count(*) FROM herald.tokens WHERE prefix IN (?, ?)",
                            first.substring(0, 8),
                            second.substring(0, 8)),
                    "prefixes are not taken from the secret");
        }
    }

    @Test
    void an_operator_token_stored_under_its_own_first_characters_gets_a_random_prefix() throws Exception {
        DatabaseUrl url = TestDatabase.fresh();
        String token = "legacy-operator-token-" + "c".repeat(20);
        try (Database db = Database.connect(url, 4)) {
            Sql.update(
                    url,
                    "INSERT INTO herald.tokens (prefix, hash, scopes, operator) VALUES (?, sha256(convert_to(?, 'UTF8')), ARRAY['events:read','events:write','admin'], true)",
                    token.substring(0, 8),
                    token);
            Herald h = Herald.start(settings(url, token), db);
            try {
                Api api = new Api("http://127.0.0.1:" + h.port());
                assertEquals(201, api.post("/api/v1/admin/tokens", token, MINT).status());
                assertEquals(
                        0L,
                        Sql.scalar(url, "SELECT count(*) FROM herald.tokens WHERE prefix = ?", token.substring(0, 8)));
            } finally {
                h.stop(false);
            }
        }
    }

    @Test
    void two_replicas_starting_at_once_on_a_fresh_database_generate_one_operator_token() throws Exception {
        DatabaseUrl url = TestDatabase.fresh();
        List<Database> dbs = List.of(Database.connect(url, 4), Database.connect(url, 4)); // migrated
        List<Herald> started = new ArrayList<>();
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Herald>> starts = new ArrayList<>();
            for (Database db : dbs) {
                starts.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return Herald.start(settings(url, null), db);
                }));
            }
            go.countDown();
            for (CompletableFuture<Herald> f : starts) started.add(f.get(60, TimeUnit.SECONDS));
        } finally {
            System.setOut(original);
            String out = captured.toString(StandardCharsets.UTF_8);
            System.out.print(out.replaceAll("[A-Za-z0-9]{40}", "<token>"));
            try {
                Matcher m = PRINTED.matcher(out);
                List<String> printed = new ArrayList<>();
                while (m.find()) printed.add(m.group(1));
                assertEquals(1, printed.size(), "exactly one token printed: " + printed.size());
                assertEquals(
                        1L,
                        Sql.scalar(url, "SELECT count(*) FROM herald.tokens WHERE operator AND revoked_at IS NULL"));
                for (Herald h : started) {
                    Api api = new Api("http://127.0.0.1:" + h.port());
                    assertEquals(
                            201,
                            api.post("/api/v1/admin/tokens", printed.get(0), MINT)
                                    .status());
                }
            } finally {
                for (Herald h : started) h.stop(false);
                for (Database db : dbs) db.close();
            }
        }
    }
}
