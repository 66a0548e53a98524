package dev.herald.stream;

/**
 * A stream: a tenant's named, ordered log with dense cursors. Names are {@code kind:id}
 * (e.g. {@code user:alice}, {@code inbox:alice}, {@code chat:<uuid>}, {@code team:acme}).
 */
public record StreamKey(String tenant, String stream) {
    public String kind() {
        int i = stream.indexOf(':');
        return i < 0 ? stream : stream.substring(0, i);
    }
}
