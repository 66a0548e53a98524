package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Fault 3, as an operator sees it: a real Herald process (its own JVM, {@code Herald.main})
 * gets SIGTERM with SSE clients attached. It must exit 0 within 10 s after ending the streams
 * cleanly, and its clients resume on the other replica without losing anything.
 * The first test runs the build's classes (always current); the second runs
 * {@code target/herald.jar} when a jar at least as new as the classes exists (make build).
 */
class TestSigterm {
    static final String TENANT = "sigterm";

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void herald_main_exits_0_within_10_s_on_sigterm_and_its_clients_resume_elsewhere() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        runAndTerminate(List.of("-cp", cp, Herald.class.getName()));
    }

    /** Starts Herald as a child JVM, sends SIGTERM, asserts exit 0 within 10 s (also used by PackagedJarIT). */
    void runAndTerminate(List<String> launch) throws Exception {
        try (TestServer server = TestServer.start(1)) {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            List<String> cmd = new ArrayList<>();
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.add("-Xmx256m");
            cmd.add("--enable-native-access=ALL-UNNAMED");
            cmd.addAll(launch);
            File log = Files.createTempFile("herald-sigterm", ".log").toFile();
            ProcessBuilder pb =
                    new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log);
            pb.environment()
                    .put(
                            "HERALD_DATABASE_URL",
                            server.databaseUrl().jdbcUrl() + "?user="
                                    + server.databaseUrl().user()
                                    + (server.databaseUrl().password() == null
                                            ? ""
                                            : "&password="
                                                    + server.databaseUrl().password()));
            pb.environment().put("HERALD_PORT", Integer.toString(port));
            pb.environment().put("HERALD_HOST", "127.0.0.1");
            pb.environment().put("HERALD_ADMIN_TOKEN", TestServer.ADMIN_TOKEN);
            pb.environment().put("HERALD_WATCHDOG_INTERVAL", "PT0.3S");
            pb.environment().put("HERALD_WATCHDOG_DEADLINE", "PT1.5S");
            pb.environment().put("HERALD_WARMUP", "0");
            Process p = pb.start();
            try {
                Api child = new Api("http://127.0.0.1:" + port);
                long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                boolean up = false;
                while (!up && p.isAlive() && System.nanoTime() < until) {
                    try {
                        up = child.get("/readyz", null).status() == 200;
                    } catch (AssertionError notYet) {
                        Thread.sleep(200);
                    }
                }
                assertTrue(up, "the child did not become ready:\n" + Files.readString(log.toPath()));

                Api api = server.api();
                String write = api.mint(TENANT, null, "events:write");
                String read = api.mint(TENANT, "tess", "events:read");
                List<Follower> followers = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    followers.add(new Follower(
                            "/api/v1/events",
                            read,
                            0,
                            Follower.port(port),
                            Follower.port(server.herald().port())));
                }
                for (Follower f : followers) assertTrue(f.awaitConnected(Duration.ofSeconds(20)));
                Writers writers =
                        Writers.start(2, 1_000_000, Duration.ofMillis(40), i -> api, write, List.of("tess"), null);
                Thread.sleep(800);

                long t0 = System.nanoTime();
                p.destroy(); // SIGTERM
                boolean exited = p.waitFor(15, TimeUnit.SECONDS);
                long exitMs = (System.nanoTime() - t0) / 1_000_000;
                String output = Files.readString(log.toPath());
                assertTrue(exited, "no exit within 15 s:\n" + output);
                Thread.sleep(500);
                writers.stop();
                assertTrue(writers.join(Duration.ofSeconds(20)));
                assertEquals(List.of(), writers.failures);
                List<Writers.Published> committed = writers.of("tess");
                int clean = 0;
                for (Follower f : followers) {
                    assertTrue(f.awaitId(committed.size(), Duration.ofSeconds(20)), f.toString());
                    Ledger.assertExact(Ledger.compare(committed, f), f.toString());
                    assertEquals(2, f.connects.get(), f.toString());
                    clean += f.cleanEnds.get();
                }
                System.out.println("[fault 3/sigterm] " + launch.get(0) + ": exit code " + p.exitValue() + " after "
                        + exitMs + " ms; " + clean + "/" + followers.size() + " streams ended cleanly; events="
                        + committed.size() + " lost=0 dup=0");
                assertEquals(0, p.exitValue(), output);
                assertTrue(exitMs < 10_000, "exit took " + exitMs + " ms");
                assertEquals(followers.size(), clean, "every stream must end cleanly");
                assertTrue(output.contains("Herald stopped"), output);
                followers.forEach(Follower::close);
            } finally {
                p.destroyForcibly();
                log.delete();
            }
        }
    }
}
