package dev.herald;

import dev.herald.auth.AdminRoutes;
import dev.herald.auth.Auth;
import dev.herald.auth.JwtVerifier;
import dev.herald.auth.RevocationPoller;
import dev.herald.auth.TokenStore;
import dev.herald.browser.Pages;
import dev.herald.chat.ChatRepository;
import dev.herald.chat.ChatRoutes;
import dev.herald.database.Database;
import dev.herald.http.Idempotency;
import dev.herald.http.IdempotencyPruner;
import dev.herald.http.OpenApiRoutes;
import dev.herald.http.WebServer;
import dev.herald.inbox.InboxRepository;
import dev.herald.inbox.InboxRoutes;
import dev.herald.ops.Metrics;
import dev.herald.ops.NotifyQueueSampler;
import dev.herald.ops.OpsRoutes;
import dev.herald.ops.Warmup;
import dev.herald.settings.Settings;
import dev.herald.sse.ReplayBudget;
import dev.herald.sse.Sessions;
import dev.herald.sse.Sse;
import dev.herald.stream.EventStore;
import dev.herald.stream.Hub;
import dev.herald.stream.Listener;
import dev.herald.stream.Ping;
import dev.herald.stream.PingSeal;
import dev.herald.stream.Publisher;
import dev.herald.stream.RetentionJanitor;
import dev.herald.stream.StreamKind;
import dev.herald.teamjobs.JobEvents;
import dev.herald.teamjobs.TeamJobRoutes;
import dev.herald.tenantconfig.ConfigRepository;
import dev.herald.tenantconfig.ConfigRoutes;
import dev.herald.tenantconfig.ConfigStore;
import dev.herald.userevents.UserEventRoutes;
import io.javalin.Javalin;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Herald replica, wired here and nowhere else: the engine (event store, hub, listener,
 * publisher), every stream kind it serves, the SSE gates, the background tasks, and the HTTP
 * routes of each feature. {@link #start} builds with plain constructors; {@link #stop} ends
 * streams cleanly, then stops the rest.
 */
public final class Herald implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Herald.class);
    public static final String VERSION = versionOf();

    /** Every kind of stream a replica serves: its name prefix, wire form and retention. */
    static final List<StreamKind> STREAM_KINDS = List.of(
            UserEventRoutes.KIND,
            JobEvents.KIND,
            InboxRepository.KIND,
            ChatRepository.OWNER_KIND,
            ChatRepository.CHAT_KIND,
            ConfigStore.KIND);

    private final Settings settings;
    private final Database db;
    private final Metrics metrics;
    private final Hub hub;
    private final Listener listener;
    private final Sessions sessions;
    private final Publisher publisher;
    private final RevocationPoller revocationPoller;
    private final RetentionJanitor janitor;
    private final NotifyQueueSampler notifyQueue;
    private final IdempotencyPruner idempotencyPruner;
    private final Warmup warmup;
    private final Javalin app;
    private volatile boolean stopped;

    private Herald(Settings settings, Database db) {
        this.settings = settings;
        this.db = db;
        this.metrics = new Metrics();

        // The engine: the event log, fan-out, the one LISTEN connection, the publish path.
        EventStore events = new EventStore(db.readPool());
        PingSeal seal = new PingSeal(db.pingKey());
        this.publisher = new Publisher(
                db.dsl(),
                seal,
                settings.publishing().lockTimeout(),
                settings.publishing().slowLane(),
                settings.publishing().writeTimeout());
        this.hub = new Hub(
                events, settings.streams().ringSize(), settings.streams().ringBytes(), metrics);
        STREAM_KINDS.forEach(hub::register);
        this.listener = new Listener(
                db.url(),
                hub,
                seal,
                publisher::notify,
                settings.watchdog().interval(),
                settings.watchdog().deadline());

        // Tokens. A revocation ends the token's streams on every replica: broadcast as a
        // control ping, with a poll of recent revocations as the backstop for lost pings.
        TokenStore tokens = new TokenStore(db.dsl());
        // JWTs from the application's own issuer, beside opaque tokens, when a key is configured.
        Settings.Jwt jwt = settings.jwt();
        JwtVerifier jwts =
                jwt.enabled() ? new JwtVerifier(jwt.secret(), jwt.jwksUrl(), jwt.issuer(), jwt.audience()) : null;
        Auth auth =
                new Auth(tokens, prefix -> publisher.notify(Ping.control("revoke", prefix)), settings.limits(), jwts);
        this.sessions = new Sessions(
                settings.streams().slowClientTimeout(), settings.streams().heartbeat(), metrics);
        auth.onRevoked(sessions::closeByToken);
        listener.onControl("revoke", auth::revoked);
        this.revocationPoller = new RevocationPoller(tokens, auth, Duration.ofSeconds(2));
        auth.bootstrap(settings.adminToken());
        // Other replicas may have remembered HERALD_ADMIN_TOKEN as unknown: it works at once there too.
        listener.onControl("token", auth::known);
        if (settings.adminToken() != null) {
            try {
                publisher.notify(Ping.control("token", Auth.key(settings.adminToken())));
            } catch (RuntimeException e) {
                log.warn("could not announce the operator token to other replicas: {}", e.getMessage());
            }
        }

        // SSE for every stream kind, behind one gate: the per-user replay budget.
        Settings.Replay replay = settings.replay();
        Counter refused = Counter.builder("herald_replay_refused")
                .description("SSE connects and backlog requests refused by the replay budget (429)")
                .register(metrics.registry());
        ReplayBudget budget = new ReplayBudget(replay.connects(), replay.rows(), replay.window(), refused::increment);
        Sse sse = new Sse(
                hub,
                sessions,
                budget,
                settings.streams().sseRetryMillis(),
                settings.streams().heartbeat().toMillis(),
                metrics,
                settings.limits().maxStreamsPerUser());

        // Engine upkeep: retention for the kinds that are retained.
        Set<StreamKind> retained =
                STREAM_KINDS.stream().filter(StreamKind::retained).collect(Collectors.toUnmodifiableSet());
        Settings.Retention retention = settings.retention();
        this.janitor = new RetentionJanitor(
                db.dsl(),
                retained,
                retention.maxAge(),
                retention.interval(),
                retention.batch(),
                retention.purgeDelay());

        // Tenant config: a per-replica cache evicted by invalidation pings, flushed after a
        // listener reconnect (pings may have been lost meanwhile).
        ConfigStore configs = new ConfigStore(new ConfigRepository(db.dsl(), publisher), listener);
        listener.onChannel(ConfigStore.CHANNEL, configs::onInvalidation);
        listener.onReconnect(configs::flush);

        // Metrics.
        metrics.gauge("herald_sse_connections", "Open SSE connections", sessions::count);
        metrics.gauge(
                "herald_http_connections",
                "Open client connections (one HTTP/2 connection carries many SSE streams)",
                this::httpConnections);
        metrics.functionCounter("herald_listener_reconnects", "LISTEN connection reconnects", listener::reconnects);
        metrics.functionCounter(
                "herald_notifications_rejected",
                "NOTIFY payloads dropped: neither a change ping nor sealed by Herald, or replayed",
                seal::rejected);
        metrics.gauge(
                "herald_listener_connected", "1 while the LISTEN connection is up", () -> listener.connected() ? 1 : 0);
        metrics.gauge("herald_topics", "Streams with local subscribers", hub::topicCount);
        metrics.gauge(
                "herald_ring_bytes",
                "Encoded events the topics' rings hold (approximate heap bytes, within HERALD_RING_BYTES)",
                hub::cachedBytes);
        metrics.functionCounter(
                "herald_ring_evictions",
                "Topics whose cached events were evicted to stay within HERALD_RING_BYTES",
                hub::ringEvictions);
        FunctionCounter.builder("herald_retention_deleted_events", janitor, RetentionJanitor::deleted)
                .description("Events deleted by this replica's retention janitor")
                .register(metrics.registry());
        configs.registerMetrics(metrics);
        metrics.functionCounter(
                "herald_token_lookups", "Token lookups that reached the database (cache misses)", tokens::lookups);
        metrics.functionCounter(
                "herald_auth_throttled",
                "Requests refused with 429 because their address failed authentication too often",
                auth::throttled);
        // Pool usage (hikaricp_connections_active/idle/pending/max, acquire times). A pool
        // serves one registry: a Database reused by a second Herald keeps the first's.
        if (db.pool().getMetricRegistry() == null) db.pool().setMetricRegistry(metrics.registry());
        if (db.readPool().getMetricRegistry() == null) db.readPool().setMetricRegistry(metrics.registry());
        // Sampled on its own schedule, never per scrape.
        this.notifyQueue = new NotifyQueueSampler(db.dsl(), Duration.ofSeconds(2));
        metrics.gauge(
                "herald_notify_queue_usage",
                "Fraction of PostgreSQL's NOTIFY queue in use (0..1), sampled every 2 s",
                notifyQueue::usage);

        // Idempotency-Key on every publishing POST; expired keys pruned in the background.
        Idempotency idempotency = new Idempotency(db.dsl());
        this.idempotencyPruner = new IdempotencyPruner(idempotency, Duration.ofMinutes(10));

        // The warm-up: real traffic over loopback before /readyz turns 200, so the JIT has
        // compiled the publish and delivery paths before a load balancer sends clients.
        Settings.Warmup warm = settings.warmup();
        this.warmup = new Warmup(auth, db, WebServer.loopbackSockets(settings.tls()), warm.publishes(), warm.limit());

        // Durability: a database that acknowledges commits it can lose breaks Herald's promise
        // (an acknowledged event, its cursor): the server works, but says so loudly.
        Database.Durability durability = checkDurability(db);

        // HTTP: each feature's routes.
        Settings.Http http = settings.http();
        long maxBody = http.maxBodyBytes();
        long idle = Math.max(30_000, settings.streams().heartbeat().toMillis() * 2 + 5_000);
        this.app =
                WebServer.create(http.host(), http.port(), idle, settings.cors().origins(), settings.tls(), cfg -> {
                    // nosniff on everything; API answers are never cached (SSE and pages set their own).
                    cfg.routes.before(ctx -> {
                        ctx.header("X-Content-Type-Options", "nosniff");
                        ctx.header("Cache-Control", "no-store");
                    });
                    new OpsRoutes(db, listener, warmup, metrics, durability).register(cfg.routes);
                    new AdminRoutes(auth, tokens, maxBody).register(cfg.routes);
                    new UserEventRoutes(auth, publisher, idempotency, events, sse, metrics, maxBody)
                            .register(cfg.routes);
                    new TeamJobRoutes(auth, publisher, idempotency, sse, metrics, maxBody).register(cfg.routes);
                    new ChatRoutes(
                                    auth,
                                    new ChatRepository(db.dsl(), publisher),
                                    publisher,
                                    idempotency,
                                    sse,
                                    metrics,
                                    maxBody)
                            .register(cfg.routes);
                    new ConfigRoutes(auth, configs, sse, metrics, maxBody).register(cfg.routes);
                    new InboxRoutes(auth, new InboxRepository(db.dsl(), publisher), idempotency, sse, metrics, maxBody)
                            .register(cfg.routes);
                    new Pages().register(cfg.routes);
                    new OpenApiRoutes().register(cfg.routes);
                });
    }

    private static Database.Durability checkDurability(Database db) {
        try {
            Database.Durability d = db.durability();
            for (String w : d.warnings()) {
                log.warn(
                        "DURABILITY WARNING: {}. Herald promises that an acknowledged event is never lost;"
                                + " turn it on (ALTER SYSTEM SET ... = on; SELECT pg_reload_conf()). /readyz reports this too.",
                        w);
            }
            return d;
        } catch (RuntimeException e) {
            log.warn("DURABILITY WARNING: could not read synchronous_commit and fsync: {}", e.getMessage());
            return null;
        }
    }

    /** Opens the database (embedded if no URL), migrates, and serves. */
    public static Herald start(Settings settings) {
        if (settings.tls().enabled()) WebServer.keyStore(settings.tls()); // a bad keystore stops us first
        Database db = Database.open(settings);
        return start(settings, db);
    }

    /** Serves on an already open database (tests run several replicas on one). */
    public static Herald start(Settings settings, Database db) {
        if (settings.tls().enabled()) WebServer.keyStore(settings.tls());
        Herald h = new Herald(settings, db);
        h.listener.start();
        h.revocationPoller.start();
        h.janitor.start();
        h.notifyQueue.start();
        h.idempotencyPruner.start();
        h.app.start();
        h.warmup.start(h.port());
        log.info(
                "Herald {} listening on {}://{}:{} — database {} ({})",
                VERSION,
                settings.tls().enabled() ? "https" : "http",
                settings.http().host(),
                h.port(),
                db.url().describe(),
                db.embedded()
                        ? "embedded, data in " + settings.storage().dataDir().toAbsolutePath()
                        : "external");
        return h;
    }

    public int port() {
        return app.port();
    }

    /** Every route this replica answers (method and path template), as registered. */
    public List<WebServer.Route> routes() {
        return WebServer.routes(app);
    }

    /** Open client connections; an HTTP/2 connection carries many requests and streams. */
    public int httpConnections() {
        return app == null ? 0 : WebServer.connections(app);
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

    public RetentionJanitor janitor() {
        return janitor;
    }

    /** Ends SSE streams cleanly (clients resume elsewhere), then stops serving. */
    public void stop(boolean closeDatabase) {
        if (stopped) return;
        stopped = true;
        // Stop accepting before ending streams: clients that reconnect at once (and load
        // balancers) must find this replica gone, not be answered 503 by it.
        WebServer.stopAccepting(app, settings.http().host(), Duration.ofSeconds(1));
        warmup.close();
        sessions.shutdown(Duration.ofSeconds(3));
        app.stop();
        revocationPoller.close();
        janitor.close();
        notifyQueue.close();
        idempotencyPruner.close();
        listener.close();
        hub.close();
        sessions.close();
        if (closeDatabase) db.close();
        log.info("Herald stopped");
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
        Herald herald;
        try {
            herald = start(Settings.fromEnv(System.getenv()));
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
