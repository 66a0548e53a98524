package dev.herald.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TestSettings {

    @Test
    void defaults_are_a_week_of_retention_a_janitor_a_minute_and_60_connects_a_minute() {
        Settings s = Settings.fromEnv(Map.of());
        assertEquals(
                new Settings.Retention(Duration.ofDays(7), Duration.ofMinutes(1), 1000, Duration.ofMinutes(1)),
                s.retention());
        assertEquals(new Settings.Replay(60, 100_000, Duration.ofMinutes(1)), s.replay());
    }

    @Test
    void the_environment_sets_every_housekeeping_value_and_rejects_nonsense() {
        Settings c = Settings.fromEnv(Map.of(
                "HERALD_RETENTION", "P1D",
                "HERALD_RETENTION_INTERVAL", "PT5S",
                "HERALD_RETENTION_BATCH", "250",
                "HERALD_PURGE_DELAY", "PT10M",
                "HERALD_REPLAY_CONNECTS", "0",
                "HERALD_REPLAY_ROWS", "5000",
                "HERALD_REPLAY_WINDOW", "PT30S"));
        assertEquals(
                new Settings.Retention(Duration.ofDays(1), Duration.ofSeconds(5), 250, Duration.ofMinutes(10)),
                c.retention());
        assertEquals(new Settings.Replay(0, 5000, Duration.ofSeconds(30)), c.replay());
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_RETENTION_BATCH", "0")));
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_REPLAY_CONNECTS", "-1")));
        assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_RETENTION_INTERVAL", "soon")));
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_REPLAY_WINDOW", "PT0S")));
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_PURGE_DELAY", "-PT1M")));
    }

    @Test
    void rings_start_at_512_events_a_stream_and_64_mib_in_all_and_the_environment_changes_both() {
        Settings d = Settings.fromEnv(Map.of());
        assertEquals(512, d.streams().ringSize());
        assertEquals(64L * 1024 * 1024, d.streams().ringBytes());
        Settings c = Settings.fromEnv(Map.of("HERALD_RING_SIZE", "2048", "HERALD_RING_BYTES", "1048576"));
        assertEquals(2048, c.streams().ringSize());
        assertEquals(1_048_576, c.streams().ringBytes());
        assertEquals(d.streams().heartbeat(), c.streams().heartbeat());
        var e = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_RING_BYTES", "1000")));
        assertTrue(e.getMessage().contains("HERALD_RING_BYTES"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_RING_BYTES", "64MB")));
        Settings tuned = Settings.defaults().with(b -> b.ringBytes(123_456).ringSize(64));
        assertEquals(123_456, tuned.streams().ringBytes());
        assertEquals(64, tuned.streams().ringSize());
        assertEquals(
                Settings.defaults().streams().slowClientTimeout(),
                tuned.streams().slowClientTimeout());
    }

    @Test
    void a_change_keeps_every_other_setting() {
        Settings tuned = Settings.defaults()
                .with(b ->
                        b.retentionBatch(7).replay(3, 9, Duration.ofSeconds(2)).port(1234));
        assertEquals(
                new Settings.Retention(Duration.ofDays(7), Duration.ofMinutes(1), 7, Duration.ofMinutes(1)),
                tuned.retention());
        assertEquals(new Settings.Replay(3, 9, Duration.ofSeconds(2)), tuned.replay());
        assertEquals(1234, tuned.http().port());
        assertEquals(Settings.defaults().http().host(), tuned.http().host());
        assertEquals(Settings.defaults().streams(), tuned.streams());
        assertEquals(
                new Settings.Retention(Duration.ofDays(7), Duration.ofMinutes(1), 7, Duration.ofSeconds(5)),
                tuned.with(b -> b.purgeDelay(Duration.ofSeconds(5))).retention());
    }

    @Test
    void settings_come_from_the_environment_with_clear_errors() {
        var e = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_PORT", "not-a-port")));
        assertTrue(e.getMessage().contains("HERALD_PORT"));
        var d = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_HEARTBEAT", "15 seconds")));
        assertTrue(d.getMessage().contains("ISO-8601"));
        assertEquals(
                Duration.ofSeconds(5),
                Settings.fromEnv(Map.of("HERALD_HEARTBEAT", "PT5S")).streams().heartbeat());
    }

    @Test
    void the_write_timeout_defaults_to_10_seconds_comes_from_the_environment_and_is_at_least_a_second() {
        assertEquals(
                new Settings.Publishing(Duration.ofSeconds(2), 4, Duration.ofSeconds(10)),
                Settings.fromEnv(Map.of()).publishing());
        assertEquals(
                Duration.ofSeconds(30),
                Settings.fromEnv(Map.of("HERALD_WRITE_TIMEOUT", "PT30S"))
                        .publishing()
                        .writeTimeout());
        var e = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_WRITE_TIMEOUT", "PT0.5S")));
        assertTrue(e.getMessage().contains("HERALD_WRITE_TIMEOUT"), e.getMessage());
        assertEquals(
                Duration.ofSeconds(3),
                Settings.defaults()
                        .with(b -> b.writeTimeout(Duration.ofSeconds(3)))
                        .publishing()
                        .writeTimeout());
    }

    @Test
    void abuse_limits_default_to_64_streams_and_20_failures_per_10_seconds_and_come_from_the_environment() {
        assertEquals(
                new Settings.Limits(64, 20, Duration.ofSeconds(10)),
                Settings.fromEnv(Map.of()).limits());
        Settings c = Settings.fromEnv(Map.of(
                "HERALD_MAX_STREAMS_PER_USER", "5",
                "HERALD_AUTH_FAILURES", "0",
                "HERALD_AUTH_FAILURE_WINDOW", "PT1M"));
        assertEquals(new Settings.Limits(5, 0, Duration.ofMinutes(1)), c.limits());
        assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_MAX_STREAMS_PER_USER", "0")));
        assertThrows(IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_AUTH_FAILURES", "-1")));
        Settings tuned = Settings.defaults().with(b -> b.maxStreamsPerUser(2).authFailures(3, Duration.ofSeconds(4)));
        assertEquals(new Settings.Limits(2, 3, Duration.ofSeconds(4)), tuned.limits());
        assertEquals(Settings.defaults().replay(), tuned.replay());
    }

    @Test
    void an_admin_token_must_have_at_least_32_characters() {
        var e = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_ADMIN_TOKEN", "a".repeat(31))));
        assertTrue(e.getMessage().contains("at least 32"), e.getMessage());
        assertEquals(
                "a".repeat(32),
                Settings.fromEnv(Map.of("HERALD_ADMIN_TOKEN", "a".repeat(32))).adminToken());
    }

    @Test
    void jwt_keys_come_from_the_environment_and_a_short_secret_or_bad_url_stops_the_server() {
        Settings.Jwt none = Settings.fromEnv(Map.of()).jwt();
        assertEquals(new Settings.Jwt(null, null, null, "herald"), none);
        assertTrue(!none.enabled());
        String secret = "s".repeat(32);
        Settings.Jwt j = Settings.fromEnv(Map.of(
                        "HERALD_JWT_SECRET", secret,
                        "HERALD_JWT_JWKS_URL", "https://id.example.com/.well-known/jwks.json",
                        "HERALD_JWT_ISSUER", "https://id.example.com",
                        "HERALD_JWT_AUDIENCE", "notifications"))
                .jwt();
        assertEquals(
                new Settings.Jwt(
                        secret,
                        "https://id.example.com/.well-known/jwks.json",
                        "https://id.example.com",
                        "notifications"),
                j);
        assertTrue(j.enabled());
        var shortSecret = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_JWT_SECRET", "s".repeat(31))));
        assertTrue(shortSecret.getMessage().contains("HERALD_JWT_SECRET"));
        var badUrl = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_JWT_JWKS_URL", "jwks.json")));
        assertTrue(badUrl.getMessage().contains("HERALD_JWT_JWKS_URL"));
        Settings tuned = Settings.defaults().with(b -> b.jwtSecret(secret).jwtIssuer("me"));
        assertEquals(new Settings.Jwt(secret, null, "me", "herald"), tuned.jwt());
        assertEquals(Settings.defaults().replay(), tuned.replay());
    }

    @Test
    void cors_origins_are_exact_origins_checked_at_start() {
        assertEquals(List.of(), Settings.fromEnv(Map.of()).cors().origins());
        Settings s = Settings.fromEnv(Map.of(
                "HERALD_CORS_ORIGINS", " https://App.Example.com , http://localhost:3000,https://x.example:443,"));
        assertEquals(
                List.of("https://app.example.com", "http://localhost:3000", "https://x.example"),
                s.cors().origins());
        for (String bad : List.of(
                "https://app.example.com/",
                "https://app.example.com/path",
                "app.example.com",
                "*",
                "null",
                "https://app.example.com?x=1",
                "https://user@app.example.com",
                "http://localhost:")) {
            var e = assertThrows(
                    IllegalArgumentException.class,
                    () -> Settings.fromEnv(Map.of("HERALD_CORS_ORIGINS", "http://ok.example," + bad)),
                    bad);
            assertTrue(e.getMessage().contains("HERALD_CORS_ORIGINS"), e.getMessage());
            assertTrue(e.getMessage().contains(bad.trim()), e.getMessage());
        }
        assertEquals(
                List.of("http://127.0.0.1:9"),
                Settings.defaults()
                        .with(b -> b.corsOrigins("http://127.0.0.1:9"))
                        .cors()
                        .origins());
        assertThrows(IllegalArgumentException.class, () -> Settings.defaults().with(b -> b.corsOrigins("http://x/")));
    }

    @Test
    void tls_needs_a_readable_keystore_and_its_password(@TempDir Path dir) throws Exception {
        assertFalse(Settings.fromEnv(Map.of()).tls().enabled());
        Path ks = Files.writeString(dir.resolve("server.p12"), "not really a keystore");
        Settings s = Settings.fromEnv(
                Map.of("HERALD_TLS_KEYSTORE", ks.toString(), "HERALD_TLS_KEYSTORE_PASSWORD", "secret"));
        assertEquals(new Settings.Tls(ks, "secret"), s.tls());
        var missing = assertThrows(
                IllegalArgumentException.class,
                () -> Settings.fromEnv(Map.of(
                        "HERALD_TLS_KEYSTORE",
                        dir.resolve("absent.p12").toString(),
                        "HERALD_TLS_KEYSTORE_PASSWORD",
                        "x")));
        assertTrue(missing.getMessage().contains("HERALD_TLS_KEYSTORE"), missing.getMessage());
        var noPassword = assertThrows(
                IllegalArgumentException.class, () -> Settings.fromEnv(Map.of("HERALD_TLS_KEYSTORE", ks.toString())));
        assertTrue(noPassword.getMessage().contains("HERALD_TLS_KEYSTORE_PASSWORD"), noPassword.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> Settings.fromEnv(Map.of("HERALD_TLS_KEYSTORE_PASSWORD", "secret")));
    }
}
