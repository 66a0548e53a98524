package dev.herald.auth;

import static dev.herald.jooq.Tables.TENANTS;
import static dev.herald.jooq.Tables.TOKENS;

import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.jooq.DSLContext;
import org.jooq.Record;

/** Tokens and tenants in the database. Only SHA-256 hashes of tokens are stored. */
public final class TokenStore {
    /** The advisory lock that serializes operator bootstrap across replicas ("herald" + 1). */
    static final long BOOTSTRAP_LOCK = 0x6865_7261_6c64_0001L;

    private final DSLContext db;
    private final AtomicLong lookups = new AtomicLong();

    public TokenStore(DSLContext db) {
        this.db = db;
    }

    /** Token lookups that reached the database (cache misses, negative cache included). */
    public long lookups() {
        return lookups.get();
    }

    /**
     * Runs {@code work} in one transaction holding the bootstrap advisory lock: replicas that
     * start at once on a fresh database bootstrap one after the other, so only one generates.
     */
    <T> T underBootstrapLock(Function<TokenStore, T> work) {
        return db.transactionResult(tx -> {
            DSLContext t = tx.dsl();
            t.execute("SELECT pg_advisory_xact_lock(?)", BOOTSTRAP_LOCK);
            return work.apply(new TokenStore(t));
        });
    }

    public Optional<Principal> findActive(byte[] hash) {
        lookups.incrementAndGet();
        Record r = db.select(TOKENS.PREFIX, TOKENS.TENANT, TOKENS.USER_ID, TOKENS.SCOPES, TOKENS.OPERATOR)
                .from(TOKENS)
                .where(TOKENS.HASH.eq(hash).and(TOKENS.REVOKED_AT.isNull()))
                .fetchOne();
        if (r == null) return Optional.empty();
        return Optional.of(new Principal(
                r.get(TOKENS.PREFIX),
                r.get(TOKENS.TENANT),
                r.get(TOKENS.USER_ID),
                scopes(r.get(TOKENS.SCOPES)),
                r.get(TOKENS.OPERATOR)));
    }

    /** Inserts a token (and its tenant if new); false if the prefix is taken. */
    public boolean insert(String prefix, byte[] hash, String tenant, String user, Set<Scope> scopes, boolean operator) {
        return db.transactionResult(tx -> {
            DSLContext t = tx.dsl();
            if (tenant != null)
                t.insertInto(TENANTS, TENANTS.ID)
                        .values(tenant)
                        .onConflictDoNothing()
                        .execute();
            return t.insertInto(
                                    TOKENS,
                                    TOKENS.PREFIX,
                                    TOKENS.HASH,
                                    TOKENS.TENANT,
                                    TOKENS.USER_ID,
                                    TOKENS.SCOPES,
                                    TOKENS.OPERATOR)
                            .values(
                                    prefix,
                                    hash,
                                    tenant,
                                    user,
                                    scopes.stream().map(Scope::wire).toArray(String[]::new),
                                    operator)
                            .onConflictDoNothing()
                            .execute()
                    == 1;
        });
    }

    public boolean operatorExists() {
        return db.fetchExists(TOKENS, TOKENS.OPERATOR.isTrue().and(TOKENS.REVOKED_AT.isNull()));
    }

    public boolean exists(byte[] hash) {
        return db.fetchExists(TOKENS, TOKENS.HASH.eq(hash));
    }

    /** Whether the token with this hash is an operator token; empty if there is none. */
    Optional<Boolean> operatorFlag(byte[] hash) {
        return db.select(TOKENS.OPERATOR)
                .from(TOKENS)
                .where(TOKENS.HASH.eq(hash))
                .fetchOptional(TOKENS.OPERATOR);
    }

    /** Un-revokes the operator token with this hash; true if it was revoked. */
    boolean reinstateOperator(byte[] hash) {
        return db.update(TOKENS)
                        .setNull(TOKENS.REVOKED_AT)
                        .where(TOKENS.HASH
                                .eq(hash)
                                .and(TOKENS.OPERATOR.isTrue())
                                .and(TOKENS.REVOKED_AT.isNotNull()))
                        .execute()
                == 1;
    }

    /** Gives the token with this hash a new prefix if its prefix is {@code old}; true if changed. */
    boolean reprefix(byte[] hash, String old, String fresh) {
        return db.update(TOKENS)
                        .set(TOKENS.PREFIX, fresh)
                        .where(TOKENS.HASH.eq(hash).and(TOKENS.PREFIX.eq(old)))
                        .execute()
                == 1;
    }

    /** Revokes every operator token except the given one (HERALD_ADMIN_TOKEN rotated). */
    public int revokeOtherOperators(byte[] keep) {
        return db.update(TOKENS)
                .set(TOKENS.REVOKED_AT, OffsetDateTime.now())
                .where(TOKENS.OPERATOR.isTrue().and(TOKENS.REVOKED_AT.isNull()).and(TOKENS.HASH.ne(keep)))
                .execute();
    }

    /** The tenant of an active, non-operator token with this prefix. */
    public Optional<String> activeTenantOf(String prefix) {
        return db.select(TOKENS.TENANT)
                .from(TOKENS)
                .where(TOKENS.PREFIX.eq(prefix).and(TOKENS.REVOKED_AT.isNull()).and(TOKENS.OPERATOR.isFalse()))
                .fetchOptional(TOKENS.TENANT);
    }

    public boolean revoke(String prefix) {
        return db.update(TOKENS)
                        .set(TOKENS.REVOKED_AT, OffsetDateTime.now())
                        .where(TOKENS.PREFIX.eq(prefix).and(TOKENS.REVOKED_AT.isNull()))
                        .execute()
                == 1;
    }

    /** Prefixes revoked since a time: lets a replica catch revocations whose ping it missed. */
    public List<String> revokedSince(OffsetDateTime since) {
        return db.select(TOKENS.PREFIX)
                .from(TOKENS)
                .where(TOKENS.REVOKED_AT.ge(since))
                .fetch(TOKENS.PREFIX);
    }

    private static Set<Scope> scopes(String[] wire) {
        Set<Scope> s = EnumSet.noneOf(Scope.class);
        Arrays.stream(wire).map(Scope::parse).flatMap(Optional::stream).forEach(s::add);
        return s;
    }
}
