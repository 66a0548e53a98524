package dev.herald.chat;

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
import dev.herald.stream.Ping;
import dev.herald.stream.PingSeal;
import dev.herald.stream.Publisher;
import dev.herald.stream.StreamKey;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Chats (API.md section 2): CRUD with lifecycle events on the owner's stream, messages as the
 * chat stream's events, the chat's SSE stream (snapshot then tail) and transient worker signals.
 * Every route is the token user's own: another user's chat, or a malformed id, is 404.
 * Reads need events:read, writes events:write.
 */
public final class ChatRoutes {
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern DECIMAL = Pattern.compile("[0-9]{1,18}");
    private static final Set<String> ROLES = Set.of("user", "assistant", "system", "tool");
    static final int TITLE_MAX = 256;
    static final int DIFF_STATUS_MAX_BYTES = 4096;

    private final Auth auth;
    private final ChatRepository chats;
    private final Publisher publisher;
    private final Idempotency idempotency;
    private final Sse sse;
    private final Metrics metrics;
    private final long maxBody;

    public ChatRoutes(
            Auth auth,
            ChatRepository chats,
            Publisher publisher,
            Idempotency idempotency,
            Sse sse,
            Metrics metrics,
            long maxBody) {
        this.idempotency = idempotency;
        this.auth = auth;
        this.chats = chats;
        this.publisher = publisher;
        this.sse = sse;
        this.metrics = metrics;
        this.maxBody = maxBody;
    }

    public void register(RoutesConfig routes) {
        // /chats/watch before /chats/{id}: the first matching route wins.
        routes.get("/api/v1/chats/watch", sse.handler(ctx -> {
            Principal p = user(ctx, true, Scope.EVENTS_READ);
            return Sse.Target.live(p, ChatRepository.ownerStream(p.tenant(), p.user()));
        }));
        routes.post("/api/v1/chats", this::create);
        routes.get("/api/v1/chats", this::list);
        routes.get("/api/v1/chats/{id}", this::get);
        routes.patch("/api/v1/chats/{id}", this::patch);
        routes.delete("/api/v1/chats/{id}", this::delete);
        routes.post("/api/v1/chats/{id}/messages", this::postMessage);
        routes.get("/api/v1/chats/{id}/messages", this::messages);
        routes.get("/api/v1/chats/{id}/stream", sse.handler(this::stream));
        routes.post("/api/v1/chats/{id}/signals", this::signal);
    }

    /** The caller, who must be a user (a token without one → 403) with the scope. */
    private Principal user(Context ctx, boolean sse, Scope scope) {
        Principal p = auth.authenticate(ctx, sse).require(scope);
        p.userOrThrow();
        return p;
    }

    private static ApiException noSuchChat() {
        return ApiException.notFound("no such chat");
    }

    /** The {id} path parameter; anything but a UUID is as unknown as another user's chat. */
    private static UUID chatId(Context ctx) {
        String v = ctx.pathParam("id");
        if (!UUID_TEXT.matcher(v).matches()) throw noSuchChat();
        return UUID.fromString(v);
    }

    private static String title(Body body, boolean required) {
        String t = required ? body.text("title", TITLE_MAX) : body.optText("title", TITLE_MAX);
        if (t != null && t.isEmpty())
            throw ApiException.badRequest("invalid_field", "'title' must be 1-" + TITLE_MAX + " characters");
        return t;
    }

