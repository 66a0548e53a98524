package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.herald.http.Params;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Hostile input, generated from a seed: random bytes, huge, negative and unicode cursors,
 * ids, types and tenants, JSON depth bombs, 10 MB bodies, header floods, path traversal.
 * Every answer must be a documented 4xx with API.md's JSON error body (no stack trace, no
 * HTML), the server must stay healthy, and nothing may be written. The last test checks
 * that: no event, token, tenant or revocation came out of all of it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TestHostileInput {
    static final String TENANT = "hostile";
    static final Pattern TYPE = Pattern.compile("[a-z0-9_.-]{1,128}");
    /** What a client error may be answered with (API.md plus the HTTP-level ones Jetty sends, see docs/API.md). */
    static final Set<Integer> DOCUMENTED_4XX = Set.of(400, 401, 403, 404, 405, 406, 413, 414, 431);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static int port;
    static String userWrite; // hank's own token: may write only to user:hank
    static String userRead;
    static long tokensBefore;
    static long tenantsBefore;
    static int cases;

    @BeforeAll
    static void tokensAndRowCounts(Api api) {
        port = server.herald().port();
        userWrite = api.mint(TENANT, "hank", "events:write");
        userRead = api.mint(TENANT, "hank", "events:read");
        tokensBefore = Sql.scalar(server.databaseUrl(), "SELECT count(*) FROM herald.tokens");
        tenantsBefore = Sql.scalar(server.databaseUrl(), "SELECT count(*) FROM herald.tenants");
    }

    @AfterAll
    static void report() {
        System.out.println("[hostile] seed=" + Hostile.SEED + " cases=" + cases
                + ": all answered with documented 4xx JSON; nothing written");
    }

    /** A 4xx from the documented set, with {"error":{"code","message"}} and nothing internal. */
    static void assertClientError(String what, int status, String contentType, String body) {
        cases++;
        assertTrue(DOCUMENTED_4XX.contains(status), what + " -> " + status + " " + body);
        assertNotNull(contentType, what + " -> no Content-Type: " + body);
        assertTrue(contentType.startsWith("application/json"), what + " -> " + contentType + " " + body);
        Api.Response r = new Api.Response(status, body, Map.of());
        assertNotNull(r.errorCode(), what + " -> " + body);
        assertTrue(r.errorCode().matches("[a-z][a-z0-9_]*"), what + " -> " + body);
        assertFalse(
                body.contains("Exception")
                        || body.contains("\tat ")
                        || body.contains("dev.herald")
                        || body.contains("<html"),
                what + " leaks internals: " + body);
    }

    static void assertClientError(String what, Api.Response r) {
        assertClientError(what, r.status(), r.header("Content-Type"), r.body());
    }

    static void assertClientError(String what, RawHttp.Response r) {
        assertFalse(r.closedWithoutResponse(), what + " -> the server closed without an answer");
        assertClientError(what, r.status(), r.header("content-type"), r.body());
    }

    /** Mirrors API.md: a non-negative decimal (surrounding blanks tolerated) fitting a long. */
    static Long validCursor(String raw) {
        String s = raw.trim();
        if (!s.matches("[0-9]{1,19}")) return null;
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Test
    @Order(1)
    void hostile_cursors_get_invalid_cursor_or_cursor_ahead_and_never_a_stream(Api api) throws Exception {
        Hostile h = new Hostile(1);
        for (int n = 0; n < 120; n++) {
            String c = h.cursor();
            Long valid = validCursor(c);
            int where = n % 3;
            int status;
            String ctype;
            String body;
            if (where == 0) {
                // Last-Event-ID header (CR/LF removed: that would be another header, not a value)
                String v = c.replace("\r", "").replace("\n", "");
                RawSse s = RawSse.open(port, "/api/v1/events", userRead, null, Map.of("Last-Event-ID", v));
                status = s.status;
                ctype = s.headers.get("content-type");
                body = s.errorBody;
                s.close();
                if (v.isBlank() || (valid != null && valid == 0)) {
                    assertEquals(200, status, "Last-Event-ID '" + v + "' -> " + body);
                    continue;
                }
            } else if (where == 1) {
                RawSse s = RawSse.open(port, "/api/v1/events?after=" + Hostile.enc(c), userRead, null);
                status = s.status;
                ctype = s.headers.get("content-type");
                body = s.errorBody;
                s.close();
                if (c.isEmpty() || (valid != null && valid == 0)) {
                    assertEquals(200, status, "?after=" + c + " -> " + body);
                    continue;
                }
            } else {
                Api.Response r = api.get("/api/v1/events/backlog?after=" + Hostile.enc(c), userRead);
                status = r.status();
                ctype = r.header("Content-Type");
                body = r.body();
                if (c.isEmpty() || (valid != null && valid == 0)) {
                    assertEquals(200, status, "backlog ?after=" + c + " -> " + body);
                    continue;
                }
            }
            String what =
                    "cursor '" + c + "' (" + (where == 0 ? "header" : where == 1 ? "?after on SSE" : "backlog") + ")";
            assertClientError(what, status, ctype, body);
            assertEquals(400, status, what + " -> " + body);
            String code = new Api.Response(status, body, Map.of()).errorCode();
            // Jetty itself refuses control characters in a header value (400 bad_request)
            boolean jettyRefuses = where == 0 && c.chars().anyMatch(ch -> ch < 0x20 && ch != '\t');
            if (valid != null && !jettyRefuses) assertEquals("cursor_ahead", code, what + " -> " + body);
            else
                assertTrue(
                        code.equals("invalid_cursor") || (jettyRefuses && code.equals("bad_request")),
                        what + " -> " + body);
        }
    }

    @Test
    @Order(2)
    void hostile_ids_and_path_traversal_never_reach_a_stream(Api api) throws Exception {
        Hostile h = new Hostile(2);
        for (int n = 0; n < 100; n++) {
            String id = n % 4 == 0
                    ? h.pick(List.of(
                            "..",
                            "../..",
                            "..%2f..%2fadmin",
                            "%2e%2e",
                            "a/../hank",
                            "hank/..",
                            "hank%00",
                            "hank%2f",
                            "a;%zz",
                            "a;%d\u00e9",
                            "x".repeat(129),
                            ""))
                    : n % 4 == 1 ? "x".repeat(h.between(129, 5000)) : h.junk(40);
            if (id.equals("hank")) continue;
            String path = n % 4 == 0 ? id : Hostile.enc(id);
            if (uriAccepted(path)) {
                Api.Response r = api.send(
                        "POST", "/api/v1/users/" + path + "/events", userWrite, Map.of("type", "x.y"), Map.of());
                assertClientError("user id '" + id + "'", r);
            }
            // and raw, unencoded, as a client that does not care would send it
            String raw = id.replaceAll("[\\s\\p{Cntrl}]", "_");
            RawHttp.Response rr = RawHttp.send(
                    port,
                    ("POST /api/v1/users/" + raw + "/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + userWrite
                                    + "\r\nContent-Type: application/json\r\nContent-Length: 14\r\nConnection: close\r\n\r\n{\"type\":\"x.y\"}")
                            .getBytes(StandardCharsets.UTF_8));
            assertClientError("raw user id '" + raw + "'", rr);
        }
        for (int n = 0; n < 40; n++) {
            String prefix = n % 2 == 0
                    ? h.junk(20)
                    : h.pick(List.of("..", "../../tokens", "%2e%2e%2f", "*", "%", "AAAAAAA", "AAAAAAAAA"));
            if (n % 2 == 0) {
                assertClientError(
                        "token prefix '" + prefix + "'",
                        api.send(
                                "DELETE",
                                "/api/v1/admin/tokens/" + Hostile.enc(prefix),
                                TestServer.ADMIN_TOKEN,
                                null,
                                Map.of()));
            } else {
                assertClientError(
                        "raw token prefix '" + prefix + "'",
                        RawHttp.send(
                                port,
                                "DELETE /api/v1/admin/tokens/" + prefix
                                        + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TestServer.ADMIN_TOKEN
                                        + "\r\nConnection: close\r\n\r\n"));
            }
        }
    }

    @Test
    @Order(3)
    void hostile_types_tenants_and_bodies_are_400_and_write_nothing(Api api) throws Exception {
        Hostile h = new Hostile(3);
        for (int n = 0; n < 80; n++) {
            String type = h.junk(200);
            if (TYPE.matcher(type).matches()) type = type + "\u0000";
            Api.Response r = api.post("/api/v1/users/hank/events", userWrite, Map.of("type", type, "data", Map.of()));
            assertClientError("type '" + type + "'", r);
            assertEquals(400, r.status());
        }
        List<Object> wrongTypes = new ArrayList<>(List.of(1, 1.5, true, List.of("a.b"), Map.of("a", "b")));
        for (Object t : wrongTypes) {
            assertClientError("type " + t, api.post("/api/v1/users/hank/events", userWrite, Map.of("type", t)));
        }
        for (int n = 0; n < 60; n++) {
            String tenant = n % 3 == 0 ? "x".repeat(h.between(129, 3000)) : h.junk(60);
            if (Params.EXTERNAL_ID.matcher(tenant).matches()) tenant = tenant + "/";
            Object scopes = switch (n % 4) {
                case 0 -> List.of("events:read");
                case 1 -> List.of(h.junk(20));
                case 2 -> h.junk(10);
                default -> List.of(1, 2);
            };
            Map<String, Object> body = n % 5 == 0
                    ? Map.of("tenant", TENANT, "user", tenant, "scopes", List.of("events:read"))
                    : Map.of("tenant", tenant, "scopes", scopes);
            Api.Response r = api.post("/api/v1/admin/tokens", TestServer.ADMIN_TOKEN, body);
            assertClientError("mint " + body, r);
            assertEquals(400, r.status(), r.toString());
        }
        // Bodies that are not what they claim to be.
        List<String> bodies = new ArrayList<>(List.of(
                "",
                "null",
                "[]",
                "\"x\"",
                "1",
                "{",
                "{\"type\":",
                "{\"type\":\"a.b\"}}",
                "{\"type\":\"a.b\"} {}",
                "{\"type\":\"a.b\",\"data\":" + Hostile.nested(100_000, false) + "}",
                "{\"type\":\"a.b\",\"data\":" + Hostile.nested(20_000, true) + "}",
                "{\"type\":\"a.b\",\"data\":" + Hostile.nested(65, false) + "}",
                "{\"type\":\"a.b\",\"data\":" + "9".repeat(5_000) + "}",
                "{\"type\":\"a.b\",\"data\":NaN}",
                "{\"type\":\"a.b\",\"data\":\"\\u0000\"}",
                "{\"type\":\"a.b\",\"data\":{\"\\u0000\":1}}",
                "{\"type\":\"a.b\",\"data\":\"\\ud800\"}",
                "{\"type\":\"a.b\",\"data\":{\"a\":1,\"a\":2},\"type\":\"A B\"}",
                "{'type':'a.b'}",
                "{\"type\":\"a.b\",}",
                "\u00ff\u00fe{}"));
        for (int n = 0; n < 40; n++) bodies.add(h.junk(300));
        for (String b : bodies) {
            String what = "body " + (b.length() > 80 ? b.substring(0, 80) + "…" : b);
            // Over the 64 KiB limit the server answers 413 while the body is still arriving and
            // closes: a raw client reads that answer whatever state its upload is in.
            if (b.length() > 64 * 1024) assertClientError(what, rawPost("/api/v1/users/hank/events", userWrite, b));
            else assertClientError(what, api.post("/api/v1/users/hank/events", userWrite, b));
        }
    }

    @Test
    @Order(4)
    void ten_megabyte_bodies_and_header_floods_get_413_and_431_as_json(Api api) throws Exception {
        byte[] tenMb = new byte[10 * 1024 * 1024];
        java.util.Arrays.fill(tenMb, (byte) 'x');
        byte[] head = ("POST /api/v1/users/hank/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + userWrite
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + tenMb.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        RawHttp.Response r = RawHttp.send(port, concat(head, tenMb));
        assertClientError("10 MB body (Content-Length)", r);
        assertEquals(413, r.status());
        // chunked, no length declared: refused once 64 KiB have been read
        ByteArrayOutputStream chunked = new ByteArrayOutputStream();
        chunked.write(("POST /api/v1/users/hank/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + userWrite
                        + "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < 160; i++) {
            chunked.write("10000\r\n".getBytes(StandardCharsets.US_ASCII));
            chunked.write(tenMb, 0, 0x10000);
            chunked.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        chunked.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        r = RawHttp.send(port, chunked.toByteArray());
        assertClientError("10 MB chunked body", r);
        assertEquals(413, r.status());
        // a body just over the limit, which Jetty has mostly received when it answers: the
        // answer says the connection closes, so a pooling client does not reuse it
        Api.Response over = api.post(
                "/api/v1/users/hank/events", userWrite, "{\"type\":\"a.b\",\"data\":\"" + "x".repeat(70_000) + "\"}");
        assertClientError("a 70 KB body", over);
        assertEquals(413, over.status());
        assertEquals("close", over.header("Connection"));
        assertEquals(200, api.get("/api/v1/events/backlog", userRead).status(), "the client's next request works");

        StringBuilder many = new StringBuilder(
                "GET /api/v1/events/backlog HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + userRead + "\r\n");
        for (int i = 0; i < 5_000; i++)
            many.append("X-Flood-").append(i).append(": ").append(i).append("\r\n");
        r = RawHttp.send(port, many.append("\r\n").toString());
        assertClientError("5,000 headers", r);
        assertEquals(431, r.status());
        r = RawHttp.send(
                port, "GET /api/v1/events/backlog HTTP/1.1\r\nHost: x\r\nCookie: " + "c=".repeat(40_000) + "\r\n\r\n");
        assertClientError("an 80 KB header", r);
        assertEquals(431, r.status());
        r = RawHttp.send(port, "GET /api/v1/events/backlog?" + "a=1&".repeat(5_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertClientError("a 20 KB URI", r);
        assertEquals(414, r.status());
        StringBuilder auths = new StringBuilder("GET /api/v1/events/backlog HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 50; i++)
            auths.append("Authorization: Bearer garbage").append(i).append("\r\n");
        r = RawHttp.send(port, auths.append("\r\n").toString());
        assertClientError("50 Authorization headers", r);
        assertEquals(401, r.status());
        r = RawHttp.send(
                port,
                "GET /api/v1/events/backlog HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + "t".repeat(6_000)
                        + "\r\n\r\n");
        assertClientError("a 6 KB token", r);
        assertEquals(401, r.status());
    }

    @Test
    @Order(5)
    void random_bytes_and_broken_requests_are_answered_400_json_or_dropped() throws Exception {
        Hostile h = new Hostile(5);
        int answered = 0;
        for (int n = 0; n < 80; n++) {
            byte[] blob = h.bytes(2_000);
            if (n % 2 == 1) blob = concat("GET /api/v1/events HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII), blob);
            RawHttp.Response r = RawHttp.send(port, blob);
            if (r.closedWithoutResponse()) {
                // The request never completed (EOF mid-way): closing without an answer is right.
                assertTrue(r.body().isEmpty(), "a partial, non-HTTP answer: " + r.body());
                continue;
            }
            answered++;
            assertClientError("random bytes #" + n, r);
        }
        for (String req : List.of(
                "HELLO\r\n\r\n",
                "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /healthz HTTP/1.1\r\n\r\n",
                "POST /api/v1/users/hank/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                "POST /api/v1/users/hank/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "GET /api/v1/users/%00/events HTTP/1.1\r\nHost: x\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n")) {
            assertClientError(req.substring(0, req.indexOf('\r')), RawHttp.send(port, req));
        }
        // Jetty closes the connection after a request it could not parse: the answer says so
        assertEquals(
                "close",
                RawHttp.send(port, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n").header("connection"));
        // An unknown HTTP version is not a client error in HTTP's terms (505), but JSON all the same.
        RawHttp.Response v = RawHttp.send(port, "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n");
        assertEquals(505, v.status());
        assertTrue(
                v.header("content-type").startsWith("application/json")
                        && v.body().contains("\"code\":\"http_version_not_supported\""),
                v.toString());
        System.out.println(
                "[hostile] random bytes: " + answered + " of 80 answered (400 JSON), the rest dropped mid-request");
    }

    @Test
    @Order(6)
    void after_all_of_it_the_server_is_healthy_and_nothing_was_written(Api api) throws Exception {
        assertEquals(200, api.get("/healthz", null).status());
        assertEquals(200, api.get("/readyz", null).status());
        var db = server.databaseUrl();
        assertEquals(0, Sql.scalar(db, "SELECT count(*) FROM herald.events"), "hostile input wrote events");
        assertEquals(0, Sql.scalar(db, "SELECT count(*) FROM herald.streams"), "hostile input created streams");
        assertEquals(tokensBefore, Sql.scalar(db, "SELECT count(*) FROM herald.tokens"), "hostile input minted tokens");
        assertEquals(
                tenantsBefore, Sql.scalar(db, "SELECT count(*) FROM herald.tenants"), "hostile input created tenants");
        assertEquals(
                0,
                Sql.scalar(db, "SELECT count(*) FROM herald.tokens WHERE revoked_at IS NOT NULL"),
                "hostile input revoked tokens");
        // and it still does its job
        try (RawSse s = RawSse.open(port, "/api/v1/events", userRead, null)) {
            assertEquals(200, s.status);
            Api.Response r = api.post(
                    "/api/v1/users/hank/events", userWrite, Map.of("type", "still.alive", "data", Map.of("ok", true)));
            assertEquals(201, r.status(), r.toString());
            RawSse.Event e = s.next(Duration.ofSeconds(5));
            assertNotNull(e);
            assertEquals("still.alive", e.event());
        }
        if (cases < 400) fail("too few hostile cases ran: " + cases);
    }

    /** Whether java.net.URI (hence the JDK client) accepts this path at all; the raw variant always runs. */
    static boolean uriAccepted(String path) {
        try {
            java.net.URI.create("http://127.0.0.1/" + path);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    static RawHttp.Response rawPost(String path, String token, String body) throws java.io.IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return RawHttp.send(
                port,
                concat(
                        ("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
                                        + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                                        + "\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII),
                        b));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
