package dev.herald.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** A small HTTP client for tests, speaking Herald's JSON API. */
public final class Api {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT =
            // HTTP/1.1, one connection per stream, as most clients: Java's default (HTTP/2) would
            // upgrade to h2c and put every stream of a test on one connection (TestHttp2 does that).
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();

    public final String base;

    public Api(String base) {
        this.base = base;
    }

    public record Response(int status, String body, Map<String, List<String>> headers) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (Exception e) {
                throw new AssertionError("not JSON (" + status + "): " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .findFirst()
                    .map(e -> e.getValue().get(0))
                    .orElse(null);
        }

        /** The error code of an API.md error body. */
        public String errorCode() {
            return json().path("error").path("code").asText(null);
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    public Response get(String path, String token) {
        return send("GET", path, token, null, Map.of());
    }

    public Response delete(String path, String token) {
        return send("DELETE", path, token, null, Map.of());
    }

    public Response post(String path, String token, Object body) {
        return send("POST", path, token, body, Map.of());
    }

    public Response put(String path, String token, Object body) {
        return send("PUT", path, token, body, Map.of());
    }

    public Response patch(String path, String token, Object body) {
        return send("PATCH", path, token, body, Map.of());
    }

    /** body: a String is sent as is; anything else is serialized as JSON. */
    public Response send(String method, String path, String token, Object body, Map<String, String> headers) {
        try {
            HttpRequest.Builder b =
                    HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20));
            if (token != null) b.header("Authorization", "Bearer " + token);
            headers.forEach(b::header);
            String payload = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
            if (payload != null) b.header("Content-Type", "application/json");
            b.method(
                    method,
                    payload == null
                            ? HttpRequest.BodyPublishers.noBody()
                            : HttpRequest.BodyPublishers.ofString(payload));
            HttpRequest req = b.build();
            HttpResponse<String> r;
            try {
                r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                // The server may close a keep-alive connection after rejecting a request body;
                // the client can pick that connection before it notices. No byte of a response
                // came back, so the request was not processed: send it once more.
                if (e.getMessage() == null || !e.getMessage().contains("received no bytes")) throw e;
                r = CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
            }
            return new Response(r.statusCode(), r.body(), r.headers().map());
        } catch (Exception e) {
            throw new AssertionError(method + " " + path + " failed: " + e, e);
        }
    }

    /** Mints a token with the operator token; returns the raw token. */
    public String mint(String tenant, String user, String... scopes) {
        Map<String, Object> body = user == null
                ? Map.of("tenant", tenant, "scopes", List.of(scopes))
                : Map.of("tenant", tenant, "user", user, "scopes", List.of(scopes));
        Response r = post("/api/v1/admin/tokens", TestServer.ADMIN_TOKEN, body);
        if (r.status() != 201) throw new AssertionError("mint failed: " + r);
        return r.json().get("token").asText();
    }

    /** A user token with read and write scopes. */
    public String userToken(String tenant, String user) {
        return mint(tenant, user, "events:read", "events:write");
    }

    public SseClient sse(String path, String token) {
        return SseClient.open(base + path, token, null);
    }

    public SseClient sse(String path, String token, Long lastEventId) {
        return SseClient.open(base + path, token, lastEventId);
    }
}
