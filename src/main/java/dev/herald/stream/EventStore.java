package dev.herald.stream;

import static dev.herald.jooq.Tables.EVENTS;
import static dev.herald.jooq.Tables.STREAMS;

import java.util.List;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record2;

/** Reads of the event log: rows after a cursor, a stream's head. */
public final class EventStore {
    private final DSLContext db;

    public EventStore(DSLContext db) {
        this.db = db;
    }

    /** Events with cursor &gt; after, ascending, at most limit. */
    public List<Event> after(StreamKey key, long after, int limit) {
        return db.select(EVENTS.CURSOR, EVENTS.TYPE, EVENTS.DATA, EVENTS.CREATED_AT)
                .from(EVENTS)
                .where(EVENTS.TENANT
                        .eq(key.tenant())
                        .and(EVENTS.STREAM.eq(key.stream()))
                        .and(EVENTS.CURSOR.gt(after)))
                .orderBy(EVENTS.CURSOR)
                .limit(limit)
                .fetch(r -> new Event(r.value1(), r.value2(), data(r.value3()), r.value4()));
    }

    /** The head cursor (0 for a stream never written) and how far retention has pruned it. */
    public StreamInfo info(StreamKey key) {
        Record2<Long, Long> r = db.select(STREAMS.HEAD, STREAMS.PRUNED_THROUGH)
                .from(STREAMS)
                .where(STREAMS.TENANT.eq(key.tenant()).and(STREAMS.STREAM.eq(key.stream())))
                .fetchOne();
        return r == null ? new StreamInfo(0, 0) : new StreamInfo(r.value1(), r.value2());
    }

    private static String data(JSONB j) {
        return j == null ? "null" : j.data();
    }

    public record StreamInfo(long head, long prunedThrough) {}
}
