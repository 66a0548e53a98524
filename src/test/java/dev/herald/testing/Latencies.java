package dev.herald.testing;

import java.util.Arrays;
import java.util.Locale;

/** Latency samples (nanoseconds) and their nearest-rank percentiles, for measuring tests. */
public final class Latencies {
    private long[] samples = new long[64];
    private int n;

    public synchronized void add(long nanos) {
        if (n == samples.length) samples = Arrays.copyOf(samples, n * 2);
        samples[n++] = nanos;
    }

    public synchronized int count() {
        return n;
    }

    /** Nearest-rank percentile in nanoseconds, p in (0, 100]. */
    public synchronized long percentile(double p) {
        if (n == 0) throw new IllegalStateException("no samples");
        long[] s = Arrays.copyOf(samples, n);
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * n);
        return s[Math.max(0, Math.min(n - 1, rank - 1))];
    }

    public long max() {
        return percentile(100);
    }

    public double millis(double p) {
        return percentile(p) / 1e6;
    }

    /** "n=120 p50=1.23 ms p99=4.56 ms max=7.89 ms". */
    public String summary() {
        return String.format(
                Locale.ROOT, "n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms", count(), millis(50), millis(99), millis(100));
    }
}
