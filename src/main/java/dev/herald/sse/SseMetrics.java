package dev.herald.sse;

import dev.herald.stream.Event;

/** What SSE reports; ops wires it to Micrometer. */
public interface SseMetrics {
    SseMetrics NONE = new SseMetrics() {};

    default void delivered(Event e) {}

    default void slowClientDropped() {}
}
