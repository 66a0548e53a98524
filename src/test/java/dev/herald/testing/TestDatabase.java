package dev.herald.testing;

import dev.herald.database.DatabaseUrl;
import dev.herald.database.EmbeddedServer;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The PostgreSQL server tests run against, chosen once per JVM: HERALD_DATABASE_URL if set,
 * else Testcontainers when a Docker engine answers, else an embedded PostgreSQL locked down
 * exactly as Herald's own (password only, loopback only; {@link EmbeddedServer}).
 * Each test class takes a {@link #fresh()} database, so NOTIFY traffic and rows never mix.
 */
public final class TestDatabase {
    private static final AtomicInteger counter = new AtomicInteger();
    private static volatile DatabaseUrl server;
    private static EmbeddedServer embedded;

    private TestDatabase() {}

    public static synchronized DatabaseUrl server() {
        if (server != null) return server;
        String url = System.getenv("HERALD_DATABASE_URL");
        if (url != null && !url.isBlank()) {
            server = DatabaseUrl.parse(url);
            System.out.println("[test-db] using HERALD_DATABASE_URL " + server.describe());
        } else if (dockerAvailable()) {
            PostgreSQLContainer pg = new PostgreSQLContainer("postgres:17-alpine");
            pg.start();
            server = new DatabaseUrl(
                    pg.getHost(), pg.getFirstMappedPort(), pg.getDatabaseName(), pg.getUsername(), pg.getPassword());
            System.out.println("[test-db] using Testcontainers " + server.describe());
        } else {
            System.out.println("[test-db] no Docker engine answers; using embedded PostgreSQL");
            try {
                // fsync off, as zonky starts it: tests need no crash safety, and a shutdown
                // checkpoint that fsyncs everything can outlast pg_ctl's 5 s on a loaded machine.
                embedded = EmbeddedServer.start(
                        Files.createTempDirectory("herald-test-pg"),
                        Map.of("max_connections", "400", "fsync", "off"),
                        0,
                        true);
            } catch (Exception e) {
                throw new IllegalStateException("embedded PostgreSQL did not start", e);
            }
            server = embedded.url();
            Runtime.getRuntime().addShutdownHook(new Thread(embedded::close));
        }
        return server;
    }

    /** The embedded server, when tests run on one (fault tests stop and restart it). */
    public static EmbeddedServer embedded() {
        server();
        return embedded;
    }

    /** A new, empty database on the test server. */
    public static DatabaseUrl fresh() {
        DatabaseUrl s = server();
        String name = "herald_t" + ProcessHandle.current().pid() + "_" + counter.incrementAndGet();
        Sql.execute(s, "CREATE DATABASE " + name);
        return s.withDatabase(name);
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable t) {
            return false;
        }
    }
}
