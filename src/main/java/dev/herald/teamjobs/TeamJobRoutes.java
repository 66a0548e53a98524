package dev.herald.teamjobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.auth.Auth;
import dev.herald.auth.Principal;
import dev.herald.auth.Scope;
import dev.herald.http.ApiException;
import dev.herald.http.Body;
import dev.herald.http.Idempotency;
import dev.herald.http.Params;
import dev.herald.json.Json;
import dev.herald.ops.Metrics;
import dev.herald.sse.Sse;
import dev.herald.stream.Publisher;
import dev.herald.stream.StreamKey;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

/**
 * Team job events (API.md section 4, team part): publish a job's status, and the team's
 * stream over SSE, optionally only one job. A team is a tenant: the token's tenant must be
 * the team (else 403), so nothing of another tenant is ever visible.
 */
public final class TeamJobRoutes {
    private final Auth auth;
    private final Publisher publisher;
    private final Idempotency idempotency;
    private final Sse sse;
    private final Metrics metrics;
    private final long maxBody;

    public TeamJobRoutes(
            Auth auth, Publisher publisher, Idempotency idempotency, Sse sse, Metrics metrics, long maxBody) {
        this.auth = auth;
        this.publisher = publisher;
        this.idempotency = idempotency;
        this.sse = sse;
        this.metrics = metrics;
        this.maxBody = maxBody;
    }

    public void register(RoutesConfig routes) {
        routes.post("/api/v1/teams/{team}/jobs/{job}/events", this::publish);
        routes.get("/api/v1/teams/{team}/events", sse.handler(this::target));
    }

    private void publish(Context ctx) {
        Principal p = auth.authenticate(ctx, false).require(Scope.EVENTS_WRITE);
        String team = Params.externalId(ctx, "team");
        p.requireTenant(team);
        String job = Params.externalId(ctx, "job");
        Body body = Body.read(ctx, maxBody);
        String status = body.text("status", 32);
        if (!JobEvents.STATUSES.contains(status)) {
            throw ApiException.badRequest(
                    "invalid_field", "'status' must be one of queued, running, progress, completed, failed");
        }
        JsonNode data = body.optObject("data");
        // Group-committed with concurrent publishes, in the form herald.publish_job_event stores.
        StreamKey key = JobEvents.stream(team);
        String stored = JobEvents.stored(job, data);
        Idempotency.Claim claim = Idempotency.claim(ctx, team, body);
        if (idempotency.publishOnce(
                ctx, claim, publisher, key, status, stored, cursor -> answer(key, cursor, job, status))) {
            metrics.published(1);
        }
    }

    private static ObjectNode answer(StreamKey key, long cursor, String job, String status) {
        return Json.object()
                .put("stream", key.stream())
                .put("cursor", cursor)
                .put("team", key.tenant())
                .put("job_id", job)
                .put("status", status);
    }

    private Sse.Target target(Context ctx) {
        Principal p = auth.authenticate(ctx, true).require(Scope.EVENTS_READ);
        String team = Params.externalId(ctx, "team");
        p.requireTenant(team);
        String job = ctx.queryParam("job_id");
        if (job != null && !Params.EXTERNAL_ID.matcher(job).matches()) {
            throw ApiException.badRequest("invalid_job_id", "'job_id' must be " + Params.EXTERNAL_ID_RULE);
        }
        StreamKey key = JobEvents.stream(team);
        if (job == null) return Sse.Target.live(p, key);
        return new Sse.Target(p, key, false, JobEvents.onlyJob(job), null);
    }
}
