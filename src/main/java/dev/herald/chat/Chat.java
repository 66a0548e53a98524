package dev.herald.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.jooq.tables.records.ChatsRecord;
import dev.herald.json.Json;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** A chat row and its API.md wire form. */
public record Chat(
        UUID id,
        String tenant,
        String owner,
        String title,
        String status,
        JsonNode diffStatus,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt) {

    public static final Set<String> STATUSES = Set.of("waiting", "running", "paused", "completed", "error");
    public static final String STATUS_RULE = "one of waiting, running, paused, completed, error";

    /** Field order of the wire form (jsonb reorders keys; renderers restore this order). */
    private static final List<String> ORDER =
            List.of("id", "owner", "title", "status", "diff_status", "created_at", "updated_at");

    static Chat of(ChatsRecord r) {
        return new Chat(
                r.getId(),
                r.getTenant(),
                r.getOwner(),
                r.getTitle(),
                r.getStatus(),
                r.getDiffStatus() == null ? null : Json.parse(r.getDiffStatus().data()),
                r.getCreatedAt(),
                r.getUpdatedAt());
    }

    /** {"id","owner","title","status","diff_status","created_at","updated_at"}. */
    public ObjectNode json() {
        ObjectNode o = Json.object();
        o.put("id", id.toString());
        o.put("owner", owner);
        o.put("title", title);
        o.put("status", status);
        o.set("diff_status", diffStatus == null ? Json.MAPPER.nullNode() : diffStatus);
        o.put("created_at", time(createdAt));
        o.put("updated_at", time(updatedAt));
        return o;
    }

    static String time(OffsetDateTime t) {
        return DateTimeFormatter.ISO_INSTANT.format(t);
    }

    /** A stored chat snapshot with its fields back in wire order (unknown fields last). */
    static ObjectNode ordered(JsonNode stored) {
        ObjectNode o = Json.object();
        if (!(stored instanceof ObjectNode src)) return o;
        for (String k : ORDER) if (src.has(k)) o.set(k, src.get(k));
        for (Map.Entry<String, JsonNode> e : src.properties()) {
            if (!o.has(e.getKey())) o.set(e.getKey(), e.getValue());
        }
        return o;
    }
}
