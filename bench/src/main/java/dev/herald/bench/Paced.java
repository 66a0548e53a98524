package dev.herald.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Open-loop load on an absolute schedule: ticket i is due at start + i / rate. Workers each
 * own a resource (a connection) and take the next ticket; a late worker does not shift the
 * schedule (no coordinated omission). Bounded: at most rate × seconds tickets, and it stops
 * at the deadline even if behind.
 */
final class Paced {
    interface Worker extends AutoCloseable {
        void run(long ticket) throws Exception;

        @Override
        default void close() {}
    }

    interface WorkerFactory {
        Worker create(int index) throws Exception;
    }

    final LongAdder done = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder late = new LongAdder();
    volatile String firstError;

    /** Runs rate/s for seconds with n workers; returns when finished. */
    static Paced run(int workers, double rate, double seconds, WorkerFactory factory) throws Exception {
        return runCount(workers, rate, (long) (rate * seconds), factory);
    }

    /** Runs exactly `total` tickets at rate/s with n workers; returns when finished. */
    static Paced runCount(int workers, double rate, long total, WorkerFactory factory) throws Exception {
        Paced p = new Paced();
        long start = System.nanoTime() + 20_000_000L;
        long deadline = start + (long) (total / rate * 1e9) + 5_000_000_000L;
        double period = 1e9 / rate;
        AtomicLong next = new AtomicLong();
        List<Worker> ws = new ArrayList<>();
        for (int i = 0; i < workers; i++) ws.add(factory.create(i));
        List<Thread> threads = new ArrayList<>();
        for (Worker w : ws) {
            threads.add(Thread.ofVirtual().start(() -> {
                while (true) {
                    long i = next.getAndIncrement();
                    if (i >= total) return;
                    long due = start + (long) (i * period);
                    if (System.nanoTime() > deadline) return;
                    if (System.nanoTime() - due > 50_000_000L) p.late.increment();
                    Clock.sleepUntilNanos(due);
                    try {
                        w.run(i);
                        p.done.increment();
                    } catch (Exception e) {
                        p.errors.increment();
                        if (p.firstError == null) p.firstError = e.toString();
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        for (Worker w : ws) w.close();
        return p;
    }

    /** Closed loop: each worker repeats as fast as it can until the deadline. */
    static Paced closedLoop(int workers, double seconds, WorkerFactory factory) throws Exception {
        Paced p = new Paced();
        List<Worker> ws = new ArrayList<>();
        for (int i = 0; i < workers; i++) ws.add(factory.create(i));
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        AtomicLong next = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (Worker w : ws) {
            threads.add(Thread.ofVirtual().start(() -> {
                for (long n = 0; n < 100_000_000L && System.nanoTime() < deadline; n++) {
                    try {
                        w.run(next.getAndIncrement());
                        p.done.increment();
                    } catch (Exception e) {
                        p.errors.increment();
                        if (p.firstError == null) p.firstError = e.toString();
                    }
                }
            }));
        }
        for (Thread t : threads) t.join();
        for (Worker w : ws) w.close();
        return p;
    }
}
