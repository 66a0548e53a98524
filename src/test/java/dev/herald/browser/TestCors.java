package dev.herald.browser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * HERALD_CORS_ORIGINS (API.md "CORS and HTTP/2"): a listed origin gets
 * Access-Control-Allow-Origin and Vary on API, SSE and error responses and a 204 preflight with
 * the path's methods; any other origin gets no CORS headers.
 */
class TestCors {
    static final String LISTED = "http://app.example:3000";
    static final String OTHER = "http://evil.example";

    @RegisterExtension
    static final TestServer server = TestServer.replicas(
            1, b -> b.corsOrigins(LISTED, "https://second.example").replay(2, 0, Duration.ofMinutes(5)));

    static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    static HttpResponse<String> send(Api api, String method, String path, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(api.base + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        headers.forEach(b::header);
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    static Set<String> list(String value) {
        Set<String> out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        if (value != null) for (String v : value.split(",")) out.add(v.trim());
        return out;
    }

    static void assertAllowed(HttpResponse<?> r, String origin) {
        assertEquals(origin, header(r, "Access-Control-Allow-Origin"), r.toString());
        assertTrue(r.headers().allValues("Vary").stream().anyMatch(v -> list(v).contains("Origin")), r.toString());
        assertNull(header(r, "Access-Control-Allow-Credentials"), "no credentials mode");
    }

    static void assertNoCors(HttpResponse<?> r) {
        for (String name : r.headers().map().keySet()) {
            assertTrue(!name.toLowerCase().startsWith("access-control-"), "CORS header " + name + " on " + r);
        }
    }

    @Test
    void a_preflight_from_a_listed_origin_gets_204_with_the_routes_methods_and_the_client_headers(Api api)
            throws Exception {
        var r = send(
                api,
                "OPTIONS",
                "/api/v1/users/cors-user/events",
                Map.of(
                        "Origin", LISTED,
                        "Access-Control-Request-Method", "POST",
                        "Access-Control-Request-Headers", "authorization, content-type, idempotency-key"));
        assertEquals(204, r.statusCode(), r.body());
        assertAllowed(r, LISTED);
        assertEquals(Set.of("POST", "OPTIONS"), list(header(r, "Access-Control-Allow-Methods")));
        assertEquals(
                list("Authorization, Content-Type, Last-Event-ID, Idempotency-Key"),
                list(header(r, "Access-Control-Allow-Headers")));

        // A path with several routes lists them all; the SSE route too.
        var chat = send(
                api,
                "OPTIONS",
                "/api/v1/chats/c1",
                Map.of("Origin", "https://second.example", "Access-Control-Request-Method", "DELETE"));
        assertEquals(204, chat.statusCode());
        assertAllowed(chat, "https://second.example");
        assertEquals(Set.of("GET", "PATCH", "DELETE", "OPTIONS"), list(header(chat, "Access-Control-Allow-Methods")));
        var sse = send(
                api,
                "OPTIONS",
                "/api/v1/events",
                Map.of(
                        "Origin", LISTED,
                        "Access-Control-Request-Method", "GET",
                        "Access-Control-Request-Headers", "last-event-id, authorization"));
        assertEquals(204, sse.statusCode());
        assertAllowed(sse, LISTED);
        assertTrue(list(header(sse, "Access-Control-Allow-Methods")).contains("GET"));

        // No route, no preflight: 404 as for any method (still readable by the listed origin).
        var none = send(
                api,
                "OPTIONS",
                "/api/v1/nothing-here",
                Map.of("Origin", LISTED, "Access-Control-Request-Method", "GET"));
        assertEquals(404, none.statusCode());
        assertAllowed(none, LISTED);
    }

    @Test
    void an_unlisted_origin_gets_no_cors_headers_anywhere(Api api) throws Exception {
        String token = api.userToken("acme", "cors-other");
        for (String origin : List.of(OTHER, "http://app.example:3001", "https://app.example:3000", "null")) {
            var pre = send(
                    api,
                    "OPTIONS",
                    "/api/v1/users/cors-other/events",
                    Map.of("Origin", origin, "Access-Control-Request-Method", "POST"));
            assertNoCors(pre);
            var get = send(api, "GET", "/api/v1/inbox", Map.of("Origin", origin, "Authorization", "Bearer " + token));
            assertEquals(200, get.statusCode(), get.body());
            assertNoCors(get);
            var unauthorized = send(api, "GET", "/api/v1/events/backlog", Map.of("Origin", origin));
            assertEquals(401, unauthorized.statusCode());
            assertNoCors(unauthorized);
        }
        // Without Origin (not a browser's cross-origin request): none either, and OPTIONS still answers.
        var plain = send(api, "OPTIONS", "/api/v1/events", Map.of());
        assertEquals(204, plain.statusCode());
        assertEquals(Set.of("GET", "OPTIONS"), list(header(plain, "Allow")));
        assertNoCors(plain);
    }

    @Test
    void api_sse_and_error_responses_carry_the_headers_for_a_listed_origin(Api api) throws Exception {
        String token = api.userToken("acme", "cors-user");
        Map<String, String> auth = Map.of("Origin", LISTED, "Authorization", "Bearer " + token);

        var ok = send(api, "GET", "/api/v1/inbox", auth);
        assertEquals(200, ok.statusCode(), ok.body());
        assertAllowed(ok, LISTED);

        // The SSE route, with the token in the URL as a cross-origin EventSource sends it.
        HttpRequest sseRequest = HttpRequest.newBuilder(URI.create(api.base + "/api/v1/events?access_token=" + token))
                .header("Origin", LISTED)
                .header("Accept", "text/event-stream")
                .build();
        HttpResponse<InputStream> sse = CLIENT.send(sseRequest, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = sse.body()) {
            assertEquals(200, sse.statusCode());
            assertTrue(header(sse, "Content-Type").startsWith("text/event-stream"));
            assertAllowed(sse, LISTED);
        }

        // Errors a page must be able to read: 401, 404, 406, 429.
        var unauthorized = send(api, "GET", "/api/v1/events/backlog", Map.of("Origin", LISTED));
        assertEquals(401, unauthorized.statusCode());
        assertTrue(unauthorized.body().contains("\"code\""), unauthorized.body());
        assertAllowed(unauthorized, LISTED);

        var notFound = send(api, "GET", "/api/v1/no-such-route", Map.of("Origin", LISTED));
        assertEquals(404, notFound.statusCode());
        assertAllowed(notFound, LISTED);

        var notAcceptable = send(api, "GET", "/api/v1/events", auth);
        assertEquals(406, notAcceptable.statusCode());
        assertAllowed(notAcceptable, LISTED);

        // The replay budget allows 2 connects per user here: the third is 429 with Retry-After,
        // which the page may read.
        String limited = api.userToken("acme", "cors-limited");
        HttpResponse<String> last = null;
        for (int i = 0; i < 4; i++) {
            last = send(
                    api,
                    "GET",
                    "/api/v1/events/backlog",
                    Map.of("Origin", LISTED, "Authorization", "Bearer " + limited));
            if (last.statusCode() == 429) break;
        }
        assertEquals(429, last.statusCode(), last.body());
        assertAllowed(last, LISTED);
        assertTrue(list(header(last, "Access-Control-Expose-Headers")).contains("Retry-After"));
        assertTrue(header(last, "Retry-After") != null);
    }
}
