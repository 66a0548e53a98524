package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.ListenerFaults;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 1: the LISTEN connection's backend is killed (pg_terminate_backend) again and again on
 * both replicas while 8 writers publish over HTTP and subscribers on both replicas read. Every
 * subscriber must get exactly the committed sequence.
 */
class TestListenerKilled {
    static final String TENANT = "chaos";
    static final List<String> USERS = List.of("u0", "u1", "u2", "u3");

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void every_subscriber_gets_exactly_the_committed_sequence_while_listeners_are_killed() throws Exception {
        try (TestServer server = TestServer.start(2)) {
            Api api = server.api(0);
            String writeToken = api.mint(TENANT, null, "events:write");
            List<Follower> followers = new ArrayList<>();
            List<String> followerUser = new ArrayList<>();
            for (String user : USERS) {
                String read = api.mint(TENANT, user, "events:read");
                for (int r = 0; r < 2; r++) {
                    followers.add(new Follower(
                            "/api/v1/events",
                            read,
                            0,
                            Follower.port(server.replica(r).port())));
                    followerUser.add(user);
                }
            }
            for (Follower f : followers) assertTrue(f.awaitConnected(Duration.ofSeconds(10)), f.toString());

            AtomicBoolean killing = new AtomicBoolean(true);
            AtomicInteger kills = new AtomicInteger();
            int[] lastKilled = {-1, -1};
            Thread killer = Thread.ofVirtual().start(() -> {
                int k = 0;
                while (killing.get()) {
                    Herald h = server.replica(k++ % 2);
                    int idx = (k - 1) % 2;
                    int pid = h.listener().backendPid();
                    if (h.listener().connected()
                            && pid != lastKilled[idx]
                            && ListenerFaults.terminateBackend(server.databaseUrl(), pid)) {
                        lastKilled[idx] = pid;
                        kills.incrementAndGet();
                    }
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });

            Api[] apis = {server.api(0), server.api(1)};
            Writers writers = Writers.start(8, 60, Duration.ofMillis(25), i -> apis[i % 2], writeToken, USERS, null);
            assertTrue(writers.join(Duration.ofSeconds(60)), "writers did not finish");
            killing.set(false);
            killer.join();

            assertEquals(List.of(), writers.failures, "every write must be acknowledged while only the listener fails");
            assertEquals(480, writers.published.size());
            for (int i = 0; i < followers.size(); i++) {
                Follower f = followers.get(i);
                List<Writers.Published> committed = writers.of(followerUser.get(i));
                Ledger.assertDense(committed);
                assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(30)), "subscriber did not catch up: " + f);
                // nothing more may come: every committed event is there, exactly once
                Thread.sleep(i == 0 ? 300 : 0);
                Ledger.Figures fig = Ledger.compare(committed, f);
                System.out.println("[fault 1] " + followerUser.get(i) + " on replica " + (i % 2) + ": " + fig);
                Ledger.assertExact(fig, f.toString());
                assertEquals(committed.size(), Sql.count(server.databaseUrl(), TENANT, "user:" + followerUser.get(i)));
                assertEquals(1, f.connects.get(), "the SSE connection itself must survive listener loss: " + f);
            }
            long reconnects = server.replica(0).listener().reconnects()
                    + server.replica(1).listener().reconnects();
            System.out.println("[fault 1] listener kills=" + kills.get() + " reconnects=" + reconnects);
            assertTrue(kills.get() >= 6, "the killer must have struck repeatedly: " + kills.get());
            assertTrue(
                    reconnects >= kills.get(),
                    "every kill must be followed by a reconnect: kills=" + kills + " reconnects=" + reconnects);
            followers.forEach(Follower::close);
        }
    }
}
