package dev.herald.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * A JSON Schema (2020-12) check of exactly the keywords docs/openapi.yaml uses, walking the
 * document's schemas with their local {@code $ref}s. A keyword it does not know fails the check
 * instead of being skipped, so a schema can never be silently unchecked. (swagger-parser brings
 * java-json-tools' validator, but without the mail API its format library needs, and it reads
 * draft-04 only; docs/adr/0085.)
 */
final class SchemaCheck {
    /** Keywords that only annotate. */
    private static final Set<String> ANNOTATIONS =
            Set.of("description", "title", "default", "example", "examples", "deprecated", "readOnly", "writeOnly");

    private static final Set<String> ASSERTIONS = Set.of(
            "$ref",
            "type",
            "enum",
            "const",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "minItems",
            "maxItems",
            "pattern",
            "minLength",
            "maxLength",
            "minimum",
            "maximum",
            "format",
            "allOf",
            "anyOf",
            "oneOf",
            "not");

    private static final Pattern UUID =
            Pattern.compile("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
    private static final Map<String, Pattern> PATTERNS = new ConcurrentHashMap<>();

    private final JsonNode root;

    SchemaCheck(JsonNode root) {
        this.root = root;
    }

    /** The violations of {@code instance} against the schema at {@code pointer} (empty: valid). */
    List<String> errors(String pointer, JsonNode instance) {
        List<String> out = new ArrayList<>();
        check(pointer, root.at(pointer), instance, "$", out);
        return out;
    }

    /** Throws when a schema uses a keyword this check does not know (a vocabulary guard). */
    void requireKnownKeywords(String pointer, JsonNode schema) {
        if (!schema.isObject()) throw new AssertionError("not a schema at " + pointer + ": " + schema);
        for (Iterator<String> it = schema.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!ASSERTIONS.contains(k) && !ANNOTATIONS.contains(k) && !k.startsWith("x-"))
                throw new AssertionError("SchemaCheck does not know the keyword '" + k + "' (at " + pointer + ")");
        }
    }

    private void check(String ptr, JsonNode s, JsonNode v, String at, List<String> out) {
        if (s.isMissingNode()) throw new AssertionError("no schema at " + ptr);
        if (s.isBoolean()) {
            if (!s.booleanValue()) out.add(at + ": no value allowed");
            return;
        }
        requireKnownKeywords(ptr, s);
        if (s.has("$ref")) {
            String ref = s.get("$ref").asText();
            if (!ref.startsWith("#/")) throw new AssertionError("only local $ref: " + ref);
            check(ref.substring(1), root.at(ref.substring(1)), v, at, out);
        }
        if (s.has("type") && !typeMatches(s.get("type"), v)) {
            out.add(at + ": " + kind(v) + " is not " + s.get("type"));
            return;
        }
        if (s.has("enum")) {
            boolean any = false;
            for (JsonNode e : s.get("enum")) any |= equal(e, v);
            if (!any) out.add(at + ": " + v + " is not one of " + s.get("enum"));
        }
        if (s.has("const") && !equal(s.get("const"), v)) out.add(at + ": " + v + " is not " + s.get("const"));
        if (v.isObject()) object(ptr, s, v, at, out);
        if (v.isArray()) array(ptr, s, v, at, out);
        if (v.isTextual()) string(s, v.textValue(), at, out);
        if (v.isNumber()) {
            if (s.has("minimum") && v.decimalValue().compareTo(s.get("minimum").decimalValue()) < 0)
                out.add(at + ": " + v + " < minimum " + s.get("minimum"));
            if (s.has("maximum") && v.decimalValue().compareTo(s.get("maximum").decimalValue()) > 0)
                out.add(at + ": " + v + " > maximum " + s.get("maximum"));
        }
        if (s.has("allOf")) {
            for (int i = 0; i < s.get("allOf").size(); i++)
                check(ptr + "/allOf/" + i, s.get("allOf").get(i), v, at, out);
        }
        if (s.has("anyOf")) {
            int matching = matching(ptr + "/anyOf", s.get("anyOf"), v, at);
            if (matching == 0) out.add(at + ": matches none of anyOf at " + ptr);
        }
        if (s.has("oneOf")) {
            int matching = matching(ptr + "/oneOf", s.get("oneOf"), v, at);
            if (matching != 1) out.add(at + ": matches " + matching + " of oneOf at " + ptr + ", not exactly one");
        }
        if (s.has("not")) {
            List<String> inner = new ArrayList<>();
            check(ptr + "/not", s.get("not"), v, at, inner);
            if (inner.isEmpty()) out.add(at + ": matches 'not' at " + ptr);
        }
    }

