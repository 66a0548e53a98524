package dev.herald.chat;

import static dev.herald.jooq.Tables.CHATS;
import static dev.herald.jooq.Tables.EVENTS;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.http.Idempotency;
import dev.herald.jooq.Routines;
import dev.herald.jooq.routines.PostChatMessage;
import dev.herald.jooq.tables.records.ChatsRecord;
import dev.herald.json.Json;
import dev.herald.stream.Event;
import dev.herald.stream.Publisher;
import dev.herald.stream.RetentionJanitor;
import dev.herald.stream.StreamKey;
import dev.herald.stream.StreamKind;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record2;
import org.jooq.UpdateSetMoreStep;
import org.jooq.impl.DSL;

/**
 * Chats and their messages. Every lifecycle change commits the chat row and its event on the
 * owner's stream in one transaction; messages are events of the chat's own stream.
 */
public final class ChatRepository {
    private final DSLContext db;
    private final Publisher publisher;

    public ChatRepository(DSLContext db, Publisher publisher) {
        this.db = db;
        this.publisher = publisher;
    }

    /** {@code chats:<owner>}: the owner\'s chat lifecycle events; pruned by retention (the chats stay). */
    public static final StreamKind OWNER_KIND = new StreamKind("chats", ChatWire.OWNER, true);
    /** {@code chat:<id>}: a chat\'s messages, its content for its whole life: never pruned by retention. */
    public static final StreamKind CHAT_KIND = new StreamKind("chat", ChatWire.CHAT, false);

    public static StreamKey ownerStream(String tenant, String owner) {
        return OWNER_KIND.key(tenant, owner);
    }

    public static StreamKey chatStream(String tenant, UUID chat) {
        return CHAT_KIND.key(tenant, chat.toString());
    }

    /** What a PATCH asks for; null fields are left alone. */
    public record Patch(String title, String status, boolean setDiffStatus, JsonNode diffStatus) {}

    /** A PATCH's outcome: the chat after it and the lifecycle events it published. */
    public record Updated(Chat chat, List<String> kinds) {}

    private static Condition owned(String tenant, String owner, UUID id) {
        return CHATS.ID.eq(id).and(CHATS.TENANT.eq(tenant)).and(CHATS.OWNER.eq(owner));
    }

    private static void publish(DSLContext tx, String kind, Chat chat) {
        Publisher.publishInTransaction(
                tx, ownerStream(chat.tenant(), chat.owner()), kind, ChatWire.lifecycle(kind, chat));
    }

    public Chat create(String tenant, String owner, String title) {
        return db.transactionResult(cfg -> {
            DSLContext tx = cfg.dsl();
            ChatsRecord r = tx.insertInto(CHATS)
                    .set(CHATS.TENANT, tenant)
                    .set(CHATS.OWNER, owner)
                    .set(CHATS.TITLE, title)
                    .returning()
                    .fetchOne();
            Chat chat = Chat.of(Objects.requireNonNull(r));
            publish(tx, "created", chat);
            return chat;
        });
    }

    public Optional<Chat> find(String tenant, String owner, UUID id) {
        return db.selectFrom(CHATS)
                .where(owned(tenant, owner, id))
                .fetchOptional()
                .map(Chat::of);
    }

    /**
     * The owner's chats, newest first; {@code startingBefore}: only chats older than that one.
     * Empty when {@code startingBefore} is not one of the owner's chats.
     */
    public Optional<List<Chat>> list(String tenant, String owner, UUID startingBefore, int limit) {
        Condition c = CHATS.TENANT.eq(tenant).and(CHATS.OWNER.eq(owner));
        if (startingBefore != null) {
            Record2<OffsetDateTime, UUID> anchor = db.select(CHATS.CREATED_AT, CHATS.ID)
                    .from(CHATS)
                    .where(owned(tenant, owner, startingBefore))
                    .fetchOne();
            if (anchor == null) return Optional.empty();
            c = c.and(DSL.row(CHATS.CREATED_AT, CHATS.ID).lt(anchor.value1(), anchor.value2()));
        }
        return Optional.of(db.selectFrom(CHATS)
                .where(c)
                .orderBy(CHATS.CREATED_AT.desc(), CHATS.ID.desc())
                .limit(limit)
                .fetch(Chat::of));
    }

