package dev.herald.teamjobs;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.jooq.Routines;
import dev.herald.json.Json;
import dev.herald.stream.Event;
import dev.herald.stream.Renderer;
import dev.herald.stream.StreamKey;
import dev.herald.stream.StreamKind;
import java.io.IOException;
import java.time.format.DateTimeFormatter;
import java.util.Set;
import java.util.function.Predicate;
import org.jooq.DSLContext;
import org.jooq.JSONB;

/**
 * Team job events: the stream {@code team:<team>} of tenant {@code <team>}. Stored as
 * type = status, data = {@code {"job": <job>, "data": <data>}} by
 * {@code herald.publish_job_event} (migrations/V30__jobs.sql), the one publish path for both
 * HTTP and in-transaction SQL publishing; rendered on the wire as
 * {@code event: <status>} with data {@code {"job_id","status","data","created_at"}}.
 */
public final class JobEvents {
    public static final Set<String> STATUSES = Set.of("queued", "running", "progress", "completed", "failed");

    public static StreamKey stream(String team) {
        return KIND.key(team, team);
    }

    /**
     * The stored form of a job event's data: {@code {"job": <job>, "data": <data>}}, as
     * {@code herald.publish_job_event} stores it ("job" sorts first in jsonb, so the
     * per-connection job filter finds it without reading the payload).
     */
    public static String stored(String job, JsonNode data) {
        ObjectNode o = Json.object();
        o.put("job", job);
        o.set("data", data == null || data.isNull() ? Json.object() : data);
        return Json.write(o);
    }

    /** Publishes inside the caller's jOOQ transaction: visible only if it commits. */
    public static long publishInTransaction(DSLContext tx, String team, String job, String status, String dataJson) {
        return Routines.publishJobEvent(tx.configuration(), team, job, status, JSONB.valueOf(dataJson));
    }

    /** Wire form: {@code event: <status>}, data {@code {"job_id","status","data","created_at"}}. */
    static final Renderer RENDERER = e -> new Renderer.Rendered(e.type(), Json.write(view(e)));

    /** {@code team:<team>} in tenant {@code <team>}; retention prunes it. */
    public static final StreamKind KIND = new StreamKind("team", RENDERER, true);

    static ObjectNode view(Event e) {
        ObjectNode stored = Json.parse(e.data()) instanceof ObjectNode o ? o : Json.object();
        ObjectNode out = Json.object();
        out.set("job_id", stored.get("job") == null ? Json.MAPPER.nullNode() : stored.get("job"));
        out.put("status", e.type());
        out.set("data", stored.get("data") == null ? Json.object() : stored.get("data"));
        out.put("created_at", DateTimeFormatter.ISO_INSTANT.format(e.createdAt()));
        return out;
    }

    /** Per-connection filter: only events of one job (the team stream's cursors still advance). */
    public static Predicate<Event> onlyJob(String job) {
        return e -> job.equals(jobOf(e.data()));
    }

    /**
     * The job id of a stored team event, read with a streaming parser that stops at the
     * top-level "job" field ("job" sorts before "data" in jsonb text, so the payload is
     * normally not read at all).
     */
    static String jobOf(String storedJson) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(storedJson)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return null;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if ("job".equals(name)) return v == JsonToken.VALUE_STRING ? p.getText() : null;
                p.skipChildren();
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }
}
