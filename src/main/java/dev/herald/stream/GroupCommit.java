package dev.herald.stream;

import dev.herald.database.SqlStates;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit: callers queue their publish and park; one writer thread takes everything
 * queued, writes it as a single {@code herald.publish_batch()} statement — one transaction, one
 * ping per stream touched (docs/adr/0050) — answers every caller with its own dense cursor once
 * that commit has returned, and takes the next batch at once: what arrived while a commit was
 * in flight goes in the next transaction. Nothing waits for a timer, so a lone publish is
 * written immediately. Besides plain publishes a batch carries <em>writes</em>: a feature's
 * own statements (an inbox notification with its unread counter, a chat message, a config
 * entry) that publish to one stream; each runs in its own savepoint after the plain
 * publishes, so its failure rolls back only itself and reaches only its caller. If a batch
 * transaction fails as a whole, its callers are retried one by one, so the faulty one gets
 * its own error and the others their results. A stream whose head row is
 * held (an application transaction that published and has not committed) goes to the slow
 * lane, so one held lock never stalls every other stream. The writer is a platform thread so
 * that a saturated virtual-thread scheduler (every HTTP handler runs on one) cannot delay the
 * next batch; it exits after a few idle seconds.
 *
 * <p>Every wait is bounded (HERALD_WRITE_TIMEOUT, {@code writeTimeout} here): each statement
 * of a batch by a statement timeout on the server, each round trip by a network timeout on
 * the writer's connection, so a connection that stops answering (half-open TCP) fails its
 * batch's callers with {@link WriteTimeout} and the next batch takes a fresh connection; and
 * each caller's wait for the writer by a deadline of its own, whatever the writer is doing.
 */
public final class GroupCommit {
    /** Upper bound on events in one batch transaction (keeps statements and arrays small). */
    public static final int MAX_BATCH = 500;
    /**
     * How long a batch waits for a stream's head row that someone else holds (typically an
     * application transaction that published to that stream and has not committed yet). Past
     * it, that stream's publishes leave the batch for the slow lane, so one held lock never
     * stalls the group commit of every other stream.
     */
    static final int LOCK_TIMEOUT_MS = 500;

    private volatile int lockTimeoutMs;
    /**
     * What a publish in the slow lane may wait for the held head on top of the batch's wait:
     * together never more than the configured lock timeout, then 503.
     */
    private final int slowLaneLockTimeoutMs;
    /**
     * Each slow-lane publish holds a pool connection while it waits: bounded, so that a
     * few dozen publishes to one held stream cannot take every connection.
     */
    private final Semaphore slowLanePermits;
    /**
     * Between the writer's statement timeout and its network timeout. The database answers a
     * statement it cancels within milliseconds, so only a connection that answers nothing at
     * all (half-open TCP, a frozen server) reaches the network timeout; the margin also covers
     * a commit's WAL flush on a busy disk, which the statement timeout does not interrupt.
     */
    static final Duration NETWORK_MARGIN = Duration.ofSeconds(5);
    /**
     * The server-side bound on each statement of the writer's transactions (SET LOCAL), and on
     * how long such a transaction may sit idle between statements: the writer runs its
     * statements back to back, so a transaction idle that long has lost its client — the
     * server ends the session and releases the head rows it held, which would otherwise stay
     * locked until TCP keepalive notices the dead peer (hours).
     */
    private final int statementTimeoutMs;
    /** The client-side bound on each round trip of the writer's connection. */
    private final int networkTimeoutMs;
    /** The same for the slow lane, whose statements also wait for a held head. */
    private final int slowLaneStatementTimeoutMs;

    private final int slowLaneNetworkTimeoutMs;
    /**
     * How long a caller waits for the writer's answer: the batch in flight ahead of it and its
     * own, each at most a network timeout per round trip, and the slow lane's wait for a held
     * head. Healthy batches take milliseconds (publish_batch of 1,000 events, twice the largest
     * batch: at most 0.65 s on a fully busy machine), so only a stuck writer reaches it; its caller then gets
     * {@link WriteTimeout}.
     */
    private final long deadlineNanos;

    /** The writer thread exits after this long without work (and is restarted on demand). */
    private static final long IDLE_EXIT_NANOS = 5_000_000_000L;

