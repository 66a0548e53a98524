package dev.herald.userevents;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.auth.Auth;
import dev.herald.auth.Principal;
import dev.herald.auth.Scope;
import dev.herald.http.ApiException;
import dev.herald.http.Body;
import dev.herald.http.Idempotency;
import dev.herald.http.JsonResponses;
import dev.herald.http.Params;
import dev.herald.json.Json;
import dev.herald.ops.Metrics;
import dev.herald.sse.Sse;
import dev.herald.stream.Event;
import dev.herald.stream.EventStore;
import dev.herald.stream.Publisher;
import dev.herald.stream.Renderer;
import dev.herald.stream.StreamKey;
import dev.herald.stream.StreamKind;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Per-user event streams for background work (API.md section 4, user part):
 * publish, live SSE, and a JSON backlog.
 */
public final class UserEventRoutes {
    public static final Pattern TYPE = Pattern.compile("[a-z0-9_.-]{1,128}");
    /** Event names the SSE protocol itself uses: a stream's {@code reset}, EventSource's {@code error}. */
    public static final Set<String> RESERVED_TYPES = Set.of("reset", "error");

    private final Auth auth;
    private final Publisher publisher;
    private final Idempotency idempotency;
    private final EventStore store;
    private final Sse sse;
    private final Metrics metrics;
    private final long maxBody;

    public UserEventRoutes(
            Auth auth,
            Publisher publisher,
            Idempotency idempotency,
            EventStore store,
            Sse sse,
            Metrics metrics,
            long maxBody) {
        this.idempotency = idempotency;
        this.auth = auth;
        this.publisher = publisher;
        this.store = store;
        this.sse = sse;
        this.metrics = metrics;
        this.maxBody = maxBody;
    }

    public static StreamKey stream(String tenant, String user) {
        return KIND.key(tenant, user);
    }

    /** Wire form of a user event: {"type","data","created_at"}. */
    static final Renderer RENDERER = e -> new Renderer.Rendered(e.type(), Json.write(view(e, false)));

    /** {@code user:<user>}; retention prunes it. */
    public static final StreamKind KIND = new StreamKind("user", RENDERER, true);

    private static ObjectNode view(Event e, boolean withCursor) {
        ObjectNode o = Json.object();
        if (withCursor) o.put("cursor", e.cursor());
        o.put("type", e.type());
        o.set("data", Json.parse(e.data()));
        o.put("created_at", DateTimeFormatter.ISO_INSTANT.format(e.createdAt()));
        return o;
    }

    public void register(RoutesConfig routes) {
        routes.post("/api/v1/users/{user}/events", this::publish);
        routes.get("/api/v1/events", sse.handler(ctx -> {
            Principal p = auth.authenticate(ctx, true).require(Scope.EVENTS_READ);
            return Sse.Target.live(p, stream(p.tenantOrThrow(), p.userOrThrow()));
        }));
        routes.get("/api/v1/events/backlog", this::backlog);
    }

    private void publish(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_WRITE);
        String user = Params.externalId(ctx, "user");
        p.requireMayActFor(user);
        Body body = Body.read(ctx, maxBody);
        String type = body.text("type", TYPE, "1-128 characters of [a-z0-9_.-]");
        if (RESERVED_TYPES.contains(type)) {
            throw ApiException.badRequest(
                    "reserved_type",
                    "'" + type + "' is reserved (reset and error are the stream's own events); choose another type");
        }
        JsonNode data = body.optAny("data");
        StreamKey key = stream(p.tenantOrThrow(), user);
        String json = data == null ? "{}" : Json.write(data);
        Idempotency.Claim claim = Idempotency.claim(ctx, key.tenant(), body);
        if (idempotency.publishOnce(ctx, claim, publisher, key, type, json, cursor -> answer(key, cursor))) {
            metrics.published(1);
        }
    }

    private static ObjectNode answer(StreamKey key, long cursor) {
        return Json.object().put("stream", key.stream()).put("cursor", cursor);
    }

    private void backlog(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_READ);
        StreamKey key = stream(p.tenantOrThrow(), p.userOrThrow());
        sse.replayGate().connect(p); // the replay budget covers the backlog too
        String afterRaw = ctx.queryParam("after");
        long after = afterRaw == null || afterRaw.isEmpty() ? 0 : Params.cursor(afterRaw);
        int limit = Params.intQuery(ctx, "limit", 100, 1, 100);
        EventStore.StreamInfo info = store.info(key);
        if (after > info.head())
            throw ApiException.badRequest(
                    "cursor_ahead", "cursor " + after + " is ahead of the stream's head " + info.head());
        List<Event> events = store.after(key, after, limit);
        sse.replayGate().replayed(p, events.size());
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (Event e : events) arr.add(view(e, true));
        ObjectNode out = Json.object();
        out.set("events", arr);
        out.put("head", info.head());
        if (info.prunedThrough() > 0) out.put("oldest", info.prunedThrough() + 1);
        JsonResponses.respond(ctx, 200, out);
    }
}
