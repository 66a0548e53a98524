package dev.herald.bench;

import dev.herald.Herald;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Herald replica started exactly as deployed: {@code java @jvm.options -jar target/herald.jar}
 * in its own process, configured by HERALD_* variables only. The bench adds a GC log (to read
 * pause times) and BENCH_SERVER_OPTS, nothing else. Stopped with SIGTERM (Herald's clean
 * shutdown), killed if it does not exit; a shutdown hook does the same if the bench is
 * interrupted, so no replica outlives the bench (unless the bench itself is SIGKILLed).
 */
final class Replica implements AutoCloseable {
    final String name;
    final Process process;
    final long pid;
    final int port;
    final Path log;
    final Path gcLog;
    private final Thread hook;

    private Replica(String name, Process process, int port, Path log, Path gcLog) {
        this.name = name;
        this.process = process;
        this.pid = process.pid();
        this.port = port;
        this.log = log;
        this.gcLog = gcLog;
        this.hook = new Thread(() -> stop(process));
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** target/herald.jar: -Dherald.jar, else the jar the Herald classes were loaded from. */
    static Path jar() {
        String prop = System.getProperty("herald.jar");
        Path p;
        try {
            p = prop != null
                    ? Path.of(prop)
                    : Path.of(Herald.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException("cannot locate herald.jar: " + e);
        }
        p = p.toAbsolutePath();
        if (!Files.isRegularFile(p) || !p.toString().endsWith(".jar")) {
            throw new IllegalStateException(p + " is not the server's jar (make build)");
        }
        return p;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Starts a replica on a free port of 127.0.0.1 with these variables (on top of the bench's
     * environment); it is ready when {@link #awaitReady} returns. Output goes to
     * bench/target/NAME.log, GC events to bench/target/NAME-gc.log.
     */
    static Replica start(String name, Map<String, String> env) throws IOException {
        Path dir = Path.of("bench/target").toAbsolutePath();
        Files.createDirectories(dir);
        Path log = dir.resolve(name + ".log"), gcLog = dir.resolve(name + "-gc.log");
        Files.deleteIfExists(gcLog);
        int port = freePort();
        String javaCmd = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(javaCmd, ServerProcess.jvmOptionsArg(),
                // Every GC pause, one line each, stamped with the wall clock in ms (to cut out a phase).
                "-Xlog:gc:file=" + gcLog + ":timemillis:filecount=0"));
        String extra = System.getenv("BENCH_SERVER_OPTS");
        if (extra != null && !extra.isBlank()) cmd.addAll(List.of(extra.trim().split("\\s+")));
        cmd.addAll(List.of("-jar", jar().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        pb.environment().put("HERALD_PORT", Integer.toString(port));
        pb.environment().put("HERALD_HOST", "127.0.0.1");
        Files.writeString(log, "---- " + Instant.now() + " " + String.join(" ", cmd) + "\n",
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return new Replica(name, pb.start(), port, log, gcLog);
    }

    /** Waits until GET /readyz answers 200 (database reachable, LISTEN connected). */
    Replica awaitReady(double seconds) throws IOException {
        long until = System.nanoTime() + (long) (seconds * 1e9);
        String last = "no answer";
        for (int i = 0; i < 100_000 && System.nanoTime() < until; i++) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "replica " + name + " exited with " + process.exitValue() + "; see " + log);
            }
            try (HttpConn h = new HttpConn(port)) {
                HttpConn.Response r = h.get("/readyz", null);
                if (r.status() == 200) return this;
                last = r.status() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Clock.sleepMillis(100);
        }
        throw new IllegalStateException(
                "replica " + name + " not ready within " + seconds + " s (" + last + "); see " + log);
    }

    private static void stop(Process p) {
        if (!p.isAlive()) return;
        p.destroy(); // SIGTERM: Herald ends its streams and exits 0
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop(process);
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // the JVM is shutting down: the hook runs anyway
        }
    }
}