    private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);

    private final DSLContext db;

    // Group commit: publishes not yet written, and the writer thread (null when none runs).
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private Thread writer;
    private boolean writerIdle;

    private final LongAdder transactions = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder batchedEvents = new LongAdder();
    private final LongAdder retriedAlone = new LongAdder();
    private final AtomicLong largestBatch = new AtomicLong();
    private final LongAdder slowLane = new LongAdder();
    private final LongAdder timedOut = new LongAdder();
    // Streams whose head row was found locked: their publishes go alone, waiting as long as
    // needed, until none is in flight (then they rejoin the batches).
    private final java.util.concurrent.ConcurrentHashMap<StreamKey, java.util.concurrent.atomic.AtomicInteger>
            slowStreams = new java.util.concurrent.ConcurrentHashMap<>();

    GroupCommit(DSLContext db, Duration lockTimeout, int slowLaneLimit, Duration writeTimeout) {
        this.db = db;
        this.lockTimeoutMs = (int) Math.min(LOCK_TIMEOUT_MS, lockTimeout.toMillis());
        this.slowLaneLockTimeoutMs = (int) Math.max(1, lockTimeout.toMillis() - lockTimeoutMs);
        this.slowLanePermits = new Semaphore(slowLaneLimit);
        this.statementTimeoutMs = Math.toIntExact(writeTimeout.toMillis());
        this.networkTimeoutMs =
                Math.toIntExact(writeTimeout.plus(NETWORK_MARGIN).toMillis());
        this.slowLaneStatementTimeoutMs = statementTimeoutMs + slowLaneLockTimeoutMs;
        this.slowLaneNetworkTimeoutMs = slowLaneStatementTimeoutMs + (int) NETWORK_MARGIN.toMillis();
        this.deadlineNanos =
                Duration.ofMillis(2L * networkTimeoutMs).plus(lockTimeout).toNanos();
    }

    /** How long a caller waits for the writer before it gets {@link WriteTimeout}. */
    Duration deadline() {
        return Duration.ofNanos(deadlineNanos);
    }

    /**
     * Publishes validated input in its own transaction (group-committed with concurrent
     * publishes) and returns the event's cursor once that transaction has committed.
     */
    long submit(StreamKey key, String type, String jsonData) {
        if (slowStreams.containsKey(key)) return publishSlow(key, type, jsonData);
        Pending me = new Pending(key, type, jsonData, null, Thread.currentThread(), System.nanoTime() + deadlineNanos);
        enqueue(me);
        return (Long) await(me);
    }

    /**
     * Runs {@code work} (statements that publish to {@code key}'s stream) in the next batch
     * transaction, in a savepoint of its own, and returns its result once that transaction has
     * committed. Its exception, if it throws, is the caller's alone.
     */
    <T> T submitWork(StreamKey key, Function<DSLContext, T> work) {
        if (slowStreams.containsKey(key)) return runSlow(key, work);
        @SuppressWarnings("unchecked")
        Function<DSLContext, Object> w = (Function<DSLContext, Object>) work;
        Pending me = new Pending(key, null, null, w, Thread.currentThread(), System.nanoTime() + deadlineNanos);
        enqueue(me);
        @SuppressWarnings("unchecked")
        T result = (T) await(me);
        return result;
    }

    /**
     * The caller's wait: the writer's answer, or {@link WriteTimeout} at the deadline. A
     * caller still in the queue then leaves it, so nothing of it is written; one the writer
     * has taken may still commit.
     */
    private Object await(Pending me) {
        if (me.await()) return me.result();
        boolean withdrawn;
        lock.lock();
        try {
            withdrawn = queue.remove(me);
        } finally {
            lock.unlock();
        }
        timedOut.increment();
        Duration waited = deadline();
        throw new WriteTimeout(
                withdrawn
                        ? "the group commit did not take this write within " + waited.toSeconds()
                                + " s; nothing was written"
                        : "the group commit did not confirm this write within " + waited.toSeconds()
                                + " s; it may have committed",
                !withdrawn,
                waited,
                null);
    }

    private void enqueue(Pending me) {
        lock.lock();
        try {
            queue.add(me);
            if (writer == null) {
                writer =
                        Thread.ofPlatform().daemon().name("herald-group-commit").start(this::writeLoop);
            } else if (writerIdle) {
                work.signal();
            }
        } finally {
            lock.unlock();
        }
    }

    /** A write in the slow lane: alone, in its own transaction, waiting as long as it takes. */
    private <T> T runSlow(StreamKey key, Function<DSLContext, T> work) {
        if (!slowLanePermits.tryAcquire()) throw busy(key, null);
        enterSlowLane(key);
        try {
            slowLane.increment();
            transactions.increment();
            return db.transactionResult(cfg -> {
                DSLContext tx = cfg.dsl();
                bound(tx, slowLaneLockTimeoutMs, slowLaneStatementTimeoutMs, slowLaneNetworkTimeoutMs);
                return work.apply(tx);
            });
        } catch (RuntimeException e) {
            if (SqlStates.LOCK_TIMEOUT.equals(SqlStates.of(e))) throw busy(key, e);
            throw timeoutOr(e, slowLaneStatementTimeoutMs, slowLaneNetworkTimeoutMs);
        } finally {
            leaveSlowLane(key);
            slowLanePermits.release();
        }
    }

    private static StreamBusy busy(StreamKey key, Throwable cause) {
        return new StreamBusy(
                "another transaction holds the head of stream " + key.stream() + "; nothing was written, retry later",
                cause);
    }

    /** The slow lane: alone, in its own transaction, waiting for the head row as long as it takes. */
    private long publishSlow(StreamKey key, String type, String jsonData) {
        return runSlow(key, tx -> Publisher.publishInTransaction(tx, key, type, jsonData));
    }

    private void enterSlowLane(StreamKey key) {
        slowStreams.compute(key, (k, n) -> {
            if (n == null) n = new java.util.concurrent.atomic.AtomicInteger();
            n.incrementAndGet();
            return n;
        });
    }

    private void leaveSlowLane(StreamKey key) {
        slowStreams.computeIfPresent(key, (k, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** Hands a queued publish to the slow lane on its own virtual thread; the writer moves on. */
    private void toSlowLane(Pending p) {
        p.handedOver = true;
        enterSlowLane(p.key); // before the writer takes its next batch
        Thread.ofVirtual().name("herald-publish-slow-lane").start(() -> {
            try {
                if (p.abandoned()) return; // its caller has been told the outcome is unknown
                p.complete(p.work != null ? runSlow(p.key, p.work) : publishSlow(p.key, p.type, p.data));
            } catch (RuntimeException e) {
                p.fail(e);
            } finally {
                leaveSlowLane(p.key);
            }
        });
    }

    /** Counters of the group commit since start (the bench and /metrics read them). */
    public Stats stats() {
        return new Stats(
                transactions.sum(),
                batches.sum(),
                batchedEvents.sum(),
                largestBatch.get(),
                retriedAlone.sum(),
                slowLane.sum(),
                timedOut.sum());
    }

    /** Tests hold a head row locked to force batches; they raise this so the writer keeps waiting. */
    void lockTimeoutMillis(int ms) {
        lockTimeoutMs = ms;
    }

    /** Publishes waiting for the batch in flight to commit (tests and the bench watch it). */
    public int queued() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * @param transactions  publish transactions written by {@link #submit}
     * @param batches       of those, the ones holding more than one event
     * @param batchedEvents events written in those batches
     * @param largestBatch  the most events one transaction held
     * @param retriedAlone  events re-published alone after their batch transaction failed
     * @param slowLane      events published alone because their stream's head row was locked
     * @param timedOut      callers whose deadline passed before the writer answered
     */
    public record Stats(
            long transactions,
            long batches,
            long batchedEvents,
            long largestBatch,
            long retriedAlone,
            long slowLane,
            long timedOut) {}

    // ---------------------------------------------------------------------------------------

    /** The writer thread: batch after batch while publishes are queued; exits when idle. */
    private void writeLoop() {
        boolean exitedNormally = false;
        try {
            for (long round = 0; round < Long.MAX_VALUE; round++) {
                List<Pending> batch = takeBatch();
                if (batch == null) {
                    exitedNormally = true;
                    return;
                }
                // Publishes queued for a stream that went to the slow lane meanwhile follow it.
                if (!slowStreams.isEmpty()) {
                    List<Pending> keep = new ArrayList<>(batch.size());
                    for (Pending p : batch) {
                        if (slowStreams.containsKey(p.key)) toSlowLane(p);
                        else keep.add(p);
                    }
                    batch = keep;
                }
                try {
                    write(batch);
                } catch (RuntimeException | Error e) {
                    log.error("group commit failed unexpectedly", e);
                } finally {
                    for (Pending p : batch) {
                        if (!p.answered() && !p.handedOver)
                            p.fail(new IllegalStateException("publish was not completed"));
                    }
                }
            }
        } finally {
            if (!exitedNormally) {
                // Never leave callers parked behind a writer that died: start another.
                lock.lock();
                try {
                    writer = queue.isEmpty()
                            ? null
                            : Thread.ofPlatform()
                                    .daemon()
                                    .name("herald-group-commit")
                                    .start(this::writeLoop);
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** Waits for queued publishes and takes up to MAX_BATCH; null when idle long enough to exit. */
    private List<Pending> takeBatch() {
        lock.lock();
        try {
            long idleUntil = System.nanoTime() + IDLE_EXIT_NANOS;
            while (queue.isEmpty()) {
                long left = idleUntil - System.nanoTime();
                if (left <= 0) {
                    writer = null;
                    return null;
                }
                writerIdle = true;
                try {
                    work.awaitNanos(left);
                } catch (InterruptedException e) {
                    // Not a reason to strand queued callers: keep serving.
                } finally {
                    writerIdle = false;
                }
            }
            int n = Math.min(queue.size(), MAX_BATCH);
            List<Pending> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) batch.add(queue.poll());
            return batch;
        } finally {
            lock.unlock();
        }
    }

    private void write(List<Pending> batch) {
        // Callers that stopped waiting were told the outcome is unknown: not writing them keeps
        // a writer that fell behind from spending its time on answers nobody reads.
        batch.removeIf(Pending::abandoned);
        if (batch.isEmpty()) return;
        transactions.increment();
        if (batch.size() == 1) {
            writeAlone(batch.get(0), new HashSet<>());
            return;
        }
        int n = batch.size();
        List<Pending> publishes = new ArrayList<>(n);
        List<Pending> writes = new ArrayList<>();
        for (Pending p : batch) (p.work == null ? publishes : writes).add(p);
        // Writes take their locks in one global order (their stream's), so two replicas'
        // batches never wait on each other in a cycle.
        writes.sort(BY_STREAM);
        Set<StreamKey> locked = new HashSet<>();
        try {
            if (writes.isEmpty()) {
                // Plain publishes only: one autocommit statement is the whole transaction (no
                // BEGIN/COMMIT round trips, and one wait for a pool connection when the
                // database is down, not one more for a rollback).
                stage(db, publishes, writes, locked);
            } else {
                db.transaction(cfg -> stage(cfg.dsl(), publishes, writes, locked));
            }
        } catch (RuntimeException e) {
            for (Pending p : batch) {
                p.staged = null;
                p.stagedError = null;
            }
            RuntimeException timeout = timeoutOr(e, statementTimeoutMs, networkTimeoutMs);
            if (timeout != e) {
                // The writer's own bounds: the connection stopped answering (the driver closed it,
                // the pool drops it, the next batch takes a fresh one) or the server cancelled a
                // statement of the batch. Retrying one by one would only wait N times as long.
                log.warn("group commit: a batch of {} writes failed: {}", n, timeout.getMessage());
                for (Pending p : batch) p.fail(timeout);
                return;
            }
            if (!SqlStates.rolledBackByServer(e)) {
                // No answer from the database (connection lost, pool exhausted, shutting
                // down): retrying one by one would only wait N times as long. Each caller
                // gets the error; as with a single publish, the outcome is the client's to retry.
                for (Pending p : batch) p.fail(e);
                return;
            }
            // The database answered with an error, so the transaction rolled back and nothing
            // of it exists: write each caller alone, so only the faulty one fails.
            if (!SqlStates.LOCK_TIMEOUT.equals(SqlStates.of(e))) {
                log.warn("a batch of {} publishes failed ({}); retrying them one by one", n, e.getMessage());
            }
            retriedAlone.add(n);
            Set<StreamKey> lockedAlone = new HashSet<>();
            for (Pending p : batch) {
                transactions.increment();
                writeAlone(p, lockedAlone);
            }
            return;
        }
        batches.increment();
        batchedEvents.add(n);
        largestBatch.accumulateAndGet(n, Math::max);
        for (Pending p : batch) {
            if (p.work != null && locked.contains(p.key)) toSlowLane(p);
            else if (p.stagedError != null) p.fail(p.stagedError);
            else p.complete(p.staged);
        }
    }

    /**
     * Writes a batch's plain publishes (one publish_batch statement, which also sets the
     * batch's lock timeout for the rest of the transaction) and then each write in a savepoint
     * of its own, staging every caller's result or error for after the commit.
     */
    private void stage(DSLContext tx, List<Pending> publishes, List<Pending> writes, Set<StreamKey> locked) {
        // The publish_batch statement also sets the batch's bounds for the rest of the transaction.
        if (publishes.isEmpty()) bound(tx, lockTimeoutMs, statementTimeoutMs, networkTimeoutMs);
        Long[] cursors = publishes.isEmpty() ? new Long[0] : publishBatch(tx, publishes);
        if (cursors.length != publishes.size()) {
            // Cannot happen with herald.publish_batch; never hand out wrong cursors if it does.
            throw new IllegalStateException(
                    "publish_batch returned " + cursors.length + " cursors for " + publishes.size() + " events");
        }
        for (int i = 0; i < cursors.length; i++) publishes.get(i).staged = cursors[i];
        for (Pending p : writes) {
            if (locked.contains(p.key)) continue;
            try {
                p.staged = tx.transactionResult(savepoint -> p.work.apply(savepoint.dsl()));
            } catch (RuntimeException e) {
                if (SqlStates.LOCK_TIMEOUT.equals(SqlStates.of(e))) locked.add(p.key);
                // The connection is gone: the whole transaction fails, not this write alone.
                else if (SqlStates.networkTimeout(e)) throw e;
                else p.stagedError = timeoutOr(e, statementTimeoutMs, networkTimeoutMs);
            }
        }
    }

    private static final Comparator<Pending> BY_STREAM =
            Comparator.comparing((Pending p) -> p.key.tenant()).thenComparing(p -> p.key.stream());

    /**
     * The plain publishes of a batch in one statement, with the batch's bounds: the network
     * timeout on the connection, and for the rest of a batch transaction its lock timeout,
     * statement timeout and idle-in-transaction timeout — set by the same statement, so
     * bounding costs no round trip (alone in autocommit, the statement's lock wait is its
     * bound on the server). A plain prepared statement: rendering it with jOOQ cost more than
     * the rest of a small batch.
     */
    private Long[] publishBatch(DSLContext tx, List<Pending> batch) {
        int n = batch.size();
        String[] tenants = new String[n];
        String[] streams = new String[n];
        String[] types = new String[n];
        String[] datas = new String[n];
        for (int i = 0; i < n; i++) {
            Pending p = batch.get(i);
            tenants[i] = p.key.tenant();
            streams[i] = p.key.stream();
            types[i] = p.type;
            datas[i] = p.data;
        }
        return tx.connectionResult(c -> {
            c.setNetworkTimeout(DIRECT, networkTimeoutMs);
            try (PreparedStatement ps = c.prepareStatement(PUBLISH_BATCH)) {
                ps.setArray(1, c.createArrayOf("text", tenants));
                ps.setArray(2, c.createArrayOf("text", streams));
                ps.setArray(3, c.createArrayOf("text", types));
                ps.setArray(4, c.createArrayOf("jsonb", datas));
                ps.setInt(5, lockTimeoutMs);
                ps.setString(6, statementTimeoutMs + "ms");
                ps.setString(7, statementTimeoutMs + "ms");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return (Long[]) rs.getArray(1).getArray();
                }
            }
        });
    }

    private static final String PUBLISH_BATCH = "SELECT herald.publish_batch(?, ?, ?, ?, ?),"
            + " set_config('statement_timeout', ?, true), set_config('idle_in_transaction_session_timeout', ?, true)";

    /** One caller alone, in its own transaction, still with the lock timeout; a held head sends it to the slow lane. */
    private void writeAlone(Pending p, Set<StreamKey> locked) {
        if (p.abandoned()) return;
        if (locked.contains(p.key)) {
            toSlowLane(p);
            return;
        }
        try {
            if (p.work == null) {
                p.complete(publishBatch(db, List.of(p))[0]);
            } else {
                p.complete(db.transactionResult(cfg -> {
                    DSLContext tx = cfg.dsl();
                    bound(tx, lockTimeoutMs, statementTimeoutMs, networkTimeoutMs);
                    return p.work.apply(tx);
                }));
            }
        } catch (RuntimeException e) {
            if (SqlStates.LOCK_TIMEOUT.equals(SqlStates.of(e))) {
                locked.add(p.key);
                toSlowLane(p);
            } else {
                RuntimeException timeout = timeoutOr(e, statementTimeoutMs, networkTimeoutMs);
                if (timeout != e) log.warn("group commit: a write failed: {}", timeout.getMessage());
                p.fail(timeout);
            }
        }
    }

    /** Runs nothing: the network timeout is a socket option, no task is ever handed to it. */
    private static final java.util.concurrent.Executor DIRECT = Runnable::run;

    /**
     * A transaction's bounds, as its first statement: the network timeout on its connection
     * (the pool restores the default when the connection returns), and lock, statement and
     * idle-in-transaction timeouts for the rest of the transaction.
     */
    private static void bound(DSLContext tx, int lockMs, int statementMs, int networkMs) {
        tx.connection(c -> c.setNetworkTimeout(DIRECT, networkMs));
        tx.execute(
                "SELECT set_config('lock_timeout', ?, true), set_config('statement_timeout', ?, true),"
                        + " set_config('idle_in_transaction_session_timeout', ?, true)",
                lockMs + "ms",
                statementMs + "ms",
                statementMs + "ms");
    }

    /**
     * {@link WriteTimeout} when {@code e} is one of the writer's bounds firing: the network
     * timeout (no answer; the statement may have committed) or the statement timeout (the
     * server cancelled it; nothing was written). Otherwise {@code e} itself.
     */
    private static RuntimeException timeoutOr(RuntimeException e, int statementMs, int networkMs) {
        if (SqlStates.networkTimeout(e)) {
            return new WriteTimeout(
                    "the database sent no answer within " + networkMs / 1000
                            + " s (the connection is dropped); the write may have committed",
                    true,
                    Duration.ofMillis(networkMs),
                    e);
        }
        if (SqlStates.QUERY_CANCELED.equals(SqlStates.of(e))) {
            return new WriteTimeout(
                    "the database cancelled the write at its " + statementMs / 1000
                            + " s statement timeout; nothing was written",
                    false,
                    Duration.ofMillis(statementMs),
                    e);
        }
        return e;
    }

    /** One caller's publish or write waiting in the queue; its caller's thread parks until it is done. */
    private static final class Pending {
        /** The outcome of a caller that stopped waiting. */
        private static final Object ABANDONED = new Object();

        private static final VarHandle OUTCOME;

        static {
            try {
                OUTCOME = MethodHandles.lookup().findVarHandle(Pending.class, "outcome", Object.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final StreamKey key;
        final String type;
        final String data;
        /** A write's statements; null for a plain publish. */
        final Function<DSLContext, Object> work;

        final Thread thread;
        /** System.nanoTime() past which the caller stops waiting. */
        final long deadline;
        /** Given to the slow lane, which will answer it. */
        volatile boolean handedOver;

        // What the batch transaction produced for this caller, handed over once it commits.
        Object staged;
        RuntimeException stagedError;

        /** Null while nobody has decided; then the writer's {@link Answer} or {@link #ABANDONED}, once. */
        private volatile Object outcome;

        private record Answer(Object result, RuntimeException error) {}

        Pending(
                StreamKey key,
                String type,
                String data,
                Function<DSLContext, Object> work,
                Thread thread,
                long deadline) {
            this.key = key;
            this.type = type;
            this.data = data;
            this.work = work;
            this.thread = thread;
            this.deadline = deadline;
        }

        void complete(Object r) {
            answer(new Answer(r, null));
        }

        void fail(RuntimeException e) {
            answer(new Answer(null, e));
        }

        /** The first answer wins; an answer after the caller stopped waiting goes nowhere. */
        private void answer(Answer a) {
            if (OUTCOME.compareAndSet(this, null, a)) LockSupport.unpark(thread);
        }

        /** Answered, or its caller stopped waiting: nothing more to do for it. */
        boolean answered() {
            return outcome != null;
        }

        boolean abandoned() {
            return outcome == ABANDONED;
        }

        /**
         * Parks until the writer has answered (true) or the deadline has passed (false: the
         * caller stops waiting, and a later answer is dropped). Interrupts do not abandon a
         * queued publish.
         */
        boolean await() {
            boolean interrupted = false;
            try {
                while (outcome == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        if (OUTCOME.compareAndSet(this, null, ABANDONED)) return false;
                        break; // answered just now
                    }
                    LockSupport.parkNanos(this, left);
                    if (Thread.interrupted()) interrupted = true;
                }
                return true;
            } finally {
                if (interrupted) Thread.currentThread().interrupt();
            }
        }

        /** The writer's answer: its result, or its error thrown. */
        Object result() {
            Answer a = (Answer) outcome;
            if (a.error() != null) throw a.error();
            return a.result();
        }
    }
}
