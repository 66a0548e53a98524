package dev.herald.inbox;

import static dev.herald.jooq.Tables.INBOX_COUNTERS;
import static dev.herald.jooq.Tables.INBOX_NOTIFICATIONS;
import static dev.herald.jooq.Tables.INBOX_TARGETS;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.http.Idempotency;
import dev.herald.jooq.Routines;
import dev.herald.jooq.tables.InboxNotifications;
import dev.herald.jooq.tables.InboxTargets;
import dev.herald.json.Json;
import dev.herald.stream.Publisher;
import dev.herald.stream.StreamKey;
import dev.herald.stream.StreamKind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.ResultQuery;
import org.jooq.SelectField;
import org.jooq.Table;
import org.jooq.impl.DSL;

/**
 * Inbox rows through jOOQ. Every write goes through the SQL functions of V10__inbox.sql, which
 * take the user's inbox lock, change the rows and publish to {@code inbox:<user>} in one
 * transaction; the same functions serve applications writing from their own transactions.
 */
public final class InboxRepository {
    private static final InboxNotifications N = INBOX_NOTIFICATIONS;
    private static final InboxTargets T = INBOX_TARGETS;

    private final DSLContext db;
    private final Publisher publisher;

    /**
     * {@code inbox:<user>}: notifications and read-state changes. Retention prunes the events;
     * the notifications themselves stay (a pruned cursor gets {@code reset} and re-lists).
     */
    public static final StreamKind KIND = new StreamKind("inbox", new InboxRenderer(), true);

    public static StreamKey stream(String tenant, String user) {
        return KIND.key(tenant, user);
    }

    public InboxRepository(DSLContext db, Publisher publisher) {
        this.db = db;
        this.publisher = publisher;
    }

    public enum ReadStatus {
        ALL,
        READ,
        UNREAD
    }

    /** A list request; {@code beforeCursor} null for the first page, targets possibly empty. */
    public record Query(
            String tenant, String user, ReadStatus status, List<String> targets, Long beforeCursor, int limit) {}

    public record Page(List<Notification> notifications, long unreadCount) {}

    public record Marked(Notification notification, boolean changed) {}

    /** Group-committed with concurrent publishes (one commit, one ping per stream). */
    public JsonNode create(String tenant, String user, NotificationInput in, Idempotency.Recorder once) {
        return publisher.write(stream(tenant, user), tx -> {
            UUID id = Routines.notifyInbox(
                    tx.configuration(),
                    tenant,
                    user,
                    in.title(),
                    in.content(),
                    in.icon(),
                    in.targets().toArray(String[]::new),
                    JSONB.valueOf(Json.write(in.actions())));
            JsonNode answer = find(tx, tenant, user, id)
                    .orElseThrow(() -> new IllegalStateException("notification " + id + " vanished"))
                    .toJson();
            once.record(tx, answer);
            return answer;
        });
    }

    /** Marks read or unread; empty if the user has no such notification. */
    public Optional<Marked> mark(String tenant, String user, UUID id, boolean read) {
        return publisher.write(stream(tenant, user), tx -> {
            Boolean changed = Routines.inboxMark(tx.configuration(), tenant, user, id, read);
            if (changed == null) return Optional.empty();
            return find(tx, tenant, user, id).map(n -> new Marked(n, changed));
        });
    }

    /** Marks every unread notification read; returns how many changed. */
    public int markAllRead(String tenant, String user) {
        return db.transactionResult(cfg -> Routines.inboxMarkAllRead(cfg, tenant, user));
    }

    /** The cursor of one of the user's notifications, empty if the user has no such one. */
    public Optional<Long> cursorOf(String tenant, String user, UUID id) {
        return db.select(N.CURSOR)
                .from(N)
                .where(N.ID.eq(id).and(N.TENANT.eq(tenant)).and(N.USER_ID.eq(user)))
                .fetchOptional(N.CURSOR);
    }

    public long unreadCount(String tenant, String user) {
        return unreadCount(db, tenant, user);
    }

    private static long unreadCount(DSLContext ctx, String tenant, String user) {
        Long n = ctx.select(INBOX_COUNTERS.UNREAD)
                .from(INBOX_COUNTERS)
                .where(INBOX_COUNTERS.TENANT.eq(tenant).and(INBOX_COUNTERS.USER_ID.eq(user)))
                .fetchOne(INBOX_COUNTERS.UNREAD);
        return n == null ? 0 : n;
    }

