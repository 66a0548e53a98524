package dev.herald.auth;

import dev.herald.http.ApiException;
import dev.herald.http.Body;
import dev.herald.http.JsonResponses;
import dev.herald.http.Params;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** POST/DELETE /api/v1/admin/tokens (API.md "Identity, tenants, tokens"). */
public final class AdminRoutes {
    private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9]{" + Auth.PREFIX_LENGTH + "}");

    private final Auth auth;
    private final TokenStore store;
    private final long maxBody;

    public AdminRoutes(Auth auth, TokenStore store, long maxBody) {
        this.auth = auth;
        this.store = store;
        this.maxBody = maxBody;
    }

    public void register(RoutesConfig routes) {
        routes.post("/api/v1/admin/tokens", this::mint);
        routes.delete("/api/v1/admin/tokens/{prefix}", this::revoke);
    }

    private void mint(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.ADMIN);
        Body body = Body.read(ctx, maxBody);
        String tenant = body.text("tenant", Params.EXTERNAL_ID, Params.EXTERNAL_ID_RULE);
        String user = body.optText("user", Params.EXTERNAL_ID, Params.EXTERNAL_ID_RULE);
        List<String> wire = body.optTextArray("scopes", 10, 32);
        if (wire == null) throw Body.missing("scopes");
        if (wire.isEmpty()) throw ApiException.badRequest("invalid_field", "'scopes' must name at least one scope");
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        for (String s : wire) {
            scopes.add(Scope.parse(s)
                    .orElseThrow(() -> ApiException.badRequest(
                            "invalid_scope",
                            "unknown scope '" + s + "'; scopes are events:read, events:write, admin")));
        }
        if (!p.operator() && !tenant.equals(p.tenant())) {
            throw ApiException.forbidden("forbidden", "a tenant admin may mint tokens for its own tenant only");
        }
        String token = auth.mint(tenant, user, scopes);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("token", token);
        out.put("prefix", token.substring(0, Auth.PREFIX_LENGTH));
        out.put("tenant", tenant);
        out.put("user", user);
        List<String> ordered = new ArrayList<>();
        for (Scope s : Scope.values()) if (scopes.contains(s)) ordered.add(s.wire());
        out.put("scopes", ordered);
        JsonResponses.respond(ctx, 201, out);
    }

    private void revoke(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.ADMIN);
        String prefix = ctx.pathParam("prefix");
        if (!PREFIX.matcher(prefix).matches()) throw ApiException.notFound("no such token");
        // Another tenant's token is reported as missing: nothing of another tenant is visible.
        String tenant = store.activeTenantOf(prefix).orElseThrow(() -> ApiException.notFound("no such token"));
        if (!p.operator() && !tenant.equals(p.tenant())) throw ApiException.notFound("no such token");
        if (!auth.revoke(prefix)) throw ApiException.notFound("no such token");
        ctx.status(204);
    }
}
