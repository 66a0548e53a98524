package dev.herald.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.settings.Settings;
import dev.herald.testing.Api;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
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
        Settings config =
                Settings.defaults().with(b -> b.port(0).host("127.0.0.1").dataDir(dir));
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
}
