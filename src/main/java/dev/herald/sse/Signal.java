package dev.herald.sse;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/** A wake-up flag one thread waits on and any thread sets; wake-ups are never lost. */
final class Signal {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean set;

    void set() {
        lock.lock();
        try {
            set = true;
            changed.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until set or the deadline passes; returns whether it was set, and clears it. */
    boolean await(long nanos) throws InterruptedException {
        lock.lock();
        try {
            long left = nanos;
            while (!set && left > 0) left = changed.awaitNanos(left);
            boolean was = set;
            set = false;
            return was;
        } finally {
            lock.unlock();
        }
    }

    boolean awaitMillis(long ms) throws InterruptedException {
        return await(TimeUnit.MILLISECONDS.toNanos(ms));
    }
}
