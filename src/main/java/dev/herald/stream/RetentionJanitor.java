package dev.herald.stream;

import static dev.herald.jooq.Tables.STREAM_PURGES;

import dev.herald.jooq.Routines;
import dev.herald.jooq.tables.records.RetentionCandidatesRecord;
import dev.herald.jooq.tables.records.StreamPurgesDueRecord;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.DSLContext;
import org.jooq.Result;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.types.YearToSecond;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes event-log rows older than retention (HERALD_RETENTION) and advances each pruned
 * stream's {@code pruned_through}, so a client whose cursor is older gets {@code event: reset}
 * and continues from the oldest retained event. Applies to the stream kinds declared
 * {@linkplain StreamKind#retained() retained} that the database also lists as such
 * (herald.retention_applies, migrations/V90__retention_every_kind.sql): every kind's event log
 * but a chat's message stream.
 *
 * <p>Every replica runs one, every {@code interval}; a session advisory lock lets one replica
 * work at a time (the others skip that run). The work itself is safe to run concurrently.
 * Deletes go in small per-stream transactions ({@code batch} rows each) that touch the
 * stream's head row once, last, right before commit, and give up after 2 s if a writer holds
 * it (herald.prune_stream), so publishers are never held up for long.
 *
 * <p>It also purges streams whose owner was deleted ({@link #schedulePurge}: a deleted chat's
 * messages) once the deletion is older than {@code purgeDelay}, and what is left of them once
 * it is older than retention (herald.purge_stream, migrations/V91__stream_purges.sql).
 */
public final class RetentionJanitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RetentionJanitor.class);
    /** pg_try_advisory_lock key: "herald retention" — arbitrary, fixed. */
    static final long LOCK_KEY = 0x6865_7261_6c64_7274L;
    /** Old rows sampled per candidate query. */
    private static final int SAMPLE = 10_000;
    /** Upper bound on candidate queries per run (so a run always ends). */
    private static final int MAX_ROUNDS = 1_000;

    private final DSLContext db;
    private final Set<String> retainedPrefixes;
    private final Duration retention;
    private final Duration interval;
    private final int batch;
    private final Duration purgeDelay;
    private final AtomicLong deleted = new AtomicLong();
    private final AtomicLong runs = new AtomicLong();
    private final Object runLock = new Object();
    private volatile Thread thread;
    private volatile boolean closed;

    /**
     * {@code retained}: the stream kinds whose event logs it prunes; {@code purgeDelay}: how long
     * a deleted stream's events stay readable for the streams still open on it.
     */
    public RetentionJanitor(
            DSLContext db,
            Set<StreamKind> retained,
            Duration retention,
            Duration interval,
            int batch,
            Duration purgeDelay) {
        this.db = db;
        this.retainedPrefixes = new HashSet<>();
        for (StreamKind k : retained) retainedPrefixes.add(k.prefix());
        this.retention = retention;
        this.interval = interval;
        this.batch = batch;
        this.purgeDelay = purgeDelay;
    }

    /**
     * In the caller's transaction (the one deleting the stream's owner, e.g. a chat): queues the
     * stream for purging. Its events below {@code through} (the owner's final event, which open
     * streams end on) stay readable for {@code HERALD_PURGE_DELAY}, so a stream that has not yet
     * fetched the last of them still gets them, then go; the final event and the head row go
     * once the deletion is older than retention. Nothing may be published to it afterwards.
     */
    public static void schedulePurge(DSLContext tx, StreamKey key, long through) {
        tx.insertInto(STREAM_PURGES)
                .set(STREAM_PURGES.TENANT, key.tenant())
                .set(STREAM_PURGES.STREAM, key.stream())
                .set(STREAM_PURGES.THROUGH, through)
                .onConflictDoNothing()
                .execute();
    }

    /** Starts the periodic runs on a daemon thread (first run after one interval). */
    public void start() {
        thread = Thread.ofPlatform().daemon().name("herald-retention").start(this::loop);
    }

    /** Rows deleted by this replica's janitor since start. */
    public long deleted() {
        return deleted.get();
    }

    /** Runs that did the work (held the lock). */
    public long runs() {
        return runs.get();
    }

    /** What one run did: whether it held the lock, and the rows it deleted. */
    public record Run(boolean worked, long deleted) {}

    /**
     * One run, now, on the calling thread: prunes every event-log row older than retention
     * unless another replica's janitor is at work ({@code worked == false}).
     */
    public Run runOnce() {
        synchronized (runLock) {
            return db.connectionResult(conn -> {
                DSLContext c = DSL.using(conn, SQLDialect.POSTGRES);
                Boolean locked = c.select(DSL.function("pg_try_advisory_lock", Boolean.class, DSL.val(LOCK_KEY)))
                        .fetchOne()
                        .value1();
                if (!Boolean.TRUE.equals(locked)) return new Run(false, 0);
                try {
                    long n = prune(c) + purge(c);
                    runs.incrementAndGet();
                    return new Run(true, n);
                } finally {
                    c.select(DSL.function("pg_advisory_unlock", Boolean.class, DSL.val(LOCK_KEY)))
                            .fetch();
                }
            });
        }
    }

    private long prune(DSLContext c) {
        YearToSecond maxAge = YearToSecond.valueOf(retention);
        long total = 0;
        Set<String> busy = new HashSet<>(); // streams whose head a writer held: retried next run
        for (int round = 0; round < MAX_ROUNDS && !closed; round++) {
            Result<RetentionCandidatesRecord> candidates =
                    Routines.retentionCandidates(c.configuration(), maxAge, SAMPLE);
            long progress = 0;
            boolean tried = false;
            for (RetentionCandidatesRecord r : candidates) {
                if (closed) break;
                String id = r.getTenant() + '\u0000' + r.getStream();
                if (busy.contains(id)) continue;
                if (!retainedPrefixes.contains(new StreamKey(r.getTenant(), r.getStream()).kind())) continue;
                tried = true;
                progress += pruneStream(c, r.getTenant(), r.getStream(), r.getThrough(), () -> busy.add(id));
            }
            total += progress;
            if (!tried || progress == 0) break;
        }
        if (total > 0) log.info("retention: deleted {} events older than {}", total, retention);
        return total;
    }

    /** Purge steps of deleted streams that are due; returns the rows deleted. */
    private long purge(DSLContext c) {
        YearToSecond delay = YearToSecond.valueOf(purgeDelay);
        YearToSecond maxAge = YearToSecond.valueOf(retention);
        long total = 0;
        // A stream has at most two steps (its events below the final one, then the rest): two
        // attempts per run, fewer if a writer held a lock.
        Map<String, Integer> attempts = new HashMap<>();
        for (int round = 0; round < MAX_ROUNDS && !closed; round++) {
            Result<StreamPurgesDueRecord> due = Routines.streamPurgesDue(c.configuration(), delay, maxAge, 100);
            boolean tried = false;
            for (StreamPurgesDueRecord r : due) {
                if (closed) break;
                String id = r.getTenant() + '\u0000' + r.getStream();
                if (attempts.merge(id, 1, Integer::sum) > 2) continue;
                tried = true;
                while (!closed) {
                    int got;
                    try {
                        got = Routines.purgeStream(
                                c.configuration(), r.getTenant(), r.getStream(), batch, delay, maxAge);
                    } catch (DataAccessException e) {
                        log.debug("purge: skipped {}/{} this run: {}", r.getTenant(), r.getStream(), e.getMessage());
                        attempts.put(id, 3);
                        break;
                    }
                    total += got;
                    deleted.addAndGet(got);
                    if (got < batch) break;
                }
            }
            if (!tried) break;
        }
        if (total > 0) log.info("purge: deleted {} events of deleted streams", total);
        return total;
    }

    /**
     * Prunes one stream through {@code through}, one short transaction per batch; returns the
     * rows deleted. Calls {@code gaveUp} if it had to stop early (a writer held the head row).
     */
    private long pruneStream(DSLContext c, String tenant, String stream, long through, Runnable gaveUp) {
        long n = 0;
        while (!closed) {
            int got;
            try {
                got = Routines.pruneStream(c.configuration(), tenant, stream, through, batch);
            } catch (DataAccessException e) {
                // Lock timeout (a writer holds the stream's head) or a transient failure.
                log.debug("retention: skipped {}/{} this run: {}", tenant, stream, e.getMessage());
                gaveUp.run();
                break;
            }
            n += got;
            deleted.addAndGet(got);
            if (got < batch) break;
        }
        return n;
    }

    private void loop() {
        while (!closed) {
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            try {
                runOnce();
            } catch (RuntimeException e) {
                if (!closed) log.warn("retention run failed (retrying next interval): {}", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) t.interrupt();
    }
}
