package dev.herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.testing.Api;
import dev.herald.testing.SseClient;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The served OpenAPI document as a test oracle: finds an operation's response, request body or
 * SSE event and validates JSON against its schema ({@link SchemaCheck}).
 */
final class OpenApiContract {
    static final List<String> METHODS = List.of("get", "put", "post", "delete", "patch", "head", "options", "trace");

    final JsonNode doc;
    private final SchemaCheck schemas;

    OpenApiContract(JsonNode doc) {
        this.doc = doc;
        this.schemas = new SchemaCheck(doc);
    }

    /**
     * The pointers of every schema in the document: each {@code schema} of a parameter, header
     * or media type, each of {@code components/schemas}, and each SSE event's {@code data}.
     */
    List<String> schemaRoots() {
        List<String> out = new ArrayList<>();
        roots(doc, "", out);
        for (Iterator<String> it = doc.path("components").path("schemas").fieldNames(); it.hasNext(); )
            out.add("/components/schemas/" + escape(it.next()));
        return out;
    }

    private static void roots(JsonNode node, String ptr, List<String> out) {
        if (!node.isObject()) return;
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            String child = ptr + "/" + escape(e.getKey());
            if (e.getKey().equals("schema") && !ptr.endsWith("/properties")) {
                out.add(child);
            } else if (e.getKey().equals("x-sse-events")) {
                e.getValue().fieldNames().forEachRemaining(name -> out.add(child + "/" + escape(name) + "/data"));
            } else if (!child.equals("/components/schemas")) {
                roots(e.getValue(), child, out);
            }
        }
    }

    /** Every subschema under a schema root, for the vocabulary guard. */
    void requireKnownKeywords(String ptr) {
        JsonNode s = doc.at(ptr);
        if (s.isBoolean()) return;
        schemas.requireKnownKeywords(ptr, s);
        for (String one : List.of("items", "additionalProperties", "not")) {
            if (s.path(one).isObject()) requireKnownKeywords(ptr + "/" + one);
        }
        for (String many : List.of("allOf", "anyOf", "oneOf")) {
            for (int i = 0; i < s.path(many).size(); i++) requireKnownKeywords(ptr + "/" + many + "/" + i);
        }
        for (Iterator<String> it = s.path("properties").fieldNames(); it.hasNext(); )
            requireKnownKeywords(ptr + "/properties/" + escape(it.next()));
    }

    /** Every documented operation as "METHOD /path/{template}". */
    List<String> operations() {
        List<String> out = new ArrayList<>();
        for (Iterator<String> paths = doc.path("paths").fieldNames(); paths.hasNext(); ) {
            String path = paths.next();
            for (String m : METHODS) {
                if (doc.path("paths").path(path).has(m)) out.add(m.toUpperCase(Locale.ROOT) + " " + path);
            }
        }
        return out;
    }

    /** The JSON pointer of an operation. */
    String operation(String method, String path) {
        String ptr = "/paths/" + escape(path) + "/" + method.toLowerCase(Locale.ROOT);
        assertTrue(!doc.at(ptr).isMissingNode(), "undocumented operation " + method + " " + path);
        return ptr;
    }

    /** The pointer of a documented response, following a {@code $ref} to components. */
    String response(String method, String path, int status) {
        String ptr = operation(method, path) + "/responses/" + status;
        JsonNode r = doc.at(ptr);
        assertTrue(!r.isMissingNode(), method + " " + path + " does not document status " + status);
        return r.has("$ref") ? ref(r) : ptr;
    }

    /**
     * Checks a response against the document: its status is documented, and a JSON body is
     * valid against the schema of that status's {@code application/json} content.
     */
    void check(String method, String path, Api.Response r) {
        String ptr = response(method, path, r.status());
        JsonNode content = doc.at(ptr + "/content");
        if (r.status() == 204 || r.status() == 304) {
            assertTrue(content.isMissingNode(), method + " " + path + " " + r.status() + " documents a body");
            return;
        }
        String type = r.header("Content-Type");
        assertNotNull(type, method + " " + path + ": no Content-Type");
        String media = mediaType(content, type);
        assertNotNull(media, method + " " + path + " " + r.status() + ": " + type + " is not documented");
        if (type.startsWith("application/json")) validate(ptr + "/content/" + escape(media) + "/schema", r.json());
    }

    /** The documented media type a Content-Type header matches (with or without parameters). */
    private static String mediaType(JsonNode content, String contentType) {
        String bare = contentType.split(";")[0].trim();
        for (Iterator<String> it = content.fieldNames(); it.hasNext(); ) {
            String m = it.next();
            if (m.equalsIgnoreCase(contentType.trim()) || m.split(";")[0].trim().equalsIgnoreCase(bare)) return m;
        }
        return null;
    }

    /** The pointer of a request body's JSON schema. */
    String requestBody(String method, String path) {
        String ptr = operation(method, path) + "/requestBody/content/application~1json/schema";
        assertTrue(!doc.at(ptr).isMissingNode(), method + " " + path + " documents no JSON request body");
        return ptr;
    }

    /** The entry of {@code x-sse-events} an event's name selects on a GET SSE endpoint. */
    String sseEvent(String path, String event) {
        String ptr = response("GET", path, 200) + "/content/text~1event-stream/x-sse-events";
        JsonNode events = doc.at(ptr);
        assertTrue(events.isObject(), path + " documents no x-sse-events");
        if (events.has(event)) return ptr + "/" + escape(event);
        for (Iterator<Map.Entry<String, JsonNode>> it = events.fields(); it.hasNext(); ) {
            var e = it.next();
            String pattern = e.getValue().path("namePattern").asText(null);
            if (e.getKey().startsWith("{") && pattern != null && event.matches(pattern))
                return ptr + "/" + escape(e.getKey());
        }
        return fail(path + " does not document the event '" + event + "'");
    }

    /**
     * Checks an SSE event: documented by name, {@code id:} exactly when persisted or documented
     * with an {@code id} (a reset), data valid.
     */
    void checkEvent(String path, SseClient.Event e) {
        String ptr = sseEvent(path, e.event());
        boolean hasId =
                doc.at(ptr + "/persisted").asBoolean() || doc.at(ptr + "/id").isTextual();
        assertEquals(hasId, e.id() != null, path + " event " + e.event() + ": id " + e.id());
        validate(ptr + "/data", e.json());
    }

    void validate(String pointer, JsonNode instance) {
        List<String> errors = schemas.errors(pointer, instance);
        assertTrue(errors.isEmpty(), "not valid against " + pointer + ": " + instance + "\n" + errors);
    }

    boolean valid(String pointer, JsonNode instance) {
        return schemas.errors(pointer, instance).isEmpty();
    }

    private static String ref(JsonNode node) {
        String ref = node.path("$ref").asText();
        assertTrue(ref.startsWith("#/"), "only local references: " + ref);
        return ref.substring(1);
    }

    /** One JSON pointer token (RFC 6901). */
    static String escape(String token) {
        return token.replace("~", "~0").replace("/", "~1");
    }
}
