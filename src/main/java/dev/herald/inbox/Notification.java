package dev.herald.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.UUID;

/**
 * One inbox notification as API.md section 1 shows it:
 * {@code {"id","cursor","user","title","content","icon","targets","actions","read_at","created_at"}}.
 * {@code cursor} is the cursor of its {@code notification} event in the stream {@code inbox:<user>}.
 */
public record Notification(
        UUID id,
        long cursor,
        String user,
        String title,
        String content,
        String icon,
        List<String> targets,
        JsonNode actions,
        OffsetDateTime readAt,
        OffsetDateTime createdAt) {

    public ObjectNode toJson() {
        ObjectNode o = Json.object();
        o.put("id", id.toString());
        o.put("cursor", cursor);
        o.put("user", user);
        o.put("title", title);
        o.put("content", content);
        o.put("icon", icon);
        ArrayNode t = o.putArray("targets");
        targets.forEach(t::add);
        o.set("actions", actions(actions));
        o.put("read_at", time(readAt));
        o.put("created_at", time(createdAt));
        return o;
    }

    /** Actions as {@code [{"label","url"}]} in that field order (jsonb keeps its own order). */
    static ArrayNode actions(JsonNode stored) {
        ArrayNode out = Json.MAPPER.createArrayNode();
        if (stored == null || !stored.isArray()) return out;
        for (JsonNode a : stored)
            out.addObject()
                    .put("label", a.path("label").asText())
                    .put("url", a.path("url").asText());
        return out;
    }

    static String time(OffsetDateTime t) {
        return t == null ? null : DateTimeFormatter.ISO_INSTANT.format(t);
    }

    /** An RFC 3339 time as the database wrote it, in the same form {@link #toJson} gives. */
    static String normalizeTime(String rfc3339) {
        return rfc3339 == null ? null : DateTimeFormatter.ISO_INSTANT.format(Instant.parse(rfc3339));
    }
}