    /**
     * Applies a PATCH; publishes {@code title_change}, {@code status_change},
     * {@code diff_status_change} (in that order, each with the snapshot after the whole
     * update) for the fields whose value actually changed. Empty when not the owner's chat.
     */
    public Optional<Updated> update(String tenant, String owner, UUID id, Patch patch) {
        return db.transactionResult(cfg -> {
            DSLContext tx = cfg.dsl();
            ChatsRecord cur = tx.selectFrom(CHATS)
                    .where(owned(tenant, owner, id))
                    .forNoKeyUpdate()
                    .fetchOne();
            if (cur == null) return Optional.<Updated>empty();
            Chat before = Chat.of(cur);
            List<String> kinds = new ArrayList<>(3);
            UpdateSetMoreStep<ChatsRecord> u = tx.update(CHATS).set(CHATS.UPDATED_AT, DSL.currentOffsetDateTime());
            if (patch.title() != null && !patch.title().equals(before.title())) {
                u = u.set(CHATS.TITLE, patch.title());
                kinds.add("title_change");
            }
            if (patch.status() != null && !patch.status().equals(before.status())) {
                u = u.set(CHATS.STATUS, patch.status());
                kinds.add("status_change");
            }
            if (patch.setDiffStatus() && !Objects.equals(patch.diffStatus(), before.diffStatus())) {
                u = u.set(
                        CHATS.DIFF_STATUS,
                        patch.diffStatus() == null ? null : JSONB.valueOf(Json.write(patch.diffStatus())));
                kinds.add("diff_status_change");
            }
            if (kinds.isEmpty()) return Optional.of(new Updated(before, kinds));
            ChatsRecord r = u.where(CHATS.ID.eq(id)).returning().fetchOne();
            Chat after = Chat.of(Objects.requireNonNull(r));
            for (String kind : kinds) publish(tx, kind, after);
            return Optional.of(new Updated(after, kinds));
        });
    }

    /**
     * Deletes a chat: the row goes, {@code deleted} is published on the owner's stream and, as
     * the chat stream's last event, on the chat's stream (its open streams end there) — all in
     * one transaction. A post racing the deletion either commits before it or finds no chat.
     * The messages are not deleted here: a message committed just before may not have reached
     * every replica's open streams yet, and they must get it before {@code deleted}. The
     * retention janitor purges them once the deletion is older than HERALD_PURGE_DELAY
     * ({@link RetentionJanitor#schedulePurge}); every route is 404 for the chat meanwhile.
     */
    public boolean delete(String tenant, String owner, UUID id) {
        return db.transactionResult(cfg -> {
            DSLContext tx = cfg.dsl();
            ChatsRecord r = tx.deleteFrom(CHATS)
                    .where(owned(tenant, owner, id))
                    .returning()
                    .fetchOne();
            if (r == null) return false;
            Chat chat = Chat.of(r);
            publish(tx, "deleted", chat);
            StreamKey key = chatStream(tenant, id);
            long last = Publisher.publishInTransaction(
                    tx, key, ChatWire.DELETED, Json.write(Json.object().put("chat_id", id.toString())));
            RetentionJanitor.schedulePurge(tx, key, last);
            return true;
        });
    }

    /** Posts a message in one statement (herald.post_chat_message); empty when not the owner's chat. */
    public Optional<JsonNode> postMessage(
            String tenant, String owner, UUID id, String role, JsonNode content, Idempotency.Recorder once) {
        // Group-committed with concurrent publishes: one commit, one ping per stream.
        return publisher.write(chatStream(tenant, id), tx -> {
            PostChatMessage r = Routines.postChatMessage(
                    tx.configuration(),
                    tenant,
                    owner,
                    id,
                    role,
                    JSONB.valueOf(content == null ? "null" : Json.write(content)));
            if (r.getOId() == null) return Optional.empty();
            JsonNode answer = ChatWire.message(
                    new Event(r.getOId(), ChatWire.MESSAGE, r.getOData().data(), r.getOCreatedAt()));
            once.record(tx, answer);
            return Optional.of(answer);
        });
    }

    /** Messages with id &gt; after, ascending; empty when not the owner's chat. */
    public Optional<List<Event>> messages(String tenant, String owner, UUID id, long after, int limit) {
        if (!exists(tenant, owner, id)) return Optional.empty();
        StreamKey key = chatStream(tenant, id);
        return Optional.of(db.select(EVENTS.CURSOR, EVENTS.TYPE, EVENTS.DATA, EVENTS.CREATED_AT)
                .from(EVENTS)
                .where(EVENTS.TENANT
                        .eq(tenant)
                        .and(EVENTS.STREAM.eq(key.stream()))
                        .and(EVENTS.TYPE.eq(ChatWire.MESSAGE))
                        .and(EVENTS.CURSOR.gt(after)))
                .orderBy(EVENTS.CURSOR)
                .limit(limit)
                .fetch(rec -> new Event(rec.value1(), rec.value2(), rec.value3().data(), rec.value4())));
    }

    public boolean exists(String tenant, String owner, UUID id) {
        return db.fetchExists(CHATS, owned(tenant, owner, id));
    }
}
