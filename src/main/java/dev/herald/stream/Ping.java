package dev.herald.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;

/**
 * What travels on the NOTIFY channel {@value #CHANNEL}. Pings only say "stream X has
 * something at cursor N" (readers re-query); transient signals carry their small payload;
 * control messages (revocations, the watchdog's self-ping) have a kind {@code k}.
 * PostgreSQL rejects payloads of 8,000 bytes or more.
 */
public final class Ping {
    public static final String CHANNEL = "herald";
    public static final int MAX_PAYLOAD_BYTES = 7_999;

    private Ping() {}

    public static String transientSignal(StreamKey key, String event, JsonNode data) {
        ObjectNode o = Json.object();
        o.put("t", key.tenant()).put("s", key.stream()).put("x", event).set("d", data);
        return o.toString();
    }

    public static String control(String kind, String value) {
        return Json.object().put("k", kind).put("v", value).toString();
    }
}
