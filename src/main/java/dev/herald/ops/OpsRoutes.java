package dev.herald.ops;

import dev.herald.database.Database;
import dev.herald.stream.Listener;
import dev.herald.web.Json;
import io.javalin.config.RoutesConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/** /healthz, /readyz, /metrics (API.md section 5). */
public final class OpsRoutes {
    private final Database db;
    private final Listener listener;
    private final Metrics metrics;

    public OpsRoutes(Database db, Listener listener, Metrics metrics) {
        this.db = db;
        this.listener = listener;
        this.metrics = metrics;
    }

    public void register(RoutesConfig routes) {
        routes.get("/healthz", ctx -> ctx.json(Map.of("status", "ok")));
        routes.get("/readyz", ctx -> {
            boolean database = db.reachable();
            boolean listening = listener.connected();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("status", database && listening ? "ready" : "unavailable");
            body.put("database", database);
            body.put("listener", listening);
            ctx.status(database && listening ? 200 : 503).contentType("application/json; charset=utf-8").result(Json.write(body));
        });
        routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()));
    }
}
