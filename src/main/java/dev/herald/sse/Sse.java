package dev.herald.sse;

import dev.herald.auth.Principal;
import dev.herald.http.ApiException;
import dev.herald.http.Params;
import dev.herald.stream.Event;
import dev.herald.stream.Frame;
import dev.herald.stream.Hub;
import dev.herald.stream.StreamKey;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

/**
 * Serves any stream over Server-Sent Events with API.md's common rules: 406 without
 * {@code Accept: text/event-stream}, resume from {@code Last-Event-ID} (or {@code ?after=}),
 * 400 {@code invalid_cursor} / {@code cursor_ahead}, {@code retry:} and {@code : connected}
 * first, {@code : ping} heartbeats, {@code reset} when the cursor is older than retention.
 */
public final class Sse {
    private static final org.slf4j.Logger connections = org.slf4j.LoggerFactory.getLogger("dev.herald.sse.connections");
    private final Hub hub;
    private final Sessions sessions;
    private final long retryMillis;
    private final long heartbeatMillis;
    private final SseMetrics metrics;
    /** Limits reconnects and replay per user ({@link ReplayBudget}), or {@link ReplayGate#OPEN}. */
    private final ReplayGate replayGate;
    /** Open streams allowed per user (or tenant-wide token) on this replica. */
    private final int maxStreamsPerUser;

    public Sse(
            Hub hub,
            Sessions sessions,
            ReplayGate replayGate,
            long retryMillis,
            long heartbeatMillis,
            SseMetrics metrics) {
        this(hub, sessions, replayGate, retryMillis, heartbeatMillis, metrics, Integer.MAX_VALUE);
    }

    public Sse(
            Hub hub,
            Sessions sessions,
            ReplayGate replayGate,
            long retryMillis,
            long heartbeatMillis,
            SseMetrics metrics,
            int maxStreamsPerUser) {
        this.maxStreamsPerUser = maxStreamsPerUser;
        this.replayGate = replayGate;
        this.hub = hub;
        this.sessions = sessions;
        this.retryMillis = retryMillis;
        this.heartbeatMillis = heartbeatMillis;
        this.metrics = metrics;
    }

    /**
     * What a request streams, resolved (and authorized) by the route. {@code filter}: which
     * events this client wants (null: all; cursors advance past the others). {@code terminal}:
     * an event after which the stream ends (null: none), e.g. a chat's deletion.
     */
    public record Target(
            Principal principal,
            StreamKey key,
            boolean fromBeginning,
            Predicate<Event> filter,
            Predicate<Event> terminal) {
        /** Live from now (or the client's cursor), every event. */
        public static Target live(Principal p, StreamKey key) {
            return new Target(p, key, false, null, null);
        }
    }

    /**
     * Limits how often a principal may (re)connect and how many backlog
     * rows it may replay. {@link #connect} runs before any database work and throws an
     * {@link ApiException} (429 with Retry-After) to refuse; {@link #replayed} is told how many
     * rows the accepted connect will replay (head minus its start cursor).
     */
    public interface ReplayGate {
        ReplayGate OPEN = new ReplayGate() {
            @Override
            public void connect(Principal p) {}

            @Override
            public void replayed(Principal p, long rows) {}
        };

        void connect(Principal p);

        void replayed(Principal p, long rows);
    }

    /** The replay budget of every SSE endpoint (JSON backlog endpoints use it too). */
    public ReplayGate replayGate() {
        return replayGate;
    }

    /** A route handler: checks Accept first, then lets the route authorize and pick the stream. */
    public Handler handler(Function<Context, Target> resolve) {
        return ctx -> {
            requireAccept(ctx);
            serve(ctx, resolve.apply(ctx));
        };
    }

    static void requireAccept(Context ctx) {
        String accept = ctx.header("Accept");
        if (accept == null || !(accept.contains("text/event-stream") || accept.contains("*/*"))) {
            throw new ApiException(
                    406, "not_acceptable", "this is a Server-Sent Events endpoint: send 'Accept: text/event-stream'");
        }
    }

    /** The client's cursor: Last-Event-ID wins over ?after=; null when neither is given. */
    static Long requestedCursor(Context ctx) {
        String h = ctx.header("Last-Event-ID");
        if (h != null && !h.isBlank()) return Params.cursor(h);
        String q = ctx.queryParam("after");
        if (q != null && !q.isEmpty()) return Params.cursor(q);
        return null;
    }

