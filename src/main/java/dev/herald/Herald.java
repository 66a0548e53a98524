package dev.herald;

import dev.herald.auth.AdminRoutes;
import dev.herald.auth.Auth;
import dev.herald.auth.TokenStore;
import dev.herald.browser.Pages;
import dev.herald.chat.ChatRepository;
import dev.herald.chat.ChatRoutes;
import dev.herald.config.Config;
import dev.herald.configstore.ConfigRepository;
import dev.herald.configstore.ConfigRoutes;
import dev.herald.configstore.ConfigStore;
import dev.herald.database.Database;
import dev.herald.events.UserEventRoutes;
import dev.herald.http.WebServer;
import dev.herald.inbox.InboxRepository;
import dev.herald.inbox.InboxRoutes;
import dev.herald.jobs.Jobs;
import dev.herald.ops.Metrics;
import dev.herald.ops.NotifyQueueSampler;
import dev.herald.ops.OpsRoutes;
import dev.herald.sse.Sessions;
import dev.herald.sse.Sse;
import dev.herald.stream.EventStore;
import dev.herald.stream.Hub;
import dev.herald.stream.Listener;
import dev.herald.stream.Ping;
import dev.herald.stream.Publisher;
import io.javalin.Javalin;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Herald replica: database, listener, hub, HTTP. {@link #start} wires everything with
 * plain constructors; {@link #stop} ends streams cleanly, then stops the rest.
 */
public final class Herald implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Herald.class);
    public static final String VERSION = versionOf();

    private final Config config;
    private final Database db;
    private final Metrics metrics;
    private final Hub hub;
    private final Listener listener;
    private final Sessions sessions;
    private final Auth auth;
    private final Publisher publisher;
    private final Javalin app;
    private final Thread revocationPoller;
    private final Jobs jobs; // team job events, retention janitor, replay budget
    private final NotifyQueueSampler notifyQueue;
    private volatile boolean stopped;

    private Herald(Config config, Database db) {
        this.config = config;
        this.db = db;
        this.metrics = new Metrics();
        EventStore events = new EventStore(db.dsl());
        TokenStore tokens = new TokenStore(db.dsl());
        this.publisher = new Publisher(db.dsl());
        this.hub = new Hub(events, config.ringSize(), metrics);
        this.sessions = new Sessions(config.slowClientTimeout(), metrics);
        this.auth = new Auth(tokens, prefix -> publisher.notify(Ping.control("revoke", prefix)));
        this.listener =
                new Listener(db.url(), hub, publisher::notify, config.watchdogInterval(), config.watchdogDeadline());
        Sse sse = new Sse(
                hub, sessions, config.sseRetryMillis(), config.heartbeat().toMillis(), metrics);

        // A revocation ends the token's streams on every replica.
        auth.onRevoked(sessions::closeByToken);
        listener.onControl("revoke", auth::revoked);

        metrics.gauge("herald_sse_connections", "Open SSE connections", sessions::count);
        metrics.functionCounter("herald_listener_reconnects", "LISTEN connection reconnects", listener::reconnects);
        metrics.gauge(
                "herald_listener_connected", "1 while the LISTEN connection is up", () -> listener.connected() ? 1 : 0);
        metrics.gauge("herald_topics", "Streams with local subscribers", hub::topicCount);
        // Pool usage (hikaricp_connections_active/idle/pending/max, acquire times). A pool
        // serves one registry: a Database reused by a second Herald keeps the first's.
        if (db.pool().getMetricRegistry() == null) db.pool().setMetricRegistry(metrics.registry());
        // Sampled on its own schedule, never per scrape.
        this.notifyQueue = new NotifyQueueSampler(db.dsl(), Duration.ofSeconds(2));
        metrics.gauge(
                "herald_notify_queue_usage",
                "Fraction of PostgreSQL's NOTIFY queue in use (0..1), sampled every 2 s",
                notifyQueue::usage);

        // Config cache: evict on chat:config_change pings, everything after a reconnect.
        ConfigStore configs = ConfigStore.create(new ConfigRepository(db.dsl()), listener, hub, metrics);

        auth.bootstrap(config.adminToken());
        this.jobs = new Jobs(config, db.dsl(), auth, hub, sse, metrics);

        long idle = Math.max(30_000, config.heartbeat().toMillis() * 2 + 5_000);
        this.app = WebServer.create(config.host(), config.port(), idle, cfg -> {
            new OpsRoutes(db, listener, metrics).register(cfg.routes);
            new AdminRoutes(auth, tokens, config.maxBodyBytes()).register(cfg.routes);
            new UserEventRoutes(auth, publisher, events, hub, sse, metrics, config.maxBodyBytes()).register(cfg.routes);
            new ChatRoutes(auth, new ChatRepository(db.dsl()), publisher, hub, sse, metrics, config.maxBodyBytes())
                    .register(cfg.routes);
            jobs.register(cfg.routes);
            new ConfigRoutes(auth, configs, sse, metrics, config.maxBodyBytes()).register(cfg.routes);
            new InboxRoutes(auth, new InboxRepository(db.dsl()), hub, sse, metrics, config.maxBodyBytes())
                    .register(cfg.routes);
            new Pages().register(cfg.routes); // web branch (issue 10): GET /, /herald.js and the page's files
        });
        this.revocationPoller = Thread.ofVirtual().name("herald-revocations").unstarted(() -> pollRevocations(tokens));
    }

    /** Opens the database (embedded if no URL), migrates, and serves. */
    public static Herald start(Config config) {
        Database db = Database.open(config);
        return start(config, db);
    }

    /** Serves on an already open database (tests run several replicas on one). */
    public static Herald start(Config config, Database db) {
        Herald h = new Herald(config, db);
        h.listener.start();
        h.revocationPoller.start();
        h.jobs.start();
        h.notifyQueue.start();
        h.app.start();
        log.info(
                "Herald {} listening on {}:{} — database {} ({})",
                VERSION,
                config.host(),
                h.port(),
                db.url().describe(),
                db.embedded() ? "embedded, data in " + config.dataDir().toAbsolutePath() : "external");
        return h;
    }

    /** A revocation ping can be lost (listener reconnecting): also poll for recent ones. */
    private void pollRevocations(TokenStore tokens) {
        OffsetDateTime since = OffsetDateTime.now().minusSeconds(5);
        while (!stopped) {
            try {
                Thread.sleep(2_000);
                OffsetDateTime now = OffsetDateTime.now();
                for (String prefix : tokens.revokedSince(since)) auth.revoked(prefix);
                since = now.minusSeconds(5);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.debug("revocation poll failed: {}", e.getMessage());
            }
        }
    }

    public int port() {
        return app.port();
    }

    public Database database() {
        return db;
    }

    public Listener listener() {
        return listener;
    }

    public Hub hub() {
        return hub;
    }

    public Metrics metrics() {
        return metrics;
    }

    public Sessions sessions() {
        return sessions;
    }

    public Publisher publisher() {
        return publisher;
    }

    public Jobs jobs() {
        return jobs;
    }

    /** Ends SSE streams cleanly (clients resume elsewhere), then stops serving. */
    public void stop(boolean closeDatabase) {
        if (stopped) return;
        stopped = true;
        // Stop accepting before ending streams: clients that reconnect at once (and load
        // balancers) must find this replica gone, not be answered 503 by it.
        int port = port();
        for (var c : app.jettyServer().server().getConnectors()) {
            if (c instanceof org.eclipse.jetty.util.component.Graceful g) g.shutdown();
        }
        awaitPortClosed(port, Duration.ofSeconds(1));
        sessions.shutdown(Duration.ofSeconds(3));
        app.stop();
        revocationPoller.interrupt();
        jobs.close();
        notifyQueue.close();
        listener.close();
        hub.close();
        sessions.close();
        if (closeDatabase) db.close();
        log.info("Herald stopped");
    }

    /**
     * The acceptor runs on a virtual thread, and the JDK closes a listening socket that a
     * virtual thread is blocked on only once that thread runs again: on a busy machine the
     * port kept accepting for most of a second after the connector was shut down (found by
     * the graceful-shutdown test). Wait, briefly, until a connect is actually refused.
     */
    private void awaitPortClosed(int port, Duration max) {
        String host = config.host() == null
                        || config.host().isBlank()
                        || config.host().equals("0.0.0.0")
                        || config.host().equals("::")
                ? "127.0.0.1"
                : config.host();
        long until = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < until) {
            try (java.net.Socket probe = new java.net.Socket()) {
                probe.connect(new java.net.InetSocketAddress(host, port), 200);
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

    @Override
    public void close() {
        stop(true);
    }

    private static String versionOf() {
        String v = Herald.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    public static void main(String[] args) throws Exception {
        Config config;
        Herald herald;
        try {
            config = Config.fromEnv(System.getenv());
            herald = start(config);
        } catch (IllegalArgumentException | IllegalStateException e) {
            log.error("Herald could not start: {}", e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch stop = new CountDownLatch(1);
        // SIGTERM/SIGINT: stop accepting, end streams cleanly, exit 0 (a JVM killed through
        // shutdown hooks alone would exit 143).
        for (String sig : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> stop.countDown());
        }
        stop.await();
        Thread watchdog = Thread.ofPlatform().daemon().start(() -> {
            try {
                Thread.sleep(9_000);
            } catch (InterruptedException ignored) {
                return;
            }
            log.warn("shutdown took too long; exiting");
            Runtime.getRuntime().halt(0);
        });
        herald.stop(true);
        watchdog.interrupt();
        System.exit(0);
    }
}
