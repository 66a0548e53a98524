package dev.herald.testing;

import java.io.BufferedReader;
import java.io.IOException;

/** Parses a Server-Sent Events stream line by line (the one parser of the test clients). */
public final class SseFrames {
    public interface Handler {
        void event(Long id, String event, String data) throws IOException, InterruptedException;

        default void comment(String text) {}

        default void retry(String value) {}
    }

    private SseFrames() {}

    /** Reads until the stream ends; an event without {@code event:} is a "message". */
    public static void parse(BufferedReader r, Handler h) throws IOException, InterruptedException {
        Long id = null;
        String event = null;
        StringBuilder data = null;
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isEmpty()) {
                if (data != null) h.event(id, event == null ? "message" : event, data.toString());
                id = null;
                event = null;
                data = null;
            } else if (line.startsWith(":")) {
                h.comment(line.substring(1).trim());
            } else if (line.startsWith("id:")) {
                id = Long.parseLong(line.substring(3).trim());
            } else if (line.startsWith("event:")) {
                event = line.substring(6).trim();
            } else if (line.startsWith("data:")) {
                String d = line.substring(5);
                if (d.startsWith(" ")) d = d.substring(1);
                data = data == null ? new StringBuilder(d) : data.append('\n').append(d);
            } else if (line.startsWith("retry:")) {
                h.retry(line.substring(6).trim());
            }
        }
    }
}
