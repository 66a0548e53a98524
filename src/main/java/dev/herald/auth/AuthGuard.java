package dev.herald.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.herald.http.ApiException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The abuse limits of authentication (API.md "Tokens"): tokens that failed a lookup are
 * remembered for {@link #NEGATIVE_TTL}, so a repeated bad token costs no database query; and
 * failed authentications (401) are limited per client address by a token bucket of
 * {@code failures} per {@code window}. An address over its budget gets 429
 * {@code too_many_requests} with Retry-After for every request that would need a token lookup;
 * a token this replica validated moments ago (the positive cache) keeps working.
 */
final class AuthGuard {
    static final Duration NEGATIVE_TTL = Duration.ofSeconds(30);
    static final int NEGATIVE_MAX = 10_000;

    private final Cache<String, Boolean> unknown = Caffeine.newBuilder()
            .expireAfterWrite(NEGATIVE_TTL)
            .maximumSize(NEGATIVE_MAX)
            .build();
    private final int failures;
    private final long windowNanos;
    private final Cache<String, Bucket> buckets;
    private final LongSupplier clock;
    private final AtomicLong throttled = new AtomicLong();

    AuthGuard(int failures, Duration window) {
        this(failures, window, System::nanoTime);
    }

    AuthGuard(int failures, Duration window, LongSupplier clock) {
        this.failures = failures;
        this.windowNanos = window.toNanos();
        this.clock = clock;
        this.buckets = Caffeine.newBuilder()
                .expireAfterAccess(window.multipliedBy(2))
                .maximumSize(100_000)
                .build();
    }

    /** Requests refused with 429 for failing too often. */
    long throttled() {
        return throttled.get();
    }

    boolean knownUnknown(String key) {
        return unknown.getIfPresent(key) != null;
    }

    void rememberUnknown(String key) {
        unknown.put(key, Boolean.TRUE);
    }

    /** The token with this key exists now (minted, configured, reinstated). */
    void forgetUnknown(String key) {
        unknown.invalidate(key);
    }

    /** 429 if this address has no failures left; consumes nothing. */
    void admit(String address) {
        if (failures <= 0) return;
        Bucket b = buckets.getIfPresent(address);
        if (b == null) return;
        long wait = b.waitNanos(clock.getAsLong());
        if (wait > 0) throw tooMany(wait);
    }

    /** A failed authentication from this address: the 401 to throw, or a 429 once over budget. */
    ApiException failed(String address, ApiException unauthorized) {
        if (failures <= 0) return unauthorized;
        Bucket b = buckets.get(address, a -> new Bucket(failures, clock.getAsLong()));
        long wait = b.take(clock.getAsLong());
        return wait > 0 ? tooMany(wait) : unauthorized;
    }

    private ApiException tooMany(long waitNanos) {
        throttled.incrementAndGet();
        long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
        return new ApiException(
                429,
                "too_many_requests",
                "too many failed authentications from this address; retry in " + seconds + " s",
                Map.of("Retry-After", Long.toString(seconds)));
    }

    /** A token bucket: {@code failures} tokens, refilled evenly over the window. */
    private final class Bucket {
        private double tokens;
        private long at;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.at = now;
        }

        private void refill(long now) {
            if (now > at) {
                tokens = Math.min(failures, tokens + (double) (now - at) * failures / windowNanos);
                at = now;
            }
        }

        /** Nanoseconds until one token is available (0: now). */
        synchronized long waitNanos(long now) {
            refill(now);
            return tokens >= 1 ? 0 : (long) Math.ceil((1 - tokens) * windowNanos / failures);
        }

        /** Takes a token; else the nanoseconds until one is available. */
        synchronized long take(long now) {
            refill(now);
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return (long) Math.ceil((1 - tokens) * windowNanos / failures);
        }
    }
}
