package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.database.DatabaseUrl;
import dev.herald.testing.Api;
import dev.herald.testing.Sql;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault 2: PostgreSQL itself stops mid-stream and comes back on the same port and data. While
 * it is down writers get 503 JSON and /readyz says 503; afterwards the pool and the listener
 * recover without restarting Herald and every subscriber has exactly what was committed. The
 * test runs its own PostgreSQL (the shared one serves every other test class).
 */
class TestDatabaseRestart {
    static final String TENANT = "restart";
    static final List<String> USERS = List.of("ra", "rb");
    static final int BACKLOG = 10_000;

    @TempDir
    Path dataDir;

    private EmbeddedPostgres startPg(int port) throws Exception {
        return EmbeddedPostgres.builder()
                .setPort(port)
                .setDataDirectory(dataDir.resolve("pg"))
                .setCleanDataDirectory(false)
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("max_connections", "100")
                .start();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void writers_get_503_while_the_database_is_down_and_nothing_committed_is_lost() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        EmbeddedPostgres pg = startPg(port);
        DatabaseUrl url = new DatabaseUrl("127.0.0.1", port, "postgres", "postgres", null);
        try (Cluster cluster = Cluster.start(url, 2, c -> c)) {
            Api a0 = cluster.api(0);
            Api[] apis = {cluster.api(0), cluster.api(1)};
            String write = a0.mint(TENANT, null, "events:write");
            List<Follower> followers = new ArrayList<>();
            List<String> followerUser = new ArrayList<>();
            List<String> readTokens = new ArrayList<>();
            for (String user : USERS) {
                String read = a0.mint(TENANT, user, "events:read");
                readTokens.add(read);
                for (int r = 0; r < 2; r++) {
                    followers.add(new Follower(
                            "/api/v1/events",
                            read,
                            0,
                            Follower.port(cluster.replica(r).port()),
                            Follower.port(cluster.replica(1 - r).port())));
                    followerUser.add(user);
                }
            }
            for (Follower f : followers) assertTrue(f.awaitConnected(Duration.ofSeconds(10)));

            // A client catching up on a long backlog, reading slowly: the server keeps querying
            // the database for it, so the outage hits it mid-catch-up.
            Sql.execute(
                    url,
                    "SELECT herald.publish_user_event('" + TENANT
                            + "', 'rc', 'chaos.bulk', jsonb_build_object('w', -1, 'i', g, 'pad', repeat('x', 1000)))"
                            + " FROM generate_series(1, " + BACKLOG + ") g");
            Follower slow = new Follower(
                    8 * 1024,
                    2,
                    "/api/v1/events",
                    a0.mint(TENANT, "rc", "events:read"),
                    0,
                    Follower.port(cluster.replica(0).port()));
            assertTrue(slow.awaitConnected(Duration.ofSeconds(10)));

            Writers writers = Writers.start(4, 1_000_000, Duration.ofMillis(30), i -> apis[i % 2], write, USERS, null);
            Thread.sleep(1_000);
            assertTrue(slow.lastId() < BACKLOG / 2, "the slow reader must still be catching up: " + slow);

            long t0 = System.nanoTime();
            pg.close();
            long stoppedMs = ms(t0);
            // Both replicas report not ready; a write is refused with 503 JSON.
            for (int r = 0; r < 2; r++) {
                Api.Response ready = awaitStatus(apis[r], "/readyz", 503, Duration.ofSeconds(15));
                assertEquals(503, ready.status(), ready.toString());
                assertEquals("unavailable", ready.json().path("status").asText());
            }
            long notReadyMs = ms(t0);
            // a readiness probe answers promptly even though the pool waits 5 s for a connection
            long probeStart = System.nanoTime();
            assertEquals(503, apis[0].get("/readyz", null).status());
            long probeMs = ms(probeStart);
            assertTrue(probeMs < 3_000, "/readyz took " + probeMs + " ms while the database was down");
            // a new stream is refused with 503 JSON too (not a half-open event stream)
            // (both wait for the pool's connection timeout: run them side by side)
            CompletableFuture<RawSse> refusedSseF = CompletableFuture.supplyAsync(() -> {
                try {
                    return RawSse.open(cluster.replica(1).port(), "/api/v1/events", readTokens.get(0), 0L);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Api.Response refused = a0.post("/api/v1/users/ra/events", write, Map.of("type", "while.down"));
            assertEquals(503, refused.status(), refused.toString());
            assertEquals("database_unavailable", refused.errorCode());
            assertTrue(refused.header("Content-Type").startsWith("application/json"));
            RawSse refusedSse = refusedSseF.get(20, TimeUnit.SECONDS);
            assertEquals(503, refusedSse.status, refusedSse.errorBody);
            assertTrue(refusedSse.errorBody.contains("\"code\":\"database_unavailable\""), refusedSse.errorBody);
            long downMs = ms(t0);

            pg = startPg(port);
            long restartedMs = ms(t0);
            for (int r = 0; r < 2; r++) {
                Api.Response ready = awaitStatus(apis[r], "/readyz", 200, Duration.ofSeconds(30));
                assertEquals(200, ready.status(), "replica " + r + " did not recover: " + ready);
            }
            long readyMs = ms(t0);
            int acknowledgedBefore = writers.published.size();
            // writes succeed again on both replicas
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (writers.published.size() < acknowledgedBefore + 40 && System.nanoTime() < until) Thread.sleep(50);
            writers.stop();
            assertTrue(writers.join(Duration.ofSeconds(30)));

            // Every refusal was a clean 503 with a JSON error body.
            for (Writers.Failure f : writers.failures) {
                assertEquals(503, f.status(), f.toString());
                assertTrue(f.body().contains("\"code\":\"database_unavailable\""), f.toString());
            }
            assertTrue(
                    writers.published.size() >= acknowledgedBefore + 40,
                    "writes did not resume: " + writers.published.size());

            for (int i = 0; i < followers.size(); i++) {
                Follower f = followers.get(i);
                String user = followerUser.get(i);
                List<Writers.Published> committed = committed(url, user);
                // every acknowledged write is committed (durable across the restart)
                Set<Long> acked = new HashSet<>();
                for (Writers.Published p : writers.of(user)) acked.add(p.cursor());
                Set<Long> inDb = new HashSet<>();
                for (Writers.Published p : committed) inDb.add(p.cursor());
                assertTrue(inDb.containsAll(acked), "an acknowledged event is missing from the database");
                Ledger.assertDense(committed);
                assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(30)), f.toString());
                Thread.sleep(i == 0 ? 300 : 0);
                Ledger.Figures fig = Ledger.compare(committed, f);
                System.out.println("[fault 2] " + user + " via replica " + (i % 2) + ": " + fig + " acked="
                        + acked.size() + " " + f);
                Ledger.assertExact(fig, f.toString());
            }
            List<Writers.Published> backlog = committed(url, "rc");
            assertEquals(BACKLOG, backlog.size());
            assertTrue(slow.awaitId(BACKLOG, Duration.ofSeconds(30)), slow.toString());
            Ledger.Figures slowFig = Ledger.compare(backlog, slow);
            System.out.println("[fault 2] slow reader catching up across the outage: " + slowFig + " " + slow);
            Ledger.assertExact(slowFig, slow.toString());
            assertEquals(1, slow.connects.get(), "the catching-up stream must survive the outage: " + slow);
            slow.close();
            System.out.println("[fault 2] stop took " + stoppedMs + " ms; both /readyz 503 at " + notReadyMs
                    + " ms; refused write answered at "
                    + downMs + " ms; a probe while down took " + probeMs + " ms; restarted at " + restartedMs
                    + " ms; both ready at " + readyMs + " ms; writes refused=" + writers.failures.size()
                    + " acknowledged=" + writers.published.size() + "; listener reconnects="
                    + cluster.replica(0).listener().reconnects()
                    + "/" + cluster.replica(1).listener().reconnects());
            assertTrue(cluster.replica(0).listener().reconnects() >= 1
                    && cluster.replica(1).listener().reconnects() >= 1);
            followers.forEach(Follower::close);
        } finally {
            pg.close();
        }
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static Api.Response awaitStatus(Api api, String path, int status, Duration timeout)
            throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        Api.Response r;
        do {
            r = api.get(path, null);
            if (r.status() == status) return r;
            Thread.sleep(100);
        } while (System.nanoTime() < until);
        return r;
    }

    /** The stream as committed: (cursor, writer, seq) in cursor order. */
    private static List<Writers.Published> committed(DatabaseUrl url, String user) {
        return Sql.query(
                url,
                "SELECT cursor, (data->>'w')::int, (data->>'i')::int FROM herald.events WHERE tenant = ? AND stream = ? ORDER BY cursor",
                rs -> new Writers.Published(user, rs.getLong(1), rs.getInt(2), rs.getInt(3)),
                TENANT,
                "user:" + user);
    }
}
