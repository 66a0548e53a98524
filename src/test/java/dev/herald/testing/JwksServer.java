package dev.herald.testing;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JWK Set served by the test itself on 127.0.0.1 (the JDK's HttpServer): the public halves of
 * the keys it is given, and a count of the requests it answered.
 */
public final class JwksServer implements AutoCloseable {
    private final HttpServer http;
    private final AtomicInteger requests = new AtomicInteger();
    private volatile String body = new JWKSet().toString();

    private JwksServer(HttpServer http) {
        this.http = http;
    }

    public static JwksServer start() {
        try {
            HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            JwksServer s = new JwksServer(http);
            http.createContext("/jwks.json", ex -> {
                s.requests.incrementAndGet();
                byte[] b = s.body.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "application/json");
                ex.sendResponseHeaders(200, b.length);
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(b);
                }
            });
            http.start();
            return s;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public String url() {
        return "http://127.0.0.1:" + http.getAddress().getPort() + "/jwks.json";
    }

    /** Serves these keys from now on (their public halves only). */
    public void publish(JWK... keys) {
        body = new JWKSet(List.of(keys)).toPublicJWKSet().toString();
    }

    /** How many times the set was fetched. */
    public int requests() {
        return requests.get();
    }

    @Override
    public void close() {
        http.stop(0);
    }
}
