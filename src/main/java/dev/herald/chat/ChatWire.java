package dev.herald.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import dev.herald.stream.Event;
import dev.herald.stream.Renderer;

/**
 * How chat events look on the wire. A chat stream ({@code chat:<id>}) holds {@code message}
 * events (data {@code {"chat_id","role","content"}}; the message id is the cursor) and, last of
 * all, one {@code deleted} event. An owner stream ({@code chats:<owner>}) holds lifecycle events
 * {@code {"kind","chat":{snapshot}}}.
 */
final class ChatWire {
    static final String MESSAGE = "message";
    static final String DELETED = "deleted";

    private ChatWire() {}

    /** Message: {"id","chat_id","role","content","created_at"} — the same in POST, GET and SSE. */
    static ObjectNode message(Event e) {
        JsonNode d = Json.parse(e.data());
        ObjectNode o = Json.object();
        o.put("id", e.cursor());
        o.set("chat_id", d.path("chat_id"));
        o.set("role", d.path("role"));
        o.set("content", d.has("content") ? d.get("content") : Json.MAPPER.nullNode());
        o.put("created_at", Chat.time(e.createdAt()));
        return o;
    }

    /** Renderer for kind {@code chat}: messages, and the final {@code deleted} event. */
    static final Renderer CHAT = e -> switch (e.type()) {
        case MESSAGE -> new Renderer.Rendered(MESSAGE, Json.write(message(e)));
        case DELETED -> {
            ObjectNode o = Json.object();
            o.set("chat_id", Json.parse(e.data()).path("chat_id"));
            o.put("deleted_at", Chat.time(e.createdAt()));
            yield new Renderer.Rendered(DELETED, Json.write(o));
        }
        default -> Renderer.AS_STORED.render(e);
    };

    /** Renderer for kind {@code chats}: {"kind","chat":{...}} with the chat's fields in wire order. */
    static final Renderer OWNER = e -> {
        JsonNode d = Json.parse(e.data());
        ObjectNode o = Json.object();
        o.put("kind", d.path("kind").asText(e.type()));
        o.set("chat", Chat.ordered(d.path("chat")));
        return new Renderer.Rendered(e.type(), Json.write(o));
    };

    static String lifecycle(String kind, Chat chat) {
        ObjectNode o = Json.object();
        o.put("kind", kind);
        o.set("chat", chat.json());
        return Json.write(o);
    }
}
