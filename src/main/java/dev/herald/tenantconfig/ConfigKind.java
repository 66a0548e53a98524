package dev.herald.tenantconfig;

import dev.herald.http.ApiException;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The kinds of config entries (API.md section 3). A path with another kind is 400
 * {@code invalid_kind} (docs/adr/0040): the kind is a parameter the client got wrong, like a
 * malformed entity id, not a resource that might exist.
 */
public enum ConfigKind {
    PROVIDERS("providers"),
    MODEL_CONFIG("model_config"),
    USER_PROMPT("user_prompt");

    private static final String ALL = Arrays.stream(values()).map(k -> k.wire).collect(Collectors.joining(", "));

    private final String wire;

    ConfigKind(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static ConfigKind parse(String s) {
        for (ConfigKind k : values()) if (k.wire.equals(s)) return k;
        String shown = s.length() > 40 ? s.substring(0, 40) + "…" : s;
        throw ApiException.badRequest(
                "invalid_kind", "unknown config kind '" + shown.replaceAll("\\p{Cntrl}", "?") + "'; kinds are " + ALL);
    }
}
