package dev.herald.http;

import dev.herald.database.SqlStates;
import dev.herald.settings.Settings;
import dev.herald.stream.EventRejected;
import dev.herald.stream.StreamBusy;
import dev.herald.stream.WriteTimeout;
import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import javax.net.SocketFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
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

    /**
     * The server on {@code host:port}: HTTP/1.1 and h2c (prior knowledge and {@code Upgrade})
     * in cleartext, or with {@code tls} HTTPS only, h2 by ALPN and HTTP/1.1. {@code corsOrigins}:
     * the exact origins whose pages may call the API ({@link Cors}).
     */
    public static Javalin create(
            String host,
            int port,
            long idleTimeoutMillis,
            List<String> corsOrigins,
            Settings.Tls tls,
            Consumer<JavalinConfig> routes) {
        // Read now: a bad keystore stops the start with a message naming the variable.
        KeyStore keyStore = tls.enabled() ? keyStore(tls) : null;
        return Javalin.create(cfg -> {
            cfg.concurrency.useVirtualThreads = true;
            cfg.startup.showJavalinBanner = false;
            // One line per request at debug (HERALD_LOG_LEVEL=DEBUG or the logger's level).
            cfg.requestLogger.http((ctx, ms) -> {
                if (requests.isDebugEnabled()) {
                    requests.debug(
                            "http {} {} {} status={} ms={}",
                            ctx.req().getProtocol(),
                            ctx.method(),
                            ctx.path(),
                            ctx.status().getCode(),
                            Math.round(ms));
                }
            });
            cfg.http.maxRequestSize = 64L * 1024 * 1024;
            // Javalin copies every response body to the output through a new array of this size,
            // by default Jetty's output buffer size, 32 KB: at 2,500 publishes/s that was 80 MB/s
            // of garbage and 19 % of the server's CPU samples (JFR), for answers of about 100
            // bytes. Jetty still aggregates the body in its own 32 KB buffer; larger bodies take
            // a few more copies.
            cfg.http.responseBufferSize = 2048;
            cfg.jetty.addConnector((server, httpConfig) -> {
                httpConfig.setSendServerVersion(false);
                ServerConnector c = keyStore == null
                        ? new ServerConnector(
                                server,
                                new HttpConnectionFactory(httpConfig),
                                new HTTP2CServerConnectionFactory(httpConfig))
                        : tlsConnector(server, httpConfig, keyStore, tls.password());
                c.setHost(host);
                c.setPort(port);
                // The JDK's default backlog of 50 overflows under connection bursts
                // (docs/notes/javalin-sse.md); the kernel caps this at somaxconn.
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
            Cors.install(cfg, corsOrigins);
            // Errors Jetty answers before any route runs (431, 414, malformed requests) are JSON too.
            cfg.jetty.modifyServer(server -> {
                server.setErrorHandler(new JsonErrorHandler());
                // Javalin's default server wraps every request in Jetty's StatisticsHandler, whose
                // counters nothing here reads. Its listeners run on every write of every SSE
                // stream (reading the status and headers): 3.5 % of the subscribers' replica's
                // CPU samples at 100 subscribers x 200 events/s (JFR). Without it, Javalin
                // attaches its servlet handler directly.
                server.setHandler((Handler) null);
            });
            cfg.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e));
            cfg.routes.exception(
                    EventRejected.class,
                    (e, ctx) -> error(
                            ctx,
                            switch (e.reason()) {
                                case INVALID_DATA -> ApiException.badRequest("invalid_field", e.getMessage());
                                case TOO_LARGE -> ApiException.tooLarge(e.getMessage());
                            }));
            cfg.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> error(ctx, new ApiException(e.getStatus(), codeFor(e.getStatus()), e.getMessage())));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                if (SqlStates.notifyQueueFull(e)) {
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
                } else if (e instanceof WriteTimeout t) {
                    // The group commit did not confirm the write in time (a half-open database
                    // connection, a stuck writer): the client cannot know whether it committed,
                    // but a retry with the same Idempotency-Key answers exactly once either way.
                    error(
                            ctx,
                            new ApiException(
                                    503,
                                    "write_timeout",
                                    (t.mayHaveCommitted()
                                                    ? "the database did not confirm this write within "
                                                            + t.bound().toSeconds()
                                                            + " s; it may or may not have been committed"
                                                    : "the database did not complete this write within "
                                                            + t.bound().toSeconds() + " s; nothing was written")
                                            + "; retry with the same Idempotency-Key",
                                    Map.of("Retry-After", "1")));
                } else if (e instanceof StreamBusy || SqlStates.LOCK_TIMEOUT.equals(SqlStates.of(e))) {
                    // An application transaction holds the stream's head past the lock timeout.
                    error(
                            ctx,
                            new ApiException(
                                    503,
                                    "stream_locked",
                                    e instanceof StreamBusy
                                            ? e.getMessage()
                                            : "another transaction holds this stream; nothing was written, retry later",
                                    Map.of("Retry-After", "1")));
                } else if (SqlStates.unavailable(e)) {
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

    /** A registered route: an HTTP method and a path template ({@code /api/v1/chats/{id}}). */
    public record Route(String method, String path) {}

    /** The routes an app answers, from Javalin's router (filters excluded). */
    public static List<Route> routes(Javalin app) {
        return app.unsafe.internalRouter.allHttpHandlers().stream()
                .map(h -> h.endpoint)
                .filter(e -> e.method.isHttpMethod())
                .map(e -> new Route(e.method.name(), e.path))
                .toList();
    }

    /** Open client connections (TCP/TLS) on every connector; an HTTP/2 one carries many streams. */
    public static int connections(Javalin app) {
        int n = 0;
        for (var c : app.jettyServer().server().getConnectors())
            n += c.getConnectedEndPoints().size();
        return n;
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
        // (HTTP/1.x only: HTTP/2 ends just the stream, and forbids the header.)
        if (ctx.attribute(Body.READ) == null
                && ctx.req().getProtocol().startsWith("HTTP/1")
                && (ctx.req().getContentLengthLong() > 0 || ctx.header("Transfer-Encoding") != null)) {
            ctx.header("Connection", "close");
        }
        Map<String, Object> body =
                Map.of("error", Map.of("code", e.code(), "message", e.getMessage() == null ? "" : e.getMessage()));
        JsonResponses.respond(ctx, e.status(), body);
    }

    /**
     * HTTPS: TLS, then ALPN choosing h2 or HTTP/1.1 (the default for clients without ALPN).
     * Everything else as on the cleartext connector; requests see {@code https}.
     */
    private static ServerConnector tlsConnector(
            Server server, HttpConfiguration httpConfig, KeyStore keyStore, String password) {
        HttpConfiguration https = new HttpConfiguration(httpConfig);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // Clients reach a server by many names (IPs, load balancer names): no SNI-host check.
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        HttpConnectionFactory http11 = new HttpConnectionFactory(https);
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(https);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(http11.getProtocol());
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(keyStore);
        ssl.setKeyStorePassword(password);
        // h2 requires TLS 1.2+ and its cipher blacklist; Jetty's defaults already exclude the rest.
        ssl.setCipherComparator(HTTP2Cipher.COMPARATOR);
        SslConnectionFactory tls = new SslConnectionFactory(ssl, alpn.getProtocol());
        return new ServerConnector(server, tls, alpn, h2, http11);
    }

    /**
     * The keystore of HERALD_TLS_KEYSTORE (PKCS12 or JKS, found by content), with a private key;
     * an IllegalArgumentException naming the variable otherwise.
     */
    public static KeyStore keyStore(Settings.Tls tls) {
        KeyStore ks;
        try {
            ks = KeyStore.getInstance(tls.keystore().toFile(), tls.password().toCharArray());
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "HERALD_TLS_KEYSTORE: cannot open " + tls.keystore().toAbsolutePath()
                            + " as a PKCS12 or JKS keystore with HERALD_TLS_KEYSTORE_PASSWORD: " + e.getMessage());
        }
        try {
            for (String alias : Collections.list(ks.aliases())) {
                if (ks.isKeyEntry(alias)) return ks;
            }
        } catch (KeyStoreException e) {
            throw new IllegalArgumentException("HERALD_TLS_KEYSTORE: " + e.getMessage());
        }
        throw new IllegalArgumentException(
                "HERALD_TLS_KEYSTORE: " + tls.keystore().toAbsolutePath() + " holds no private key");
    }

    /**
     * Sockets for this replica's own loopback calls (the warm-up): plain, or TLS trusting the
     * certificate of HERALD_TLS_KEYSTORE (the server's own, whoever signed it).
     */
    public static SocketFactory loopbackSockets(Settings.Tls tls) {
        if (!tls.enabled()) return SocketFactory.getDefault();
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(keyStore(tls));
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx.getSocketFactory();
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("HERALD_TLS_KEYSTORE: " + e.getMessage());
        }
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
     * Stops accepting connections and waits, briefly, until a connect is actually refused. The
     * acceptor runs on a virtual thread, and the JDK closes a listening socket that a virtual
     * thread is blocked on only once that thread runs again: on a busy machine the port kept
     * accepting for most of a second after the connector was shut down (found by the
     * graceful-shutdown test).
     */
    public static void stopAccepting(Javalin app, String host, Duration max) {
        int port = app.port();
        for (var c : app.jettyServer().server().getConnectors()) {
            if (c instanceof org.eclipse.jetty.util.component.Graceful g) g.shutdown();
        }
        String probeHost =
                host == null || host.isBlank() || host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
        long until = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < until) {
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new java.net.InetSocketAddress(probeHost, port), 200);
            } catch (java.io.IOException refused) {
                return;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.warn("port {} still accepts connections after the connector was shut down", port);
    }
}
