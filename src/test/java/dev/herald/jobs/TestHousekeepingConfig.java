package dev.herald.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.herald.config.Config;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TestHousekeepingConfig {

    @Test
    void defaults_are_a_week_of_retention_a_janitor_a_minute_and_60_connects_a_minute() {
        Config.Housekeeping h = Config.fromEnv(Map.of()).housekeeping();
        assertEquals(Duration.ofDays(7), Config.fromEnv(Map.of()).retention());
        assertEquals(new Config.Housekeeping(Duration.ofMinutes(1), 1000, 60, 100_000, Duration.ofMinutes(1)), h);
    }

    @Test
    void the_environment_sets_every_housekeeping_value_and_rejects_nonsense() {
        Config c = Config.fromEnv(Map.of(
                "HERALD_RETENTION", "P1D",
                "HERALD_RETENTION_INTERVAL", "PT5S",
                "HERALD_RETENTION_BATCH", "250",
                "HERALD_REPLAY_CONNECTS", "0",
                "HERALD_REPLAY_ROWS", "5000",
                "HERALD_REPLAY_WINDOW", "PT30S"));
        assertEquals(Duration.ofDays(1), c.retention());
        assertEquals(
                new Config.Housekeeping(Duration.ofSeconds(5), 250, 0, 5000, Duration.ofSeconds(30)), c.housekeeping());
        assertThrows(IllegalArgumentException.class, () -> Config.fromEnv(Map.of("HERALD_RETENTION_BATCH", "0")));
        assertThrows(IllegalArgumentException.class, () -> Config.fromEnv(Map.of("HERALD_REPLAY_CONNECTS", "-1")));
        assertThrows(IllegalArgumentException.class, () -> Config.fromEnv(Map.of("HERALD_RETENTION_INTERVAL", "soon")));
        assertThrows(IllegalArgumentException.class, () -> Config.fromEnv(Map.of("HERALD_REPLAY_WINDOW", "PT0S")));
        // Withers keep the other settings.
        Config tuned = Config.defaults()
                .withRetentionBatch(7)
                .withReplayBudget(3, 9, Duration.ofSeconds(2))
                .withPort(1234);
        assertEquals(
                new Config.Housekeeping(Duration.ofMinutes(1), 7, 3, 9, Duration.ofSeconds(2)), tuned.housekeeping());
    }
}
