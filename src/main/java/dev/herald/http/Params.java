package dev.herald.http;

import io.javalin.http.Context;
import java.util.regex.Pattern;

/** Path and query parameters, validated the same way everywhere. */
public final class Params {
    /** Users, tenants, teams, jobs: opaque external ids (API.md). */
    public static final Pattern EXTERNAL_ID = Pattern.compile("[A-Za-z0-9_.@:-]{1,128}");

    public static final String EXTERNAL_ID_RULE = "1-128 characters of [A-Za-z0-9_.@:-]";
    private static final Pattern DECIMAL = Pattern.compile("[0-9]{1,19}");

    private Params() {}

    public static String externalId(Context ctx, String name) {
        String v = ctx.pathParam(name);
        if (!EXTERNAL_ID.matcher(v).matches()) {
            throw ApiException.badRequest("invalid_" + name, "'" + name + "' must be " + EXTERNAL_ID_RULE);
        }
        return v;
    }

    /** A cursor: a non-negative decimal integer, else 400 invalid_cursor. */
    public static long cursor(String raw) {
        String s = raw.trim();
        if (!DECIMAL.matcher(s).matches()) throw invalidCursor(raw);
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw invalidCursor(raw);
        }
    }

    private static ApiException invalidCursor(String raw) {
        String shown = raw.length() > 40 ? raw.substring(0, 40) + "…" : raw;
        return ApiException.badRequest(
                "invalid_cursor",
                "cursor must be a non-negative decimal integer, got '" + shown.replaceAll("\\p{Cntrl}", "?") + "'");
    }

    /** An integer query parameter within bounds, else 400 invalid_&lt;name&gt;. */
    public static int intQuery(Context ctx, String name, int dflt, int min, int max) {
        String v = ctx.queryParam(name);
        if (v == null || v.isEmpty()) return dflt;
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException ignored) {
            // fall through to the error
        }
        throw ApiException.badRequest(
                "invalid_" + name, "'" + name + "' must be a whole number from " + min + " to " + max);
    }
}
