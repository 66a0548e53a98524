package dev.herald.database;

import static dev.herald.testing.MetricsText.awaitValue;
import static dev.herald.testing.MetricsText.scrape;
import static dev.herald.testing.MetricsText.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * NOTIFY carries no authority (docs/API.md "The database boundary"). PostgreSQL checks no
 * privilege for NOTIFY or LISTEN, so these tests connect as a role an application would have
 * (granted herald_app) and as one with no grants at all, and send on every channel Herald
 * listens on: signal-, revocation-, token- and change-shaped payloads, broken seals and a
 * replayed genuine one. A client sees none of it — no event, no stream closed, no token lost —
 * and each costs the replica at most a re-query. What Herald itself says on the channel cannot
 * be read by another listener either.
 */
class TestNotifyForgery {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final Duration QUIET = Duration.ofMillis(500);
    static final String TENANT = "forgery";
    static final String REJECTED = "herald_notifications_rejected_total";

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static LoginRoles roles;
    /** A LOGIN role granted herald_app, as an application would use. */
    static DatabaseUrl app;
    /** A LOGIN role with no grants at all: what PUBLIC may do (which includes NOTIFY and LISTEN). */
    static DatabaseUrl nobody;

    @BeforeAll
    static void roles() {
        roles = new LoginRoles(server.databaseUrl(), "herald_forger");
        app = roles.app;
        nobody = roles.nobody;
    }

    @AfterAll
    static void dropRoles() {
        if (roles != null) roles.close();
    }

    @Test
    void forged_signals_revocations_and_tokens_change_nothing_a_client_sees(Api api) throws Exception {
        String alice = api.mint(TENANT, "alice", "events:read", "events:write");
        String chat = api.post("/api/v1/chats", alice, Map.of("title", "t"))
                .json()
                .path("id")
                .asText();
        String chatStream = "chat:" + chat;
        double rejectedBefore = rejected(api);

        try (SseClient chatSse = api.sse("/api/v1/chats/" + chat + "/stream", alice);
                SseClient userSse = api.sse("/api/v1/events", alice)) {
            assertEquals(200, chatSse.status, chatSse.errorBody());
            assertEquals(200, userSse.status, userSse.errorBody());
            List<String> forged = new ArrayList<>();
            // The plain payloads Herald's own messages once were: a worker signal into alice's
            // chat, a revocation of her token, a "token is known now" control, a watchdog echo.
            forged.add("{\"t\":\"" + TENANT + "\",\"s\":\"" + chatStream + "\",\"x\":\"error\",\"d\":{\"chat_id\":\""
                    + chat + "\",\"error\":{\"message\":\"forged\"}}}");
            forged.add("{\"t\":\"" + TENANT + "\",\"s\":\"user:alice\",\"x\":\"message\",\"d\":{\"forged\":true}}");
            forged.add("{\"k\":\"revoke\",\"v\":\"" + alice.substring(0, 8) + "\"}");
            forged.add("{\"k\":\"token\",\"v\":\"" + alice.substring(0, 8) + "\"}");
            forged.add("{\"k\":\"wd\",\"v\":\"0:9223372036854775807\"}");
            // Things that look sealed: the prefix alone, random bytes, a valid-length garbage seal.
            forged.add("~1");
            forged.add("~1" + Base64.getUrlEncoder().withoutPadding().encodeToString(random(80)));
            forged.add("~1not base64 at all!");
            forged.add("not json");
            for (DatabaseUrl role : new DatabaseUrl[] {app, nobody}) {
                try (Connection c = Sql.connect(role)) {
                    for (String payload : forged) notify(c, "herald", payload);
                }
            }

            assertTrue(chatSse.drain(QUIET).isEmpty(), "no forged signal reaches the chat stream");
            assertTrue(userSse.drain(QUIET).isEmpty(), "no forged event reaches the user stream");
            assertFalse(chatSse.closed(), "a forged revocation closes nothing");
            assertFalse(userSse.closed(), "a forged revocation closes nothing");
            assertEquals(200, api.get("/api/v1/chats/" + chat, alice).status(), "alice's token still works");
            assertEquals(
                    2.0 * forged.size(), awaitRejected(api, rejectedBefore + 2.0 * forged.size()) - rejectedBefore);

            // Both streams are live: real events still arrive.
            assertEquals(
                    202,
                    api.post("/api/v1/chats/" + chat + "/signals", alice, Map.of("queue_update", true))
                            .status());
            assertEquals("queue_update", chatSse.next(WAIT).event());
            assertEquals(
                    201,
                    api.post("/api/v1/users/alice/events", alice, Map.of("type", "real"))
                            .status());
            SseClient.Event real = userSse.next(WAIT);
            assertNotNull(real);
            assertEquals(1L, real.id());
        }
    }

