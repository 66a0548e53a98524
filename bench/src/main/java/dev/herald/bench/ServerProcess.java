package dev.herald.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.json.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A {@link BenchServer} child JVM: started, asked for stats over stdin/stdout, stopped. */
final class ServerProcess implements AutoCloseable {
    final Process process;
    final int port;
    final long pid;
    private final PrintWriter commands;
    private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();

    private ServerProcess(Process p, Path log) throws IOException {
        this.process = p;
        this.commands = new PrintWriter(new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8), true);
        Writer logOut = Files.newBufferedWriter(log, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Thread.ofPlatform().daemon().name("server-out").start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)); logOut) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("@@ ")) {
                        replies.add(line.substring(3));
                    } else {
                        logOut.write(line);
                        logOut.write('\n');
                        logOut.flush();
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        });
        JsonNode hello = await(Bench.QUICK ? 60 : 120);
        this.port = hello.get("port").asInt();
        this.pid = hello.get("pid").asLong();
    }

    /** Starts {@code BenchServer mode} with the bench's own classpath and these variables. */
    static ServerProcess start(String mode, Map<String, String> env, String heap, Path log) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        // Herald's own JVM options (jvm.options, as `make run` uses them), then the bench's fixed heap.
        List<String> cmd = new ArrayList<>(List.of(java, jvmOptionsArg(), "-Xms" + heap, "-Xmx" + heap,
                "-XX:+UseG1GC", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path")));
        // BENCH_SERVER_OPTS: extra JVM options for the server under test (e.g. a JFR recording).
        String extra = System.getenv("BENCH_SERVER_OPTS");
        if (extra != null && !extra.isBlank()) cmd.addAll(List.of(extra.trim().split("\\s+")));
        cmd.add(BenchServer.class.getName());
        cmd.add(mode);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Files.createDirectories(log.getParent());
        Process p = pb.start();
        // If the bench is interrupted, its server child must not outlive it.
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
        return new ServerProcess(p, log);
    }

    /** The `@file` argument that hands jvm.options (Herald's JVM options, one list) to java. */
    static String jvmOptionsArg() {
        Path p = Path.of(System.getProperty("herald.jvmOptions", "jvm.options")).toAbsolutePath();
        if (!Files.isReadable(p)) {
            throw new IllegalStateException("Herald's JVM options file " + p + " is missing (run from the repository root)");
        }
        return "@" + p;
    }

    JsonNode stats() {
        commands.println("stats");
        return await(30);
    }

    /** Full GC (twice), then stats. */
    JsonNode gc() {
        commands.println("gc");
        return await(60);
    }

    private JsonNode await(int seconds) {
        try {
            String r = replies.poll(seconds, TimeUnit.SECONDS);
            if (r == null) {
                throw new IllegalStateException("the bench server did not answer within " + seconds + " s (alive: " + process.isAlive() + "); see its log under bench/target/");
            }
            return Json.parse(r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (!process.isAlive()) return;
        commands.println("quit");
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
