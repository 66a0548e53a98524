package dev.herald.browser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The page's files over HTTP (the browser behaviour is TestInboxPage's). */
class TestPages {
    @RegisterExtension
    static final TestServer server = TestServer.replicas(1);

    @Test
    void the_page_is_html_with_a_strict_policy_and_no_inline_script(Api api) {
        Api.Response r = api.get("/", null);
        assertEquals(200, r.status());
        assertEquals("text/html;charset=utf-8", r.header("Content-Type").replace(" ", ""));
        assertEquals(Pages.PAGE_CSP, r.header("Content-Security-Policy"));
        assertEquals("nosniff", r.header("X-Content-Type-Options"));
        assertEquals("no-referrer", r.header("Referrer-Policy"));
        assertEquals("DENY", r.header("X-Frame-Options"));
        assertTrue(r.body().contains("<script type=\"module\" src=\"/assets/inbox.js\"></script>"));
        assertFalse(r.body().matches("(?s).*<script(?![^>]*\\bsrc=)[^>]*>.*"), "inline script in the page");
        assertFalse(r.body().contains("style="), "inline style in the page");
    }

    @Test
    void the_client_is_a_module_and_a_classic_script(Api api) {
        Api.Response module = api.get("/herald.js", null);
        assertEquals(200, module.status());
        assertEquals(
                "text/javascript;charset=utf-8", module.header("Content-Type").replace(" ", ""));
        assertEquals("*", module.header("Access-Control-Allow-Origin"));
        assertTrue(module.body().contains("\nexport default Herald;"));

        Api.Response classic = api.get("/herald.classic.js", null);
        assertEquals(200, classic.status());
        assertEquals(
                "text/javascript;charset=utf-8", classic.header("Content-Type").replace(" ", ""));
        assertFalse(classic.body().contains("\nexport "), "export statement in the classic build");
        assertTrue(classic.body().startsWith("/* Herald browser client, classic-script build"));
        assertTrue(classic.body().endsWith("globalThis.Herald = Herald;\n})();\n"));
        assertTrue(classic.body().contains("function subscribe(url, options)"));
    }

    @Test
    void the_clients_types_are_typescript_and_named_by_the_module(Api api) throws Exception {
        Api.Response types = api.get("/herald.d.ts", null);
        assertEquals(200, types.status());
        assertEquals(
                "application/typescript;charset=utf-8",
                types.header("Content-Type").replace(" ", ""));
        assertEquals("*", types.header("Access-Control-Allow-Origin"));
        assertEquals("nosniff", types.header("X-Content-Type-Options"));
        try (var in = Pages.class.getResourceAsStream("/web/herald.d.ts")) {
            assertNotNull(in);
            assertEquals(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), types.body());
        }
        assertTrue(types.body().contains("\nexport declare function subscribe<"));
        // Deno type-checks an import of /herald.js with these types.
        assertEquals("/herald.d.ts", api.get("/herald.js", null).header("X-TypeScript-Types"));
        assertEquals(null, api.get("/herald.classic.js", null).header("X-TypeScript-Types"));
    }

    @Test
    void assets_revalidate_with_an_etag(Api api) {
        for (String path : new String[] {
            "/",
            "/herald.js",
            "/herald.classic.js",
            "/herald.d.ts",
            "/assets/inbox.js",
            "/assets/inbox.css",
            "/favicon.svg"
        }) {
            Api.Response r = api.get(path, null);
            assertEquals(200, r.status(), path);
            assertEquals("no-cache", r.header("Cache-Control"), path);
            String etag = r.header("ETag");
            assertNotNull(etag, path);
            Api.Response again = api.send("GET", path, null, null, Map.of("If-None-Match", etag));
            assertEquals(304, again.status(), path);
            assertEquals("", again.body(), path);
            Api.Response stale = api.send("GET", path, null, null, Map.of("If-None-Match", "\"other\""));
            assertEquals(200, stale.status(), path);
        }
        assertEquals(
                "text/css;charset=utf-8",
                api.get("/assets/inbox.css", null).header("Content-Type").replace(" ", ""));
        assertEquals("image/svg+xml", api.get("/favicon.svg", null).header("Content-Type"));
    }

    @Test
    void unknown_assets_are_json_404s(Api api) {
        Api.Response r = api.get("/assets/nope.js", null);
        assertEquals(404, r.status());
        assertEquals("not_found", r.errorCode());
    }

    @Test
    void the_classic_build_needs_the_exports_marker_and_nothing_exported_before_it() {
        assertThrows(
                IllegalStateException.class, () -> Pages.classicBuild("const Herald = {};\nexport default Herald;\n"));
        assertThrows(
                IllegalStateException.class,
                () -> Pages.classicBuild("export const x = 1;\n" + Pages.EXPORTS_MARKER + "\n"));
        String built = Pages.classicBuild("const Herald = {};\n" + Pages.EXPORTS_MARKER + "\nexport default Herald;\n");
        assertFalse(built.contains("export"));
        assertTrue(built.contains("globalThis.Herald = Herald;"));
    }
}
