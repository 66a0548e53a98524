package dev.herald.auth;

import java.util.Optional;

/** What a token may do (API.md "Identity, tenants, tokens"). */
public enum Scope {
    EVENTS_READ("events:read"),
    EVENTS_WRITE("events:write"),
    ADMIN("admin");

    private final String wire;

    Scope(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static Optional<Scope> parse(String s) {
        for (Scope v : values()) if (v.wire.equals(s)) return Optional.of(v);
        return Optional.empty();
    }
}
