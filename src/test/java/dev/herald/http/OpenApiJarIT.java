package dev.herald.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The jar carries docs/openapi.yaml where OpenApiRoutes reads it (the document is parsed on the
 * first request, so a jar without it would start and only fail there). An integration test
 * (Failsafe), so it runs after `package` has built the jar.
 */
class OpenApiJarIT {
    @Test
    void the_packaged_jar_carries_docs_openapi_yaml() throws Exception {
        Path jar = Path.of("target", "herald.jar");
        assertTrue(Files.exists(jar), "package builds target/herald.jar before integration tests");
        try (JarFile f = new JarFile(jar.toFile())) {
            var entry = f.getJarEntry(OpenApiRoutes.RESOURCE.substring(1));
            assertNotNull(entry, OpenApiRoutes.RESOURCE + " is not in " + jar);
            try (var in = f.getInputStream(entry)) {
                assertArrayEquals(Files.readAllBytes(Path.of("docs/openapi.yaml")), in.readAllBytes());
            }
        }
    }
}
