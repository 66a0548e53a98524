package dev.herald.tenantconfig;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import dev.herald.json.Json;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;

/**
 * A config entry as the database holds it at one version. {@code present == false} is an
 * entry that does not exist: never written ({@code version} 0) or deleted (a tombstone,
 * {@code version} = the delete's). The response body is rendered once, when the entry is
 * read, with the stored JSON spliced in as is (no re-parsing, no loss of number precision).
 */
public record ConfigEntry(
        ConfigKey key, boolean present, String valueJson, long version, OffsetDateTime updatedAt, String body) {

    public static ConfigEntry present(ConfigKey key, String valueJson, long version, OffsetDateTime updatedAt) {
        ObjectNode o = Json.object();
        o.put("kind", key.kind().wire());
        o.put("entity", key.entity());
        o.putRawValue("value", new RawValue(valueJson));
        o.put("version", version);
        o.put("updated_at", DateTimeFormatter.ISO_INSTANT.format(updatedAt));
        return new ConfigEntry(key, true, valueJson, version, updatedAt, Json.write(o));
    }

    public static ConfigEntry absent(ConfigKey key, long version) {
        return new ConfigEntry(key, false, null, version, null, null);
    }
}
