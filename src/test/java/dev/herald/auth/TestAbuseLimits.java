package dev.herald.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.database.Database;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * API.md "Abuse limits": unknown tokens are remembered (no query for a repeated bad token),
 * failed authentications are throttled per client address, and open streams per user are
 * bounded.
 */
class TestAbuseLimits {

    static double metric(Api api, String name) {
        String text = api.get("/metrics", null).body();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{"))
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError(name + " not in /metrics");
    }

    @Test
    void a_repeated_bad_token_costs_one_database_lookup() {
        try (TestServer server = TestServer.start(1, b -> b.authFailures(1000, Duration.ofSeconds(10)))) {
            Api api = server.api();
            double before = metric(api, "herald_token_lookups_total");
            String bad = "Zz" + "q".repeat(38);
            for (int i = 0; i < 5; i++) {
                Api.Response r = api.get("/api/v1/events/backlog", bad);
                assertEquals(401, r.status(), r.toString());
                assertEquals("unauthorized", r.errorCode());
            }
            assertEquals(before + 1, metric(api, "herald_token_lookups_total"), "one lookup for five attempts");
            // A valid token is looked up once, then served from the cache.
            String good = api.userToken("acme", "ann");
            double minted = metric(api, "herald_token_lookups_total");
            for (int i = 0; i < 3; i++)
                assertEquals(200, api.get("/api/v1/events/backlog", good).status());
            assertEquals(minted + 1, metric(api, "herald_token_lookups_total"));
        }
    }

    @Test
    void an_operator_token_set_on_another_replica_works_at_once_even_after_it_failed() throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.authFailures(1000, Duration.ofSeconds(10)))) {
            Api a = server.api();
            String later = "later-operator-token-" + "x".repeat(20);
            Map<String, Object> body = Map.of("tenant", "acme", "scopes", List.of("events:read"));
            assertEquals(401, a.post("/api/v1/admin/tokens", later, body).status(), "unknown, and now remembered");
            try (Database db = Database.connect(server.databaseUrl(), 4);
                    Herald second = Herald.start(server.settings(b -> b.adminToken(later)), db)) {
                Api b = new Api("http://127.0.0.1:" + second.port());
                assertEquals(201, b.post("/api/v1/admin/tokens", later, body).status(), "at once where it was set");
                long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                int status;
                while ((status = a.post("/api/v1/admin/tokens", later, body).status()) != 201
                        && System.nanoTime() < until) Thread.sleep(50);
                assertEquals(201, status, "the other replica forgot it was unknown");
                second.stop(false);
            }
        }
    }

    @Test
    void failures_are_throttled_per_address_and_other_addresses_are_unaffected() throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.authFailures(5, Duration.ofSeconds(60)))) {
            Api api = server.api();
            String good = api.userToken("acme", "bea");
            assertEquals(200, api.get("/api/v1/events/backlog", good).status());
            for (int i = 0; i < 5; i++) {
                Api.Response r = api.get("/api/v1/events/backlog", "bad-token-" + i + "-" + "y".repeat(30));
                assertEquals(401, r.status(), "failure " + i + ": " + r);
            }
            Api.Response limited = api.get("/api/v1/events/backlog", "bad-token-x-" + "y".repeat(30));
            assertEquals(429, limited.status(), limited.toString());
            assertEquals("too_many_requests", limited.errorCode());
            String retryAfter = limited.header("Retry-After");
            assertNotNull(retryAfter);
            assertTrue(Integer.parseInt(retryAfter) >= 1 && Integer.parseInt(retryAfter) <= 60, retryAfter);
            assertEquals(429, api.get("/api/v1/events/backlog", null).status(), "no token: throttled too");
            double throttled = metric(api, "herald_auth_throttled_total");
            assertTrue(throttled >= 2, "throttled " + throttled);
            // A token validated moments ago keeps working from the throttled address.
            assertEquals(200, api.get("/api/v1/events/backlog", good).status());
            // Another address is not throttled: still a plain 401.
            String other = raw(server.herald().port(), "127.0.0.2", "bad-token-z-" + "y".repeat(30));
            assertTrue(other.startsWith("HTTP/1.1 401"), other);
            String valid = raw(server.herald().port(), "127.0.0.2", good);
            assertTrue(valid.startsWith("HTTP/1.1 200"), valid);
        }
    }

    /** One GET of the user backlog from a given local address; the response head and body. */
    static String raw(int port, String from, String token) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(15_000);
            s.getOutputStream()
                    .write(("GET /api/v1/events/backlog HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                                    + "\r\nConnection: close\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            return all.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void a_user_gets_at_most_max_streams_and_a_closed_stream_frees_its_slot() throws Exception {
        try (TestServer server = TestServer.start(1, b -> b.maxStreamsPerUser(3))) {
            Api api = server.api();
            String alice = api.userToken("acme", "alice");
            String alice2 = api.userToken("acme", "alice");
            String bob = api.userToken("acme", "bob");
            List<SseClient> open = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    SseClient c = api.sse("/api/v1/events", i == 2 ? alice2 : alice);
                    assertEquals(200, c.status, c.errorBody());
                    open.add(c);
                }
                SseClient refused = api.sse("/api/v1/events", alice2);
                assertEquals(429, refused.status);
                assertTrue(refused.errorBody().contains("too_many_streams"), refused.errorBody());
                assertNotNull(
                        refused.response.headers().firstValue("Retry-After").orElse(null));
                SseClient other = api.sse("/api/v1/events", bob);
                assertEquals(200, other.status, "another user is unaffected");
                open.add(other);

                // Tenant-wide tokens count per token.
                String service = api.mint("acme", null, "events:read");
                String service2 = api.mint("acme", null, "events:read");
                for (int i = 0; i < 3; i++) {
                    SseClient c = api.sse("/api/v1/config/watch", service);
                    assertEquals(200, c.status, c.errorBody());
                    open.add(c);
                }
                assertEquals(429, api.sse("/api/v1/config/watch", service).status);
                SseClient s2 = api.sse("/api/v1/config/watch", service2);
                assertEquals(200, s2.status, "another tenant-wide token has its own slots");
                open.add(s2);

                open.remove(0).close();
                long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                SseClient next;
                while ((next = api.sse("/api/v1/events", alice)).status != 200 && System.nanoTime() < until) {
                    assertEquals(429, next.status);
                    Thread.sleep(100);
                }
                assertEquals(200, next.status, "closing a stream frees its slot");
                open.add(next);
            } finally {
                open.forEach(SseClient::close);
            }
        }
    }

    @Test
    void api_answers_are_nosniff_and_no_store_sse_no_cache_and_pages_keep_their_etag() {
        try (TestServer server = TestServer.start()) {
            Api api = server.api();
            Api.Response minted = api.post(
                    "/api/v1/admin/tokens",
                    TestServer.ADMIN_TOKEN,
                    Map.of("tenant", "acme", "user", "hdr", "scopes", List.of("events:read")));
            assertEquals(201, minted.status());
            assertEquals("nosniff", minted.header("X-Content-Type-Options"));
            assertEquals("no-store", minted.header("Cache-Control"));
            for (Api.Response r : List.of(
                    api.get("/api/v1/events/backlog", null),
                    api.get("/api/v1/nothing/here", null),
                    api.get("/api/v1/events/backlog", minted.json().get("token").asText()),
                    api.delete("/api/v1/admin/tokens/zzzzzzzz", TestServer.ADMIN_TOKEN))) {
                assertEquals("nosniff", r.header("X-Content-Type-Options"), r.toString());
                assertEquals("no-store", r.header("Cache-Control"), r.toString());
            }
            try (SseClient sse =
                    api.sse("/api/v1/events", minted.json().get("token").asText())) {
                assertEquals(200, sse.status);
                assertEquals(
                        "no-cache",
                        sse.response.headers().firstValue("Cache-Control").orElse(null));
                assertEquals(
                        "nosniff",
                        sse.response
                                .headers()
                                .firstValue("X-Content-Type-Options")
                                .orElse(null));
            }
            Api.Response page = api.get("/", null);
            assertEquals(200, page.status());
            assertEquals("no-cache", page.header("Cache-Control"));
            assertEquals("nosniff", page.header("X-Content-Type-Options"));
            assertNotNull(page.header("ETag"));
        }
    }
}
