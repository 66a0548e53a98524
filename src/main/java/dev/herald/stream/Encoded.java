package dev.herald.stream;

/** An event with its SSE frame, encoded once per replica. */
public record Encoded(Event event, byte[] frame) {}
