package dev.herald.database;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL (zonky's binaries), locked down (docs/adr/0080): it listens on
 * loopback only and refuses every connection without its password (SCRAM-SHA-256, no
 * {@code trust} anywhere, the local socket included). The password is generated on first start
 * and kept in {@code <dataDir>/pg-password} (mode 0600); the cluster lives in
 * {@code <dataDir>/pg}.
 *
 * <p>A fresh cluster never accepts a connection without the password: initdb sets it (from the
 * password file) and writes password-only authentication. A cluster created before this (trust
 * authentication, no password file) is upgraded in place on its next start: it starts as it
 * always did, then the superuser gets a password, pg_hba.conf is rewritten and reloaded, and
 * only then is the server handed to Herald. Deleting the password file does the same to an
 * already locked-down cluster: a new password is set on the next start.
 */
public final class EmbeddedServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedServer.class);

    public static final String PASSWORD_FILE = "pg-password";
    public static final String CLUSTER_DIR = "pg";
    public static final String SUPERUSER = "postgres";
    /** Where it listens: loopback only (PostgreSQL warns and goes on if IPv6 is missing). */
    public static final String LISTEN_ADDRESSES = "127.0.0.1,::1";

    /** pg_hba.conf, rewritten at every start that finds another one. */
    static final String HBA = """
            # Written by Herald (docs/adr/0080); rewritten at start if changed. Every connection,
            # the local socket included, authenticates with the password kept in
            # HERALD_DATA_DIR/pg-password (SCRAM-SHA-256); TCP from loopback only.
            local   all   all                  scram-sha-256
            host    all   all   127.0.0.1/32   scram-sha-256
            host    all   all   ::1/128        scram-sha-256
            """;

    /**
     * pg_hba.conf for the one start that sets a new password on a cluster whose password is
     * unknown (no password file): what initdb -A trust wrote, loopback only, for as long as it
     * takes to set the password.
     */
    static final String BOOTSTRAP_HBA = """
            # Written by Herald for one start, while it sets a new password (docs/adr/0080).
            local   all   postgres                  trust
            host    all   postgres   127.0.0.1/32   trust
            host    all   postgres   ::1/128        trust
            """;

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final String ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static final int PASSWORD_LENGTH = 40; // ~238 bits
    private static final Duration RELOAD_WAIT = Duration.ofSeconds(10);
    private static final Duration STOP_WAIT = Duration.ofSeconds(60);
    /** How long zonky waits for the server to answer (its default, 10 s, is short on a loaded machine). */
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(30);

    private final EmbeddedPostgres postgres;
    private final DatabaseUrl url;
    private final Path dataDir;
    private final boolean ephemeral;

    private EmbeddedServer(EmbeddedPostgres postgres, DatabaseUrl url, Path dataDir, boolean ephemeral) {
        this.postgres = postgres;
        this.url = url;
        this.dataDir = dataDir;
        this.ephemeral = ephemeral;
    }

    /**
     * Starts (creating, or upgrading, as needed) the cluster kept in {@code dataDir}, with these
     * server settings on top of Herald's (e.g. max_connections, synchronous_commit).
     */
    public static EmbeddedServer start(Path dataDir, Map<String, String> serverConfig) {
        return start(dataDir, serverConfig, 0, false);
    }

    /**
     * The same on a given port (0: any free one). An {@code ephemeral} server (tests) always
     * starts a new cluster and deletes {@code dataDir} when closed; it has no shutdown hook of
     * its own, so its owner closes it.
     */
    public static EmbeddedServer start(Path dataDir, Map<String, String> serverConfig, int port, boolean ephemeral) {
        try {
            return open(dataDir.toAbsolutePath(), serverConfig, port, ephemeral);
        } catch (IOException | UncheckedIOException e) {
            throw new IllegalStateException(
                    "could not start the embedded PostgreSQL in " + dataDir.toAbsolutePath() + ": " + e.getMessage(),
                    e);
        }
    }

    private static EmbeddedServer open(Path dataDir, Map<String, String> serverConfig, int port, boolean ephemeral)
            throws IOException {
        Files.createDirectories(dataDir);
        Path cluster = dataDir.resolve(CLUSTER_DIR);
        if (ephemeral) deleteTree(cluster);
        Path passwordFile = dataDir.resolve(PASSWORD_FILE);
        Path hba = cluster.resolve("pg_hba.conf");
        // zonky runs initdb exactly when postgresql.conf is missing.
        boolean fresh = !Files.exists(cluster.resolve("postgresql.conf"));
        boolean known = Files.exists(passwordFile) && !ephemeral;
        String password;
        if (known) {
            password = readPassword(passwordFile);
        } else {
            password = generatePassword();
            // A fresh cluster gets it from the file (initdb --pwfile); an existing one only once
            // the server has it (if we stop in between, the next start simply sets another).
            if (fresh) writePassword(passwordFile, password);
        }

        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                .setDataDirectory(cluster.toFile())
                // An ephemeral server's directory is deleted by close(), once the server has
                // stopped (zonky's would go even while it still runs), and its owner closes it:
                // zonky's own shutdown hook would race that deletion.
                .setCleanDataDirectory(false)
                .setRegisterShutdownHook(!ephemeral)
                .setPort(port)
                .setPGStartupWait(STARTUP_WAIT)
                // zonky starts PostgreSQL with fsync off (-F) and synchronous_commit off;
                // Herald promises that a committed event survives a crash.
                .setServerConfig("fsync", "on")
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("listen_addresses", LISTEN_ADDRESSES)
                .setServerConfig("password_encryption", "scram-sha-256")
                // zonky checks the server is up with a connection of its own: with the password.
                .setConnectConfig("password", password)
                .setDataDirectoryCustomizer(dir -> {
                    if (fresh) writeFile(hba, HBA); // initdb wrote scram-sha-256; now exactly ours
                    else if (!known) writeFile(hba, BOOTSTRAP_HBA);
                });
        if (fresh) {
            // zonky passes these to initdb only (after its own "-A trust", which they override):
            // the superuser's password from the file, and password authentication from the start.
            b.setLocaleConfig("auth", "scram-sha-256").setLocaleConfig("pwfile", passwordFile.toString());
        }
        serverConfig.forEach(b::setServerConfig);
        EmbeddedPostgres pg = b.start();
        DatabaseUrl url = new DatabaseUrl("127.0.0.1", pg.getPort(), "postgres", SUPERUSER, password);
        EmbeddedServer server = new EmbeddedServer(pg, url, dataDir, ephemeral);
        try {
            if (!HBA.equals(Files.readString(hba))) server.lockDown(passwordFile, hba, known);
        } catch (IOException | SQLException | RuntimeException e) {
            server.close();
            throw new IllegalStateException(
                    "could not set the embedded PostgreSQL's password in " + dataDir + ": " + e.getMessage(), e);
        }
        return server;
    }

    /**
     * Upgrades a running cluster whose pg_hba.conf is not Herald's (created with trust
     * authentication, or its password file was lost): sets the password, keeps it, rewrites
     * pg_hba.conf, reloads, and waits until a connection without the password is refused.
     */
    private void lockDown(Path passwordFile, Path hba, boolean known) throws IOException, SQLException {
        log.info("embedded PostgreSQL in {}: setting its password and password-only authentication", dataDir);
        try (Connection c = DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password())) {
            // Hashed (SCRAM) by the driver: the password itself never reaches the server.
            c.unwrap(PGConnection.class)
                    .alterUserPassword(SUPERUSER, url.password().toCharArray(), "scram-sha-256");
        }
        if (!known) writePassword(passwordFile, url.password());
        writeFile(hba, HBA);
        try (Connection c = DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
                Statement st = c.createStatement()) {
            st.execute("SELECT pg_reload_conf()");
        }
        long until = System.nanoTime() + RELOAD_WAIT.toNanos();
        while (!refusesWithoutPassword()) {
            if (System.nanoTime() > until) throw new IllegalStateException("pg_hba.conf was not reloaded");
            sleep(20);
        }
    }

    /** True when the server refuses the superuser without a password (false: let in, or no answer). */
    boolean refusesWithoutPassword() {
        Properties p = new Properties();
        p.setProperty("user", SUPERUSER);
        p.setProperty("connectTimeout", "5");
        try (Connection ignored = DriverManager.getConnection(url.jdbcUrl(), p)) {
            return false;
        } catch (SQLException e) {
            // 08004: the server asked for a password the driver does not have; 28xxx: refused.
            String state = e.getSQLState();
            return state != null && (state.equals("08004") || state.startsWith("28"));
        }
    }

    /** Where Herald connects: 127.0.0.1, the superuser, the password. */
    public DatabaseUrl url() {
        return url;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path passwordFile() {
        return dataDir.resolve(PASSWORD_FILE);
    }

    public int port() {
        return postgres.getPort();
    }

    @Override
    public void close() {
        try {
            postgres.close();
        } catch (IOException e) {
            log.warn("embedded PostgreSQL did not stop cleanly: {}", e.getMessage());
        }
        awaitStopped();
        if (ephemeral) deleteTree(dataDir);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            log.warn("could not delete {}: {}", dir, e.getMessage());
        }
    }

    /**
     * zonky gives pg_ctl 5 s to stop the server; a shutdown checkpoint on a loaded machine may
     * take longer, and the server goes on stopping after pg_ctl gave up. A start on the same data
     * dir must not find it still running: wait (bounded) until its postmaster is gone.
     */
    private void awaitStopped() {
        Path pidFile = dataDir.resolve(CLUSTER_DIR).resolve("postmaster.pid");
        long until = System.nanoTime() + STOP_WAIT.toNanos();
        while (System.nanoTime() < until) {
            long pid;
            try {
                pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().strip());
            } catch (IOException | RuntimeException gone) {
                return; // no pid file (stopped, or never started): nothing to wait for
            }
            if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) return;
            sleep(50);
        }
        log.warn("embedded PostgreSQL in {} still stopping after {} s", dataDir, STOP_WAIT.toSeconds());
    }

    static String generatePassword() {
        SecureRandom random = new SecureRandom();
        StringBuilder sb = new StringBuilder(PASSWORD_LENGTH);
        for (int i = 0; i < PASSWORD_LENGTH; i++) sb.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        return sb.toString();
    }

    private static String readPassword(Path file) throws IOException {
        String password = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (password.isEmpty()) {
            throw new IOException(file + " is empty: delete it and Herald sets a new password on its next start");
        }
        if (!Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
            Files.setPosixFilePermissions(file, OWNER_ONLY);
            log.warn("{} was readable by others: now mode 0600", file);
        }
        return password;
    }

    /** Creates the password file atomically, mode 0600 from its creation on. */
    static void writePassword(Path file, String password) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(password.getBytes(StandardCharsets.UTF_8)));
            ch.force(true);
        }
        move(tmp, file);
    }

    /** Replaces a file atomically (a crash leaves the old one or the new one, never half). */
    private static void writeFile(Path file, String content) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(tmp, OWNER_ONLY);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            move(tmp, file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
        try (FileChannel dir = FileChannel.open(to.getParent(), StandardOpenOption.READ)) {
            dir.force(true); // the rename itself survives a crash
        } catch (IOException ignored) {
            // not every file system lets a directory be synced
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