    /**
     * Whose streams count together against HERALD_MAX_STREAMS_PER_USER: a user's (any of its
     * tokens), or a tenant-wide token's own.
     */
    static String owner(Principal p) {
        return p.user() != null
                ? "u\u0000" + p.tenant() + "\u0000" + p.user()
                : "t\u0000" + p.tenant() + "\u0000" + p.tokenPrefix();
    }

    private void serve(Context ctx, Target target) throws IOException, InterruptedException {
        Long requested = requestedCursor(ctx);
        if (sessions.shuttingDown())
            throw ApiException.unavailable("server is shutting down; reconnect to another replica");
        String owner = owner(target.principal());
        if (!sessions.claim(owner, maxStreamsPerUser)) {
            throw new ApiException(
                    429,
                    "too_many_streams",
                    "this user already has " + maxStreamsPerUser
                            + " open streams on this server; close one (HERALD_MAX_STREAMS_PER_USER)",
                    Map.of("Retry-After", "10"));
        }
        try {
            serveClaimed(ctx, target, requested);
        } finally {
            sessions.release(owner);
        }
    }

    private void serveClaimed(Context ctx, Target target, Long requested) throws IOException, InterruptedException {
        ReplayGate gate = replayGate;
        gate.connect(target.principal()); // 429 in a reconnect storm
        HttpServletResponse res = ctx.res();
        ClientLink link = ClientLink.of(ServletContextRequest.getServletContextRequest(ctx.req()));
        OutputStream out = res.getOutputStream();
        SseSession session = new SseSession(
                out,
                link,
                target.principal().tokenPrefix(),
                target.filter(),
                target.terminal(),
                heartbeatMillis,
                target.principal().expiresAt(),
                metrics);
        Hub.Subscription sub = hub.subscribe(target.key(), session);
        try {
            long head = sub.info().head();
            long pruned = sub.info().prunedThrough();
            if (requested != null && requested > head) {
                throw ApiException.badRequest(
                        "cursor_ahead", "cursor " + requested + " is ahead of the stream's head " + head);
            }
            long start = requested != null ? requested : (target.fromBeginning() ? 0 : head);
            gate.replayed(target.principal(), head - Math.max(start, pruned)); // backlog rows
            if (!sessions.add(session))
                throw ApiException.unavailable("server is shutting down; reconnect to another replica");
            long openedAt = System.nanoTime();
            String ended = null;
            // One line per connection open and close (structured key=value), at info: a
            // bounded rate (connections, not events); silence "dev.herald.sse.connections" to drop them.
            connections.info(
                    "sse open tenant={} stream={} token={} cursor={} remote={}",
                    target.key().tenant(),
                    target.key().stream(),
                    target.principal().tokenPrefix(),
                    start,
                    ctx.req().getRemoteAddr() + ":" + ctx.req().getRemotePort());
            try {
                res.setStatus(200);
                res.setContentType("text/event-stream");
                res.setHeader("Cache-Control", "no-cache");
                res.setHeader("X-Accel-Buffering", "no");
                // HTTP/1.1 only: connection-specific headers are illegal on HTTP/2 (RFC 9113 8.2.2).
                if (link.connectionHeaders()) res.setHeader("Connection", "close");
                session.write(Frame.opening(retryMillis));
                if (start < pruned) {
                    session.write(Frame.reset(pruned + 1));
                    start = pruned;
                }
                session.attach(sub, start);
                session.watchForClose();
                session.run();
            } catch (IOException gone) {
                // The client went away mid-write; it resumes from its cursor.
                ended = "client gone";
            } catch (RuntimeException | InterruptedException e) {
                ended = "error: " + e.getClass().getSimpleName();
                throw e;
            } finally {
                sessions.remove(session);
                String reason = session.closeReason() != null ? session.closeReason() : ended != null ? ended : "ended";
                connections.info(
                        "sse close tenant={} stream={} token={} reason=\"{}\" cursor={} events={} duration_ms={}",
                        target.key().tenant(),
                        target.key().stream(),
                        target.principal().tokenPrefix(),
                        reason,
                        session.cursor(),
                        session.eventsSent(),
                        (System.nanoTime() - openedAt) / 1_000_000);
            }
        } finally {
            sub.close();
        }
    }
}
