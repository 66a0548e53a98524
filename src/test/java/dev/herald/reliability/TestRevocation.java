package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 5: a revoked token's open SSE streams close within 5 s — on the replica that revoked
 * it and on every other one — while the same user's other tokens keep streaming.
 */
class TestRevocation {
    static final String TENANT = "revoke";

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_revoked_tokens_streams_close_within_5_s_on_every_replica() throws Exception {
        try (TestServer server = TestServer.start(2)) {
            Api a0 = server.api(0);
            Api a1 = server.api(1);
            String revoked = a0.mint(TENANT, "rita", "events:read");
            String kept = a0.mint(TENANT, "rita", "events:read");
            String write = a0.mint(TENANT, null, "events:write");
            int p0 = server.replica(0).port();
            int p1 = server.replica(1).port();

            List<RawSse> doomed = new ArrayList<>();
            for (int port : new int[] {p0, p0, p1, p1}) {
                // both the header and the query-parameter form of the token
                RawSse s = doomed.size() % 2 == 0
                        ? RawSse.open(port, "/api/v1/events", revoked, null)
                        : RawSse.open(port, "/api/v1/events?access_token=" + revoked, null, null);
                assertEquals(200, s.status, s.errorBody);
                doomed.add(s);
            }
            RawSse survivor0 = RawSse.open(p0, "/api/v1/events", kept, null);
            RawSse survivor1 = RawSse.open(p1, "/api/v1/events", kept, null);
            assertEquals(200, survivor1.status);
            assertEquals(
                    201,
                    a1.post("/api/v1/users/rita/events", write, Map.of("type", "before"))
                            .status());
            for (RawSse s : doomed)
                assertNotNull(s.next(Duration.ofSeconds(5)), "streams must be live before the revocation");
            assertNotNull(survivor0.next(Duration.ofSeconds(5)));
            assertNotNull(survivor1.next(Duration.ofSeconds(5)));

            long t0 = System.nanoTime();
            Api.Response r = a0.delete("/api/v1/admin/tokens/" + revoked.substring(0, 8), TestServer.ADMIN_TOKEN);
            assertEquals(204, r.status(), r.toString());
            long[] closedMs = new long[doomed.size()];
            for (int i = 0; i < doomed.size(); i++) {
                assertTrue(
                        doomed.get(i).awaitEnd(Duration.ofSeconds(5).minusNanos(System.nanoTime() - t0)),
                        "stream " + i + " (replica " + (i < 2 ? 0 : 1) + ") still open 5 s after the revocation");
                closedMs[i] = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(RawSse.End.CLEAN, doomed.get(i).end(), "a revoked stream ends cleanly");
            }
            System.out.println("[fault 5] revoked token's streams closed after (ms): replica 0 " + closedMs[0] + ", "
                    + closedMs[1] + "; replica 1 " + closedMs[2] + ", " + closedMs[3]);

            // The revoked token is refused everywhere; the user's other token keeps streaming.
            assertEquals(401, a0.get("/api/v1/events/backlog", revoked).status());
            assertEquals(401, a1.get("/api/v1/events/backlog", revoked).status());
            RawSse again = RawSse.open(p1, "/api/v1/events", revoked, null);
            assertEquals(401, again.status, again.errorBody);
            assertEquals(
                    201,
                    a0.post("/api/v1/users/rita/events", write, Map.of("type", "after"))
                            .status());
            RawSse.Event e0 = survivor0.next(Duration.ofSeconds(5));
            RawSse.Event e1 = survivor1.next(Duration.ofSeconds(5));
            assertNotNull(e0);
            assertNotNull(e1);
            assertEquals("after", e0.event());
            assertEquals(2L, e1.id());
            assertTrue(!survivor0.ended() && !survivor1.ended());
            survivor0.close();
            survivor1.close();
        }
    }
}