    @Test
    void a_forged_change_ping_costs_a_re_query_and_nothing_else(Api api) throws Exception {
        String bob = api.mint(TENANT, "bob", "events:read", "events:write");
        assertEquals(
                201,
                api.post("/api/v1/users/bob/events", bob, Map.of("type", "one")).status());
        try (SseClient sse = api.sse("/api/v1/events", bob, 1L);
                Connection c = Sql.connect(nobody)) {
            assertEquals(200, sse.status, sse.errorBody());
            // A change ping names a cursor far ahead, and one already delivered: the replica
            // re-queries, finds nothing new and sends nothing.
            notify(c, "herald", "{\"t\":\"" + TENANT + "\",\"s\":\"user:bob\",\"c\":999999}");
            notify(c, "herald", "{\"t\":\"" + TENANT + "\",\"s\":\"user:bob\",\"c\":1}");
            assertTrue(sse.drain(QUIET).isEmpty());
            // The next real event still gets the next dense cursor and arrives.
            assertEquals(
                    201,
                    api.post("/api/v1/users/bob/events", bob, Map.of("type", "two"))
                            .status());
            SseClient.Event e = sse.next(WAIT);
            assertEquals(2L, e.id());
            assertEquals("two", e.event());
        }
    }

    @Test
    void a_forged_config_invalidation_only_makes_the_replica_read_the_entry_again(Api api) throws Exception {
        String reader = api.mint(TENANT, null, "events:read");
        String admin = api.mint(TENANT, null, "admin");
        Api.Response put = api.put("/api/v1/config/providers/p1", admin, Map.of("value", Map.of("v", 1)));
        assertEquals(200, put.status(), put.toString());
        int version = put.json().path("version").asInt();
        assertEquals(
                1,
                api.get("/api/v1/config/providers/p1", reader)
                        .json()
                        .path("value")
                        .path("v")
                        .asInt());
        try (Connection c = Sql.connect(nobody)) {
            notify(
                    c,
                    "chat:config_change",
                    "{\"tenant\":\"" + TENANT + "\",\"kind\":\"providers\",\"entity_id\":\"p1\"}");
            notify(c, "chat:config_change", "garbage");
        }
        Api.Response after = api.get("/api/v1/config/providers/p1", reader);
        assertEquals(200, after.status(), after.toString());
        assertEquals(1, after.json().path("value").path("v").asInt());
        assertEquals(version, after.json().path("version").asInt());
    }

    @Test
    void a_listener_cannot_read_herald_messages_and_a_replayed_one_is_dropped(Api api) throws Exception {
        String carol = api.mint(TENANT, "carol", "events:read", "events:write");
        String chat = api.post("/api/v1/chats", carol, Map.of("title", "t"))
                .json()
                .path("id")
                .asText();
        String secret = "the-secret-worker-error-" + ThreadLocalRandom.current().nextLong();
        try (SseClient sse = api.sse("/api/v1/chats/" + chat + "/stream", carol);
                Connection spy = Sql.connect(nobody)) {
            assertEquals(200, sse.status, sse.errorBody());
            try (Statement st = spy.createStatement()) {
                st.execute("LISTEN herald");
            }
            assertEquals(
                    202,
                    api.post("/api/v1/chats/" + chat + "/signals", carol, Map.of("error", Map.of("message", secret)))
                            .status());
            assertEquals(
                    secret, sse.next(WAIT).json().path("error").path("message").asText());

            String captured = null;
            long until = System.nanoTime() + WAIT.toNanos();
            while (captured == null && System.nanoTime() < until) {
                PGNotification[] got = spy.unwrap(PGConnection.class).getNotifications(500);
                for (PGNotification n : got == null ? new PGNotification[0] : got) {
                    if (n.getParameter().startsWith("~")) captured = n.getParameter();
                }
            }
            assertNotNull(captured, "the spy saw the signal's NOTIFY");
            assertFalse(captured.contains(secret), "the signal's content is not readable on the channel");
            assertFalse(captured.contains(chat), "nor is the stream it goes to");

            double before = rejected(api);
            notify(spy, "herald", captured);
            assertTrue(sse.drain(QUIET).isEmpty(), "a replayed signal is not delivered again");
            assertEquals(before + 1, awaitRejected(api, before + 1));
        }
    }

    @Test
    void the_key_that_seals_herald_messages_is_readable_by_no_application_role() throws Exception {
        for (DatabaseUrl role : new DatabaseUrl[] {app, nobody}) {
            try (Connection c = Sql.connect(role);
                    Statement st = c.createStatement()) {
                SQLException e =
                        assertThrows(SQLException.class, () -> st.executeQuery("SELECT value FROM herald.secrets"));
                assertEquals("42501", e.getSQLState(), role.user() + ": " + e.getMessage());
            }
        }
    }

    private static void notify(Connection c, String channel, String payload) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            ps.setString(1, channel);
            ps.setString(2, payload);
            ps.execute();
        }
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    private static double rejected(Api api) {
        return value(scrape(api), REJECTED);
    }

    /** Waits until the replica has counted at least {@code atLeast} rejected payloads; returns the count. */
    private static double awaitRejected(Api api, double atLeast) throws InterruptedException {
        return value(awaitValue(api, REJECTED, v -> v >= atLeast), REJECTED);
    }
}
