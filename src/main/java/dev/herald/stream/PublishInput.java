package dev.herald.stream;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.herald.json.Json;
import java.io.IOException;

/** The checks a publish passes before it may share a transaction with others. */
final class PublishInput {
    private PublishInput() {}

    /**
     * Everything that would fail inside the batch statement for one caller's input alone is
     * rejected here, before the input can share a transaction with others.
     */
    static void validate(StreamKey key, String type, String json) {
        if (key == null || key.tenant() == null || key.stream() == null)
            throw new IllegalArgumentException("publish: no stream");
        if (type == null) throw new IllegalArgumentException("publish: no event type");
        if (json == null) throw new IllegalArgumentException("publish: no event data");
        if (key.tenant().indexOf('\0') >= 0 || key.stream().indexOf('\0') >= 0 || type.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("publish: NUL character in stream or type");
        }
        try (JsonParser p = Json.MAPPER.getFactory().createParser(json)) {
            JsonToken t = p.nextToken();
            if (t == null) throw new IllegalArgumentException("publish: event data is empty");
            int depth = 0;
            do {
                switch (t) {
                    case START_OBJECT, START_ARRAY -> depth++;
                    case END_OBJECT, END_ARRAY -> depth--;
                    case FIELD_NAME, VALUE_STRING -> {
                        // jsonb cannot store U+0000 (PostgreSQL: "unsupported Unicode escape sequence").
                        if (p.getText().indexOf('\0') >= 0) {
                            throw new EventRejected(
                                    EventRejected.Reason.INVALID_DATA,
                                    "'data' contains the character U+0000, which cannot be stored");
                        }
                    }
                    default -> {}
                }
                if (depth == 0) break;
                t = p.nextToken();
            } while (t != null);
            if (p.nextToken() != null) throw new IllegalArgumentException("publish: event data has trailing content");
        } catch (IOException e) {
            throw new IllegalArgumentException("publish: event data is not valid JSON: " + e.getMessage());
        }
    }
}
