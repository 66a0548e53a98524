package dev.herald.inbox;

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
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Inbox notifications (API.md section 1): create, list, unread count, mark read, and a live
 * watch stream over {@code inbox:<user>} that keeps every open tab's badge in step.
 */
public final class InboxRoutes {
    /** Canonical UUID text; java.util.UUID.fromString alone also accepts "1-2-3-4-5". */
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    /** Each listed target is one more join (PostgreSQL plans up to 8 joins exhaustively). */
    private static final int MAX_FILTER_TARGETS = 6;

    private final Auth auth;
    private final InboxRepository repo;
    private final Idempotency idempotency;
    private final Sse sse;
    private final Metrics metrics;
    private final long maxBody;

    public InboxRoutes(
            Auth auth, InboxRepository repo, Idempotency idempotency, Sse sse, Metrics metrics, long maxBody) {
        this.idempotency = idempotency;
        this.auth = auth;
        this.repo = repo;
        this.sse = sse;
        this.metrics = metrics;
        this.maxBody = maxBody;
    }

    public void register(RoutesConfig routes) {
        routes.post("/api/v1/users/{user}/inbox", this::create);
        routes.get("/api/v1/inbox", this::list);
        routes.get("/api/v1/inbox/watch", sse.handler(ctx -> {
            Principal p = auth.authenticate(ctx, true).require(Scope.EVENTS_READ);
            return Sse.Target.live(p, InboxRepository.stream(p.tenantOrThrow(), p.userOrThrow()));
        }));
        routes.put("/api/v1/inbox/mark-all-read", this::markAllRead);
        routes.put("/api/v1/inbox/{id}/read-status", this::readStatus);
    }

    private void create(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_WRITE);
        String user = Params.externalId(ctx, "user");
        p.requireMayActFor(user);
        Body body = Body.read(ctx, maxBody);
        NotificationInput in = NotificationInput.from(body);
        Idempotency.Claim claim = Idempotency.claim(ctx, p.tenantOrThrow(), body);
        if (idempotency.respondOnce(ctx, claim, 201, once -> repo.create(p.tenantOrThrow(), user, in, once)))
            metrics.published(1);
    }

    private void list(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_READ);
        String tenant = p.tenantOrThrow();
        String user = p.userOrThrow();
        InboxRepository.ReadStatus status = readStatus(ctx.queryParam("read_status"));
        List<String> targets = targets(ctx.queryParam("targets"));
        int limit = Params.intQuery(ctx, "limit", 25, 1, 100);
        Long before = null;
        String startingBefore = ctx.queryParam("starting_before");
        if (startingBefore != null && !startingBefore.isEmpty()) {
            UUID id = uuid(startingBefore)
                    .orElseThrow(() -> ApiException.badRequest(
                            "invalid_starting_before", "'starting_before' must be a notification id (a UUID)"));
            // Unknown ids and other users' ids answer alike: nothing about them is revealed.
            before = repo.cursorOf(tenant, user, id)
                    .orElseThrow(() -> ApiException.badRequest(
                            "invalid_starting_before", "'starting_before' is not a notification in your inbox"));
        }
        InboxRepository.Page page = repo.list(new InboxRepository.Query(tenant, user, status, targets, before, limit));
        ObjectNode out = Json.object();
        ArrayNode arr = out.putArray("notifications");
        for (Notification n : page.notifications()) arr.add(n.toJson());
        out.put("unread_count", page.unreadCount());
        JsonResponses.respond(ctx, 200, out);
    }

    private void readStatus(Context ctx) {
        // A user's own read state: reading scope suffices (a browser's read-only token marks read).
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_READ);
        String tenant = p.tenantOrThrow();
        String user = p.userOrThrow();
        // A malformed id is as unknown as another user's: 404 either way.
        UUID id = uuid(ctx.pathParam("id")).orElseThrow(InboxRoutes::notFound);
        boolean read = Body.read(ctx, maxBody).bool("is_read");
        InboxRepository.Marked m = repo.mark(tenant, user, id, read).orElseThrow(InboxRoutes::notFound);
        if (m.changed()) metrics.published(1);
        JsonResponses.respond(ctx, 200, m.notification().toJson());
    }

    private void markAllRead(Context ctx) {
        // A user's own read state: reading scope suffices (a browser's read-only token marks read).
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_READ);
        if (repo.markAllRead(p.tenantOrThrow(), p.userOrThrow()) > 0) metrics.published(1);
        ctx.status(204);
    }

    private static InboxRepository.ReadStatus readStatus(String raw) {
        if (raw == null || raw.isEmpty()) return InboxRepository.ReadStatus.ALL;
        return switch (raw) {
            case "all" -> InboxRepository.ReadStatus.ALL;
            case "read" -> InboxRepository.ReadStatus.READ;
            case "unread" -> InboxRepository.ReadStatus.UNREAD;
            default ->
                throw ApiException.badRequest("invalid_read_status", "'read_status' must be all, read or unread");
        };
    }

    /** {@code targets=a,b}: every listed target must be on a notification for it to match. */
    private static List<String> targets(String raw) {
        if (raw == null || raw.isEmpty()) return List.of();
        Set<String> out = new LinkedHashSet<>();
        for (String t : raw.split(",", -1)) {
            if (t.isEmpty() || t.codePointCount(0, t.length()) > NotificationInput.MAX_TARGET || t.indexOf('\0') >= 0) {
                throw ApiException.badRequest(
                        "invalid_targets",
                        "'targets' must be a comma-separated list of 1-" + NotificationInput.MAX_TARGET
                                + " character targets");
            }
            out.add(t);
        }
        if (out.size() > MAX_FILTER_TARGETS)
            throw ApiException.badRequest(
                    "invalid_targets", "'targets' lists more than " + MAX_FILTER_TARGETS + " targets");
        return new ArrayList<>(out);
    }

    private static Optional<UUID> uuid(String raw) {
        if (raw == null || !UUID_TEXT.matcher(raw).matches()) return Optional.empty();
        return Optional.of(UUID.fromString(raw.toLowerCase(Locale.ROOT)));
    }

    private static ApiException notFound() {
        return ApiException.notFound("no such notification");
    }
}
