package dev.herald.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.settings.Settings;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Herald's embedded PostgreSQL (`make run`): it refuses connections without its password
 * (SCRAM-SHA-256, no trust anywhere), listens on loopback only, keeps the password in
 * HERALD_DATA_DIR with mode 0600, survives restarts, and upgrades a data dir created before all
 * this (trust authentication, no password file) in place, keeping its rows.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TestEmbeddedServer {
    @TempDir
    Path dataDir;

    Settings settings() {
        return Settings.defaults()
                .with(b -> b.port(0)
                        .host("127.0.0.1")
                        .dataDir(dataDir)
                        .adminToken(TestServer.ADMIN_TOKEN)
                        .warmup(0));
    }

    Path passwordFile() {
        return dataDir.resolve("pg-password");
    }

    Path hba() {
        return dataDir.resolve("pg").resolve("pg_hba.conf");
    }

    /**
     * One data dir through its life (each start of an embedded PostgreSQL costs seconds, so the
     * steps share it): created, restarted, its password file loosened, then lost.
     */
    @Test
    void a_fresh_data_dir_refuses_connections_without_its_password_across_restarts() throws Exception {
        // Created: a password file, password-only authentication, loopback only.
        String password;
        try (Herald herald = Herald.start(settings())) {
            DatabaseUrl url = herald.database().url();
            password = url.password();
            assertPasswordFile(password);
            assertLockedDown(url);
            // The pool, Flyway and the LISTEN connection (pgjdbc-ng) all authenticated.
            assertReady(herald);
            try (Connection c = connect(url, password);
                    Statement st = c.createStatement()) {
                assertEquals("127.0.0.1,::1", scalar(st, "SHOW listen_addresses"));
                assertEquals("on", scalar(st, "SHOW fsync"));
                assertEquals("on", scalar(st, "SHOW synchronous_commit"));
                assertTrue(
                        scalar(st, "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'")
                                .startsWith("SCRAM-SHA-256$"),
                        "the password is stored as a SCRAM verifier");
            }
            publish(herald, "kept");
        }

        // Restarted (its password file made readable by others meanwhile): the same password,
        // the file owner-only again, the rows kept.
        Files.setPosixFilePermissions(passwordFile(), PosixFilePermissions.fromString("rw-r--r--"));
        try (Herald herald = Herald.start(settings())) {
            DatabaseUrl url = herald.database().url();
            assertEquals(password, url.password());
            assertPasswordFile(password);
            assertLockedDown(url);
            assertReady(herald);
            assertEquals(List.of("kept"), types(url));
        }

        // A trust pg_hba.conf restored and the password file deleted: a new password, the old
        // one refused, pg_hba.conf Herald's again, the rows kept.
        Files.writeString(hba(), "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n");
        Files.delete(passwordFile());
        try (Herald herald = Herald.start(settings())) {
            DatabaseUrl url = herald.database().url();
            assertNotEquals(password, url.password(), "a lost password is replaced by a new one");
            assertPasswordFile(url.password());
            assertLockedDown(url);
            SQLException refused = assertThrows(
                    SQLException.class, () -> connect(url, password).close());
            assertEquals("28P01", refused.getSQLState(), refused.getMessage());
            assertReady(herald);
            assertEquals(List.of("kept"), types(url));
        }
    }

    @Test
    void a_data_dir_from_before_passwords_is_upgraded_in_place_and_keeps_its_rows() throws Exception {
        // Exactly what Herald did before: zonky's initdb (-A trust), no password file.
        EmbeddedPostgres old = EmbeddedPostgres.builder()
                .setDataDirectory(dataDir.resolve("pg"))
                .setCleanDataDirectory(false)
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .start();
        try {
            DatabaseUrl trusting = new DatabaseUrl("localhost", old.getPort(), "postgres", "postgres", null);
            try (Database db = Database.connect(trusting, 2)) {
                db.dsl().execute("SELECT herald.publish_user_event('acme', 'alice', 'from.the.past', '{}')");
            }
        } finally {
            old.close();
        }
        assertTrue(trusts(Files.readString(hba())), "the old cluster trusts every local connection");
        assertFalse(Files.exists(passwordFile()));

        try (Herald herald = Herald.start(settings())) {
            DatabaseUrl url = herald.database().url();
            assertPasswordFile(url.password());
            assertLockedDown(url);
            assertReady(herald);
            assertEquals(List.of("from.the.past"), types(url));
        }
    }

    // --- helpers ---

    void assertPasswordFile(String password) throws Exception {
        assertTrue(Files.isRegularFile(passwordFile()), "the password is kept in HERALD_DATA_DIR/pg-password");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile())));
        assertEquals(password, Files.readString(passwordFile()));
        assertTrue(password.matches("[A-Za-z0-9]{32,}"), "at least 32 random characters: " + password.length());
        try (var s = Files.list(dataDir)) {
            assertEquals(
                    List.of("pg", "pg-password"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary file left behind");
        }
    }

    /** No password, a wrong one: refused. The right one: in. pg_hba.conf: no trust anywhere. */
    void assertLockedDown(DatabaseUrl url) throws Exception {
        SQLException none =
                assertThrows(SQLException.class, () -> connect(url, null).close());
        assertEquals("08004", none.getSQLState(), "the server asks for a password: " + none.getMessage());
        SQLException wrong = assertThrows(
                SQLException.class, () -> connect(url, url.password() + "x").close());
        assertEquals("28P01", wrong.getSQLState(), wrong.getMessage());

        String hba = Files.readString(hba());
        assertFalse(trusts(hba), hba);
        try (Connection c = connect(url, url.password());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT type, auth_method, coalesce(host(address::inet), '') FROM pg_hba_file_rules")) {
            List<String> rules = new ArrayList<>();
            while (rs.next()) rules.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
            assertEquals(
                    List.of("local scram-sha-256 ", "host scram-sha-256 127.0.0.1", "host scram-sha-256 ::1"),
                    rules,
                    "password (SCRAM) for the local socket and loopback TCP, nothing else");
        }
    }

    static boolean trusts(String hba) {
        return hba.lines()
                .map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#"))
                .anyMatch(l -> l.matches(".*\\btrust\\b.*"));
    }

    static Connection connect(DatabaseUrl url, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", url.user());
        if (password != null) p.setProperty("password", password);
        return DriverManager.getConnection(url.jdbcUrl(), p);
    }

    static String scalar(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getString(1);
        }
    }

    static void assertReady(Herald herald) {
        Api api = new Api("http://127.0.0.1:" + herald.port());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Api.Response r;
        while ((r = api.get("/readyz", null)).status() != 200 && System.nanoTime() < until) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        assertEquals(200, r.status(), r.toString());
    }

    static void publish(Herald herald, String type) {
        Api api = new Api("http://127.0.0.1:" + herald.port());
        String token = api.mint("acme", "alice", "events:write");
        Api.Response r = api.post("/api/v1/users/alice/events", token, Map.of("type", type));
        assertEquals(201, r.status(), r.toString());
    }

    static List<String> types(DatabaseUrl url) throws SQLException {
        try (Connection c = connect(url, url.password());
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT type FROM herald.events WHERE tenant = 'acme' AND stream = 'user:alice' ORDER BY cursor")) {
            List<String> out = new ArrayList<>();
            while (rs.next()) out.add(rs.getString(1));
            return out;
        }
    }
}
