package dev.herald.distribution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The download that runs without a JDK (`make dist`): Maven builds
 * target/dist/herald-&lt;version&gt;-linux-x64.tar.gz right before the integration tests; this
 * unpacks it and runs {@code bin/herald} the way a newcomer would — through a symlink, from
 * another directory, with an environment that has no {@code java} on PATH and no JAVA_HOME —
 * on the embedded PostgreSQL, publishes and reads an event, and stops it with SIGTERM.
 */
class DistributionIT {
    private static final String ADMIN_TOKEN = TestServer.ADMIN_TOKEN;
    private static final Path BASEDIR =
            Path.of(System.getProperty("basedir", "")).toAbsolutePath();

    @TempDir
    static Path tmp;

    static Path home;
    static Process jdeps;
    static Path jdepsOut;

    @BeforeAll
    static void unpack() throws Exception {
        Assumptions.assumeFalse(Boolean.getBoolean("herald.dist.skip"), "-Ddist.skip=true: no distribution was built");
        String tarball = System.getProperty("herald.dist.tarball");
        assertTrue(tarball != null, "Failsafe passes herald.dist.tarball (pom.xml)");
        assertTrue(Files.isRegularFile(Path.of(tarball)), "the build makes " + tarball + " before integration tests");
        Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
        run(List.of("tar", "-xzf", tarball, "-C", unpacked.toString()), Duration.ofSeconds(120));
        try (Stream<Path> top = Files.list(unpacked)) {
            List<Path> dirs = top.toList();
            assertEquals(1, dirs.size(), "one top-level directory: " + dirs);
            home = dirs.get(0);
        }
        assertEquals(
                Path.of(tarball).getFileName().toString(),
                home.getFileName() + "-linux-x64.tar.gz",
                "herald-<version>/ inside herald-<version>-linux-x64.tar.gz");

        // What the jar needs (jdeps) against what the runtime holds: started now, checked below.
        jdepsOut = tmp.resolve("jdeps.txt");
        jdeps = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "jdeps").toString(),
                        "--print-module-deps",
                        "--ignore-missing-deps",
                        "--multi-release",
                        Integer.toString(Runtime.version().feature()),
                        home.resolve("lib/herald.jar").toString())
                .redirectErrorStream(true)
                .redirectOutput(jdepsOut.toFile())
                .start();
    }

    @AfterAll
    static void stopJdeps() {
        if (jdeps != null) jdeps.destroyForcibly();
    }

    @Test
    void the_tarball_holds_the_launcher_the_jar_the_jvm_options_and_a_runtime() throws Exception {
        Path launcher = home.resolve("bin/herald");
        assertTrue(Files.isExecutable(launcher), "bin/herald is executable");
        assertTrue(Files.readString(launcher).startsWith("#!/bin/sh\n"), "bin/herald is a POSIX sh script");
        assertTrue(Files.isRegularFile(home.resolve("lib/herald.jar")));
        assertEquals(
                Files.readString(BASEDIR.resolve("jvm.options")),
                Files.readString(home.resolve("conf/jvm.options")),
                "conf/jvm.options is the repository's jvm.options");
        assertTrue(Files.isExecutable(home.resolve("runtime/bin/java")));
        assertTrue(!Files.exists(home.resolve("runtime/include")), "--no-header-files");
        assertTrue(!Files.exists(home.resolve("runtime/man")), "--no-man-pages");
        assertTrue(!Files.exists(home.resolve("runtime/bin/javac")), "a runtime, not a JDK");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void the_runtime_holds_every_module_jdeps_finds_in_the_jar() throws Exception {
        assertTrue(jdeps.waitFor(170, TimeUnit.SECONDS), "jdeps did not finish in 170 s");
        String out = Files.readString(jdepsOut).trim();
        assertEquals(0, jdeps.exitValue(), out);
        String[] lines = out.split("\n");
        Set<String> needed =
                new TreeSet<>(Arrays.asList(lines[lines.length - 1].trim().split(",")));
        Set<String> linked = runtimeModules();
        Set<String> missing = new TreeSet<>(needed);
        missing.removeAll(linked);
        assertEquals(Set.of(), missing, "add them to dist.modules in pom.xml (jdeps: " + needed + ")");
        // Loaded by name through reflection, invisible to jdeps (pom.xml says why).
        assertTrue(linked.contains("jdk.security.auth"), linked.toString());
        System.out.println("[dist] jdeps: " + needed + "; runtime: " + linked);
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void bin_herald_runs_without_a_jdk_through_a_symlink_and_exits_0_on_sigterm() throws Exception {
        // bin/herald reached through a chain of symlinks, the first one relative.
        Path links = Files.createDirectories(tmp.resolve("links"));
        Files.createSymbolicLink(links.resolve("herald-real"), links.relativize(home.resolve("bin/herald")));
        Path link = Files.createSymbolicLink(links.resolve("herald"), Path.of("herald-real"));
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Path data = tmp.resolve("data");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }

        Map<String, String> env = Map.of(
                "PATH", pathWithoutJava().toString(),
                "HOME", elsewhere.toString(),
                "HERALD_PORT", Integer.toString(port),
                "HERALD_HOST", "127.0.0.1",
                "HERALD_DATA_DIR", data.toString(),
                "HERALD_ADMIN_TOKEN", ADMIN_TOKEN);
        ProcessBuilder check = new ProcessBuilder(
                        "/bin/sh", "-c", "command -v java || command -v sed >/dev/null && echo none")
                .directory(elsewhere.toFile())
                .redirectErrorStream(true);
        check.environment().clear();
        check.environment().putAll(env);
        Process c = check.start();
        assertTrue(c.waitFor(10, TimeUnit.SECONDS));
        assertEquals(
                "none",
                new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim(),
                "the test's PATH must find the usual tools but no java");

        File log = tmp.resolve("herald.log").toFile();
        ProcessBuilder pb = new ProcessBuilder(link.toString())
                .directory(elsewhere.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log);
        pb.environment().clear(); // no JAVA_HOME, no JDK_JAVA_OPTIONS, nothing of the build's
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            Api api = new Api("http://127.0.0.1:" + port);
            long until = System.nanoTime() + Duration.ofSeconds(150).toNanos();
            boolean ready = false;
            while (!ready && p.isAlive() && System.nanoTime() < until) {
                try {
                    ready = api.get("/readyz", null).status() == 200;
                } catch (AssertionError notYet) {
                    // not listening yet
                }
                if (!ready) Thread.sleep(250);
            }
            assertTrue(
                    ready,
                    "not ready within 150 s (" + (p.isAlive() ? "alive" : "exit code " + p.exitValue()) + "):\n"
                            + read(log));

            // exec: the launcher's process became the bundled runtime's java.
            Path exe = Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "exe"));
            assertTrue(
                    exe.startsWith(home.toRealPath().resolve("runtime")),
                    "running " + exe + ", not the bundled runtime");
            assertTrue(Files.isDirectory(data.resolve("pg")), "the embedded PostgreSQL's data is in HERALD_DATA_DIR");

            // The whole path works on the linked runtime: tokens, publish, read back.
            String token = api.userToken("dist", "dana");
            Api.Response published =
                    api.post("/api/v1/users/dana/events", token, Map.of("type", "dist.ok", "data", Map.of("n", 1)));
            assertEquals(201, published.status(), published.toString());
            Api.Response backlog = api.get("/api/v1/events/backlog", token);
            assertEquals(200, backlog.status(), backlog.toString());
            assertTrue(backlog.body().contains("\"dist.ok\""), backlog.toString());
            assertEquals(200, api.get("/herald.js", null).status());

            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(20, TimeUnit.SECONDS), "no exit within 20 s of SIGTERM:\n" + read(log));
            String output = read(log);
            assertEquals(0, p.exitValue(), output);
            assertTrue(output.contains("Herald stopped"), output);
            // The default warm-up ran on the linked runtime (its JIT probe needs java.management).
            assertTrue(output.contains("warm-up: 6000 publishes and 24008 deliveries"), output);
            System.out.println(
                    "[dist] bin/herald ran from " + exe.getParent().getParent() + " and exited 0 on SIGTERM");
        } finally {
            p.destroyForcibly();
        }
    }

    /** A directory of links to everything on this PATH except java and JDK tools. */
    private static Path pathWithoutJava() throws IOException {
        Path dir = tmp.resolve("path");
        if (Files.isDirectory(dir)) return dir;
        Files.createDirectories(dir);
        for (String entry :
                System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (entry.isEmpty() || !Files.isDirectory(Path.of(entry))) continue;
            try (Stream<Path> files = Files.list(Path.of(entry))) {
                for (Path f : files.toList()) {
                    String name = f.getFileName().toString();
                    if (name.equals("java") || Files.exists(dir.resolve(name)) || !Files.isExecutable(f)) continue;
                    Path real;
                    try {
                        real = f.toRealPath();
                    } catch (IOException dangling) {
                        continue;
                    }
                    // A JDK's own tools (javac, jar, jshell, ...): in the bin/ of a Java home.
                    Path javaHome =
                            real.getParent() == null ? null : real.getParent().getParent();
                    if (javaHome != null
                            && Files.isRegularFile(javaHome.resolve("release"))
                            && Files.isRegularFile(javaHome.resolve("bin/java"))) continue;
                    Files.createSymbolicLink(dir.resolve(name), f);
                }
            }
        }
        return dir;
    }

    private static Set<String> runtimeModules() throws IOException {
        for (String line : Files.readAllLines(home.resolve("runtime/release"))) {
            if (line.startsWith("MODULES=")) {
                String list = line.substring("MODULES=".length()).replace("\"", "");
                return Arrays.stream(list.split(" ")).collect(Collectors.toCollection(TreeSet::new));
            }
        }
        throw new AssertionError("runtime/release lacks MODULES");
    }

    private static void run(List<String> command, Duration limit) throws Exception {
        File out = Files.createTempFile(tmp, "run", ".log").toFile();
        Process p = new ProcessBuilder(new ArrayList<>(command))
                .redirectErrorStream(true)
                .redirectOutput(out)
                .start();
        if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " did not finish in " + limit);
        }
        assertEquals(0, p.exitValue(), command + ":\n" + read(out));
    }

    private static String read(File log) throws IOException {
        return Files.readString(log.toPath());
    }
}
