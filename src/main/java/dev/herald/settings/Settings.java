package dev.herald.settings;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Herald's settings, read from the environment (docs/API.md "Running it"), one nested record
 * per concern. Every value has a default; tests change a few through {@link #with}.
 */
public record Settings(
        Http http,
        Storage storage,
        String adminToken,
        Streams streams,
        Watchdog watchdog,
        Retention retention,
        Replay replay,
        Publishing publishing,
        Limits limits,
        Jwt jwt,
        Cors cors,
        Tls tls,
        Warmup warmup) {

    /** The HTTP port: HERALD_HOST, HERALD_PORT, HERALD_MAX_BODY_BYTES. */
    public record Http(String host, int port, long maxBodyBytes) {}

    /** The database: HERALD_DATABASE_URL (none: embedded), HERALD_DATA_DIR, HERALD_POOL_SIZE. */
    public record Storage(String databaseUrl, Path dataDir, int poolSize) {}

    /**
     * Live delivery: HERALD_HEARTBEAT, HERALD_SSE_RETRY_MS, HERALD_SLOW_CLIENT_TIMEOUT,
     * HERALD_RING_SIZE (events each followed stream keeps encoded for its live subscribers; its
     * ring starts at 16 slots and doubles up to this) and HERALD_RING_BYTES (what the encoded
     * events of all streams may take on the heap together; least recently used streams' are
     * evicted beyond it, default 64 MiB).
     */
    public record Streams(
            Duration heartbeat, long sseRetryMillis, Duration slowClientTimeout, int ringSize, long ringBytes) {}

    /**
     * The warm-up before {@code /readyz} turns 200: HERALD_WARMUP events published (and
     * delivered) over loopback through the real stack, 0 for none; HERALD_WARMUP_LIMIT, the
     * longest it may take before the replica turns ready regardless.
     */
    public record Warmup(int publishes, Duration limit) {}

    /** The listener's self-ping: HERALD_WATCHDOG_INTERVAL, HERALD_WATCHDOG_DEADLINE. */
    public record Watchdog(Duration interval, Duration deadline) {}

    /**
     * The retention janitor: events older than {@code maxAge} (HERALD_RETENTION, default P7D)
     * are pruned every {@code interval} (HERALD_RETENTION_INTERVAL, default PT1M), {@code batch}
     * rows per stream per transaction (HERALD_RETENTION_BATCH, default 1000). A deleted stream's
     * events (a deleted chat's messages) are purged once the deletion is older than
     * {@code purgeDelay} (HERALD_PURGE_DELAY, default PT1M), so open streams still get them.
     */
    public record Retention(Duration maxAge, Duration interval, int batch, Duration purgeDelay) {}

    /**
     * The SSE replay budget per user: {@code connects} SSE connects and backlog requests
     * (HERALD_REPLAY_CONNECTS, default 60, 0 = unlimited) and {@code rows} backlog rows
     * (HERALD_REPLAY_ROWS, default 100000, 0 = unlimited) per {@code window}
     * (HERALD_REPLAY_WINDOW, default PT1M).
     */
    public record Replay(int connects, int rows, Duration window) {}

    /**
     * Publishing next to applications' own transactions: a publish waits at most
     * {@code lockTimeout} (HERALD_LOCK_TIMEOUT, default PT2S) for a stream's head row that
     * another transaction holds, then fails with 503; at most {@code slowLane}
     * (HERALD_SLOW_LANE, default 4) such waits run at once per replica, beyond that a publish
     * to a held stream fails at once. {@code writeTimeout} (HERALD_WRITE_TIMEOUT, default
     * PT10S, at least PT1S) bounds each statement of a group-commit transaction; its network
     * timeout and every publish's deadline follow from it (API.md "Group commit").
     */
    public record Publishing(Duration lockTimeout, int slowLane, Duration writeTimeout) {
        /** A batch waits up to 500 ms for a held head inside one statement: leave it room. */
        public static final Duration MIN_WRITE_TIMEOUT = Duration.ofSeconds(1);

        public Publishing {
            if (writeTimeout.compareTo(MIN_WRITE_TIMEOUT) < 0)
                throw new IllegalArgumentException("HERALD_WRITE_TIMEOUT must be at least PT1S, got " + writeTimeout);
        }
    }

    /**
     * Abuse limits: at most {@code maxStreamsPerUser} open SSE streams per user and replica
     * (HERALD_MAX_STREAMS_PER_USER, default 64; a tenant-wide token counts as its own user);
     * at most {@code authFailures} failed authentications (401) per client address per
     * {@code authFailureWindow} (HERALD_AUTH_FAILURES, default 20, 0 = unlimited;
     * HERALD_AUTH_FAILURE_WINDOW, default PT10S), then 429 for that address.
     */
    public record Limits(int maxStreamsPerUser, int authFailures, Duration authFailureWindow) {}

    /**
     * Tokens minted by the application's own issuer (API.md "Tokens from the application's own
     * issuer"): HS256 with {@code secret} (HERALD_JWT_SECRET, at least 32 bytes) and/or RS256 /
     * ES256 with the keys of the JWK Set at {@code jwksUrl} (HERALD_JWT_JWKS_URL); {@code issuer}
     * (HERALD_JWT_ISSUER, none: any) must equal {@code iss}; {@code audience}
     * (HERALD_JWT_AUDIENCE, default {@code herald}) must be in {@code aud}. Neither key: JWTs
     * are not accepted.
     */
    public record Jwt(String secret, String jwksUrl, String issuer, String audience) {
        public static final int MIN_SECRET_BYTES = 32;

        public Jwt {
            if (secret != null && secret.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < MIN_SECRET_BYTES)
                throw new IllegalArgumentException(
                        "HERALD_JWT_SECRET must be at least " + MIN_SECRET_BYTES + " bytes long (HS256)");
            if (jwksUrl != null) {
                try {
                    java.net.URI u = new java.net.URI(jwksUrl);
                    String scheme = u.getScheme();
                    if (u.getHost() == null || !("https".equalsIgnoreCase(scheme) || "http".equalsIgnoreCase(scheme)))
                        throw new java.net.URISyntaxException(jwksUrl, "not an http(s) URL with a host");
                } catch (java.net.URISyntaxException e) {
                    throw new IllegalArgumentException(
                            "HERALD_JWT_JWKS_URL must be an http(s) URL, got '" + jwksUrl + "'");
                }
            }
            if (audience == null || audience.isBlank())
                throw new IllegalArgumentException("HERALD_JWT_AUDIENCE must not be empty");
        }

        /** Whether any key is configured, so that JWTs are accepted at all. */
        public boolean enabled() {
            return secret != null || jwksUrl != null;
        }
    }

    /**
     * Browsers on other origins: HERALD_CORS_ORIGINS, a comma-separated list of exact origins
     * ({@code scheme://host[:port]}, no path; default none). Each is checked here and kept in
     * the form browsers send ({@code Origin}): scheme and host in lower case, no default port.
     */
    public record Cors(List<String> origins) {
        public static final String VARIABLE = "HERALD_CORS_ORIGINS";

        public Cors {
            LinkedHashSet<String> checked = new LinkedHashSet<>();
            for (String o : origins) checked.add(origin(o));
            origins = List.copyOf(checked);
        }

        /** A comma-separated list (blank entries ignored). */
        public static Cors parse(String list) {
            if (list == null || list.isBlank()) return new Cors(List.of());
            return new Cors(Arrays.stream(list.split(","))
                    .map(String::trim)
                    .filter(x -> !x.isEmpty())
                    .toList());
        }

        /** One origin as browsers send it; an IllegalArgumentException naming the variable if it is none. */
        static String origin(String value) {
            String v = value == null ? "" : value.trim();
            String why = null;
            URI u = null;
            try {
                u = new URI(v);
            } catch (URISyntaxException e) {
                why = "not a URL";
            }
            if (why == null) {
                if (u.getScheme() == null || u.getRawAuthority() == null || u.getHost() == null) {
                    why = "expected scheme://host[:port]";
                } else if (u.getRawUserInfo() != null) {
                    why = "no user info allowed";
                } else if (!u.getRawPath().isEmpty()) {
                    why = "no path allowed (not even a trailing '/')";
                } else if (u.getRawQuery() != null || u.getRawFragment() != null) {
                    why = "no query or fragment allowed";
                } else if (u.getPort() == 0
                        || (u.getPort() < 0 && u.getRawAuthority().endsWith(":"))) {
                    why = "bad port";
                }
            }
            if (why != null) {
                throw new IllegalArgumentException(VARIABLE + ": '" + v + "' is not an origin (" + why
                        + "); list exact origins such as https://app.example.com or http://localhost:3000");
            }
            String scheme = u.getScheme().toLowerCase(Locale.ROOT);
            String host = u.getHost().toLowerCase(Locale.ROOT);
            int port = u.getPort();
            boolean defaultPort = (scheme.equals("https") && port == 443) || (scheme.equals("http") && port == 80);
            return scheme + "://" + host + (port < 0 || defaultPort ? "" : ":" + port);
        }
    }

    /**
     * HTTPS on HERALD_PORT instead of cleartext: HERALD_TLS_KEYSTORE (a PKCS12 or JKS file with
     * the server's key and certificate chain) and HERALD_TLS_KEYSTORE_PASSWORD. Null keystore:
     * cleartext (HTTP/1.1 and h2c).
     */
    public record Tls(Path keystore, String password) {
        public static final Tls NONE = new Tls(null, null);

        public boolean enabled() {
            return keystore != null;
        }
    }

    public static Settings defaults() {
        return new Settings(
                new Http("0.0.0.0", 8080, 64 * 1024),
                new Storage(null, Path.of("data"), 16),
                null,
                new Streams(Duration.ofSeconds(15), 2000, Duration.ofSeconds(10), 512, 64L * 1024 * 1024),
                new Watchdog(Duration.ofSeconds(1), Duration.ofSeconds(3)),
                new Retention(Duration.ofDays(7), Duration.ofMinutes(1), 1000, Duration.ofMinutes(1)),
                new Replay(60, 100_000, Duration.ofMinutes(1)),
                // 10 s: the heaviest write Herald runs (mark-all-read of 50,000 inbox rows, 1-4 s
                // here, in a transaction of its own) would fit 2.5 times; publish_batch of 1,000
                // events (twice the largest batch) took at most 0.65 s on a fully busy machine.
                new Publishing(Duration.ofSeconds(2), 4, Duration.ofSeconds(10)),
                new Limits(64, 20, Duration.ofSeconds(10)),
                new Jwt(null, null, null, "herald"),
                new Cors(List.of()),
                Tls.NONE,
                // 6,000: measured end to end (bench e2e, two replicas started together, 100
                // subscribers x 200 events/s; bench/RESULTS.md), the first 1,000 publishes after
                // ready had p99 80 ms; 3,000 left 139 ms, none 254-484 ms. It takes 9 s on one
                // replica alone on this 2-core machine, 19-24 s for two starting at once.
                new Warmup(6_000, Duration.ofSeconds(60)));
    }

    public static Settings fromEnv(Map<String, String> env) {
        Settings d = defaults();
        Env e = new Env(env);
        return new Settings(
                new Http(
                        env.getOrDefault("HERALD_HOST", d.http.host()),
                        e.integer("HERALD_PORT", d.http.port(), 0, 65535),
                        e.integer("HERALD_MAX_BODY_BYTES", (int) d.http.maxBodyBytes(), 1024, 64 * 1024 * 1024)),
                new Storage(
                        e.text("HERALD_DATABASE_URL"),
                        Path.of(env.getOrDefault(
                                "HERALD_DATA_DIR", d.storage.dataDir().toString())),
                        e.integer("HERALD_POOL_SIZE", d.storage.poolSize(), 2, 500)),
                adminToken(e.text("HERALD_ADMIN_TOKEN")),
                new Streams(
                        e.duration("HERALD_HEARTBEAT", d.streams.heartbeat()),
                        e.integer("HERALD_SSE_RETRY_MS", (int) d.streams.sseRetryMillis(), 0, 3_600_000),
                        e.duration("HERALD_SLOW_CLIENT_TIMEOUT", d.streams.slowClientTimeout()),
                        e.integer("HERALD_RING_SIZE", d.streams.ringSize(), 16, 1_000_000),
                        e.integer("HERALD_RING_BYTES", (int) d.streams.ringBytes(), 64 * 1024, Integer.MAX_VALUE)),
                new Watchdog(
                        e.duration("HERALD_WATCHDOG_INTERVAL", d.watchdog.interval()),
                        e.duration("HERALD_WATCHDOG_DEADLINE", d.watchdog.deadline())),
                new Retention(
                        e.duration("HERALD_RETENTION", d.retention.maxAge()),
                        e.duration("HERALD_RETENTION_INTERVAL", d.retention.interval()),
                        e.integer("HERALD_RETENTION_BATCH", d.retention.batch(), 1, 100_000),
                        e.duration("HERALD_PURGE_DELAY", d.retention.purgeDelay())),
                new Replay(
                        e.integer("HERALD_REPLAY_CONNECTS", d.replay.connects(), 0, 1_000_000),
                        e.integer("HERALD_REPLAY_ROWS", d.replay.rows(), 0, 1_000_000_000),
                        e.duration("HERALD_REPLAY_WINDOW", d.replay.window())),
                new Publishing(
                        e.duration("HERALD_LOCK_TIMEOUT", d.publishing.lockTimeout()),
                        e.integer("HERALD_SLOW_LANE", d.publishing.slowLane(), 1, 1_000),
                        e.duration("HERALD_WRITE_TIMEOUT", d.publishing.writeTimeout())),
                new Limits(
                        e.integer("HERALD_MAX_STREAMS_PER_USER", d.limits.maxStreamsPerUser(), 1, 1_000_000),
                        e.integer("HERALD_AUTH_FAILURES", d.limits.authFailures(), 0, 1_000_000),
                        e.duration("HERALD_AUTH_FAILURE_WINDOW", d.limits.authFailureWindow())),
                new Jwt(
                        e.secret("HERALD_JWT_SECRET"),
                        e.text("HERALD_JWT_JWKS_URL"),
                        e.text("HERALD_JWT_ISSUER"),
                        Objects.requireNonNullElse(e.text("HERALD_JWT_AUDIENCE"), d.jwt.audience())),
                Cors.parse(e.text(Cors.VARIABLE)),
                e.tls(),
                new Warmup(
                        e.integer("HERALD_WARMUP", d.warmup.publishes(), 0, 1_000_000),
                        e.duration("HERALD_WARMUP_LIMIT", d.warmup.limit())));
    }

    /** The shortest HERALD_ADMIN_TOKEN accepted. */
    public static final int MIN_ADMIN_TOKEN_LENGTH = 32;

    private static String adminToken(String token) {
        if (token != null && token.length() < MIN_ADMIN_TOKEN_LENGTH) {
            throw new IllegalArgumentException("HERALD_ADMIN_TOKEN must be at least " + MIN_ADMIN_TOKEN_LENGTH
                    + " characters long (it has " + token.length() + "); generate one with: openssl rand -hex 24");
        }
        return token;
    }

    /** A copy with some values changed: {@code s.with(b -> b.port(0).adminToken("…"))}. */
    public Settings with(UnaryOperator<Builder> change) {
        return change.apply(new Builder(this)).build();
    }

    /** Changes to a copy of {@link Settings}, one concern's value at a time. */
    public static final class Builder {
        private Http http;
        private Storage storage;
        private String adminToken;
        private Streams streams;
        private Watchdog watchdog;
        private Retention retention;
        private Replay replay;
        private Publishing publishing;
        private Limits limits;
        private Jwt jwt;
        private Cors cors;
        private Tls tls;
        private Warmup warmup;

        private Builder(Settings s) {
            http = s.http;
            storage = s.storage;
            adminToken = s.adminToken;
            streams = s.streams;
            watchdog = s.watchdog;
            retention = s.retention;
            replay = s.replay;
            publishing = s.publishing;
            limits = s.limits;
            jwt = s.jwt;
            cors = s.cors;
            tls = s.tls;
            warmup = s.warmup;
        }

        public Builder host(String host) {
            http = new Http(host, http.port(), http.maxBodyBytes());
            return this;
        }

        public Builder port(int port) {
            http = new Http(http.host(), port, http.maxBodyBytes());
            return this;
        }

        public Builder databaseUrl(String url) {
            storage = new Storage(url, storage.dataDir(), storage.poolSize());
            return this;
        }

        public Builder dataDir(Path dir) {
            storage = new Storage(storage.databaseUrl(), dir, storage.poolSize());
            return this;
        }

        public Builder adminToken(String token) {
            adminToken = token;
            return this;
        }

        public Builder streams(Streams s) {
            streams = s;
            return this;
        }

        public Builder heartbeat(Duration heartbeat) {
            streams = new Streams(
                    heartbeat,
                    streams.sseRetryMillis(),
                    streams.slowClientTimeout(),
                    streams.ringSize(),
                    streams.ringBytes());
            return this;
        }

        public Builder slowClientTimeout(Duration timeout) {
            streams = new Streams(
                    streams.heartbeat(), streams.sseRetryMillis(), timeout, streams.ringSize(), streams.ringBytes());
            return this;
        }

        public Builder ringSize(int size) {
            streams = new Streams(
                    streams.heartbeat(),
                    streams.sseRetryMillis(),
                    streams.slowClientTimeout(),
                    size,
                    streams.ringBytes());
            return this;
        }

        public Builder ringBytes(long bytes) {
            streams = new Streams(
                    streams.heartbeat(),
                    streams.sseRetryMillis(),
                    streams.slowClientTimeout(),
                    streams.ringSize(),
                    bytes);
            return this;
        }

        public Builder watchdog(Duration interval, Duration deadline) {
            watchdog = new Watchdog(interval, deadline);
            return this;
        }

        public Builder retention(Retention r) {
            retention = r;
            return this;
        }

        public Builder retentionMaxAge(Duration maxAge) {
            retention = new Retention(maxAge, retention.interval(), retention.batch(), retention.purgeDelay());
            return this;
        }

        public Builder retentionInterval(Duration interval) {
            retention = new Retention(retention.maxAge(), interval, retention.batch(), retention.purgeDelay());
            return this;
        }

        public Builder retentionBatch(int batch) {
            retention = new Retention(retention.maxAge(), retention.interval(), batch, retention.purgeDelay());
            return this;
        }

        public Builder purgeDelay(Duration delay) {
            retention = new Retention(retention.maxAge(), retention.interval(), retention.batch(), delay);
            return this;
        }

        public Builder replay(int connects, int rows, Duration window) {
            replay = new Replay(connects, rows, window);
            return this;
        }

        public Builder lockTimeout(Duration timeout) {
            publishing = new Publishing(timeout, publishing.slowLane(), publishing.writeTimeout());
            return this;
        }

        public Builder writeTimeout(Duration timeout) {
            publishing = new Publishing(publishing.lockTimeout(), publishing.slowLane(), timeout);
            return this;
        }

        public Builder maxStreamsPerUser(int max) {
            limits = new Limits(max, limits.authFailures(), limits.authFailureWindow());
            return this;
        }

        public Builder authFailures(int failures, Duration window) {
            limits = new Limits(limits.maxStreamsPerUser(), failures, window);
            return this;
        }

        public Builder jwt(Jwt j) {
            jwt = j;
            return this;
        }

        /** HS256 tokens signed with {@code secret} (null: none). */
        public Builder jwtSecret(String secret) {
            jwt = new Jwt(secret, jwt.jwksUrl(), jwt.issuer(), jwt.audience());
            return this;
        }

        /** RS256 / ES256 tokens signed with a key of the JWK Set at {@code url} (null: none). */
        public Builder jwtJwksUrl(String url) {
            jwt = new Jwt(jwt.secret(), url, jwt.issuer(), jwt.audience());
            return this;
        }

        /** The required {@code iss} (null: any). */
        public Builder jwtIssuer(String issuer) {
            jwt = new Jwt(jwt.secret(), jwt.jwksUrl(), issuer, jwt.audience());
            return this;
        }

        public Builder jwtAudience(String audience) {
            jwt = new Jwt(jwt.secret(), jwt.jwksUrl(), jwt.issuer(), audience);
            return this;
        }

        /** Exact origins allowed to call the API from a browser (HERALD_CORS_ORIGINS). */
        public Builder corsOrigins(String... origins) {
            cors = new Cors(List.of(origins));
            return this;
        }

        /** HTTPS with this keystore (PKCS12 or JKS); null: cleartext. */
        public Builder tls(Path keystore, String password) {
            tls = keystore == null ? Tls.NONE : new Tls(keystore, password);
            return this;
        }

        public Settings build() {
            return new Settings(
                    http,
                    storage,
                    adminToken,
                    streams,
                    watchdog,
                    retention,
                    replay,
                    publishing,
                    limits,
                    jwt,
                    cors,
                    tls,
                    warmup);
        }

        /** Events to publish in the warm-up before {@code /readyz} turns 200 (0: none). */
        public Builder warmup(int publishes) {
            return warmup(publishes, warmup.limit());
        }

        /** The warm-up's events, and the longest it may take before the replica turns ready regardless. */
        public Builder warmup(int publishes, Duration limit) {
            warmup = new Warmup(publishes, limit);
            return this;
        }
    }

    /** Reads and checks environment variables; every error names the variable. */
    private record Env(Map<String, String> env) {
        String text(String name) {
            String s = env.get(name);
            return s == null || s.isBlank() ? null : s.trim();
        }

        /** A secret, taken as is (surrounding spaces are part of it); empty means unset. */
        String secret(String name) {
            String s = env.get(name);
            return s == null || s.isEmpty() ? null : s;
        }

        int integer(String name, int dflt, int min, int max) {
            String v = text(name);
            if (v == null) return dflt;
            try {
                int n = Integer.parseInt(v);
                if (n < min || n > max) {
                    throw new IllegalArgumentException(name + " must be between " + min + " and " + max + ", got " + v);
                }
                return n;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " must be a whole number, got '" + v + "'");
            }
        }

        Tls tls() {
            String keystore = text("HERALD_TLS_KEYSTORE");
            String password = env.get("HERALD_TLS_KEYSTORE_PASSWORD");
            if (keystore == null) {
                if (password != null && !password.isEmpty()) {
                    throw new IllegalArgumentException(
                            "HERALD_TLS_KEYSTORE_PASSWORD is set but HERALD_TLS_KEYSTORE is not");
                }
                return Tls.NONE;
            }
            Path p = Path.of(keystore);
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("HERALD_TLS_KEYSTORE: cannot read " + p.toAbsolutePath());
            }
            if (password == null) {
                throw new IllegalArgumentException("HERALD_TLS_KEYSTORE_PASSWORD is required with HERALD_TLS_KEYSTORE");
            }
            return new Tls(p, password);
        }

        /** ISO-8601 durations (PT15S, P7D), as docs/API.md documents them. */
        Duration duration(String name, Duration dflt) {
            String v = text(name);
            if (v == null) return dflt;
            try {
                Duration d = Duration.parse(v.toUpperCase());
                if (d.isNegative() || d.isZero())
                    throw new IllegalArgumentException(name + " must be positive, got " + v);
                return d;
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException(
                        name + " must be an ISO-8601 duration such as PT15S or P7D, got '" + v + "'");
            }
        }
    }
}
