package dev.herald.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A caller's wait for the group-commit writer has a deadline of its own, whatever holds the
 * writer: here a write whose statements stop in the middle of the batch (on the client side,
 * where no database timeout can see it). The callers behind it and the stuck write's own
 * caller are answered with {@link WriteTimeout} at the deadline (503 {@code write_timeout} over
 * HTTP); the queued one leaves the queue and is never written; the writer then carries on.
 */
class TestGroupCommitDeadline {
    static final String TENANT = "deadline";

    /** Network timeout 6 s; a caller's deadline 2 x 6 s + the 2 s lock timeout = 14 s. */
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1, b -> b.writeTimeout(Duration.ofSeconds(1)));

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void callers_behind_a_stuck_writer_get_write_timeout_at_their_deadline_and_nothing_of_them_is_written(Api api)
            throws Exception {
        Publisher publisher = server.herald().publisher();
        Duration deadline = publisher.deadline();
        assertEquals(Duration.ofSeconds(14), deadline);
        String writer = api.mint(TENANT, null, "events:write");
        long timedOutBefore = publisher.stats().timedOut();

        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        StreamKey stuckKey = new StreamKey(TENANT, "user:stuck");
        CompletableFuture<Object> stuck = CompletableFuture.supplyAsync(
                () -> {
                    try {
                        return publisher.write(stuckKey, tx -> {
                            inside.countDown();
                            try {
                                release.await(60, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return Publisher.publishInTransaction(tx, stuckKey, "stuck", "{}");
                        });
                    } catch (RuntimeException e) {
                        return e;
                    }
                },
                r -> Thread.ofVirtual().start(r));
        assertTrue(inside.await(10, TimeUnit.SECONDS), "the stuck write runs on the writer");

        long t0 = System.nanoTime();
        Api.Response queued = api.post("/api/v1/users/queued/events", writer, Map.of("type", "behind"));
        long queuedMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(503, queued.status(), queued.toString());
        assertEquals("write_timeout", queued.errorCode());
        assertEquals("1", queued.header("Retry-After"));
        assertTrue(
                queued.json().path("error").path("message").asText().contains("nothing was written"),
                queued.toString());
        assertTrue(
                queuedMs >= deadline.toMillis() - 200 && queuedMs < deadline.toMillis() + 5_000,
                "answered after " + queuedMs + " ms");

        Object stuckAnswer = stuck.get(10, TimeUnit.SECONDS);
        assertTrue(stuckAnswer instanceof WriteTimeout, String.valueOf(stuckAnswer));
        assertTrue(((WriteTimeout) stuckAnswer).mayHaveCommitted(), "the writer had taken it: outcome unknown");
        assertEquals(2, publisher.stats().timedOut() - timedOutBefore);

        // The stuck write resumes into a transaction the server has ended (idle in transaction
        // past the write timeout); the writer drops that connection and carries on.
        release.countDown();
        long recovered = System.nanoTime();
        Api.Response after = api.post("/api/v1/users/queued/events", writer, Map.of("type", "after"));
        assertEquals(201, after.status(), after.toString());
        assertEquals(1, after.json().get("cursor").asLong(), "the timed-out publish was never written");
        long recoveryMs = (System.nanoTime() - recovered) / 1_000_000;
        assertEquals(0, Sql.count(server.databaseUrl(), TENANT, "user:stuck"), "the stuck write rolled back");
        assertEquals(1, Sql.count(server.databaseUrl(), TENANT, "user:queued"), "only the publish after the deadline");
        System.out.println("[deadline] queued publish answered 503 write_timeout after " + queuedMs
                + " ms (deadline " + deadline.toMillis() + " ms); next publish after release took " + recoveryMs
                + " ms");
    }
}
