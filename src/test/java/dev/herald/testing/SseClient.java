package dev.herald.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test SSE client: opens a stream, parses frames on a virtual thread into a queue.
 * Comments ({@code : ping}) are counted, not queued. {@link #closed()} tells whether the
 * server ended the stream.
 */
public final class SseClient implements AutoCloseable {
    public record Event(Long id, String event, String data) {
        public JsonNode json() {
            try {
                return Api.JSON.readTree(data);
            } catch (Exception e) {
                throw new AssertionError("data is not JSON: " + data, e);
            }
        }
    }

    private static final HttpClient CLIENT =
            // HTTP/1.1, one connection per stream, as most clients: Java's default (HTTP/2) would
            // upgrade to h2c and put every stream of a test on one connection (TestHttp2 does that).
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();

    public final int status;
    public final HttpResponse<InputStream> response;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<String> comments = new ArrayList<>();
    private volatile String retry;
    private volatile boolean closed;
    private final String errorBody;

    private SseClient(HttpResponse<InputStream> response) {
        this.response = response;
        this.status = response.statusCode();
        if (status != 200) {
            String b;
            try (InputStream in = response.body()) {
                b = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (Exception e) {
                b = "";
            }
            errorBody = b;
            closed = true;
            return;
        }
        errorBody = null;
        Thread.ofVirtual().start(this::read);
    }

    public static SseClient open(String url, String token, Long lastEventId) {
        return open(url, token, lastEventId, java.util.Map.of());
    }

    /** The same, with further request headers (e.g. a Cookie). */
    public static SseClient open(String url, String token, Long lastEventId, java.util.Map<String, String> headers) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).header("Accept", "text/event-stream");
            headers.forEach(b::header);
            if (token != null) b.header("Authorization", "Bearer " + token);
            if (lastEventId != null) b.header("Last-Event-ID", Long.toString(lastEventId));
            return new SseClient(CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofInputStream()));
        } catch (Exception e) {
            throw new AssertionError("SSE open failed: " + url + ": " + e, e);
        }
    }

    /** A stream opened with the caller's client and request (HTTP/2, TLS, extra headers). */
    public static SseClient open(HttpClient client, HttpRequest request) {
        try {
            return new SseClient(client.send(request, HttpResponse.BodyHandlers.ofInputStream()));
        } catch (Exception e) {
            throw new AssertionError("SSE open failed: " + request.uri() + ": " + e, e);
        }
    }

    public String errorBody() {
        return errorBody;
    }

    public String retry() {
        return retry;
    }

    public boolean closed() {
        return closed;
    }

    public synchronized List<String> comments() {
        return new ArrayList<>(comments);
    }

    private void read() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            SseFrames.parse(r, new SseFrames.Handler() {
                @Override
                public void event(Long id, String event, String data) {
                    events.add(new Event(id, event, data));
                }

                @Override
                public void comment(String text) {
                    synchronized (SseClient.this) {
                        comments.add(text);
                    }
                }

                @Override
                public void retry(String value) {
                    retry = value;
                }
            });
        } catch (Exception ignored) {
            // closed by us or the server
        } finally {
            closed = true;
        }
    }

    /** The next event, or null after the timeout. */
    public Event next(Duration timeout) {
        try {
            return events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Exactly n events (fails after the timeout with what arrived). */
    public List<Event> take(int n, Duration timeout) {
        List<Event> out = new ArrayList<>(n);
        long until = System.nanoTime() + timeout.toNanos();
        while (out.size() < n) {
            long left = until - System.nanoTime();
            if (left <= 0)
                throw new AssertionError(
                        "expected " + n + " events within " + timeout + ", got " + out.size() + ": " + out);
            Event e = next(Duration.ofNanos(left));
            if (e != null) out.add(e);
        }
        return out;
    }

    /** Events that arrive within the window (for asserting nothing more comes). */
    public List<Event> drain(Duration window) {
        List<Event> out = new ArrayList<>();
        long until = System.nanoTime() + window.toNanos();
        while (true) {
            long left = until - System.nanoTime();
            if (left <= 0) return out;
            Event e = next(Duration.ofNanos(left));
            if (e != null) out.add(e);
        }
    }

    /** Waits until the server ends the stream. */
    public boolean awaitClosed(Duration timeout) {
        long until = System.nanoTime() + timeout.toNanos();
        while (!closed && System.nanoTime() < until) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return closed;
    }

    @Override
    public void close() {
        try {
            response.body().close();
        } catch (Exception ignored) {
            // already closed
        }
    }
}
