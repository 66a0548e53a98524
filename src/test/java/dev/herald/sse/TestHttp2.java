package dev.herald.sse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 on Herald's port (API.md "CORS and HTTP/2"): h2c by prior knowledge and by Upgrade on
 * the cleartext port, h2 by ALPN with HERALD_TLS_KEYSTORE; many SSE streams share one
 * connection; one stream's cancel ends only its session; shutdown ends every stream.
 */
class TestHttp2 {
    static final Duration WAIT = Duration.ofSeconds(15);

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, b -> b.heartbeat(Duration.ofSeconds(1)));

    /** Java's HttpClient speaks h2c by Upgrade (its first request on a connection), h2 by ALPN. */
    static HttpClient h2(SSLContext ssl) {
        HttpClient.Builder b =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5));
        if (ssl != null) b.sslContext(ssl);
        return b.build();
    }

    static HttpResponse<String> send(HttpClient c, String base, String method, String path, String token, String body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(15));
        if (token != null) b.header("Authorization", "Bearer " + token);
        if (body != null) b.header("Content-Type", "application/json");
        b.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static String mint(HttpClient c, String base, String user, String scope) throws Exception {
        String body = user == null
                ? "{\"tenant\":\"acme\",\"scopes\":[\"" + scope + "\"]}"
                : "{\"tenant\":\"acme\",\"user\":\"" + user + "\",\"scopes\":[\"" + scope + "\"]}";
        var r = send(c, base, "POST", "/api/v1/admin/tokens", TestServer.ADMIN_TOKEN, body);
        assertEquals(201, r.statusCode(), r.body());
        return Api.JSON.readTree(r.body()).get("token").asText();
    }

    static SseClient stream(HttpClient c, String base, String token) {
        return SseClient.open(
                c,
                HttpRequest.newBuilder(URI.create(base + "/api/v1/events"))
                        .header("Accept", "text/event-stream")
                        .header("Authorization", "Bearer " + token)
                        .build());
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        await(what, WAIT, condition);
    }

    static void await(String what, Duration bound, BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + bound.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    /**
     * Ten users' streams on one client connection, checked on the server; each gets its own
     * event; cancelling one ends its session (and only it).
     */
    static void tenStreamsOnOneConnection(Herald herald, HttpClient c, String base, String prefix) throws Exception {
        // Keep-alive connections of earlier tests close at the server's idle timeout (35 s).
        await(
                "no client connections left from earlier tests",
                Duration.ofSeconds(60),
                () -> herald.httpConnections() == 0);
        // The first request (no body) opens the connection: h2c by Upgrade, or h2 by ALPN.
        var first = send(c, base, "GET", "/healthz", null, null);
        assertEquals(200, first.statusCode());
        assertEquals(HttpClient.Version.HTTP_2, first.version());
        String writer = mint(c, base, null, "events:write");
        assertEquals(1, herald.httpConnections(), "one connection so far");
        int before = herald.sessions().count();
        List<SseClient> streams = new ArrayList<>();
        List<String> users = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                String user = prefix + "-" + i;
                users.add(user);
                SseClient s = stream(c, base, mint(c, base, user, "events:read"));
                assertEquals(200, s.status, s.errorBody());
                assertEquals(HttpClient.Version.HTTP_2, s.response.version());
                // Connection-specific headers are illegal on HTTP/2.
                assertTrue(s.response.headers().firstValue("connection").isEmpty(), "Connection header on h2");
                streams.add(s);
            }
            await("ten sessions", () -> herald.sessions().count() == before + 10);
            assertEquals(1, herald.httpConnections(), "ten SSE streams share one connection");

            for (int i = 0; i < 10; i++) {
                var r = send(
                        c,
                        base,
                        "POST",
                        "/api/v1/users/" + users.get(i) + "/events",
                        writer,
                        "{\"type\":\"h2.test\",\"data\":{\"n\":" + i + "}}");
                assertEquals(201, r.statusCode(), r.body());
            }
            for (int i = 0; i < 10; i++) {
                var e = streams.get(i).take(1, WAIT).get(0);
                assertEquals(i, e.json().path("data").path("n").asInt(-1), e.data());
            }

            // The client cancels one stream (RST_STREAM): its session ends, the others go on.
            streams.get(3).close();
            await(
                    "the cancelled stream's session to end",
                    () -> herald.sessions().count() == before + 9);
            assertEquals(1, herald.httpConnections(), "the connection itself stays");
            for (int i = 0; i < 10; i++) {
                var r = send(
                        c,
                        base,
                        "POST",
                        "/api/v1/users/" + users.get(i) + "/events",
                        writer,
                        "{\"type\":\"h2.test\",\"data\":{\"n\":" + (100 + i) + "}}");
                assertEquals(201, r.statusCode(), r.body());
            }
            for (int i = 0; i < 10; i++) {
                if (i == 3) continue;
                var e = streams.get(i).take(1, WAIT).get(0);
                assertEquals(100 + i, e.json().path("data").path("n").asInt(-1), e.data());
                assertFalse(streams.get(i).closed());
            }
        } finally {
            streams.forEach(SseClient::close);
        }
        await("every session of this test to end", () -> herald.sessions().count() == before);
    }

    @Test
    void ten_sse_streams_share_one_h2c_connection_and_a_cancelled_one_ends_only_its_session() throws Exception {
        Herald herald = server.herald();
        String base = "http://127.0.0.1:" + herald.port();
        try (HttpClient c = h2(null)) {
            tenStreamsOnOneConnection(herald, c, base, "h2c");
        }
    }

    @Test
    void h2c_with_prior_knowledge_is_served() throws Exception {
        int port = server.herald().port();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            frame(out, 0x4, 0, 0, new byte[0]); // SETTINGS, empty
            // HEADERS on stream 1, END_STREAM | END_HEADERS: GET http://127.0.0.1:port/healthz,
            // literal HPACK fields (no Huffman).
            var block = new java.io.ByteArrayOutputStream();
            block.write(0x82); // :method GET
            block.write(0x86); // :scheme http
            literal(block, 4, "/healthz"); // :path
            literal(block, 1, "127.0.0.1:" + port); // :authority
            frame(out, 0x1, 0x5, 1, block.toByteArray());
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            boolean sawSettings = false;
            for (int n = 0; n < 20; n++) {
                int len = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                in.readUnsignedByte(); // flags
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(len);
                if (type == 0x4) sawSettings = true;
                if (type == 0x1 && stream == 1) {
                    assertTrue(sawSettings, "the server's preface (SETTINGS) comes first");
                    int at = 0;
                    // Skip HPACK dynamic table size updates (001xxxxx, 5-bit prefix integer).
                    while ((payload[at] & 0xE0) == 0x20) {
                        if ((payload[at++] & 0x1F) == 0x1F) while ((payload[at++] & 0x80) != 0) {}
                    }
                    assertEquals((byte) 0x88, payload[at], "HPACK :status 200 (indexed)");
                    return;
                }
            }
            throw new AssertionError("no response HEADERS on stream 1");
        }
    }

    /**
     * A client that stops reading one h2 stream (its flow-control window stays shut): the
     * slow-client sweeper resets that stream only, and its session ends.
     */
    @Test
    void a_stream_whose_window_stays_shut_is_reset_by_the_slow_client_sweeper() throws Exception {
        Herald herald = server.herald();
        int port = herald.port();
        Api api = server.api();
        String user = "h2-slow";
        String token = api.mint("acme", user, "events:read");
        String writer = api.mint("acme", null, "events:write");
        int before = herald.sessions().count();
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // SETTINGS_INITIAL_WINDOW_SIZE (0x4) = 1024: the stream takes 1 KB, then waits for
            // a WINDOW_UPDATE that never comes.
            frame(out, 0x4, 0, 0, new byte[] {0, 4, 0, 0, 4, 0});
            var block = new java.io.ByteArrayOutputStream();
            block.write(0x82); // :method GET
            block.write(0x86); // :scheme http
            literal(block, 4, "/api/v1/events"); // :path
            literal(block, 1, "127.0.0.1:" + port); // :authority
            literalNew(block, "accept", "text/event-stream");
            literalNew(block, "authorization", "Bearer " + token);
            frame(out, 0x1, 0x5, 1, block.toByteArray());
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            await("the stream's session", () -> herald.sessions().count() == before + 1);
            String big = "x".repeat(4000);
            for (int i = 0; i < 5; i++) {
                var r = api.post(
                        "/api/v1/users/" + user + "/events",
                        writer,
                        java.util.Map.of("type", "h2.slow", "data", java.util.Map.of("pad", big)));
                assertEquals(201, r.status(), r.body());
            }
            // Read frames (acking SETTINGS) until the server resets stream 1.
            boolean reset = false;
            long until = System.nanoTime() + WAIT.toNanos();
            while (!reset && System.nanoTime() < until) {
                int len = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                in.readNBytes(len);
                if (type == 0x4 && (flags & 0x1) == 0) {
                    frame(out, 0x4, 0x1, 0, new byte[0]);
                    out.flush();
                }
                if (type == 0x3 && stream == 1) reset = true; // RST_STREAM
                if (type == 0x7) throw new AssertionError("GOAWAY: the whole connection was closed");
            }
            assertTrue(reset, "the server reset the stuck stream");
            await("the stuck stream's session to end", () -> herald.sessions().count() == before);
        }
    }

    /** Literal header field without indexing, new name (lower case), plain value (< 127 bytes). */
    private static void literalNew(java.io.ByteArrayOutputStream block, String name, String value) {
        block.write(0);
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        block.write(n.length);
        block.write(n, 0, n.length);
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        block.write(v.length);
        block.write(v, 0, v.length);
    }

    private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(new byte[] {
            (byte) (payload.length >> 16),
            (byte) (payload.length >> 8),
            (byte) payload.length,
            (byte) type,
            (byte) flags
        });
        out.write(new byte[] {(byte) (stream >> 24), (byte) (stream >> 16), (byte) (stream >> 8), (byte) stream});
        out.write(payload);
    }

    /** Literal header field without indexing, indexed name, plain value. */
    private static void literal(java.io.ByteArrayOutputStream block, int nameIndex, String value) {
        block.write(nameIndex); // 0000xxxx: without indexing, name index < 15
        byte[] v = value.getBytes(StandardCharsets.US_ASCII);
        block.write(v.length);
        block.write(v, 0, v.length);
    }

    @Test
    void with_a_keystore_the_port_serves_https_h2_by_alpn_and_http11_and_shutdown_ends_the_streams(@TempDir Path dir)
            throws Exception {
        Path keystore = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "keytool")
                                .toString(),
                        "-genkeypair",
                        "-alias",
                        "herald",
                        "-keyalg",
                        "EC",
                        "-groupname",
                        "secp256r1",
                        "-dname",
                        "CN=localhost",
                        "-ext",
                        "SAN=ip:127.0.0.1,dns:localhost",
                        "-validity",
                        "2",
                        "-storetype",
                        "PKCS12",
                        "-keystore",
                        keystore.toString(),
                        "-storepass",
                        "changeit",
                        "-keypass",
                        "changeit")
                .redirectErrorStream(true)
                .start();
        String keytoolOut = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS), "keytool finished");
        assertEquals(0, keytool.exitValue(), keytoolOut);

        // A client that trusts just this certificate.
        KeyStore ks = KeyStore.getInstance(keystore.toFile(), "changeit".toCharArray());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("herald", ks.getCertificate("herald"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(null, tmf.getTrustManagers(), null);

        try (TestServer tls =
                TestServer.start(1, b -> b.heartbeat(Duration.ofSeconds(1)).tls(keystore, "changeit"))) {
            Herald herald = tls.herald();
            String base = "https://127.0.0.1:" + herald.port();
            try (HttpClient c = h2(ssl)) {
                var health = send(c, base, "GET", "/healthz", null, null);
                assertEquals(200, health.statusCode());
                assertEquals(HttpClient.Version.HTTP_2, health.version(), "h2 by ALPN");
            }
            try (HttpClient c = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .sslContext(ssl)
                    .build()) {
                var health = send(c, base, "GET", "/healthz", null, null);
                assertEquals(200, health.statusCode());
                assertEquals(HttpClient.Version.HTTP_1_1, health.version(), "HTTP/1.1 over TLS");
            }
            // Cleartext on the TLS port is refused: TLS replaces it.
            try (HttpClient c =
                    HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
                boolean refused;
                try {
                    refused = send(c, "http://127.0.0.1:" + herald.port(), "GET", "/healthz", null, null)
                                    .statusCode()
                            != 200;
                } catch (IOException e) {
                    refused = true;
                }
                assertTrue(refused, "plain HTTP is not served on the TLS port");
            }
            try (HttpClient c = h2(ssl)) {
                tenStreamsOnOneConnection(herald, c, base, "h2tls");

                // Graceful shutdown with streams open on one h2 connection: each one ends.
                String reader = mint(c, base, "h2tls-stop", "events:read");
                List<SseClient> open = new ArrayList<>();
                for (int i = 0; i < 3; i++) open.add(stream(c, base, reader));
                await("three sessions", () -> herald.sessions().count() == 3);
                long t0 = System.nanoTime();
                herald.stop(false);
                for (SseClient s : open) assertTrue(s.awaitClosed(WAIT), "stream ended by shutdown");
                assertTrue(
                        System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(8), "shutdown ended the h2 streams promptly");
                assertEquals(0, herald.sessions().count());
                open.forEach(SseClient::close);
            }
        }
    }

    @Test
    void a_keystore_that_cannot_be_read_stops_the_start_naming_the_variable(@TempDir Path dir) throws Exception {
        Path bad = java.nio.file.Files.writeString(dir.resolve("bad.p12"), "not a keystore");
        var e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class,
                () -> Herald.start(
                        server.settings(b -> b.tls(bad, "x")), server.herald().database()));
        assertTrue(e.getMessage().contains("HERALD_TLS_KEYSTORE"), e.getMessage());
    }
}
