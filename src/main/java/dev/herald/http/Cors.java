package dev.herald.http;

import io.javalin.config.JavalinConfig;
import io.javalin.config.JavalinState;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Browsers on other origins (API.md "CORS and HTTP/2"): for an {@code Origin} in the list,
 * every response of a route — API, SSE, and the JSON errors (401, 404, 429, …) — carries
 * {@code Access-Control-Allow-Origin: <origin>} and {@code Vary: Origin}; a preflight
 * {@code OPTIONS} answers 204 with the methods the path's routes serve and the request headers
 * clients use. Any other origin gets no CORS headers. No credentials mode.
 *
 * <p>Neither Javalin's CorsPlugin (it answers a preflight 200 echoing whatever method was
 * asked for, and sets 400 on a request from an unlisted origin) nor Jetty's CrossOriginHandler
 * (200, one fixed method list for every path) answers exactly that, so this is a before-handler
 * and one OPTIONS route that asks Javalin's router which methods the path has.
 */
final class Cors {
    static final String ALLOWED_HEADERS = "Authorization, Content-Type, Last-Event-ID, Idempotency-Key";
    /** Response headers a page may read besides the safelisted ones (herald.js reads Retry-After). */
    static final String EXPOSED_HEADERS = "Retry-After, Location";

    private static final List<HandlerType> METHODS = List.of(
            HandlerType.GET,
            HandlerType.HEAD,
            HandlerType.POST,
            HandlerType.PUT,
            HandlerType.PATCH,
            HandlerType.DELETE);

    private final Set<String> origins;
    private final JavalinState state;

    private Cors(List<String> origins, JavalinState state) {
        this.origins = Set.copyOf(origins);
        this.state = state;
    }

    /** Adds the CORS handling to a server being configured (the OPTIONS answer even without origins). */
    static void install(JavalinConfig cfg, List<String> origins) {
        Cors cors = new Cors(origins, cfg.unsafe);
        if (!origins.isEmpty()) cfg.routes.before(cors::headers);
        cfg.routes.addEndpoint(new Endpoint(HandlerType.OPTIONS, "/*", cors::options));
    }

    private boolean listed(Context ctx) {
        String origin = ctx.header("Origin");
        return origin != null && origins.contains(origin);
    }

    /** Every request: the response depends on Origin; a listed one is allowed. */
    private void headers(Context ctx) {
        ctx.res().addHeader("Vary", "Origin");
        if (listed(ctx)) {
            ctx.header("Access-Control-Allow-Origin", ctx.header("Origin"));
            ctx.header("Access-Control-Expose-Headers", EXPOSED_HEADERS);
        }
    }

    /**
     * OPTIONS on a path some route serves: 204 with {@code Allow}, and for a listed origin's
     * preflight the CORS answer. A path no route serves: 404 as for any method.
     */
    private void options(Context ctx) {
        List<String> methods = new ArrayList<>();
        for (HandlerType m : METHODS) {
            if (!state.internalRouter.findHttpHandlerEntries(m, ctx.path()).isEmpty()) methods.add(m.name());
        }
        if (methods.isEmpty()) {
            throw new ApiException(404, "not_found", "no route for OPTIONS " + ctx.path());
        }
        methods.add("OPTIONS");
        String allow = String.join(", ", methods);
        ctx.header("Allow", allow);
        if (listed(ctx) && ctx.header("Access-Control-Request-Method") != null) {
            ctx.header("Access-Control-Allow-Methods", allow);
            ctx.header("Access-Control-Allow-Headers", ALLOWED_HEADERS);
            ctx.header("Access-Control-Max-Age", "600");
        }
        ctx.status(204);
    }
}
