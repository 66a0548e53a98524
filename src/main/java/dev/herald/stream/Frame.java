package dev.herald.stream;

import java.nio.charset.StandardCharsets;

/** The SSE wire format: every line Herald writes on an event stream is built here. */
public final class Frame {
    private Frame() {}

    /** A stored event: {@code id:}, {@code event:}, {@code data:}. */
    public static byte[] persisted(long cursor, Renderer.Rendered r) {
        return ("id: " + cursor + "\nevent: " + clean(r.event()) + "\ndata: " + oneLine(r.data()) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A transient event: no {@code id:}, so it never moves the client's cursor. */
    public static byte[] transientEvent(String event, String data) {
        return ("event: " + clean(event) + "\ndata: " + oneLine(data) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] comment(String text) {
        return (": " + clean(text) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    /** What a stream opens with: the reconnect delay and a {@code : connected} comment. */
    public static byte[] opening(long retryMillis) {
        return ("retry: " + retryMillis + "\n: connected\n\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Retention removed events this client never saw: it must refetch its snapshot. The frame's
     * {@code id:} is the cursor just before {@code oldest}: everything up to it is gone, so a
     * client that reconnects right after the reset resumes exactly at the oldest retained event
     * and is not told again.
     */
    public static byte[] reset(long oldest) {
        return ("id: " + (oldest - 1) + "\nevent: reset\ndata: {\"reason\":\"cursor_expired\",\"oldest\":" + oldest
                        + "}\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String clean(String s) {
        return s.indexOf('\n') < 0 && s.indexOf('\r') < 0
                ? s
                : s.replace("\r", "").replace("\n", "");
    }

    /** JSON never needs a raw newline; escape any so one event stays one data line. */
    private static String oneLine(String json) {
        return json.indexOf('\n') < 0 && json.indexOf('\r') < 0
                ? json
                : json.replace("\r", "\\r").replace("\n", "\\n");
    }
}
