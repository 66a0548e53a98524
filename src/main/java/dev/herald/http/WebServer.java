package dev.herald.http;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.sql.SQLException;
import java.sql.SQLTransientException;
import java.util.Map;
import java.util.function.Consumer;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Javalin on virtual threads, with API.md's error model on every path: JSON bodies with a
 * snake_case code, never a stack trace; 503 while the database is unreachable.
 */
public final class WebServer {
    private static final Logger log = LoggerFactory.getLogger(WebServer.class);
    private static final Logger requests = LoggerFactory.getLogger("dev.herald.http");

    private WebServer() {}

    public static Javalin create(String host, int port, long idleTimeoutMillis, Consumer<JavalinConfig> routes) {
        return Javalin.create(cfg -> {
            cfg.concurrency.useVirtualThreads = true;
            cfg.startup.showJavalinBanner = false;
            // One line per request at debug (HERALD_LOG_LEVEL=DEBUG or the logger's level).
            cfg.requestLogger.http((ctx, ms) -> {
                if (requests.isDebugEnabled()) {
                    requests.debug(
                            "http {} {} status={} ms={}",
                            ctx.method(),
                            ctx.path(),
                            ctx.status().getCode(),
                            Math.round(ms));
                }
            });
            cfg.http.maxRequestSize = 64L * 1024 * 1024;
            cfg.jetty.addConnector((server, httpConfig) -> {
                httpConfig.setSendServerVersion(false);
                ServerConnector c = new ServerConnector(server, new HttpConnectionFactory(httpConfig));
                c.setHost(host);
                c.setPort(port);
                // The JDK's default backlog of 50 overflows under connection bursts
                // (shared/notes/javalin-sse.md); the kernel caps this at somaxconn.
                c.setAcceptQueueSize(4096);
                // Linux autotunes a socket's send buffer up to tcp_wmem's max (4 MB here): a
                // client that stops reading soaks up megabytes of kernel memory before its write
                // blocks and the slow-client sweeper can see it, and a few hundred of them push
                // the whole host into TCP memory pressure, slowing every connection. 256 KB
                // (the kernel doubles it) still streams ~20 Mbit/s per client at 100 ms RTT.
                c.setAcceptedSendBufferSize(256 * 1024);
                c.setIdleTimeout(idleTimeoutMillis);
                return c;
            });
            // Errors Jetty answers before any route runs (431, 414, malformed requests) are JSON too.
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
            cfg.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            cfg.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> error(ctx, new ApiException(e.getStatus(), codeFor(e.getStatus()), e.getMessage())));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                if (isNotifyQueueFull(e)) {
                    log.error(
                            "NOTIFY queue full: {} {} refused (a LISTEN connection somewhere has stopped reading)",
                            ctx.method(),
                            ctx.path());
                    error(
                            ctx,
                            new ApiException(
                                    503,
                                    "notify_queue_full",
                                    "the database's notification queue is full; nothing was written; retry later",
                                    Map.of("Retry-After", "5")));
                } else if (e instanceof IllegalArgumentException
                        && e.getMessage() != null
                        && e.getMessage().startsWith("URLDecoder:")) {
                    // Jetty lets '%' + a non-hex character through in a path; Javalin's decoding
                    // of path parameters then throws (found by the hostile-input test, seed 3).
                    error(ctx, ApiException.badRequest("bad_request", "malformed percent-encoding in the URL"));
                } else if (isDatabaseDown(e)) {
                    log.warn("database unavailable for {} {}: {}", ctx.method(), ctx.path(), e.getMessage());
                    error(
                            ctx,
                            new ApiException(
                                    503,
                                    "database_unavailable",
                                    "the database is unavailable; retry shortly",
                                    Map.of("Retry-After", "1")));
                } else {
                    log.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
                    error(ctx, new ApiException(500, "internal_error", "internal error"));
                }
            });
            for (int status : new int[] {404, 405}) {
                cfg.routes.error(status, ctx -> {
                    if (ctx.result() == null && ctx.resultInputStream() == null) {
                        error(
                                ctx,
                                new ApiException(
                                        status,
                                        codeFor(status),
                                        status == 404
                                                ? "no route for " + ctx.method() + " " + ctx.path()
                                                : "method not allowed"));
                    }
                });
            }
            routes.accept(cfg);
        });
    }

    public static void error(Context ctx, ApiException e) {
        // An event stream already under way cannot turn into an error: a JSON body appended
        // to it would corrupt the stream. Ending it is all that is left (the client resumes).
        if (ctx.res().isCommitted()) {
            log.debug("{} {} failed after the response was committed: {}", ctx.method(), ctx.path(), e.getMessage());
            return;
        }
        ctx.status(e.status());
        e.headers().forEach(ctx::header);
        // Answering before reading the request's body (413, or 401/403 before Body.read),
        // Jetty drains what has already arrived and closes the connection if more is still
        // coming: say so, or a client reuses the dead connection for its next request and
        // fails ("received no bytes"). Found by the hostile-input test.
        if (ctx.attribute(Body.READ) == null
                && (ctx.req().getContentLengthLong() > 0 || ctx.header("Transfer-Encoding") != null)) {
            ctx.header("Connection", "close");
        }
        Map<String, Object> body =
                Map.of("error", Map.of("code", e.code(), "message", e.getMessage() == null ? "" : e.getMessage()));
        JsonResponses.respond(ctx, e.status(), body);
    }

    static String codeFor(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 406 -> "not_acceptable";
            case 408 -> "request_timeout";
            case 413 -> "payload_too_large";
            case 414 -> "uri_too_long";
            case 415 -> "unsupported_media_type";
            case 426 -> "upgrade_required";
            case 431 -> "request_header_fields_too_large";
            case 505 -> "http_version_not_supported";
            case 429 -> "too_many_requests";
            case 503 -> "unavailable";
            default -> status >= 500 ? "internal_error" : "bad_request";
        };
    }

    /**
     * PostgreSQL queues a transaction's NOTIFYs at commit and, when its 8 GB queue is full
     * (a LISTENer that stopped reading pins its tail), fails the COMMIT with 54000: the
     * transaction rolled back, nothing was written, the client may retry later. Not a 500
     * (found by the NOTIFY failure test, fault 6). Other 54000 errors (row too big) differ.
     */
    static boolean isNotifyQueueFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s
                    && "54000".equals(s.getSQLState())
                    && s.getMessage() != null
                    && s.getMessage().contains("NOTIFY queue")) return true;
        }
        return false;
    }

    /** Connection failures, pool time-outs, a database that is shutting down. */
    static boolean isDatabaseDown(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientException) return true;
            if (t instanceof SQLException s
                    && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) return true;
            if (t instanceof DataAccessException d
                    && d.sqlStateClass() != null
                    && d.sqlStateClass().className() != null
                    && d.sqlState().startsWith("08")) return true;
        }
        return false;
    }
}
