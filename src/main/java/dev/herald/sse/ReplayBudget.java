package dev.herald.sse;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.herald.auth.Principal;
import dev.herald.http.ApiException;
import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * How much replay one caller may ask for: a per-(tenant, user) pair of token buckets, kept in
 * memory on each replica (a client spread over N replicas gets up to N times the budget).
 * Tenant-wide tokens (no user) are budgeted per token.
 * <ul>
 *   <li><b>connects</b>: every SSE connect and every backlog request takes one; the bucket
 *   holds {@code connects} and refills that many per window. A reconnect loop empties it;
 *   a few reconnects a minute never do.</li>
 *   <li><b>rows</b>: the backlog rows a connect will replay (head minus its start cursor) or a
 *   backlog request returned are taken from a bucket of {@code rows} per window. One request
 *   may overdraw it (by at most one bucket), so a single long catch-up always works; the
 *   next is refused until the bucket is positive again.</li>
 * </ul>
 * A refused request gets 429 {@code too_many_requests} with {@code Retry-After} (seconds until
 * it would be admitted). A limit of 0 disables that bucket.
 */
public final class ReplayBudget implements Sse.ReplayGate {
    private final int connects;
    private final int rows;
    private final long windowNanos;
    private final LongSupplier clock;
    private final Cache<String, Buckets> buckets;
    private final Runnable onRefused;

    public ReplayBudget(int connects, int rows, Duration window, Runnable onRefused) {
        this(connects, rows, window, onRefused, System::nanoTime);
    }

    ReplayBudget(int connects, int rows, Duration window, Runnable onRefused, LongSupplier clock) {
        if (window.isZero() || window.isNegative())
            throw new IllegalArgumentException("replay window must be positive");
        this.connects = connects;
        this.rows = rows;
        this.windowNanos = window.toNanos();
        this.clock = clock;
        this.onRefused = onRefused;
        // An idle caller's buckets are full again after two windows (rows may be overdrawn by one
        // bucket): forgetting them then is exact.
        this.buckets = Caffeine.newBuilder()
                .expireAfterAccess(window.multipliedBy(2).plusSeconds(1))
                .maximumSize(1_000_000)
                .build();
    }

    static String keyOf(Principal p) {
        String who = p.user() != null ? "u:" + p.user() : "t:" + p.tokenPrefix();
        return (p.tenant() == null ? "" : p.tenant()) + '\u0000' + who;
    }

    @Override
    public void connect(Principal p) {
        if (connects == 0 && rows == 0) return;
        Buckets b = buckets.get(keyOf(p), k -> new Buckets(clock.getAsLong(), connects, rows));
        long waitNanos;
        synchronized (b) {
            b.refill(clock.getAsLong());
            waitNanos = 0;
            if (connects > 0 && b.connects < 1) waitNanos = nanosToReach(1 - b.connects, connects);
            if (rows > 0 && b.rows <= 0) waitNanos = Math.max(waitNanos, nanosToReach(-b.rows + 1, rows));
            if (waitNanos == 0 && connects > 0) b.connects -= 1;
        }
        if (waitNanos > 0) {
            onRefused.run();
            long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
            throw new ApiException(
                    429,
                    "too_many_requests",
                    "too many reconnects or too much replay for this user; retry after " + seconds + " s",
                    Map.of("Retry-After", Long.toString(seconds)));
        }
    }

    @Override
    public void replayed(Principal p, long n) {
        if (rows == 0 || n <= 0) return;
        Buckets b = buckets.get(keyOf(p), k -> new Buckets(clock.getAsLong(), connects, rows));
        synchronized (b) {
            b.refill(clock.getAsLong());
            b.rows -= Math.min(n, rows);
        }
    }

    /** Time for a bucket refilling {@code perWindow} per window to gain {@code deficit}. */
    private long nanosToReach(double deficit, int perWindow) {
        return (long) Math.ceil(deficit * windowNanos / perWindow);
    }

    /** One caller's two buckets (levels may go negative for rows). */
    private final class Buckets {
        double connects;
        double rows;
        long at;

        Buckets(long now, int connects, int rows) {
            this.at = now;
            this.connects = connects;
            this.rows = rows;
        }

        void refill(long now) {
            long dt = now - at;
            if (dt <= 0) return;
            at = now;
            double f = (double) dt / windowNanos;
            if (ReplayBudget.this.connects > 0)
                connects = Math.min(ReplayBudget.this.connects, connects + f * ReplayBudget.this.connects);
            if (ReplayBudget.this.rows > 0) rows = Math.min(ReplayBudget.this.rows, rows + f * ReplayBudget.this.rows);
        }
    }
}
