package dev.herald.bench;

import java.time.Instant;

/** Wall-clock microseconds, comparable with PostgreSQL's clock_timestamp() on this host. */
final class Clock {
    private Clock() {}

    static long nowMicros() {
        Instant i = Instant.now();
        return i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000;
    }

    /**
     * Parses an ISO-8601 UTC instant such as 2026-11-25T19:00:43.123456Z (as Herald renders
     * created_at) into epoch microseconds, without allocation-heavy parsing.
     */
    static long parseIsoMicros(CharSequence s, int from, int to) {
        return parseIso(s.subSequence(from, to).toString());
    }

    static long parseIso(String s) {
        Instant i = Instant.parse(s);
        return i.getEpochSecond() * 1_000_000L + i.getNano() / 1_000;
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static void sleepUntilNanos(long deadline) {
        long left;
        int guard = 0;
        while ((left = deadline - System.nanoTime()) > 0 && guard++ < 1_000_000) {
            java.util.concurrent.locks.LockSupport.parkNanos(left);
        }
    }
}
