package dev.herald.tenantconfig;

import static dev.herald.jooq.Tables.CONFIG_ENTRIES;

import dev.herald.stream.Publisher;
import java.time.OffsetDateTime;
import java.util.Optional;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record4;
import org.jooq.impl.DSL;

/**
 * Config rows. Each write is one statement, hence one transaction; the table's trigger
 * (migrations/V40__config.sql) sends the {@code chat:config_change} ping and publishes the
 * {@code config:all} event in that same transaction, so both happen if and only if it commits.
 */
public final class ConfigRepository {
    private final DSLContext db;
    private final Publisher publisher;

    public ConfigRepository(DSLContext db, Publisher publisher) {
        this.db = db;
        this.publisher = publisher;
    }

    /** The entry as committed now; absent (version 0 or the tombstone's) if there is none. */
    public ConfigEntry find(ConfigKey key) {
        Record4<JSONB, Long, Boolean, OffsetDateTime> r = db.select(
                        CONFIG_ENTRIES.VALUE, CONFIG_ENTRIES.VERSION, CONFIG_ENTRIES.DELETED, CONFIG_ENTRIES.UPDATED_AT)
                .from(CONFIG_ENTRIES)
                .where(matches(key))
                .fetchOne();
        if (r == null) return ConfigEntry.absent(key, 0);
        if (r.value3()) return ConfigEntry.absent(key, r.value2());
        return ConfigEntry.present(key, r.value1().data(), r.value2(), r.value4());
    }

    /** Creates or replaces the value; the version goes up by one (a tombstone's too). */
    public ConfigEntry put(ConfigKey key, String valueJson) {
        JSONB value = JSONB.valueOf(valueJson);
        // Group-committed with concurrent publishes: its trigger publishes to the tenant's
        // config stream and pings the invalidation channel in the same transaction.
        var r = publisher.write(
                ConfigStore.watchStream(key.tenant()),
                tx -> tx.insertInto(CONFIG_ENTRIES)
                        .set(CONFIG_ENTRIES.TENANT, key.tenant())
                        .set(CONFIG_ENTRIES.KIND, key.kind().wire())
                        .set(CONFIG_ENTRIES.ENTITY, key.entity())
                        .set(CONFIG_ENTRIES.VALUE, value)
                        .set(CONFIG_ENTRIES.VERSION, 1L)
                        .set(CONFIG_ENTRIES.DELETED, false)
                        .onConflict(CONFIG_ENTRIES.TENANT, CONFIG_ENTRIES.KIND, CONFIG_ENTRIES.ENTITY)
                        .doUpdate()
                        .set(CONFIG_ENTRIES.VALUE, value)
                        .set(CONFIG_ENTRIES.VERSION, CONFIG_ENTRIES.VERSION.plus(1L))
                        .set(CONFIG_ENTRIES.DELETED, false)
                        .set(CONFIG_ENTRIES.UPDATED_AT, DSL.currentOffsetDateTime())
                        .returning(CONFIG_ENTRIES.VALUE, CONFIG_ENTRIES.VERSION, CONFIG_ENTRIES.UPDATED_AT)
                        .fetchOne());
        return ConfigEntry.present(key, r.getValue().data(), r.getVersion(), r.getUpdatedAt());
    }

    /** Deletes (leaves a tombstone with the next version); empty if there was nothing to delete. */
    public Optional<ConfigEntry> delete(ConfigKey key) {
        return publisher
                .write(
                        ConfigStore.watchStream(key.tenant()),
                        tx -> tx.update(CONFIG_ENTRIES)
                                .set(CONFIG_ENTRIES.VALUE, (JSONB) null)
                                .set(CONFIG_ENTRIES.VERSION, CONFIG_ENTRIES.VERSION.plus(1L))
                                .set(CONFIG_ENTRIES.DELETED, true)
                                .set(CONFIG_ENTRIES.UPDATED_AT, DSL.currentOffsetDateTime())
                                .where(matches(key).and(CONFIG_ENTRIES.DELETED.isFalse()))
                                .returning(CONFIG_ENTRIES.VERSION)
                                .fetchOptional())
                .map(r -> ConfigEntry.absent(key, r.getVersion()));
    }

    private static org.jooq.Condition matches(ConfigKey key) {
        return CONFIG_ENTRIES
                .TENANT
                .eq(key.tenant())
                .and(CONFIG_ENTRIES.KIND.eq(key.kind().wire()))
                .and(CONFIG_ENTRIES.ENTITY.eq(key.entity()));
    }
}
