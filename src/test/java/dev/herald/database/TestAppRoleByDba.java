package dev.herald.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.herald.testing.Sql;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Role herald_app where the migrations cannot create it, and where several databases create it
 * at once. Roles are cluster-wide and the shared test cluster has herald_app already, so this
 * class runs its own cluster.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TestAppRoleByDba {
    @TempDir
    static Path dataDir;

    static EmbeddedServer cluster;
    static DatabaseUrl superuser;

    @BeforeAll
    static void start() {
        cluster = EmbeddedServer.start(dataDir, Map.of("max_connections", "50", "fsync", "off"), 0, false);
        superuser = cluster.url();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    @Test
    @Order(1) // herald_app does not exist yet in this cluster
    void without_the_right_to_create_roles_the_migration_succeeds_and_herald_logs_the_sql_a_dba_runs()
            throws Exception {
        // Herald's role owns its database and may not create roles.
        Sql.execute(superuser, "CREATE ROLE herald_owner LOGIN PASSWORD 'owner-pw' NOCREATEROLE");
        Sql.execute(superuser, "CREATE DATABASE herald_owned OWNER herald_owner");
        DatabaseUrl owner =
                new DatabaseUrl(superuser.host(), superuser.port(), "herald_owned", "herald_owner", "owner-pw");

        List<String> warnings = warningsWhile(() -> Database.connect(owner, 2).close());
        assertEquals(0, scalar(superuser, "SELECT count(*) FROM pg_roles WHERE rolname = 'herald_app'"));
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(DatabaseBoundary.DBA_SQL), warnings.get(0));

        // The DBA runs exactly that, as a superuser in Herald's database; an application's role
        // granted herald_app then publishes from its own transaction.
        DatabaseUrl dba = superuser.withDatabase("herald_owned");
        try (Connection c = connect(dba);
                Statement st = c.createStatement()) {
            st.execute(DatabaseBoundary.DBA_SQL);
            st.execute("CREATE ROLE herald_owned_app LOGIN PASSWORD 'app-pw' IN ROLE herald_app");
        }
        DatabaseUrl app = new DatabaseUrl(dba.host(), dba.port(), "herald_owned", "herald_owned_app", "app-pw");
        try (Connection c = connect(app);
                Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("SELECT herald.publish_user_event('acme', 'alice', 'from.the.app', '{}')");
            c.commit();
        }
        assertEquals(1, scalar(owner, "SELECT count(*) FROM herald.events WHERE type = 'from.the.app'"));

        // Herald is content at its next start.
        assertEquals(List.of(), warningsWhile(() -> Database.connect(owner, 2).close()));

        // Rights revoked by mistake: Herald says which GRANTs restore them.
        Sql.execute(dba, "REVOKE USAGE ON SCHEMA herald FROM herald_app");
        List<String> lacking = warningsWhile(() -> Database.connect(owner, 2).close());
        assertEquals(1, lacking.size(), lacking.toString());
        assertTrue(lacking.get(0).contains("GRANT USAGE ON SCHEMA herald TO herald_app;"), lacking.get(0));

        Sql.execute(superuser, "DROP ROLE herald_owned_app");
        Sql.execute(dba, "DROP OWNED BY herald_app");
        Sql.execute(superuser, "DROP ROLE herald_app");
    }

    @Test
    @Order(2)
    void databases_migrating_at_once_create_the_role_once_and_each_grants_it() throws Exception {
        List<DatabaseUrl> dbs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Sql.execute(superuser, "CREATE DATABASE herald_race_" + i);
            dbs.add(superuser.withDatabase("herald_race_" + i));
        }
        List<CompletableFuture<Void>> migrations = dbs.stream()
                .map(u ->
                        CompletableFuture.runAsync(() -> Database.connect(u, 2).close()))
                .toList();
        for (CompletableFuture<Void> m : migrations) m.get(120, TimeUnit.SECONDS);

        assertEquals(1, scalar(superuser, "SELECT count(*) FROM pg_roles WHERE rolname = 'herald_app'"));
        for (DatabaseUrl u : dbs) {
            assertEquals(
                    1,
                    scalar(
                            u,
                            "SELECT count(*) FROM pg_roles WHERE rolname = 'herald_app' AND NOT rolcanlogin"
                                    + " AND has_schema_privilege(oid, 'herald', 'USAGE')"
                                    + " AND has_function_privilege(oid, 'herald.publish_user_event(text, text, text, jsonb)', 'EXECUTE')"),
                    u.database());
        }
    }

    @Test
    void the_readme_gives_the_sql_herald_logs() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        assertTrue(readme.contains(DatabaseBoundary.DBA_SQL), "README.md has, verbatim:\n" + DatabaseBoundary.DBA_SQL);
    }

    // --- helpers ---

    static List<String> warningsWhile(Runnable r) {
        Logger logger = (Logger) LoggerFactory.getLogger(DatabaseBoundary.class);
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        logger.addAppender(lines);
        try {
            r.run();
        } finally {
            logger.detachAppender(lines);
        }
        return lines.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    static Connection connect(DatabaseUrl url) throws SQLException {
        return DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
    }

    static long scalar(DatabaseUrl url, String sql) throws SQLException {
        try (Connection c = connect(url);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
