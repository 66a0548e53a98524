package dev.herald.sse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.herald.auth.Principal;
import dev.herald.auth.Scope;
import dev.herald.http.ApiException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token buckets on a fake clock. */
class TestReplayBudgetBuckets {
    static final long SECOND = 1_000_000_000L;
    final AtomicLong now = new AtomicLong(1_000 * SECOND);
    final AtomicInteger refusals = new AtomicInteger();

    static Principal user(String tenant, String user) {
        return new Principal("pfx-" + user, tenant, user, Set.of(Scope.EVENTS_READ), false);
    }

    ReplayBudget budget(int connects, int rows) {
        return new ReplayBudget(connects, rows, Duration.ofSeconds(60), refusals::incrementAndGet, now::get);
    }

    static int retryAfter(ApiException e) {
        assertEquals(429, e.status());
        assertEquals("too_many_requests", e.code());
        return Integer.parseInt(e.headers().get("Retry-After"));
    }

    @Test
    void connects_refill_at_the_configured_rate_and_retry_after_says_when() {
        ReplayBudget b = budget(6, 0); // one connect every 10 s
        Principal p = user("t", "u");
        for (int i = 0; i < 6; i++) b.connect(p);
        assertEquals(10, retryAfter(assertThrows(ApiException.class, () -> b.connect(p))));
        now.addAndGet(4 * SECOND);
        assertEquals(6, retryAfter(assertThrows(ApiException.class, () -> b.connect(p))));
        now.addAndGet(6 * SECOND);
        b.connect(p);
        assertThrows(ApiException.class, () -> b.connect(p));
        assertEquals(3, refusals.get());
        // Others are unaffected: another user, the same user name in another tenant.
        b.connect(user("t", "other"));
        b.connect(user("t2", "u"));
        // After a quiet window the bucket is full again, not more than full.
        now.addAndGet(600 * SECOND);
        for (int i = 0; i < 6; i++) b.connect(p);
        assertThrows(ApiException.class, () -> b.connect(p));
    }

    @Test
    void a_long_catch_up_may_overdraw_rows_once_then_waits_at_most_about_a_window() {
        ReplayBudget b = budget(0, 1_000);
        Principal p = user("t", "u");
        b.connect(p);
        b.replayed(p, 1_000_000); // charged at most one bucket: level -> 0
        int wait = retryAfter(assertThrows(ApiException.class, () -> b.connect(p)));
        assertEquals(1, wait); // one row refills in 60 ms
        now.addAndGet(30 * SECOND); // half refilled
        b.connect(p);
        b.replayed(p, 800); // 500 - 800 = -300
        assertEquals(19, retryAfter(assertThrows(ApiException.class, () -> b.connect(p)))); // 301 rows at 1000/min
        now.addAndGet(19 * SECOND);
        b.connect(p);
    }

    @Test
    void zero_disables_the_budget() {
        ReplayBudget b = budget(0, 0);
        Principal p = user("t", "u");
        for (int i = 0; i < 10_000; i++) {
            b.connect(p);
            b.replayed(p, 1_000_000);
        }
        assertEquals(0, refusals.get());
    }
}
