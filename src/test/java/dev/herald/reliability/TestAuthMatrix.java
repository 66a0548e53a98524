package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.auth.Scope;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every route × every wrong token → exactly the 401/403/404 API.md prescribes, driven by one
 * table. To cover a new route, add a row to {@link #ROUTES}: method, path ({user} is the
 * subject user, {team} the subject tenant, {prefix} a fresh token of it), the scope it
 * requires, its kind (how its resource is owned) and a valid body. The expected answer for
 * each credential follows from the kind ({@link Kind#expect}); right-token rows prove the
 * table itself is right (a 2xx), and 2xx answers to other tenants' or users' tokens are
 * checked to show none of the subject's data.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TestAuthMatrix {
    static final String A = "acme-auth";
    static final String B = "other-auth";
    static final String USER = "alice";

    /** How a route's resource is owned, hence what each wrong credential must get. */
    enum Kind {
        /** The token's own user's data (GET /api/v1/events, /inbox, /chats...). */
        OWN_USER,
        /** Writes for the user named in the path, in the token's tenant (POST /users/{user}/events). */
        USER_WRITE,
        /** A resource named by id that belongs to one user (chats/{id}, inbox/{id}): others get 404. */
        OWNED_RESOURCE,
        /** Data of the tenant named in the path ({team} == tenant): another tenant gets 403. */
        TEAM,
        /** Admin: mint tokens for the tenant in the body (operator: any tenant). */
        ADMIN_MINT,
        /** Admin: revoke a token of the tenant by prefix (another tenant's token reads as missing: 404). */
        ADMIN_REVOKE,
        /** No authentication (/healthz, /readyz, /metrics). */
        PUBLIC;

        /** The answer a credential must get: status and error code (null code: a success). */
        Expect expect(Cred c, int success) {
            if (this == PUBLIC) return new Expect(success, null);
            switch (c) {
                case NONE, GARBAGE, MALFORMED, REVOKED, QUERY_PARAM_ON_JSON, COOKIE_ON_JSON:
                    return new Expect(401, "unauthorized");
                case RIGHT:
                    return new Expect(success, null);
                case MISSING_SCOPE:
                    return new Expect(403, "missing_scope");
                case OPERATOR:
                    return switch (this) {
                        case ADMIN_MINT, ADMIN_REVOKE -> new Expect(success, null);
                        default -> new Expect(403, "no_tenant");
                    };
                case TENANT_WIDE:
                    return switch (this) {
                        case OWN_USER, OWNED_RESOURCE -> new Expect(403, "no_user");
                        default -> new Expect(success, null);
                    };
                case OTHER_USER:
                    return switch (this) {
                        case USER_WRITE -> new Expect(403, "forbidden");
                        case OWNED_RESOURCE -> new Expect(404, "not_found");
                        case OWN_USER -> new Expect(success, null); // its own (other) data: checked to be isolated
                        default -> new Expect(success, null);
                    };
                case OTHER_TENANT:
                    return switch (this) {
                        case TEAM, ADMIN_MINT -> new Expect(403, "forbidden");
                        case OWNED_RESOURCE, ADMIN_REVOKE -> new Expect(404, "not_found");
                        default -> new Expect(success, null); // its own tenant's data: checked to be isolated
                    };
                default:
                    throw new IllegalStateException();
            }
        }

        /** Who the right token is: a user of the subject tenant, or the tenant itself. */
        boolean userBound() {
            return this == OWN_USER || this == USER_WRITE || this == OWNED_RESOURCE;
        }
    }

    /** The credentials every route is tried with. */
    enum Cred {
        RIGHT,
        NONE,
        GARBAGE,
        MALFORMED,
        REVOKED,
        MISSING_SCOPE,
        OTHER_TENANT,
        OTHER_USER,
        TENANT_WIDE,
        OPERATOR,
        QUERY_PARAM_ON_JSON,
        /** A valid token in the herald_token cookie, as a browser attaches it to a cross-site form post. */
        COOKIE_ON_JSON
    }

    record Expect(int status, String code) {}

    /** One route: sse routes are opened as event streams (Accept: text/event-stream). */
    record Route(String method, String path, Scope scope, Kind kind, boolean sse, int success, Supplier<Object> body) {
        static Route json(String method, String path, Scope scope, Kind kind, int success, Supplier<Object> body) {
            return new Route(method, path, scope, kind, false, success, body);
        }

        static Route sse(String path, Scope scope, Kind kind) {
            return new Route("GET", path, scope, kind, true, 200, () -> null);
        }

        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    static final List<Route> ROUTES = List.of(
            Route.json(
                    "POST",
                    "/api/v1/admin/tokens",
                    Scope.ADMIN,
                    Kind.ADMIN_MINT,
                    201,
                    () -> Map.of("tenant", A, "user", "minted", "scopes", List.of("events:read"))),
            Route.json("DELETE", "/api/v1/admin/tokens/{prefix}", Scope.ADMIN, Kind.ADMIN_REVOKE, 204, () -> null),
            Route.json(
                    "POST",
                    "/api/v1/users/{user}/events",
                    Scope.EVENTS_WRITE,
                    Kind.USER_WRITE,
                    201,
                    () -> Map.of("type", "auth.matrix", "data", Map.of("k", 1))),
            Route.json("GET", "/api/v1/events/backlog", Scope.EVENTS_READ, Kind.OWN_USER, 200, () -> null),
            Route.sse("/api/v1/events", Scope.EVENTS_READ, Kind.OWN_USER),
            Route.json("GET", "/healthz", null, Kind.PUBLIC, 200, () -> null),
            Route.json("GET", "/readyz", null, Kind.PUBLIC, 200, () -> null),
            Route.json("GET", "/metrics", null, Kind.PUBLIC, 200, () -> null),
            Route.json("GET", "/api/v1/openapi.json", null, Kind.PUBLIC, 200, () -> null));

    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    static final Map<String, String> minted = new HashMap<>();

    @BeforeAll
    static void theSubjectHasData(Api api) {
        // the subject has data: nobody else may see it
        String w = token(A, USER, EnumSet.of(Scope.EVENTS_WRITE));
        for (int i = 0; i < 3; i++)
            assertEquals(
                    201,
                    api.post("/api/v1/users/" + USER + "/events", w, Map.of("type", "secret.a", "data", Map.of("i", i)))
                            .status());
    }

    static String token(String tenant, String user, Set<Scope> scopes) {
        String key = tenant + "/" + user + "/" + scopes;
        return minted.computeIfAbsent(
                key,
                k -> server.api()
                        .mint(tenant, user, scopes.stream().map(Scope::wire).toArray(String[]::new)));
    }

    /** The token (or header) a credential means for a route; null: no Authorization header. */
    static String credential(Route r, Cred c) {
        String user = r.kind().userBound() ? USER : null;
        Set<Scope> right = r.scope() == null ? EnumSet.of(Scope.EVENTS_READ) : EnumSet.of(r.scope());
        return switch (c) {
            case RIGHT -> token(A, user, right);
            case NONE -> null;
            case GARBAGE -> "garbage-" + "x".repeat(32);
            case MALFORMED -> "";
            case REVOKED -> {
                String t = server.api()
                        .mint(A, user, right.stream().map(Scope::wire).toArray(String[]::new));
                assertEquals(
                        204,
                        server.api()
                                .delete("/api/v1/admin/tokens/" + t.substring(0, 8), TestServer.ADMIN_TOKEN)
                                .status());
                yield t;
            }
            case MISSING_SCOPE -> {
                EnumSet<Scope> others = EnumSet.complementOf(EnumSet.copyOf(right));
                yield token(A, user, others);
            }
            case OTHER_TENANT -> token(B, user, EnumSet.allOf(Scope.class));
            case OTHER_USER -> token(A, "bob", EnumSet.allOf(Scope.class));
            case TENANT_WIDE -> token(A, null, EnumSet.allOf(Scope.class));
            case OPERATOR -> TestServer.ADMIN_TOKEN;
            case QUERY_PARAM_ON_JSON, COOKIE_ON_JSON -> token(A, user, right);
        };
    }

    static String path(Route r) {
        String p = r.path().replace("{user}", USER).replace("{team}", A);
        if (p.contains("{prefix}"))
            p = p.replace(
                    "{prefix}", server.api().mint(A, "victim", "events:read").substring(0, 8));
        return p;
    }

    @Test
    void every_route_answers_every_wrong_token_exactly_as_api_md_says(Api api) throws Exception {
        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (Route r : ROUTES) {
            for (Cred c : Cred.values()) {
                if ((c == Cred.QUERY_PARAM_ON_JSON || c == Cred.COOKIE_ON_JSON) && (r.sse() || r.kind() == Kind.PUBLIC))
                    continue;
                Expect want = r.kind().expect(c, r.success());
                String token = credential(r, c);
                String path = path(r);
                int status;
                String body;
                if (r.sse()) {
                    RawSse s = c == Cred.MALFORMED
                            ? RawSse.open(
                                    server.herald().port(),
                                    path,
                                    null,
                                    null,
                                    Map.of("Authorization", "Basic dXNlcjpwdw=="))
                            : RawSse.open(server.herald().port(), path, token, null);
                    status = s.status;
                    body = s.errorBody;
                    if (status == 200) {
                        isolatedStream(r, c, s);
                        s.close();
                    }
                } else {
                    Map<String, String> headers = switch (c) {
                        case MALFORMED -> Map.of("Authorization", "Basic dXNlcjpwdw==");
                        case COOKIE_ON_JSON -> Map.of("Cookie", "herald_token=" + token);
                        default -> Map.of();
                    };
                    String sendToken = c == Cred.MALFORMED || c == Cred.QUERY_PARAM_ON_JSON || c == Cred.COOKIE_ON_JSON
                            ? null
                            : token;
                    String sendPath = c == Cred.QUERY_PARAM_ON_JSON
                            ? path + (path.contains("?") ? "&" : "?") + "access_token=" + token
                            : path;
                    long headA = head(A);
                    long headB = head(B);
                    Api.Response resp =
                            api.send(r.method(), sendPath, sendToken, r.body().get(), headers);
                    status = resp.status();
                    body = resp.body();
                    if (status / 100 == 2) isolatedJson(r, c, resp, headA, headB);
                }
                checked++;
                String got = status + (status >= 400 ? " " + new Api.Response(status, body, Map.of()).errorCode() : "");
                String expected = want.status() + (want.code() != null ? " " + want.code() : "");
                if (!got.equals(expected))
                    failures.add(r + " with " + c + ": expected " + expected + ", got " + status + " " + body);
            }
        }
        System.out.println("[auth] " + ROUTES.size() + " routes x " + Cred.values().length + " credentials: " + checked
                + " checked, " + failures.size() + " wrong");
        assertEquals(List.of(), failures);
    }

    @Test
    void sse_endpoints_take_the_token_from_the_cookie_or_query_but_never_a_revoked_or_garbage_one() throws Exception {
        int port = server.herald().port();
        String good = token(A, USER, EnumSet.of(Scope.EVENTS_READ));
        for (Route r : ROUTES) {
            if (!r.sse()) continue;
            try (RawSse s = RawSse.open(port, r.path() + "?access_token=" + good, null, null)) {
                assertEquals(200, s.status, r + " via ?access_token");
            }
            try (RawSse s = RawSse.open(port, r.path(), null, null, Map.of("Cookie", "herald_token=" + good))) {
                assertEquals(200, s.status, r + " via cookie");
            }
            String revoked = credential(r, Cred.REVOKED);
            for (String bad : List.of("garbage", revoked)) {
                try (RawSse s = RawSse.open(port, r.path() + "?access_token=" + bad, null, null)) {
                    assertEquals(401, s.status, r + " via ?access_token=" + bad);
                }
                try (RawSse s = RawSse.open(port, r.path(), null, null, Map.of("Cookie", "herald_token=" + bad))) {
                    assertEquals(401, s.status, r + " via cookie " + bad);
                }
            }
        }
    }

    static long head(String tenant) {
        return Sql.scalar(
                server.databaseUrl(),
                "SELECT coalesce(max(head), 0) FROM herald.streams WHERE tenant = ? AND stream = ?",
                tenant,
                "user:" + USER);
    }

    /** A 2xx for someone else's token must concern that someone's data, never the subject's. */
    static void isolatedJson(Route r, Cred c, Api.Response resp, long headA, long headB) {
        if (c != Cred.OTHER_TENANT && c != Cred.OTHER_USER) return;
        if (r.kind() == Kind.OWN_USER) {
            assertTrue(
                    resp.body().contains("\"events\":[]") || !resp.body().contains("secret.a"),
                    r + " with " + c + " saw the subject's data: " + resp.body());
        }
        if (r.kind() == Kind.USER_WRITE && c == Cred.OTHER_TENANT) {
            assertEquals(headA, head(A), r + " with " + c + " wrote into the subject's tenant");
            assertEquals(headB + 1, head(B), r + " with " + c + " must write in its own tenant");
        }
    }

    static void isolatedStream(Route r, Cred c, RawSse s) throws InterruptedException {
        if (c != Cred.OTHER_TENANT && c != Cred.OTHER_USER) return;
        String w = token(A, USER, EnumSet.of(Scope.EVENTS_WRITE));
        assertEquals(
                201,
                server.api()
                        .post("/api/v1/users/" + USER + "/events", w, Map.of("type", "secret.b"))
                        .status());
        assertNull(s.next(Duration.ofMillis(300)), r + " with " + c + " received the subject's event");
    }
}
