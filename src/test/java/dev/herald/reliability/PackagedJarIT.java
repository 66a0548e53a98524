package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The jar a newcomer runs (`java -jar target/herald.jar`) exits 0 within 10 s on SIGTERM.
 * An integration test (Failsafe), so it runs after `package` has built the jar.
 */
class PackagedJarIT {
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void the_packaged_jar_exits_0_within_10_s_on_sigterm() throws Exception {
        Path jar = Path.of("target", "herald.jar");
        assertTrue(Files.exists(jar), "package builds target/herald.jar before integration tests");
        new TestSigterm().runAndTerminate(List.of("-jar", jar.toString()));
    }
}
