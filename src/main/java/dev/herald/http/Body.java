package dev.herald.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.json.Json;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A request's JSON object body, read with a size limit (413 past it) and checked field by
 * field with precise 400 messages. Unknown fields are ignored; known fields of the wrong type,
 * missing required fields and malformed JSON are 400.
 */
public final class Body {
    /** Request attribute: the body was read to its end (see WebServer.error). */
    public static final String READ = "herald.body.read";

    private final ObjectNode node;
    private final byte[] raw;

    private Body(ObjectNode node, byte[] raw) {
        this.node = node;
        this.raw = raw;
    }

    public static Body read(Context ctx, long maxBytes) {
        long declared = ctx.req().getContentLengthLong();
        if (declared > maxBytes) throw tooLarge(maxBytes);
        byte[] bytes;
        try (InputStream in = ctx.req().getInputStream()) {
            if (declared >= 0) {
                // The usual case: read exactly what was declared into one array (reading up to
                // the limit allocated and copied 16 KB chunks for every publish).
                bytes = new byte[(int) declared];
                if (in.readNBytes(bytes, 0, bytes.length) < bytes.length) {
                    throw ApiException.badRequest("invalid_body", "the request body ended early");
                }
            } else {
                bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            }
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_body", "could not read the request body");
        }
        if (bytes.length > maxBytes) throw tooLarge(maxBytes);
        ctx.attribute(READ, Boolean.TRUE);
        if (bytes.length == 0) throw ApiException.badRequest("invalid_json", "a JSON object body is required");
        JsonNode parsed;
        try {
            parsed = Json.MAPPER.readTree(bytes);
        } catch (StreamConstraintsException e) {
            throw ApiException.badRequest("invalid_json", "JSON nested too deeply or too long");
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw ApiException.badRequest(
                    "invalid_json",
                    loc == null
                            ? "malformed JSON"
                            : "malformed JSON at line " + loc.getLineNr() + ", column " + loc.getColumnNr());
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_json", "malformed JSON");
        }
        if (!(parsed instanceof ObjectNode obj))
            throw ApiException.badRequest("invalid_json", "the body must be a JSON object");
        requireStorable(obj);
        return new Body(obj, bytes);
    }

    /**
     * JSON may spell what PostgreSQL cannot store: U+0000 (text and jsonb reject it — a 500),
     * unpaired surrogates (silently turned into '?'), numbers that are not finite (1e400 parses
     * as infinity). Refused up front, in keys and values, as 400. Nesting depth is bounded by
     * the parser (64), so the walk is too.
     */
    static void requireStorable(JsonNode n) {
        if (n.isTextual()) {
            requireStorable(n.textValue());
        } else if (n.isFloatingPointNumber() && !n.isBigDecimal() && !Double.isFinite(n.doubleValue())) {
            throw unstorable("numbers must be finite");
        } else if (n.isObject()) {
            for (var e : n.properties()) {
                requireStorable(e.getKey());
                requireStorable(e.getValue());
            }
        } else if (n.isArray()) {
            for (JsonNode item : n) requireStorable(item);
        }
    }

    private static void requireStorable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) throw unstorable("strings may not contain the NUL character (\\u0000)");
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw unstorable("strings may not contain unpaired UTF-16 surrogates");
            }
        }
    }

    private static ApiException unstorable(String why) {
        return ApiException.badRequest("invalid_field", "the body cannot be stored: " + why);
    }

    private static ApiException tooLarge(long max) {
        return ApiException.tooLarge("request body is larger than " + max + " bytes");
    }

    /** The body exactly as sent (an idempotent repeat must send the same bytes). */
    byte[] raw() {
        return raw;
    }

    public ObjectNode node() {
        return node;
    }

    public boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    public String text(String field, int maxChars) {
        String v = optText(field, maxChars);
        if (v == null) throw missing(field);
        return v;
    }

    public String optText(String field, int maxChars) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw wrongType(field, "a string");
        String s = v.asText();
        if (s.length() > maxChars)
            throw ApiException.badRequest(
                    "invalid_field", "'" + field + "' is longer than " + maxChars + " characters");
        return s;
    }

    public String text(String field, Pattern pattern, String describe) {
        String v = text(field, 10_000);
        if (!pattern.matcher(v).matches())
            throw ApiException.badRequest("invalid_field", "'" + field + "' must be " + describe);
        return v;
    }

    public String optText(String field, Pattern pattern, String describe) {
        String v = optText(field, 10_000);
        if (v != null && !pattern.matcher(v).matches())
            throw ApiException.badRequest("invalid_field", "'" + field + "' must be " + describe);
        return v;
    }

    public Boolean optBool(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isBoolean()) throw wrongType(field, "true or false");
        return v.booleanValue();
    }

    public boolean bool(String field) {
        Boolean b = optBool(field);
        if (b == null) throw missing(field);
        return b;
    }

    public Long optLong(String field, long min, long max) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw wrongType(field, "a whole number");
        long n = v.longValue();
        if (n < min || n > max)
            throw ApiException.badRequest("invalid_field", "'" + field + "' must be between " + min + " and " + max);
        return n;
    }

    public List<String> optTextArray(String field, int maxItems, int maxChars) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw wrongType(field, "an array of strings");
        if (v.size() > maxItems)
            throw ApiException.badRequest("invalid_field", "'" + field + "' has more than " + maxItems + " items");
        List<String> out = new ArrayList<>(v.size());
        for (JsonNode item : v) {
            if (!item.isTextual()) throw wrongType(field, "an array of strings");
            if (item.asText().length() > maxChars)
                throw ApiException.badRequest(
                        "invalid_field", "an item of '" + field + "' is longer than " + maxChars + " characters");
            out.add(item.asText());
        }
        return out;
    }

    /** Any JSON value (objects, arrays, scalars); null when absent. */
    public JsonNode optAny(String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    public JsonNode optObject(String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw wrongType(field, "a JSON object");
        return v;
    }

    public static ApiException missing(String field) {
        return ApiException.badRequest("missing_field", "'" + field + "' is required");
    }

    public static ApiException wrongType(String field, String expected) {
        return ApiException.badRequest("invalid_field", "'" + field + "' must be " + expected);
    }
}
