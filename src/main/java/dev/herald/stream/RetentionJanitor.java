package dev.herald.stream;

import dev.herald.jooq.Routines;
import dev.herald.jooq.tables.records.RetentionCandidatesRecord;
import java.time.Duration;
import java.util.HashSet;
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
    private final AtomicLong deleted = new AtomicLong();
    private final AtomicLong runs = new AtomicLong();
    private final Object runLock = new Object();
    private volatile Thread thread;
    private volatile boolean closed;

    /** {@code retained}: the stream kinds whose event logs it prunes. */
    public RetentionJanitor(DSLContext db, Set<StreamKind> retained, Duration retention, Duration interval, int batch) {
        this.db = db;
        this.retainedPrefixes = new HashSet<>();
        for (StreamKind k : retained) retainedPrefixes.add(k.prefix());
        this.retention = retention;
        this.interval = interval;
        this.batch = batch;
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
                    long n = prune(c);
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
