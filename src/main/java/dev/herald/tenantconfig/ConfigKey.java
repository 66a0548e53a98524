package dev.herald.tenantconfig;

/** One config entry's identity: {@code {kind}/{entity}} within a tenant. */
public record ConfigKey(String tenant, ConfigKind kind, String entity) {}
