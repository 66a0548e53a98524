package dev.herald.database;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.herald.settings.Settings;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The database Herald runs on: HERALD_DATABASE_URL if set, else an embedded PostgreSQL whose
 * data lives in HERALD_DATA_DIR. Owns the connection pool, applies migrations at start.
 */
public final class Database implements AutoCloseable {
    private final DatabaseUrl url;
    private final EmbeddedServer embedded;
    private final HikariDataSource pool;
    private final HikariDataSource reads;
    private final DSLContext dsl;

    /** The server-side bound on any statement of the pools (mark-all-read of 50k rows takes 1-4 s). */
    static final int STATEMENT_TIMEOUT_MS = 60_000;
    /** The client-side bound on waiting for any answer: the statement timeout and a margin. */
    static final int SOCKET_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_MS / 1000 + 15;

    private Database(DatabaseUrl url, EmbeddedServer embedded, int poolSize) {
        this.url = url;
        this.embedded = embedded;
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setServerNames(new String[] {url.host()});
        ds.setPortNumbers(new int[] {url.port()});
        ds.setDatabaseName(url.database());
        ds.setUser(url.user());
        if (url.password() != null) ds.setPassword(url.password());
        ds.setApplicationName("herald");
        ds.setConnectTimeout(5);
        ds.setTcpKeepAlive(true);
        // A statement never runs longer than this on the server, and a connection whose
        // server stops answering (half-open TCP) fails its statement after the socket
        // timeout instead of freezing its caller until TCP gives up (about 15 minutes). The
        // group commit, which every write waits for, bounds its own transactions much tighter
        // (HERALD_WRITE_TIMEOUT: statement and idle-in-transaction timeouts, a network timeout
        // on the connection it holds; stream.GroupCommit).
        ds.setOptions("-c statement_timeout=" + STATEMENT_TIMEOUT_MS);
        ds.setSocketTimeout(SOCKET_TIMEOUT_SECONDS);
        this.pool = pool(ds, "herald", poolSize);
        // Topic fetches and catch-up reads get a pool of their own, so writers waiting on a
        // held lock can never take the connections that live delivery needs.
        this.reads = pool(ds, "herald-reads", Math.max(2, poolSize / 4));
        this.dsl = DSL.using(pool, SQLDialect.POSTGRES, new org.jooq.conf.Settings().withExecuteLogging(false));
    }

    private static HikariDataSource pool(PGSimpleDataSource ds, String name, int size) {
        HikariConfig hc = new HikariConfig();
        hc.setDataSource(ds);
        hc.setPoolName(name);
        hc.setMaximumPoolSize(size);
        hc.setMinimumIdle(Math.min(4, size));
        hc.setConnectionTimeout(5_000);
        hc.setValidationTimeout(2_000);
        hc.setKeepaliveTime(60_000);
        // Start even if the database is down for a moment: /readyz reports it.
        hc.setInitializationFailTimeout(-1);
        return new HikariDataSource(hc);
    }

    /** Resolve, connect and migrate. */
    public static Database open(Settings config) {
        if (config.storage().databaseUrl() != null) {
            DatabaseUrl url = DatabaseUrl.parse(config.storage().databaseUrl());
            return migrated(new Database(url, null, config.storage().poolSize()));
        }
        // Password-only, loopback-only; the password is kept in HERALD_DATA_DIR (docs/adr/0080).
        EmbeddedServer pg = EmbeddedServer.start(config.storage().dataDir(), Map.of("max_connections", "200"));
        return migrated(new Database(pg.url(), pg, config.storage().poolSize()));
    }

    /** Connect to an existing database without starting anything (tests, the bench). */
    public static Database connect(DatabaseUrl url, int poolSize) {
        return migrated(new Database(url, null, poolSize));
    }

    private static Database migrated(Database db) {
        try {
            Flyway.configure()
                    .dataSource(db.pool)
                    .schemas("herald")
                    .locations("classpath:db/migration")
                    // Never start against a schema newer than this build knows.
                    .ignoreMigrationPatterns(new String[0])
                    .load()
                    .migrate();
        } catch (FlywayException e) {
            db.close();
            throw new IllegalStateException("database migration failed: " + e.getMessage(), e);
        }
        DatabaseBoundary.check(db.dsl, db.url);
        return db;
    }

    public DSLContext dsl() {
        return dsl;
    }

    public HikariDataSource pool() {
        return pool;
    }

    /** The pool for reads of the event log (topic fetches, catch-up). */
    public HikariDataSource readPool() {
        return reads;
    }

    public DatabaseUrl url() {
        return url;
    }

    public boolean embedded() {
        return embedded != null;
    }

    public EmbeddedServer embeddedServer() {
        return embedded;
    }

    /**
     * The key that seals Herald's own NOTIFY payloads (migrations/V100__ping_key.sql): the same
     * on every replica of this database, readable only by Herald's role.
     */
    public byte[] pingKey() {
        try (var c = pool.getConnection();
                var ps = c.prepareStatement("SELECT value FROM herald.secrets WHERE name = 'ping'");
                var rs = ps.executeQuery()) {
            if (!rs.next()) throw new IllegalStateException("herald.secrets has no 'ping' key");
            return rs.getBytes(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not read the ping key: " + e.getMessage(), e);
        }
    }

    /**
     * How durable a commit is on this database, as Herald's sessions see it: {@code
     * synchronous_commit} and {@code fsync}. With either off, PostgreSQL acknowledges commits it
     * can lose in a crash, and Herald would have handed their cursors out.
     */
    public record Durability(String synchronousCommit, String fsync) {
        /** What is wrong, one sentence each; empty when both are on. */
        public List<String> warnings() {
            List<String> w = new ArrayList<>();
            if ("off".equalsIgnoreCase(synchronousCommit)) {
                w.add("synchronous_commit is off: PostgreSQL acknowledges a commit before it is on disk, so"
                        + " events Herald confirmed (and cursors it handed out) can be lost in a database crash"
                        + " and their cursors reissued");
            }
            if ("off".equalsIgnoreCase(fsync)) {
                w.add("fsync is off: PostgreSQL never forces its writes to disk, so a crash of the database"
                        + " host can lose or corrupt committed events");
            }
            return w;
        }
    }

    /** Reads the durability settings of Herald's own sessions (per-role and per-database values included). */
    public Durability durability() {
        var r = dsl.fetchOne("SELECT current_setting('synchronous_commit'), current_setting('fsync')");
        return new Durability(r.get(0, String.class), r.get(1, String.class));
    }

    /** True when a connection answers a trivial query within a second. */
    public boolean reachable() {
        try (var c = pool.getConnection();
                var st = c.createStatement()) {
            st.setQueryTimeout(1);
            st.execute("SELECT 1");
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() {
        reads.close();
        pool.close();
        if (embedded != null) embedded.close();
    }
}
