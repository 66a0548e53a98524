package dev.herald.ops;

import java.time.Duration;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples {@code pg_notification_queue_usage()} — the fraction of PostgreSQL's cluster-wide
 * NOTIFY queue in use — every few seconds on its own thread, so a scrape never queries the
 * database. One LISTENer anywhere in the cluster that stops reading (stuck in a transaction,
 * a socket nobody reads) pins the queue's tail; when it fills, every NOTIFYing commit fails
 * (Herald then answers 503 notify_queue_full). Above half full it warns in the log.
 */
public final class NotifyQueueSampler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NotifyQueueSampler.class);

    private final DSLContext db;
    private final Duration every;
    private volatile double usage = Double.NaN;
    private volatile boolean closed;
    private Thread thread;

    public NotifyQueueSampler(DSLContext db, Duration every) {
        this.db = db;
        this.every = every;
    }

    public void start() {
        thread = Thread.ofVirtual().name("herald-notify-queue").start(this::run);
    }

    /** The last sample, 0..1 (NaN until the first one succeeds). */
    public double usage() {
        return usage;
    }

    private void run() {
        while (!closed) {
            try {
                Double u = db.select(DSL.function("pg_notification_queue_usage", SQLDataType.DOUBLE))
                        .fetchOne(0, Double.class);
                if (u != null) {
                    usage = u;
                    if (u > 0.5)
                        log.warn(
                                "PostgreSQL's NOTIFY queue is {}% full: a LISTEN connection somewhere is not reading",
                                Math.round(u * 100));
                }
            } catch (RuntimeException e) {
                log.debug("NOTIFY queue usage could not be sampled: {}", e.getMessage());
            }
            try {
                Thread.sleep(every);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) thread.interrupt();
    }
}
