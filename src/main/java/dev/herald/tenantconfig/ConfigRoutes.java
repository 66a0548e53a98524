package dev.herald.tenantconfig;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.auth.Auth;
import dev.herald.auth.Principal;
import dev.herald.auth.Scope;
import dev.herald.http.ApiException;
import dev.herald.http.Body;
import dev.herald.http.JsonResponses;
import dev.herald.http.Params;
import dev.herald.json.Json;
import dev.herald.ops.Metrics;
import dev.herald.sse.Sse;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

/**
 * Config entries (API.md section 3): PUT/DELETE (admin), GET (events:read) served from the
 * replica's cache, and the tenant's change stream over SSE.
 */
public final class ConfigRoutes {
    private final Auth auth;
    private final ConfigStore store;
    private final Sse sse;
    private final Metrics metrics;
    private final long maxBody;

    public ConfigRoutes(Auth auth, ConfigStore store, Sse sse, Metrics metrics, long maxBody) {
        this.auth = auth;
        this.store = store;
        this.sse = sse;
        this.metrics = metrics;
        this.maxBody = maxBody;
    }

    public void register(RoutesConfig routes) {
        routes.get("/api/v1/config/watch", sse.handler(ctx -> {
            Principal p = auth.authenticate(ctx, true).require(Scope.EVENTS_READ);
            return Sse.Target.live(p, ConfigStore.watchStream(p.tenantOrThrow()));
        }));
        routes.get("/api/v1/config/{kind}/{entity}", this::get);
        routes.put("/api/v1/config/{kind}/{entity}", this::put);
        routes.delete("/api/v1/config/{kind}/{entity}", this::delete);
    }

    private ConfigKey key(Context ctx, Principal p) {
        String tenant = p.tenantOrThrow();
        ConfigKind kind = ConfigKind.parse(ctx.pathParam("kind"));
        return new ConfigKey(tenant, kind, Params.externalId(ctx, "entity"));
    }

    private void get(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_READ);
        ConfigKey key = key(ctx, p);
        ConfigEntry e = store.get(key);
        if (!e.present()) throw notFound(key);
        JsonResponses.respondRaw(ctx, 200, e.body());
    }

    private void put(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.ADMIN);
        ConfigKey key = key(ctx, p);
        Body body = Body.read(ctx, maxBody);
        // "value" may be any JSON, null included; only its absence is an error.
        JsonNode value = body.node().get("value");
        if (value == null) throw Body.missing("value");
        ConfigEntry e = store.put(key, Json.write(value));
        metrics.published(1);
        JsonResponses.respondRaw(ctx, 200, e.body());
    }

    private void delete(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.ADMIN);
        ConfigKey key = key(ctx, p);
        if (store.delete(key).isEmpty()) throw notFound(key);
        metrics.published(1);
        ctx.status(204);
    }

    private static ApiException notFound(ConfigKey key) {
        return ApiException.notFound("no config entry " + key.kind().wire() + "/" + key.entity());
    }
}
