package dev.herald.config;

import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * Herald's settings, read from the environment (API.md "Running it"). Every field has a
 * default; tests build their own with {@link #builder()}-style withers.
 */
public record Config(
        int port,
        String host,
        String databaseUrl,
        Path dataDir,
        String adminToken,
        Duration retention,
        Duration heartbeat,
        long sseRetryMillis,
        long maxBodyBytes,
        int poolSize,
        Duration watchdogInterval,
        Duration watchdogDeadline,
        Duration slowClientTimeout,
        int ringSize,
        // Retention janitor and replay budget settings, grouped in one component.
        Housekeeping housekeeping) {

    /**
     * Retention janitor and SSE replay budget (package dev.herald.jobs).
     * {@code retentionInterval}: how often each replica's janitor runs (HERALD_RETENTION_INTERVAL,
     * default PT1M); {@code retentionBatch}: rows deleted per stream per transaction
     * (HERALD_RETENTION_BATCH, default 1000); {@code replayConnects}: SSE connects and backlog
     * requests per user per window (HERALD_REPLAY_CONNECTS, default 60, 0 = unlimited);
     * {@code replayRows}: backlog rows replayed per user per window (HERALD_REPLAY_ROWS, default
     * 100000, 0 = unlimited); {@code replayWindow}: the refill window (HERALD_REPLAY_WINDOW,
     * default PT1M).
     */
    public record Housekeeping(
            Duration retentionInterval, int retentionBatch, int replayConnects, int replayRows, Duration replayWindow) {
        public static Housekeeping defaults() {
            return new Housekeeping(Duration.ofMinutes(1), 1000, 60, 100_000, Duration.ofMinutes(1));
        }
    }

    public static Config defaults() {
        return new Config(
                8080,
                "0.0.0.0",
                null,
                Path.of("data"),
                null,
                Duration.ofDays(7),
                Duration.ofSeconds(15),
                2000,
                64 * 1024,
                16,
                Duration.ofSeconds(1),
                Duration.ofSeconds(3),
                Duration.ofSeconds(10),
                512,
                Housekeeping.defaults());
    }

    public static Config fromEnv(Map<String, String> env) {
        Config d = defaults();
        return new Config(
                intVar(env, "HERALD_PORT", d.port, 0, 65535),
                env.getOrDefault("HERALD_HOST", d.host),
                blankToNull(env.get("HERALD_DATABASE_URL")),
                Path.of(env.getOrDefault("HERALD_DATA_DIR", d.dataDir.toString())),
                blankToNull(env.get("HERALD_ADMIN_TOKEN")),
                durationVar(env, "HERALD_RETENTION", d.retention),
                durationVar(env, "HERALD_HEARTBEAT", d.heartbeat),
                intVar(env, "HERALD_SSE_RETRY_MS", (int) d.sseRetryMillis, 0, 3_600_000),
                intVar(env, "HERALD_MAX_BODY_BYTES", (int) d.maxBodyBytes, 1024, 64 * 1024 * 1024),
                intVar(env, "HERALD_POOL_SIZE", d.poolSize, 2, 500),
                durationVar(env, "HERALD_WATCHDOG_INTERVAL", d.watchdogInterval),
                durationVar(env, "HERALD_WATCHDOG_DEADLINE", d.watchdogDeadline),
                durationVar(env, "HERALD_SLOW_CLIENT_TIMEOUT", d.slowClientTimeout),
                intVar(env, "HERALD_RING_SIZE", d.ringSize, 16, 1_000_000),
                new Housekeeping(
                        durationVar(env, "HERALD_RETENTION_INTERVAL", d.housekeeping.retentionInterval()),
                        intVar(env, "HERALD_RETENTION_BATCH", d.housekeeping.retentionBatch(), 1, 100_000),
                        intVar(env, "HERALD_REPLAY_CONNECTS", d.housekeeping.replayConnects(), 0, 1_000_000),
                        intVar(env, "HERALD_REPLAY_ROWS", d.housekeeping.replayRows(), 0, 1_000_000_000),
                        durationVar(env, "HERALD_REPLAY_WINDOW", d.housekeeping.replayWindow())));
    }

    public Config withPort(int p) {
        return new Config(
                p,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withHost(String h) {
        return new Config(
                port,
                h,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withDatabaseUrl(String u) {
        return new Config(
                port,
                host,
                u,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withAdminToken(String t) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                t,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withRetention(Duration r) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                r,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withHeartbeat(Duration h) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                h,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withSlowClientTimeout(Duration s) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                s,
                ringSize,
                housekeeping);
    }

    public Config withWatchdog(Duration interval, Duration deadline) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                interval,
                deadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    public Config withRingSize(int n) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                n,
                housekeeping);
    }

    public Config withDataDir(Path d) {
        return new Config(
                port,
                host,
                databaseUrl,
                d,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                housekeeping);
    }

    // Withers for the housekeeping settings.
    public Config withHousekeeping(Housekeeping h) {
        return new Config(
                port,
                host,
                databaseUrl,
                dataDir,
                adminToken,
                retention,
                heartbeat,
                sseRetryMillis,
                maxBodyBytes,
                poolSize,
                watchdogInterval,
                watchdogDeadline,
                slowClientTimeout,
                ringSize,
                h);
    }

    public Config withRetentionInterval(Duration i) {
        Housekeeping h = housekeeping;
        return withHousekeeping(
                new Housekeeping(i, h.retentionBatch(), h.replayConnects(), h.replayRows(), h.replayWindow()));
    }

    public Config withRetentionBatch(int b) {
        Housekeeping h = housekeeping;
        return withHousekeeping(
                new Housekeeping(h.retentionInterval(), b, h.replayConnects(), h.replayRows(), h.replayWindow()));
    }

    public Config withReplayBudget(int connects, int rows, Duration window) {
        Housekeeping h = housekeeping;
        return withHousekeeping(new Housekeeping(h.retentionInterval(), h.retentionBatch(), connects, rows, window));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static int intVar(Map<String, String> env, String name, int dflt, int min, int max) {
        String v = blankToNull(env.get(name));
        if (v == null) return dflt;
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max)
                throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", got " + v);
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + v + "'");
        }
    }

    /** ISO-8601 durations (PT15S, P7D), as API.md documents them. */
    private static Duration durationVar(Map<String, String> env, String name, Duration dflt) {
        String v = blankToNull(env.get(name));
        if (v == null) return dflt;
        try {
            Duration d = Duration.parse(v.toUpperCase());
            if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(name + " must be positive, got " + v);
            return d;
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(
                    name + " must be an ISO-8601 duration such as PT15S or P7D, got '" + v + "'");
        }
    }
}
