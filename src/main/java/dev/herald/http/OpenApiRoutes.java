package dev.herald.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.herald.json.Json;
import io.javalin.config.RoutesConfig;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * {@code GET /api/v1/openapi.json} (API.md section 7.2): the HTTP contract as an OpenAPI 3.1
 * document, without a token. The document is written by hand as {@code docs/openapi.yaml}
 * (spec-first, docs/adr/0085); the build ships that file in the jar, and it is parsed once per
 * process, on the first request (a cold YAML parse costs about as much as starting Javalin, and
 * no start should pay it), then served as JSON with an ETag, like the page files.
 */
public final class OpenApiRoutes {
    public static final String PATH = "/api/v1/openapi.json";
    /** Where the build puts docs/openapi.yaml on the classpath (pom.xml, resources). */
    static final String RESOURCE = "/openapi/openapi.yaml";

    public void register(RoutesConfig routes) {
        routes.get(PATH, ctx -> Document.JSON.serve(ctx));
    }

    /** Parsed on first use, once per process (the JVM's class initialization makes it so). */
    private static final class Document {
        static final StaticBody JSON = StaticBody.of(toJson(read()), JsonResponses.CONTENT_TYPE, Map.of());

        private static byte[] read() {
            try (InputStream in = OpenApiRoutes.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("missing resource " + RESOURCE);
                return in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + RESOURCE, e);
            }
        }

        private static byte[] toJson(byte[] yaml) {
            try {
                JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(yaml);
                if (doc == null || !doc.path("openapi").isTextual())
                    throw new IllegalStateException(RESOURCE + " is not an OpenAPI document");
                return Json.MAPPER.writeValueAsBytes(doc);
            } catch (IOException e) {
                throw new IllegalStateException("cannot parse " + RESOURCE + ": " + e.getMessage(), e);
            }
        }
    }
}