    /** One page, newest first, with the unread count read by the same statement. */
    public Page list(Query q) {
        List<Notification> out = new ArrayList<>(q.limit());
        long unread = -1;
        for (Record r : listQuery(db, q).fetch()) {
            out.add(toNotification(r));
            Long u = r.get(UNREAD, Long.class);
            unread = u == null ? 0 : u;
        }
        if (unread < 0) unread = unreadCount(q.tenant(), q.user());
        return new Page(out, unread);
    }

    private static final String UNREAD = "unread_count";

    /**
     * The list query: a backward walk of an index on (tenant, user_id, cursor) — the unique
     * one, or the partial one for read/unread — stopping after {@code limit} rows. With
     * targets it walks inbox_targets' primary key instead (see below). Package-private so a
     * test can EXPLAIN exactly this query.
     */
    static ResultQuery<Record> listQuery(DSLContext ctx, Query q) {
        Field<Long> unread = DSL.field(DSL.select(INBOX_COUNTERS.UNREAD)
                        .from(INBOX_COUNTERS)
                        .where(INBOX_COUNTERS.TENANT.eq(q.tenant()).and(INBOX_COUNTERS.USER_ID.eq(q.user()))))
                .as(UNREAD);
        List<SelectField<?>> fields = new ArrayList<>(Arrays.asList(N.fields()));
        fields.add(unread);

        Condition where = N.TENANT.eq(q.tenant()).and(N.USER_ID.eq(q.user()));
        switch (q.status()) {
            case READ -> where = where.and(N.READ_AT.isNotNull());
            case UNREAD -> where = where.and(N.READ_AT.isNull());
            case ALL -> {}
        }
        if (q.targets().isEmpty()) {
            if (q.beforeCursor() != null) where = where.and(N.CURSOR.lt(q.beforeCursor()));
            return ctx.select(fields)
                    .from(N)
                    .where(where)
                    .orderBy(N.CURSOR.desc())
                    .limit(q.limit());
        }
        // One inbox_targets row per listed target, all joined on the same cursor: the planner
        // may drive with whichever target is rarest and still read it in cursor order.
        InboxTargets first = T.as("t0");
        Condition byTarget = first.TENANT
                .eq(q.tenant())
                .and(first.USER_ID.eq(q.user()))
                .and(first.TARGET.eq(q.targets().getFirst()));
        if (q.beforeCursor() != null) {
            // On every joined table: PostgreSQL does not carry inequalities across a join, and
            // a merge join would otherwise walk the other index from the top.
            byTarget = byTarget.and(first.CURSOR.lt(q.beforeCursor()));
            where = where.and(N.CURSOR.lt(q.beforeCursor()));
        }
        Table<?> from = first;
        for (int i = 1; i < q.targets().size(); i++) {
            InboxTargets ti = T.as("t" + i);
            Condition on = ti.TENANT
                    .eq(first.TENANT)
                    .and(ti.USER_ID.eq(first.USER_ID))
                    .and(ti.CURSOR.eq(first.CURSOR))
                    .and(ti.TARGET.eq(q.targets().get(i)));
            if (q.beforeCursor() != null) on = on.and(ti.CURSOR.lt(q.beforeCursor()));
            from = from.join(ti).on(on);
        }
        return ctx.select(fields)
                .from(from)
                .join(N)
                .on(N.TENANT.eq(first.TENANT).and(N.USER_ID.eq(first.USER_ID)).and(N.CURSOR.eq(first.CURSOR)))
                .where(byTarget.and(where))
                .orderBy(first.CURSOR.desc())
                .limit(q.limit());
    }

    private static Optional<Notification> find(DSLContext ctx, String tenant, String user, UUID id) {
        return ctx.selectFrom(N)
                .where(N.ID.eq(id).and(N.TENANT.eq(tenant)).and(N.USER_ID.eq(user)))
                .fetchOptional()
                .map(InboxRepository::toNotification);
    }

    private static Notification toNotification(Record r) {
        String[] targets = r.get(N.TARGETS);
        JSONB actions = r.get(N.ACTIONS);
        return new Notification(
                r.get(N.ID),
                r.get(N.CURSOR),
                r.get(N.USER_ID),
                r.get(N.TITLE),
                r.get(N.CONTENT),
                r.get(N.ICON),
                targets == null ? List.of() : List.of(targets),
                actions == null ? Json.MAPPER.createArrayNode() : Json.parse(actions.data()),
                r.get(N.READ_AT),
                r.get(N.CREATED_AT));
    }
}
