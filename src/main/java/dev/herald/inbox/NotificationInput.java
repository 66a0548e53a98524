package dev.herald.inbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.herald.http.ApiException;
import dev.herald.http.Body;
import dev.herald.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A new notification's fields, checked with the same rules {@code herald.notify_inbox()}
 * enforces in the database (migrations/V10__inbox.sql), but with precise 400 messages.
 */
public record NotificationInput(String title, String content, String icon, List<String> targets, ArrayNode actions) {
    static final int MAX_TITLE = 256;
    static final int MAX_CONTENT_BYTES = 8192;
    static final int MAX_ICON = 2048;
    static final int MAX_TARGETS = 32;
    static final int MAX_TARGET = 128;
    static final int MAX_ACTIONS = 10;
    static final int MAX_LABEL = 128;
    static final int MAX_URL = 2048;

    private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:");
    private static final Pattern HTTP = Pattern.compile("^https?://[^/?#]", Pattern.CASE_INSENSITIVE);

    public static NotificationInput from(Body body) {
        JsonNode node = body.node();
        String title = string(node, "title", true);
        if (isBlank(title)) throw invalid("'title' must not be blank");
        if (length(title) > MAX_TITLE) throw invalid("'title' is longer than " + MAX_TITLE + " characters");
        String content = string(node, "content", false);
        if (content != null && content.getBytes(StandardCharsets.UTF_8).length > MAX_CONTENT_BYTES) {
            throw invalid("'content' is larger than 8 KiB (" + MAX_CONTENT_BYTES + " bytes of UTF-8)");
        }
        String icon = string(node, "icon", false);
        if (icon != null && length(icon) > MAX_ICON) throw invalid("'icon' is longer than " + MAX_ICON + " characters");
        return new NotificationInput(title, content, icon, targets(node.get("targets")), actions(node.get("actions")));
    }

    private static List<String> targets(JsonNode v) {
        if (v == null || v.isNull()) return List.of();
        if (!v.isArray()) throw Body.wrongType("targets", "an array of strings");
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode item : v) {
            if (!item.isTextual()) throw Body.wrongType("targets", "an array of strings");
            String t = item.asText();
            if (t.isEmpty() || length(t) > MAX_TARGET || t.indexOf(',') >= 0 || t.indexOf('\0') >= 0) {
                throw invalid("each target must be 1-" + MAX_TARGET + " characters without commas");
            }
            out.add(t);
            if (out.size() > MAX_TARGETS) throw invalid("'targets' has more than " + MAX_TARGETS + " distinct items");
        }
        return new ArrayList<>(out);
    }

    private static ArrayNode actions(JsonNode v) {
        ArrayNode out = Json.MAPPER.createArrayNode();
        if (v == null || v.isNull()) return out;
        if (!v.isArray()) throw Body.wrongType("actions", "an array of {\"label\",\"url\"} objects");
        if (v.size() > MAX_ACTIONS) throw invalid("'actions' has more than " + MAX_ACTIONS + " items");
        for (int i = 0; i < v.size(); i++) {
            JsonNode a = v.get(i);
            String at = "actions[" + i + "]";
            if (!a.isObject()) throw Body.wrongType(at, "an object {\"label\",\"url\"}");
            String label = string(a, "label", true, at + ".label");
            if (label.isEmpty() || length(label) > MAX_LABEL)
                throw invalid("'" + at + ".label' must be 1-" + MAX_LABEL + " characters");
            String url = string(a, "url", true, at + ".url");
            if (!urlAllowed(url)) {
                throw invalid("'" + at
                        + ".url' must be an http(s) URL or a relative path (no other scheme, no '//host' scheme-relative URL, no spaces or control characters), at most "
                        + MAX_URL + " characters");
            }
            out.addObject().put("label", label).put("url", url);
        }
        return out;
    }

    /**
     * An action link: absolute http(s) with a host, or a reference without any scheme (a
     * relative path). A scheme-relative reference ({@code //evil.example/x}) is refused: it
     * leaves the page's site like an absolute URL but hides it. Whitespace, control characters and backslashes are refused because
     * browsers strip or rewrite them ("java\nscript:" would run as javascript:).
     */
    static boolean urlAllowed(String url) {
        int n = length(url);
        if (n < 1 || n > MAX_URL) return false;
        for (int i = 0; i < url.length(); i++) {
            char c = url.charAt(i);
            if (c <= 0x20 || c == 0x7f || c == '\\') return false;
        }
        if (SCHEME.matcher(url).find()) return HTTP.matcher(url).find();
        return !url.startsWith("//");
    }

    private static String string(JsonNode node, String field, boolean required) {
        return string(node, field, required, field);
    }

    private static String string(JsonNode node, String field, boolean required, String shownAs) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            if (required) throw Body.missing(shownAs);
            return null;
        }
        if (!v.isTextual()) throw Body.wrongType(shownAs, "a string");
        String s = v.asText();
        // PostgreSQL text cannot hold NUL.
        if (s.indexOf('\0') >= 0) throw invalid("'" + shownAs + "' must not contain NUL characters");
        return s;
    }

    /** Blank as herald.notify_inbox() sees it: only spaces, tabs and line breaks. */
    private static boolean isBlank(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
        }
        return true;
    }

    /** Characters as PostgreSQL counts them (code points). */
    private static int length(String s) {
        return s.codePointCount(0, s.length());
    }

    private static ApiException invalid(String message) {
        return ApiException.badRequest("invalid_field", message);
    }
}