    private int matching(String ptr, JsonNode alternatives, JsonNode v, String at) {
        int n = 0;
        for (int i = 0; i < alternatives.size(); i++) {
            List<String> inner = new ArrayList<>();
            check(ptr + "/" + i, alternatives.get(i), v, at, inner);
            if (inner.isEmpty()) n++;
        }
        return n;
    }

    private void object(String ptr, JsonNode s, JsonNode v, String at, List<String> out) {
        for (JsonNode r : s.path("required")) {
            if (!v.has(r.asText())) out.add(at + ": '" + r.asText() + "' is required");
        }
        JsonNode props = s.path("properties");
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            var e = it.next();
            String where = at + "." + e.getKey();
            if (props.has(e.getKey())) {
                check(
                        ptr + "/properties/" + OpenApiContract.escape(e.getKey()),
                        props.get(e.getKey()),
                        e.getValue(),
                        where,
                        out);
            } else if (s.has("additionalProperties")) {
                check(ptr + "/additionalProperties", s.get("additionalProperties"), e.getValue(), where, out);
            }
        }
    }

    private void array(String ptr, JsonNode s, JsonNode v, String at, List<String> out) {
        if (s.has("minItems") && v.size() < s.get("minItems").asInt())
            out.add(at + ": fewer than " + s.get("minItems") + " items");
        if (s.has("maxItems") && v.size() > s.get("maxItems").asInt())
            out.add(at + ": more than " + s.get("maxItems") + " items");
        if (s.has("items")) {
            for (int i = 0; i < v.size(); i++) check(ptr + "/items", s.get("items"), v.get(i), at + "[" + i + "]", out);
        }
    }

    private static void string(JsonNode s, String v, String at, List<String> out) {
        int length = v.codePointCount(0, v.length());
        if (s.has("minLength") && length < s.get("minLength").asInt())
            out.add(at + ": shorter than " + s.get("minLength"));
        if (s.has("maxLength") && length > s.get("maxLength").asInt())
            out.add(at + ": longer than " + s.get("maxLength"));
        if (s.has("pattern")) {
            String p = s.get("pattern").asText();
            if (!PATTERNS.computeIfAbsent(p, Pattern::compile).matcher(v).find())
                out.add(at + ": '" + v + "' does not match " + p);
        }
        switch (s.path("format").asText("")) {
            case "date-time" -> {
                try {
                    OffsetDateTime.parse(v);
                } catch (DateTimeParseException e) {
                    out.add(at + ": '" + v + "' is not an RFC 3339 date-time");
                }
            }
            case "uuid" -> {
                if (!UUID.matcher(v).matches()) out.add(at + ": '" + v + "' is not a UUID");
            }
            default -> {
                // other formats only annotate
            }
        }
    }

    private static boolean typeMatches(JsonNode type, JsonNode v) {
        if (type.isArray()) {
            for (JsonNode t : type) if (typeMatches(t, v)) return true;
            return false;
        }
        return switch (type.asText()) {
            case "null" -> v.isNull();
            case "boolean" -> v.isBoolean();
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            case "integer" ->
                v.isIntegralNumber()
                        || (v.isNumber()
                                && v.decimalValue().stripTrailingZeros().scale() <= 0);
            default -> throw new AssertionError("unknown type " + type);
        };
    }

    private static String kind(JsonNode v) {
        return v.isNull() ? "null" : v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    /** JSON equality (1 and 1.0 are equal numbers). */
    private static boolean equal(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
        return a.equals(b);
    }
}
