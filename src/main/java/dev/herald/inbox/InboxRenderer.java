package dev.herald.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import dev.herald.stream.Event;
import dev.herald.stream.Renderer;

/**
 * Wire form of the {@code inbox:<user>} stream's events.
 * <ul>
 *   <li>{@code notification}: {@code {"notification":{...},"unread_count":n}}. The stored
 *   notification has no cursor (it is the event's own, known only once published); it is put
 *   in here, in the field order of {@link Notification#toJson}.</li>
 *   <li>{@code read_status}: {@code {"unread_count":n, ...}} as stored, times normalized.</li>
 * </ul>
 * Anything else (or anything malformed) goes out as stored.
 */
final class InboxRenderer implements Renderer {

    @Override
    public Rendered render(Event e) {
        try {
            JsonNode data = Json.parse(e.data());
            if (!(data instanceof ObjectNode d)) return AS_STORED.render(e);
            return switch (e.type()) {
                case "notification" -> new Rendered(e.type(), Json.write(notification(d, e.cursor())));
                case "read_status" -> new Rendered(e.type(), Json.write(readStatus(d)));
                default -> AS_STORED.render(e);
            };
        } catch (RuntimeException malformed) {
            return AS_STORED.render(e);
        }
    }

    private static ObjectNode notification(ObjectNode d, long cursor) {
        JsonNode n = d.path("notification");
        ObjectNode o = Json.object();
        o.set("id", n.get("id"));
        o.put("cursor", cursor);
        for (String f : new String[] {"user", "title", "content", "icon", "targets"}) o.set(f, n.get(f));
        o.set("actions", Notification.actions(n.get("actions")));
        o.put("read_at", Notification.normalizeTime(n.path("read_at").textValue()));
        o.put("created_at", Notification.normalizeTime(n.path("created_at").textValue()));
        ObjectNode out = Json.object();
        out.set("notification", o);
        out.set("unread_count", d.get("unread_count"));
        return out;
    }

    private static ObjectNode readStatus(ObjectNode d) {
        ObjectNode out = Json.object();
        out.set("unread_count", d.get("unread_count"));
        d.properties().forEach(en -> {
            if (!en.getKey().equals("unread_count")) out.set(en.getKey(), en.getValue());
        });
        if (d.hasNonNull("read_at"))
            out.put("read_at", Notification.normalizeTime(d.get("read_at").textValue()));
        return out;
    }
}
