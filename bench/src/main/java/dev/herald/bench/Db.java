package dev.herald.bench;

import dev.herald.database.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;

/**
 * The PostgreSQL the bench runs on: HERALD_DATABASE_URL's server if set, else an embedded
 * one (synchronous_commit on, as Herald runs it). A fresh database per run holds Herald's
 * schema (migrated by the server) and the baselines' own table {@code bench.ev}.
 */
final class Db implements AutoCloseable {
    final DatabaseUrl server;
    final DatabaseUrl url;
    final boolean embeddedServer;
    private final EmbeddedPostgres embedded;
    final String version;
    final int maxConnections;
    final String settings;
    /** The postmaster's pid when PostgreSQL runs on this machine (0 if unknown). */
    final long postmasterPid;

    private Db(DatabaseUrl server, EmbeddedPostgres embedded) throws Exception {
        this.server = server;
        this.embedded = embedded;
        this.embeddedServer = embedded != null;
        String name = "herald_bench_" + System.currentTimeMillis();
        try (Connection c = connect(server, "bench"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name);
        }
        this.url = server.withDatabase(name);
        try (Connection c = connect("bench"); Statement st = c.createStatement()) {
            version = scalar(st, "SHOW server_version");
            maxConnections = Integer.parseInt(scalar(st, "SHOW max_connections"));
 long pm = 0;
            try {
                long backend = Long.parseLong(scalar(st, "SELECT pg_backend_pid()"));
                String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + backend + "/stat"));
                pm = Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
            } catch (Exception e) {
                pm = 0; // PostgreSQL on another machine
            }
            postmasterPid = pm;
            settings = "synchronous_commit=" + scalar(st, "SHOW synchronous_commit") + ", fsync=" + scalar(st, "SHOW fsync")
                    + ", shared_buffers=" + scalar(st, "SHOW shared_buffers") + ", max_connections=" + maxConnections;
            st.execute("""
                    CREATE SCHEMA bench;
                    CREATE TABLE bench.ev (
                        id         bigserial PRIMARY KEY,
                        stream     int NOT NULL,
                        data       jsonb NOT NULL,
                        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
                    );
                    CREATE INDEX ev_stream_id ON bench.ev (stream, id);
                    """);
        }
    }

    static Db open() throws Exception {
        String env = System.getenv("HERALD_DATABASE_URL");
        if (env != null && !env.isBlank()) return new Db(DatabaseUrl.parse(env), null);
        EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .setServerConfig("synchronous_commit", "on")
                // zonky starts postgres with -F (fsync off); a later -c turns it back on, so
                // commits pay their real fdatasync as in production.
                .setServerConfig("fsync", "on")
                .setServerConfig("max_connections", "300")
                .start();
        return new Db(new DatabaseUrl("localhost", pg.getPort(), "postgres", "postgres", null), pg);
    }

    Connection connect(String appName) throws Exception {
        return connect(url, appName);
    }

    static Connection connect(DatabaseUrl u, String appName) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", u.user());
        if (u.password() != null) p.setProperty("password", u.password());
        p.setProperty("ApplicationName", appName);
        p.setProperty("tcpKeepAlive", "true");
        return DriverManager.getConnection(u.jdbcUrl(), p);
    }

    /** The URL handed to the Herald server process (HERALD_DATABASE_URL). */
    String heraldUrl() {
        String auth = url.user() + (url.password() == null ? "" : ":" + url.password());
        return "postgres://" + auth + "@" + url.host() + ":" + url.port() + "/" + url.database();
    }

    static String scalar(Statement st, String sql) throws Exception {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    long scalarLong(String sql) throws Exception {
        try (Connection c = connect("bench"); Statement st = c.createStatement()) {
            return Long.parseLong(scalar(st, sql));
        }
    }

    /** Backends connected to the bench database, by application_name. */
    int connections(String appNameLike) throws Exception {
        try (Connection c = connect("bench-probe");
             PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE ?")) {
            ps.setString(1, appNameLike);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    int connectionsInUse() throws Exception {
        return (int) scalarLong("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'");
    }

    long commits() throws Exception {
        return scalarLong("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
    }

    /**
     * Median memory of the backends with this application_name, in kB, from /proc (only
     * possible when PostgreSQL runs on this machine): {Pss, private (USS), page tables}.
     */
    long[] backendMemoryKb(String appName) throws Exception {
        List<Long> pids = new ArrayList<>();
        try (Connection c = connect("bench-probe");
             PreparedStatement ps = c.prepareStatement("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?")) {
            ps.setString(1, appName);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) pids.add(rs.getLong(1));
            }
        }
        List<Long> pss = new ArrayList<>(), uss = new ArrayList<>(), pte = new ArrayList<>();
        for (long pid : pids) {
            Path rollup = Path.of("/proc/" + pid + "/smaps_rollup");
            if (!Files.isReadable(rollup)) continue;
            long p = 0, u = 0, t = 0;
            for (String l : Files.readAllLines(rollup)) {
                if (l.startsWith("Pss:")) p = kb(l);
                else if (l.startsWith("Private_Clean:") || l.startsWith("Private_Dirty:")) u += kb(l);
            }
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) if (l.startsWith("VmPTE:")) t = kb(l);
            pss.add(p);
            uss.add(u);
            pte.add(t);
        }
        if (pss.isEmpty()) return null;
        return new long[]{median(pss), median(uss), median(pte)};
    }

    private static long kb(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }

    private static long median(List<Long> v) {
        Collections.sort(v);
        return v.get(v.size() / 2);
    }

    @Override
    public void close() {
        try (Connection c = connect(server, "bench"); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + url.database() + " WITH (FORCE)");
        } catch (Exception e) {
            System.err.println("could not drop " + url.database() + ": " + e.getMessage());
        }
        if (embedded != null) {
            try {
                embedded.close();
            } catch (Exception ignored) {
                // exiting anyway
            }
        }
    }
}
