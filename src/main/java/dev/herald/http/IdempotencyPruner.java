package dev.herald.http;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Deletes idempotency keys past their 24 hours, every {@code interval}, in small batches. */
public final class IdempotencyPruner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(IdempotencyPruner.class);
    private static final int BATCH = 1_000;
    /** Bounds one run, so it always ends. */
    private static final int MAX_BATCHES = 1_000;

    private final Idempotency keys;
    private final Duration interval;
    private final Thread thread;

    public IdempotencyPruner(Idempotency keys, Duration interval) {
        this.keys = keys;
        this.interval = interval;
        this.thread = Thread.ofVirtual().name("herald-idempotency-pruner").unstarted(this::loop);
    }

    public void start() {
        thread.start();
    }

    private void loop() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
                for (int i = 0; i < MAX_BATCHES && keys.prune(BATCH) == BATCH; i++) {
                    // keep going while whole batches are deleted
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.debug("idempotency pruning failed (retrying next interval): {}", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