    private void create(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_WRITE);
        Body body = Body.read(ctx, maxBody);
        Chat chat = chats.create(p.tenant(), p.user(), title(body, true));
        metrics.published(1);
        JsonResponses.respond(ctx, 201, chat.json());
    }

    private void list(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_READ);
        int limit = Params.intQuery(ctx, "limit", 100, 1, 100);
        String before = ctx.queryParam("starting_before");
        UUID anchor = null;
        if (before != null && !before.isEmpty()) {
            if (!UUID_TEXT.matcher(before).matches())
                throw ApiException.badRequest("invalid_starting_before", "'starting_before' must be a chat id");
            anchor = UUID.fromString(before);
        }
        List<Chat> found = chats.list(p.tenant(), p.user(), anchor, limit)
                .orElseThrow(() -> ApiException.badRequest(
                        "invalid_starting_before", "'starting_before' is not one of your chats"));
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (Chat c : found) arr.add(c.json());
        ObjectNode out = Json.object();
        out.set("chats", arr);
        JsonResponses.respond(ctx, 200, out);
    }

    private void get(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_READ);
        UUID id = chatId(ctx);
        JsonResponses.respond(
                ctx,
                200,
                chats.find(p.tenant(), p.user(), id)
                        .orElseThrow(ChatRoutes::noSuchChat)
                        .json());
    }

    private void patch(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_WRITE);
        UUID id = chatId(ctx);
        if (!chats.exists(p.tenant(), p.user(), id)) throw noSuchChat();
        Body body = Body.read(ctx, maxBody);
        String title = title(body, false);
        String status = status(body);
        boolean setDiff = body.node().has("diff_status");
        JsonNode diff = null;
        if (setDiff) {
            diff = body.node().get("diff_status");
            if (diff.isNull()) {
                diff = null;
            } else if (!diff.isObject()) {
                throw Body.wrongType("diff_status", "a JSON object or null");
            } else if (Json.write(diff).getBytes(StandardCharsets.UTF_8).length > DIFF_STATUS_MAX_BYTES) {
                throw ApiException.badRequest(
                        "invalid_field", "'diff_status' is larger than " + DIFF_STATUS_MAX_BYTES + " bytes");
            }
        }
        ChatRepository.Updated u = chats.update(
                        p.tenant(), p.user(), id, new ChatRepository.Patch(title, status, setDiff, diff))
                .orElseThrow(ChatRoutes::noSuchChat);
        metrics.published(u.kinds().size());
        JsonResponses.respond(ctx, 200, u.chat().json());
    }

    private static String status(Body body) {
        String s = body.optText("status", 64);
        if (s != null && !Chat.STATUSES.contains(s))
            throw ApiException.badRequest("invalid_field", "'status' must be " + Chat.STATUS_RULE);
        return s;
    }

    private void delete(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_WRITE);
        UUID id = chatId(ctx);
        if (!chats.delete(p.tenant(), p.user(), id)) throw noSuchChat();
        metrics.published(2); // deleted on the owner's stream and on the chat's
        ctx.status(204);
    }

    private void postMessage(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_WRITE);
        UUID id = chatId(ctx);
        if (!chats.exists(p.tenant(), p.user(), id)) throw noSuchChat();
        Body body = Body.read(ctx, maxBody);
        String role = body.text("role", 32);
        if (!ROLES.contains(role))
            throw ApiException.badRequest("invalid_field", "'role' must be one of user, assistant, system, tool");
        if (!body.node().has("content")) throw Body.missing("content");
        Idempotency.Claim claim = Idempotency.claim(ctx, p.tenant(), body);
        boolean published = idempotency.respondOnce(
                ctx,
                claim,
                201,
                once -> chats.postMessage(
                                p.tenant(), p.user(), id, role, body.node().get("content"), once)
                        .orElseThrow(ChatRoutes::noSuchChat));
        if (published) metrics.published(1);
    }

    private void messages(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_READ);
        UUID id = chatId(ctx);
        long after = 0;
        String raw = ctx.queryParam("after_id");
        if (raw != null && !raw.isEmpty()) {
            if (!DECIMAL.matcher(raw).matches())
                throw ApiException.badRequest("invalid_after_id", "'after_id' must be a non-negative whole number");
            after = Long.parseLong(raw);
        }
        int limit = Params.intQuery(ctx, "limit", 100, 1, 100);
        List<Event> rows =
                chats.messages(p.tenant(), p.user(), id, after, limit).orElseThrow(ChatRoutes::noSuchChat);
        ArrayNode arr = Json.MAPPER.createArrayNode();
        for (Event e : rows) arr.add(ChatWire.message(e));
        ObjectNode out = Json.object();
        out.set("messages", arr);
        JsonResponses.respond(ctx, 200, out);
    }

    /** The chat's stream: from the beginning without a cursor; ends after its deleted event. */
    private Sse.Target stream(Context ctx) {
        Principal p = user(ctx, true, Scope.EVENTS_READ);
        UUID id = chatId(ctx);
        if (!chats.exists(p.tenant(), p.user(), id)) throw noSuchChat();
        return new Sse.Target(
                p, ChatRepository.chatStream(p.tenant(), id), true, null, e -> ChatWire.DELETED.equals(e.type()));
    }

    /**
     * Relays each present field as one transient event to the chat's live streams, in the order
     * status (carrying worker_id), retry, error, queue_update, full_refresh. Every event's
     * NOTIFY payload is checked before any is sent: one too large → 413 and nothing is sent.
     */
    private void signal(Context ctx) {
        Principal p = user(ctx, false, Scope.EVENTS_WRITE);
        UUID id = chatId(ctx);
        if (!chats.exists(p.tenant(), p.user(), id)) throw noSuchChat();
        Body body = Body.read(ctx, maxBody);
        String chatId = id.toString();
        List<Transient> out = new ArrayList<>();

        String status = status(body);
        String workerId = body.optText("worker_id", 256);
        if (workerId != null && status == null) {
            throw ApiException.badRequest(
                    "invalid_field", "'worker_id' travels in the status event: send it with 'status'");
        }
        if (status != null) {
            ObjectNode d = Json.object().put("chat_id", chatId).put("status", status);
            if (workerId != null) d.put("worker_id", workerId);
            out.add(new Transient("status", d));
        }
        JsonNode retry = body.optObject("retry");
        if (retry != null) {
            requireWhole(retry, "attempt", true);
            requireWhole(retry, "delay_ms", true);
            JsonNode err = retry.get("error");
            if (err != null && !err.isNull() && !err.isTextual()) throw Body.wrongType("retry.error", "a string");
            out.add(new Transient("retry", Json.object().put("chat_id", chatId).set("retry", retry)));
        }
        JsonNode error = body.optObject("error");
        if (error != null) {
            out.add(new Transient("error", Json.object().put("chat_id", chatId).set("error", error)));
        }
        Boolean queueUpdate = body.optBool("queue_update");
        if (queueUpdate != null) {
            out.add(new Transient(
                    "queue_update", Json.object().put("chat_id", chatId).put("queue_update", queueUpdate)));
        }
        Boolean fullRefresh = body.optBool("full_refresh");
        if (fullRefresh != null) {
            out.add(new Transient(
                    "full_refresh", Json.object().put("chat_id", chatId).put("full_refresh", fullRefresh)));
        }
        if (out.isEmpty()) {
            throw ApiException.badRequest(
                    "missing_field", "a signal needs at least one of status, retry, error, queue_update, full_refresh");
        }

        StreamKey key = ChatRepository.chatStream(p.tenant(), id);
        for (Transient t : out) {
            int bytes = PingSeal.sealedBytes(Ping.transientSignal(key, t.event(), t.data()));
            if (bytes > Ping.MAX_PAYLOAD_BYTES) {
                throw ApiException.tooLarge("the '" + t.event() + "' signal is " + bytes
                        + " bytes as a NOTIFY payload; PostgreSQL's limit is under 8,000 bytes");
            }
        }
        ArrayNode relayed = Json.MAPPER.createArrayNode();
        for (Transient t : out) {
            publisher.signal(key, t.event(), t.data());
            relayed.add(t.event());
        }
        ObjectNode res = Json.object();
        res.set("relayed", relayed);
        JsonResponses.respond(ctx, 202, res);
    }

    private record Transient(String event, ObjectNode data) {}

    private static void requireWhole(JsonNode obj, String field, boolean required) {
        JsonNode v = obj.get(field);
        if (v == null || v.isNull()) {
            if (required) throw Body.missing("retry." + field);
            return;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
            throw Body.wrongType("retry." + field, "a non-negative whole number");
        }
    }
}
