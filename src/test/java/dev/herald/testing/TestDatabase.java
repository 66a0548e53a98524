package dev.herald.testing;

import dev.herald.database.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.util.concurrent.atomic.AtomicInteger;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The PostgreSQL server tests run against, chosen once per JVM: HERALD_DATABASE_URL if set,
 * else Testcontainers when a Docker engine answers, else an embedded PostgreSQL (zonky).
 * Each test class takes a {@link #fresh()} database, so NOTIFY traffic and rows never mix.
 */
public final class TestDatabase {
    private static final AtomicInteger counter = new AtomicInteger();
    private static volatile DatabaseUrl server;
    private static EmbeddedPostgres embedded;

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
                embedded = EmbeddedPostgres.builder()
                        .setServerConfig("max_connections", "400")
                        .setServerConfig("synchronous_commit", "on")
                        .start();
            } catch (Exception e) {
                throw new IllegalStateException("embedded PostgreSQL did not start", e);
            }
            server = new DatabaseUrl("localhost", embedded.getPort(), "postgres", "postgres", null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    embedded.close();
                } catch (Exception ignored) {
                    // exiting anyway
                }
            }));
        }
        return server;
    }

    /** The embedded server, when tests run on one (fault tests stop and restart it). */
    public static EmbeddedPostgres embedded() {
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
