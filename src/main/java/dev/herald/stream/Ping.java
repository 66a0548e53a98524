package dev.herald.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import java.io.IOException;

/**
 * What travels on the NOTIFY channel {@value #CHANNEL}, built and read only here (the change
 * ping is also sent by the SQL publish functions, in the same shape). A change ping only says
 * "stream X has something at cursor N" (readers re-query); a transient signal carries its
 * small payload; a control message (revocations, the watchdog's self-ping) has a kind
 * {@code k}. Signals and control messages carry authority, so they travel sealed ({@link
 * PingSeal}); PostgreSQL rejects payloads of 8,000 bytes or more, seal included.
 */
public final class Ping {
    public static final String CHANNEL = "herald";
    public static final int MAX_PAYLOAD_BYTES = 7_999;

    private Ping() {}

    /** A message read off the channel. */
    public sealed interface Message {}

    /** {@code {"t","s","c"}}: the stream has an event at this cursor. */
    public record Change(StreamKey key, long cursor) implements Message {}

    /** {@code {"t","s","x","d"}}: a transient event for the stream's live subscribers. */
    public record Transient(StreamKey key, String event, String data) implements Message {}

    /** {@code {"k","v"}}: a control message of a kind. */
    public record Control(String kind, String value) implements Message {}

    public static String transientSignal(StreamKey key, String event, JsonNode data) {
        ObjectNode o = Json.object();
        o.put("t", key.tenant()).put("s", key.stream()).put("x", event).set("d", data);
        return Json.write(o);
    }

    public static String control(String kind, String value) {
        return Json.write(Json.object().put("k", kind).put("v", value));
    }

    /** Reads a payload of this channel; IOException when it is not one of the three shapes. */
    public static Message parse(String payload) throws IOException {
        JsonNode n = Json.MAPPER.readTree(payload);
        if (n == null || !n.isObject()) throw new IOException("not a JSON object");
        JsonNode kind = n.get("k");
        if (kind != null) return new Control(kind.asText(), n.path("v").asText());
        StreamKey key = new StreamKey(n.path("t").asText(), n.path("s").asText());
        JsonNode x = n.get("x");
        if (x != null) return new Transient(key, x.asText(), n.path("d").toString());
        return new Change(key, n.path("c").asLong());
    }
}
