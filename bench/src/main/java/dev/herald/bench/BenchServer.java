package dev.herald.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.herald.Herald;
import dev.herald.settings.Settings;
import dev.herald.stream.GroupCommit;
import dev.herald.json.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The server side of the bench, in its own JVM so its heap, threads and descriptors are its
 * own: {@code herald} runs a Herald replica exactly as {@code java -jar herald.jar} would
 * (configured by HERALD_* variables); {@code forwarder} runs the NOTIFY-payload forwarder
 * baseline. It answers control commands on stdin with one line on stdout prefixed "@@ ":
 * {@code stats}, {@code gc} (full GC twice, then stats), {@code quit}.
 */
public final class BenchServer {
    /** Waits until the replica's /readyz answers 200 (its warm-up done), at most two minutes. */
    private static void awaitReady(int port) throws InterruptedException {
        long until = System.nanoTime() + 120_000_000_000L;
        for (int i = 0; i < 10_000 && System.nanoTime() < until; i++) {
            try (HttpConn h = new HttpConn(port)) {
                if (h.get("/readyz", null).status() == 200) return;
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("the replica was not ready within 120 s");
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "herald";
        Herald herald = null;
        Forwarder forwarder = null;
        int port;
        if (mode.equals("herald")) {
            Settings c = Settings.fromEnv(System.getenv()).with(b -> b.host("127.0.0.1"));
            herald = Herald.start(c);
            port = herald.port();
            awaitReady(port); // the warm-up runs first, as a load balancer would wait for it
        } else if (mode.equals("forwarder")) {
            forwarder = Forwarder.start(System.getenv("HERALD_DATABASE_URL"));
            port = forwarder.port();
        } else {
            throw new IllegalArgumentException("mode must be herald or forwarder");
        }
        reply(Json.object().put("port", port).put("pid", ProcessHandle.current().pid()).toString());

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String cmd = line.trim();
            if (cmd.equals("quit")) break;
            if (cmd.equals("gc")) {
                for (int i = 0; i < 2; i++) {
                    System.gc();
                    Thread.sleep(200);
                }
            }
            ObjectNode o = Json.object();
            o.put("heapUsed", ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
            o.put("threads", ManagementFactory.getThreadMXBean().getThreadCount());
            o.put("fds", fds());
            if (herald != null) {
                o.put("sse", herald.sessions().count());
                o.put("subscribers", herald.hub().subscriberCount());
                o.put("fetches", (long) herald.metrics().fetchCount());
                GroupCommit.Stats s = herald.publisher().stats();
                o.put("pubTransactions", s.transactions()).put("pubBatches", s.batches())
                        .put("pubBatchedEvents", s.batchedEvents()).put("pubLargestBatch", s.largestBatch())
                        .put("pubRetriedAlone", s.retriedAlone());
                o.put("listenerConnected", herald.listener().connected());
                o.put("listenerReconnects", herald.listener().reconnects());
            }
            if (forwarder != null) {
                o.put("sse", forwarder.clients());
                o.put("received", forwarder.received.get());
            }
            reply(o.toString());
        }
        if (herald != null) herald.stop(true);
        if (forwarder != null) forwarder.close();
        System.exit(0);
    }

    static long fds() {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        } catch (Exception e) {
            return -1;
        }
    }

    static synchronized void reply(String json) {
        System.out.println("@@ " + json);
        System.out.flush();
    }
}
