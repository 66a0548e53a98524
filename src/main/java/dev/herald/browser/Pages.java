package dev.herald.browser;

import dev.herald.http.StaticBody;
import io.javalin.config.RoutesConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The browser side (API.md section 5): {@code GET /} is the inbox page, {@code GET /herald.js}
 * the browser client as an ES module, {@code GET /herald.classic.js} the same client as a classic
 * script that sets {@code window.Herald}, {@code GET /herald.d.ts} the client's TypeScript types,
 * plus the page's own stylesheet, script and icon. All
 * files live in {@code src/main/resources/web/}, are read once at start and served with an ETag
 * ({@code Cache-Control: no-cache}: browsers revalidate, a 304 costs no body).
 */
public final class Pages {
    /** The line in herald.js before which the module's code is also a valid classic-script body. */
    static final String EXPORTS_MARKER = "// @herald-module-exports";

    static final String TYPESCRIPT = "application/typescript; charset=utf-8";

    /** The page's policy: only its own scripts and styles, API calls to its own origin. */
    static final String PAGE_CSP = String.join(
            "; ",
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' https: data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'");

    private final StaticBody index;
    private final StaticBody heraldModule;
    private final StaticBody heraldClassic;
    private final StaticBody heraldTypes;
    private final StaticBody inboxJs;
    private final StaticBody inboxCss;
    private final StaticBody favicon;

    public Pages() {
        Map<String, String> page = Map.of(
                "Content-Security-Policy", PAGE_CSP,
                "Referrer-Policy", "no-referrer",
                "X-Frame-Options", "DENY");
        // The client is public code any page may load (the API itself sends no CORS headers).
        Map<String, String> shared = Map.of("Access-Control-Allow-Origin", "*");
        String herald = text("herald.js");
        this.index = StaticBody.of(text("index.html"), "text/html; charset=utf-8", page);
        // Deno reads X-TypeScript-Types and type-checks an import of /herald.js with /herald.d.ts.
        this.heraldModule = StaticBody.of(
                herald,
                "text/javascript; charset=utf-8",
                Map.of("Access-Control-Allow-Origin", "*", "X-TypeScript-Types", "/herald.d.ts"));
        this.heraldClassic = StaticBody.of(classicBuild(herald), "text/javascript; charset=utf-8", shared);
        // application/typescript: not registered at IANA, but the type that tooling fetching
        // TypeScript over HTTP (Deno) takes as TypeScript — as a declaration file for a path
        // ending in .d.ts; text/plain would leave it guessing from the name. (tsc itself reads
        // local files only.)
        this.heraldTypes = StaticBody.of(text("herald.d.ts"), TYPESCRIPT, shared);
        this.inboxJs = StaticBody.of(text("inbox.js"), "text/javascript; charset=utf-8", Map.of());
        this.inboxCss = StaticBody.of(text("inbox.css"), "text/css; charset=utf-8", Map.of());
        this.favicon = StaticBody.of(text("favicon.svg"), "image/svg+xml", Map.of());
    }

    public void register(RoutesConfig routes) {
        routes.get("/", index::serve);
        routes.get("/herald.js", heraldModule::serve);
        routes.get("/herald.classic.js", heraldClassic::serve);
        routes.get("/herald.d.ts", heraldTypes::serve);
        routes.get("/assets/inbox.js", inboxJs::serve);
        routes.get("/assets/inbox.css", inboxCss::serve);
        routes.get("/favicon.svg", favicon::serve);
    }

    /**
     * herald.js is an ES module whose {@code export} statements all follow {@link #EXPORTS_MARKER};
     * everything before it is plain script. The classic build wraps that part in a function and
     * publishes the {@code Herald} namespace object as {@code window.Herald}.
     */
    static String classicBuild(String module) {
        int at = module.indexOf(EXPORTS_MARKER);
        if (at < 0) throw new IllegalStateException("web/herald.js lacks the line " + EXPORTS_MARKER);
        String body = module.substring(0, at);
        String lines = "\n" + body;
        if (lines.contains("\nexport ") || lines.contains("\nimport ")) {
            throw new IllegalStateException("web/herald.js has import/export statements before " + EXPORTS_MARKER);
        }
        return "/* Herald browser client, classic-script build of /herald.js: sets window.Herald. */\n"
                + "(function () {\n'use strict';\n" + body + "\nglobalThis.Herald = Herald;\n})();\n";
    }

    private static String text(String name) {
        try (InputStream in = Pages.class.getResourceAsStream("/web/" + name)) {
            if (in == null) throw new IllegalStateException("missing resource web/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read web/" + name, e);
        }
    }
}
