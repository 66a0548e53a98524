package dev.herald.browser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.herald.Herald;
import dev.herald.database.Database;
import dev.herald.testing.Sql;
import dev.herald.testing.TestServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The inbox page and /herald.js in a real browser: runs src/test/browser/inbox.spec.mjs
 * (playwright-core driving Debian's Chromium, one launch for every case) against real
 * replicas on the embedded PostgreSQL, and reports each browser case as a test.
 * <p>
 * Replica 0 serves the page and can be stopped and started again on the same port (same
 * origin) through a small control server; replica 1 takes writes while 0 is down; a third
 * replica has a tiny replay budget for the 429 case. Skipped only when {@code node} is absent.
 */
class TestInboxPage {
    private static final Path BASEDIR =
            Path.of(System.getProperty("basedir", "")).toAbsolutePath();
    private static final Path SCRIPTS = BASEDIR.resolve("src/test/browser");
    private static final Pattern RESULT = Pattern.compile("^(ok|not ok) (\\d+) - (.*?)(?: \\((\\d+) ms\\))?$");
    private static final long RUN_DEADLINE_SECONDS = 240;

    /** Another origin (listed in the replicas' HERALD_CORS_ORIGINS) serving cross-origin.html. */
    static final HttpServer otherOrigin = bindOtherOrigin();

    @RegisterExtension
    static final TestServer server = TestServer.replicas(
            2, b -> b.corsOrigins("http://127.0.0.1:" + otherOrigin.getAddress().getPort()));

    static int pagePort;
    static Herald restarted;
    static Database restartedDb;
    static Herald limited;
    static Database limitedDb;
    static HttpServer control;

    record Case(int number, String name, boolean ok, String details) {}

    static final List<Case> cases = new ArrayList<>();
    static int planned = -1;
    static int exitCode = -1;
    static final StringBuilder output = new StringBuilder();

    @BeforeAll
    static void runBrowserCases() throws Exception {
        Assumptions.assumeTrue(onPath("node"), "node is not installed: the browser tests are skipped");
        Path chromium = Path.of(System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium"));
        assertTrue(
                Files.isExecutable(chromium),
                "Chromium not found at " + chromium
                        + ": `make test` installs Debian's chromium (apt-get install -y chromium), or set CHROMIUM");
        assertTrue(
                Files.isDirectory(SCRIPTS.resolve("node_modules/playwright-core")),
                "playwright-core is not installed: run `make test`, or `npm ci` in src/test/browser");

        startOtherOrigin();
        pagePort = server.replica(0).port();
        limitedDb = Database.connect(server.databaseUrl(), 4);
        limited = Herald.start(server.settings(b -> b.replay(2, 0, Duration.ofSeconds(2))), limitedDb);
        startControl();

        Path out = BASEDIR.resolve("target");
        Files.createDirectories(out);
        ProcessBuilder pb = new ProcessBuilder("node", "inbox.spec.mjs")
                .directory(SCRIPTS.toFile())
                .redirectErrorStream(true);
        pb.environment().put("HERALD_BASE", "http://127.0.0.1:" + pagePort);
        pb.environment().put("HERALD_WRITER_BASE", server.api(1).base);
        pb.environment().put("HERALD_LIMITED_BASE", "http://127.0.0.1:" + limited.port());
        pb.environment().put("HERALD_ADMIN_TOKEN", TestServer.ADMIN_TOKEN);
        pb.environment()
                .put(
                        "HERALD_CONTROL",
                        "http://127.0.0.1:" + control.getAddress().getPort());
        pb.environment()
                .put(
                        "HERALD_OTHER_ORIGIN",
                        "http://127.0.0.1:" + otherOrigin.getAddress().getPort());
        pb.environment().put("HERALD_OUT", out.toString());
        pb.environment().put("CHROMIUM", chromium.toString());
        Process node = pb.start();
        Thread reader = Thread.ofPlatform().daemon().start(() -> read(node));
        if (!node.waitFor(RUN_DEADLINE_SECONDS, TimeUnit.SECONDS)) {
            node.descendants().forEach(ProcessHandle::destroyForcibly);
            node.destroyForcibly();
            node.waitFor(10, TimeUnit.SECONDS);
        } else {
            exitCode = node.exitValue();
        }
        reader.join(5_000);
    }

    private static void read(Process node) {
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            Case open = null;
            StringBuilder details = new StringBuilder();
            while ((line = r.readLine()) != null) {
                System.out.println("[browser] " + line);
                synchronized (output) {
                    output.append(line).append('\n');
                }
                Matcher m = RESULT.matcher(line);
                if (line.matches("^1\\.\\.\\d+$")) {
                    planned = Integer.parseInt(line.substring(3));
                } else if (m.matches()) {
                    if (open != null) record(open, details);
                    open = new Case(
                            Integer.parseInt(m.group(2)), m.group(3), m.group(1).equals("ok"), "");
                    details.setLength(0);
                } else if (line.startsWith("  # ") && open != null) {
                    details.append(line.substring(4)).append('\n');
                }
            }
            if (open != null) record(open, details);
        } catch (IOException e) {
            synchronized (output) {
                output.append("reading the browser run failed: ").append(e).append('\n');
            }
        }
    }

    private static void record(Case c, StringBuilder details) {
        synchronized (cases) {
            cases.add(new Case(c.number(), c.name(), c.ok(), details.toString()));
        }
    }

    /**
     * POST /kill?prefix=P ends P's SSE streams on replica 0; /stop and /start restart it on its
     * port; /prune?tenant=&stream=&through= prunes a stream's prefix by retention;
     * /publish?tenant=&stream=&type= stores an event of any type.
     */
    /** The control request's query parameters (decoded). */
    private static Map<String, String> query(HttpExchange ex) {
        Map<String, String> q = new HashMap<>();
        for (String kv : ex.getRequestURI().getQuery().split("&")) {
            int i = kv.indexOf('=');
            q.put(kv.substring(0, i), kv.substring(i + 1));
        }
        return q;
    }

    private static void startControl() throws IOException {
        control = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        control.createContext(
                "/kill",
                ex -> answer(ex, () -> {
                    String q = ex.getRequestURI().getQuery();
                    String prefix = q != null && q.startsWith("prefix=") ? q.substring(7) : "";
                    if (prefix.length() != 8) throw new IllegalArgumentException("prefix=<8 characters> required");
                    pageReplica().sessions().closeByToken(prefix);
                }));
        control.createContext(
                "/prune",
                ex -> answer(ex, () -> {
                    // /prune?tenant=T&stream=S&through=N: makes S's events up to N older than
                    // retention and runs the page replica's janitor once.
                    Map<String, String> q = query(ex);
                    Sql.age(
                            server.databaseUrl(),
                            q.get("tenant"),
                            q.get("stream"),
                            Long.parseLong(q.get("through")),
                            "400 days");
                    pageReplica().janitor().runOnce();
                }));
        control.createContext(
                "/publish",
                ex -> answer(ex, () -> {
                    // /publish?tenant=T&stream=S&type=X: stores an event through herald.publish,
                    // which checks no type (an event the API refuses today may still be stored).
                    Map<String, String> q = query(ex);
                    Sql.scalar(
                            server.databaseUrl(),
                            "SELECT herald.publish(?, ?, ?, '{\"stored\":true}'::jsonb)",
                            q.get("tenant"),
                            q.get("stream"),
                            q.get("type"));
                }));
        control.createContext("/stop", ex -> answer(ex, () -> pageReplica().stop(false)));
        control.createContext(
                "/start",
                ex -> answer(ex, () -> {
                    if (restarted != null) {
                        restarted.stop(true);
                    }
                    restartedDb = Database.connect(server.databaseUrl(), 8);
                    restarted = Herald.start(server.settings(b -> b.port(pagePort)), restartedDb);
                }));
        control.start();
    }

    /** A port of its own, bound before the replicas start (their CORS list names it). */
    private static HttpServer bindOtherOrigin() {
        try {
            return HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A static page on its own port: another origin than Herald's. */
    private static void startOtherOrigin() throws IOException {
        byte[] page = Files.readAllBytes(SCRIPTS.resolve("cross-origin.html"));
        otherOrigin.createContext("/cross-origin.html", ex -> {
            ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            ex.sendResponseHeaders(200, page.length);
            ex.getResponseBody().write(page);
            ex.close();
        });
        otherOrigin.start();
    }

    private static Herald pageReplica() {
        return restarted != null ? restarted : server.replica(0);
    }

    private static synchronized void answer(HttpExchange ex, Runnable action) throws IOException {
        int status = 204;
        byte[] body = new byte[0];
        try {
            action.run();
        } catch (RuntimeException e) {
            status = 500;
            body = String.valueOf(e).getBytes(StandardCharsets.UTF_8);
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) ex.getResponseBody().write(body);
        ex.close();
    }

    @AfterAll
    static void stop() {
        if (control != null) control.stop(0);
        otherOrigin.stop(0);
        if (restarted != null) restarted.stop(true);
        if (limited != null) limited.stop(true);
    }

    @TestFactory
    Stream<DynamicTest> browser_cases() {
        List<DynamicTest> tests = new ArrayList<>();
        List<Case> seen;
        synchronized (cases) {
            seen = List.copyOf(cases);
        }
        for (Case c : seen) {
            tests.add(DynamicTest.dynamicTest(c.name(), () -> {
                if (!c.ok()) fail("browser case failed:\n" + c.details());
            }));
        }
        tests.add(DynamicTest.dynamicTest("the browser run reports every planned case and exits 0", () -> {
            String out;
            synchronized (output) {
                out = output.toString();
            }
            assertTrue(planned > 0, "no plan line from the browser run:\n" + out);
            assertEquals(planned, seen.size(), "cases reported vs planned:\n" + out);
            assertEquals(
                    0,
                    exitCode,
                    "exit code of the browser run (-1: killed after " + RUN_DEADLINE_SECONDS + " s):\n" + out);
        }));
        return tests.stream();
    }

    private static boolean onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) return true;
        }
        return false;
    }
}
