package dev.herald.bench;

import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.util.Locale;

/** A latency histogram in microseconds (1 µs .. 10 min, 3 significant digits), thread-safe. */
final class Hist {
    final String name;
    final ConcurrentHistogram h = new ConcurrentHistogram(1, 600_000_000L, 3);
    /** Samples below 1 µs (clock granularity); recorded as 1 µs, counted here. */
    final java.util.concurrent.atomic.LongAdder negative = new java.util.concurrent.atomic.LongAdder();

    Hist(String name) {
        this.name = name;
    }

    void recordMicros(long us) {
        if (us < 1) {
            negative.increment();
            us = 1;
        }
        h.recordValue(Math.min(us, 600_000_000L));
    }

    long count() { return h.getTotalCount(); }

    double ms(double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1000.0;
    }

    double maxMs() { return h.getTotalCount() == 0 ? Double.NaN : h.getMaxValue() / 1000.0; }

    double meanMs() { return h.getTotalCount() == 0 ? Double.NaN : h.getMean() / 1000.0; }

    Histogram copy() { return h.copy(); }

    /** A frozen copy under another name (the live one may be reset and reused). */
    Hist snapshot(String newName) {
        Hist c = new Hist(newName);
        c.h.add(h);
        c.negative.add(negative.sum());
        return c;
    }

    /** p50/p99/p99.9/max in ms. */
    String summary() {
        return String.format(Locale.ROOT, "p50 %s  p99 %s  p99.9 %s  max %s ms (n=%d)",
                fmt(ms(50)), fmt(ms(99)), fmt(ms(99.9)), fmt(maxMs()), count());
    }

    static String fmt(double ms) {
        if (Double.isNaN(ms)) return "–";
        if (ms < 10) return String.format(Locale.ROOT, "%.2f", ms);
        if (ms < 100) return String.format(Locale.ROOT, "%.1f", ms);
        return String.format(Locale.ROOT, "%,.0f", ms);
    }
}
