package dev.herald.browser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * /herald.d.ts describes /herald.js: a TypeScript page using every export, option, callback and
 * event shape (src/test/browser/types/usage.ts, with lines that must not compile) passes
 * {@code tsc --noEmit --strict} with the pinned typescript of src/test/browser/package.json; and
 * the names the client has (exports, options, event fields, stats) are the names the types
 * declare, so a change to one without the other fails here. The tsc run is skipped only when
 * {@code node} is absent, as the browser tests are.
 */
class TestTypeScriptClient {
    private static final Path BASEDIR =
            Path.of(System.getProperty("basedir", "")).toAbsolutePath();
    private static final Path SCRIPTS = BASEDIR.resolve("src/test/browser");
    private static final Path WEB = BASEDIR.resolve("src/main/resources/web");

    @Test
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void a_strict_typescript_page_compiles_against_the_types() throws Exception {
        Assumptions.assumeTrue(onPath("node"), "node is not installed: the TypeScript check is skipped");
        Path tsc = SCRIPTS.resolve("node_modules/typescript/bin/tsc");
        assertTrue(
                Files.isRegularFile(tsc),
                "typescript is not installed: run `make test`, or `npm ci` in src/test/browser");
        File log = Files.createTempFile("herald-tsc", ".log").toFile();
        try {
            Process p = new ProcessBuilder("node", tsc.toString(), "-p", "types/tsconfig.json", "--noEmit", "--strict")
                    .directory(SCRIPTS.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log)
                    .start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("tsc did not finish in 120 s:\n" + Files.readString(log.toPath()));
            }
            assertEquals(0, p.exitValue(), "tsc --noEmit --strict types/usage.ts:\n" + Files.readString(log.toPath()));
        } finally {
            log.delete();
        }
    }

    @Test
    void the_types_name_every_export_option_and_field_of_the_client() throws Exception {
        String js = Files.readString(WEB.resolve("herald.js"), StandardCharsets.UTF_8);
        String dts = Files.readString(WEB.resolve("herald.d.ts"), StandardCharsets.UTF_8);

        assertEquals(
                names(group(js, "\nexport \\{([^}]*)\\};"), "(\\w+)"),
                names(dts, "\nexport declare (?:const|function|class) (\\w+)"),
                "exports");
        assertTrue(js.contains("\nexport default Herald;") && dts.contains("\nexport default Herald;"));
        assertEquals(
                names(group(js, "\nconst Herald = \\{([^}]*)\\};"), "(\\w+)"),
                names(group(dts, "\ndeclare const Herald: \\{([^}]*)\\};"), "readonly (\\w+):"),
                "the default export's members");

        // Options: the defaults, and everything the client reads from its options.
        Set<String> options = names(group(js, "\nconst DEFAULTS = \\{(.*?)\n\\};"), "\n  (\\w+):");
        options.addAll(names(js, "[^.\\w]o\\.(\\w+)"));
        options.addAll(names(js, "this\\._o\\.(\\w+)"));
        options.addAll(names(js, "this\\._call\\('(\\w+)'"));
        assertEquals(options, names(interfaceBody(dts, "SubscribeOptions"), "\n    (\\w+)\\??:"), "options");

        String event = group(js, "this\\._deliver\\(\\{ (id, [^}]*) \\}, true\\)");
        assertEquals(
                names(event, "(?:^|, )(\\w+)"),
                names(interfaceBody(dts, "PersistedEvent"), "\n    readonly (\\w+):"),
                "event fields");
        assertEquals(
                names(interfaceBody(dts, "PersistedEvent"), "\n    readonly (\\w+):"),
                names(interfaceBody(dts, "TransientEvent"), "\n    readonly (\\w+):"));
        assertEquals(
                names(group(js, "this\\.stats = \\{([^}]*)\\};"), "(\\w+):"),
                names(interfaceBody(dts, "SubscriptionStats"), "\n    readonly (\\w+):"),
                "stats");
        Set<String> states = names(js, "this\\._emitState\\('(\\w+)'");
        states.addAll(names(js, "this\\.state = '(\\w+)'"));
        assertEquals(states, names(group(dts, "type SubscriptionState = ([^;]*);"), "\"(\\w+)\""), "states");
    }

    private static String group(String text, String regex) {
        Matcher m = Pattern.compile(regex, Pattern.DOTALL).matcher(text);
        assertTrue(m.find(), "no match for " + regex);
        return m.group(1);
    }

    private static String interfaceBody(String dts, String name) {
        return group(dts, "\nexport interface " + name + "(?:<[^>]*>)? \\{(.*?)\n\\}");
    }

    private static Set<String> names(String text, String regex) {
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile(regex).matcher(text);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    private static boolean onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) return true;
        }
        return false;
    }
}
