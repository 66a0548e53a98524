package dev.herald.stream;

/**
 * One kind of stream ({@code user}, {@code inbox}, {@code chat}, …): the prefix of its names
 * ({@code <prefix>:<id>}), how its events look on the wire, and whether the retention janitor
 * prunes its event log. Each feature declares its kinds beside its key factory; {@code Herald}
 * registers them all with the {@link Hub}.
 */
public record StreamKind(String prefix, Renderer renderer, boolean retained) {
    public StreamKind {
        if (prefix.isEmpty() || prefix.indexOf(':') >= 0) throw new IllegalArgumentException("bad prefix: " + prefix);
    }

    /** The stream {@code <prefix>:<id>} of a tenant. */
    public StreamKey key(String tenant, String id) {
        return new StreamKey(tenant, prefix + ":" + id);
    }
}
