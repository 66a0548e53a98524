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
        int ringSize) {

    public static Config defaults() {
        return new Config(8080, "0.0.0.0", null, Path.of("data"), null,
                Duration.ofDays(7), Duration.ofSeconds(15), 2000, 64 * 1024, 16,
                Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(10), 512);
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
                intVar(env, "HERALD_RING_SIZE", d.ringSize, 16, 1_000_000));
    }

    public Config withPort(int p) { return new Config(p, host, databaseUrl, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withHost(String h) { return new Config(port, h, databaseUrl, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withDatabaseUrl(String u) { return new Config(port, host, u, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withAdminToken(String t) { return new Config(port, host, databaseUrl, dataDir, t, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withRetention(Duration r) { return new Config(port, host, databaseUrl, dataDir, adminToken, r, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withHeartbeat(Duration h) { return new Config(port, host, databaseUrl, dataDir, adminToken, retention, h, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }
    public Config withSlowClientTimeout(Duration s) { return new Config(port, host, databaseUrl, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, s, ringSize); }
    public Config withWatchdog(Duration interval, Duration deadline) { return new Config(port, host, databaseUrl, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, interval, deadline, slowClientTimeout, ringSize); }
    public Config withRingSize(int n) { return new Config(port, host, databaseUrl, dataDir, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, n); }
    public Config withDataDir(Path d) { return new Config(port, host, databaseUrl, d, adminToken, retention, heartbeat, sseRetryMillis, maxBodyBytes, poolSize, watchdogInterval, watchdogDeadline, slowClientTimeout, ringSize); }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    private static int intVar(Map<String, String> env, String name, int dflt, int min, int max) {
        String v = blankToNull(env.get(name));
        if (v == null) return dflt;
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", got " + v);
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
            throw new IllegalArgumentException(name + " must be an ISO-8601 duration such as PT15S or P7D, got '" + v + "'");
        }
    }
}
