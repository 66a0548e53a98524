package dev.herald.stream;

import java.nio.charset.StandardCharsets;

/** SSE wire encoding of one event: {@code id:}, {@code event:}, {@code data:} lines. */
public final class Frame {
    private Frame() {}

    public static byte[] persisted(long cursor, Renderer.Rendered r) {
        return ("id: " + cursor + "\nevent: " + clean(r.event()) + "\ndata: " + oneLine(r.data()) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] transientEvent(String event, String data) {
        return ("event: " + clean(event) + "\ndata: " + oneLine(data) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] comment(String text) {
        return (": " + clean(text) + "\n\n").getBytes(StandardCharsets.UTF_8);
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
