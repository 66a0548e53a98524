package dev.herald.stream;

import java.time.OffsetDateTime;

/** A persisted event: its cursor in its stream, its type and its JSON data as stored. */
public record Event(long cursor, String type, String data, OffsetDateTime createdAt) {}
