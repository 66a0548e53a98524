package dev.herald.ops;

import dev.herald.database.Database;
import dev.herald.http.JsonResponses;
import dev.herald.stream.Listener;
import io.javalin.config.RoutesConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

/** /healthz, /readyz, /metrics (API.md section 5). */
public final class OpsRoutes {
    private final Database db;
    private final Listener listener;
    private final Warmup warmup;
    private final Metrics metrics;
    private final Database.Durability durability;
    private final AtomicReference<CompletableFuture<Boolean>> probe = new AtomicReference<>();

    /** {@code durability}: the database's, as checked at start (null if it could not be read). */
    public OpsRoutes(Database db, Listener listener, Warmup warmup, Metrics metrics, Database.Durability durability) {
        this.db = db;
        this.listener = listener;
        this.warmup = warmup;
        this.metrics = metrics;
        this.durability = durability;
    }

    public void register(RoutesConfig routes) {
        routes.get("/healthz", ctx -> ctx.json(Map.of("status", "ok")));
        routes.get("/readyz", ctx -> {
            boolean database = databaseReachable();
            boolean listening = listener.connected();
            boolean warm = warmup.done();
            boolean ready = database && listening && warm;
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", ready ? "ready" : database && listening ? "warming_up" : "unavailable");
            body.put("database", database);
            body.put("listener", listening);
            body.put("warmed_up", warm);
            // Not a readiness condition (the server works), a warning an operator must see.
            if (durability != null) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("synchronous_commit", durability.synchronousCommit());
                d.put("fsync", durability.fsync());
                body.put("durability", d);
                body.put("warnings", durability.warnings());
            } else {
                body.put("warnings", List.of("the database's durability settings could not be read at start"));
            }
            JsonResponses.respond(ctx, ready ? 200 : 503, body);
        });
        routes.get(
                "/metrics",
                ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                        .result(metrics.scrape()));
    }

    /**
     * While the database is down a pool checkout waits for the pool's connection timeout (5 s),
     * longer than probes wait (Kubernetes: 1 s). Answer within a second: a check still running
     * then counts as unreachable. One check at a time, however often probes come.
     */
    private boolean databaseReachable() {
        CompletableFuture<Boolean> f = probe.get();
        if (f == null || f.isDone()) {
            CompletableFuture<Boolean> next = new CompletableFuture<>();
            if (probe.compareAndSet(f, next)) {
                Thread.ofVirtual().name("herald-readiness").start(() -> next.complete(db.reachable()));
                f = next;
            } else {
                f = probe.get();
            }
        }
        try {
            return f.get(1, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
