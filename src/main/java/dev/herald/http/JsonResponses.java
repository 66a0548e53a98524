package dev.herald.http;

import dev.herald.json.Json;
import io.javalin.http.Context;

/** The one way routes answer with JSON. */
public final class JsonResponses {
    /** The API's one content type for JSON bodies. */
    public static final String CONTENT_TYPE = "application/json; charset=utf-8";

    private JsonResponses() {}

    /** Writes a JSON response: a JsonNode as is, anything else serialized. */
    public static void respond(Context ctx, int status, Object body) {
        ctx.status(status).contentType(CONTENT_TYPE).result(Json.bytes(body));
    }

    /** Writes JSON text that is already rendered (e.g. stored jsonb spliced into a body). */
    public static void respondRaw(Context ctx, int status, String json) {
        ctx.status(status).contentType(CONTENT_TYPE).result(json);
    }
}
