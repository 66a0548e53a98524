package dev.herald.sse;

import dev.herald.stream.Event;
import java.time.Instant;

/** What SSE reports; ops wires it to Micrometer. */
public interface SseMetrics {
    SseMetrics NONE = new SseMetrics() {};

    /** An event written to a client; {@code sentAt} is taken once per write, not per event. */
    default void delivered(Event e, Instant sentAt) {}

    default void slowClientDropped() {}
}
