package dev.herald.sse;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * A wake-up flag one thread waits on and any thread sets; wake-ups are never lost. The hub sets
 * it once per event for every live session, so setting is one atomic swap and, only when the
 * flag was clear, one unpark: no lock.
 */
final class Signal {
    private final AtomicBoolean set = new AtomicBoolean();
    private volatile Thread waiter;

    void set() {
        if (!set.getAndSet(true)) {
            Thread w = waiter;
            if (w != null) LockSupport.unpark(w);
        }
    }

    /**
     * Waits until set, and clears it. No timeout: on a virtual thread a timed wait schedules a
     * timer task and cancels it on every wake (SseSession).
     */
    void await() throws InterruptedException {
        waiter = Thread.currentThread();
        try {
            while (!set.getAndSet(false)) {
                LockSupport.park(this);
                if (Thread.interrupted()) throw new InterruptedException();
            }
        } finally {
            waiter = null;
        }
    }
}
