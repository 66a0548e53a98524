package dev.herald.ops;

import dev.herald.auth.Auth;
import dev.herald.auth.Scope;
import dev.herald.database.Database;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.SocketFactory;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the publish and delivery paths before {@code /readyz} turns 200, so the JIT compiles them
 * before the first real client waits on them. A cold replica spent 3.4–4.5 ms of CPU per publish
 * for its first 1,000 (warm: about 2 ms) and answered them at p99 254–484 ms end to end; the
 * JDK's AOT cache alone cut that p99 to 267 ms and not the CPU (bench/RESULTS.md): the work is
 * the JIT's, and it has to happen before a load balancer sends traffic.
 *
 * <p>The warm-up is ordinary traffic through the real stack over loopback: a tenant of its own
 * (random name), a token minted for it, team job events and user events POSTed by a few
 * keep-alive connections, each stream followed over SSE by a few subscribers. At the end it
 * removes every trace: the token, the tenant, its streams and events. A replica that dies
 * during the warm-up leaves one such tenant behind; retention prunes its events.
 *
 * <p>Any failure ends the warm-up (logged) and the replica turns ready anyway: a warm-up never
 * keeps a working server out of service.
 */
public final class Warmup implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Warmup.class);
    /** Concurrent publishing connections: enough for group commit to form batches, as under load. */
    private static final int PUBLISHERS = 8;
    /** SSE subscribers per warmed stream. */
    private static final int SUBSCRIBERS = 4;
    /** The JIT is quiet once its total compile time stops growing for this long. */
    private static final Duration JIT_QUIET = Duration.ofMillis(300);
    /**
     * The longest wait for that quiet: a replica's queue of hot methods drains in about a second,
     * but a JVM busy with other work (a test run's) compiles on for tens of seconds.
     */
    private static final Duration JIT_WAIT = Duration.ofSeconds(2);
    /** How long the last events may take to reach the subscribers once the publishers are done. */
    private static final Duration DELIVERY_WAIT = Duration.ofSeconds(2);
    /** A publish in flight at the limit: at most the write timeout's default, 10 s, to answer. */
    private static final Duration IN_FLIGHT_WAIT = Duration.ofSeconds(10);

    private final Auth auth;
    private final Database db;
    private final SocketFactory sockets;
    private final int publishes;
    private final Duration limit;
    private volatile boolean done;
    private volatile boolean closed;
    private volatile Thread runner;
    private final List<Socket> open = new ArrayList<>();

    /**
     * {@code publishes}: how many events to publish (0: no warm-up, ready at once);
     * {@code limit}: the longest it may take, after which the replica turns ready regardless.
     */
    public Warmup(Auth auth, Database db, SocketFactory sockets, int publishes, Duration limit) {
        this.auth = auth;
        this.db = db;
        this.sockets = sockets;
        this.publishes = publishes;
        this.limit = limit;
        this.done = publishes <= 0;
    }

    /** True once the warm-up has finished, failed, timed out or was never asked for. */
    public boolean done() {
        return done;
    }

    /** Starts warming the server listening on {@code port} (loopback) in the background. */
    public void start(int port) {
        if (done) return;
        runner = Thread.ofPlatform().daemon().name("herald-warmup").start(() -> {
            long t0 = System.nanoTime();
            try {
                Outcome o = run(port, t0 + limit.toNanos());
                log.info(
                        "warm-up: {} publishes and {} deliveries in {} ms{}; ready",
                        o.published(),
                        o.delivered(),
                        (System.nanoTime() - t0) / 1_000_000,
                        o.timedOut() ? " (stopped at HERALD_WARMUP_LIMIT)" : "");
            } catch (Exception e) {
                if (!closed) log.warn("warm-up stopped early ({}); ready anyway", e.toString());
            } finally {
                done = true;
            }
        });
    }

    private record Outcome(int published, long delivered, boolean timedOut) {}

    private Outcome run(int port, long deadline) throws Exception {
        String tenant = "herald-warmup-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        String token = auth.mint(tenant, "warmup", Set.of(Scope.EVENTS_READ, Scope.EVENTS_WRITE));
        try {
            AtomicLong delivered = new AtomicLong();
            AtomicInteger tickets = new AtomicInteger();
            List<Thread> subscribers = new ArrayList<>();
            // Half the subscribers follow the team stream, half the user stream; they count what arrives.
            for (int i = 0; i < SUBSCRIBERS * 2; i++) {
                String path = i % 2 == 0 ? "/api/v1/teams/" + tenant + "/events" : "/api/v1/events";
                Socket s = connect(port);
                subscribers.add(
                        Thread.ofVirtual().name("herald-warmup-sse").start(() -> follow(s, path, token, delivered)));
            }
            awaitDeliveries(delivered, SUBSCRIBERS * 2L, deadline);
            List<Thread> publishers = new ArrayList<>();
            for (int i = 0; i < PUBLISHERS; i++) {
                Socket s = connect(port);
                publishers.add(Thread.ofVirtual()
                        .name("herald-warmup-publish")
                        .start(() -> publish(s, tenant, token, tickets, deadline)));
            }
            // Each publisher stops at the deadline after its request in flight: waiting for that
            // answer keeps a commit from landing after the clean-up below.
            for (Thread t : publishers) {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000) + IN_FLIGHT_WAIT.toMillis());
            }
            int published = Math.min(tickets.get(), publishes);
            long expected = SUBSCRIBERS * 2L + (long) published * SUBSCRIBERS;
            awaitDeliveries(delivered, expected, Math.min(deadline, System.nanoTime() + DELIVERY_WAIT.toNanos()));
            awaitQuietJit(Math.min(deadline, System.nanoTime() + JIT_WAIT.toNanos()));
            closeAll();
            for (Thread t : subscribers) t.join(1_000);
            boolean timedOut = System.nanoTime() >= deadline;
            return new Outcome(published, delivered.get(), timedOut);
        } finally {
            closeAll();
            removeTraces(tenant, token);
        }
    }

    /** Waits until {@code n} deliveries have arrived (each subscriber's opening counts as one). */
    private void awaitDeliveries(AtomicLong delivered, long n, long deadline) throws InterruptedException {
        for (int i = 0; i < 100_000 && System.nanoTime() < deadline && !closed; i++) {
            if (delivered.get() >= n) return;
            Thread.sleep(10);
        }
    }

    /**
     * The JIT compiles in the background: the last methods the loop made hot are still queued
     * when it ends. Waiting for its total compile time to stop growing keeps that work out of
     * the first real requests.
     */
    private void awaitQuietJit(long until) throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return;
        long last = jit.getTotalCompilationTime();
        long quietSince = System.nanoTime();
        for (int i = 0; i < 10_000 && System.nanoTime() < until && !closed; i++) {
            Thread.sleep(50);
            long now = jit.getTotalCompilationTime();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= JIT_QUIET.toNanos()) {
                return;
            }
        }
    }

    private Socket connect(int port) throws IOException {
        Socket s = sockets.createSocket(InetAddress.getLoopbackAddress(), port);
        s.setTcpNoDelay(true);
        synchronized (open) {
            if (closed) {
                s.close();
                throw new IOException("closed");
            }
            open.add(s);
        }
        return s;
    }

    private void closeAll() {
        synchronized (open) {
            for (Socket s : open) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
            open.clear();
        }
    }

    /** One keep-alive connection publishing until the tickets run out, alternating team and user events. */
    private void publish(Socket s, String tenant, String token, AtomicInteger tickets, long deadline) {
        try (s) {
            OutputStream out = s.getOutputStream();
            InputStream in = new BufferedInputStream(s.getInputStream());
            for (int n = tickets.getAndIncrement(); n < publishes; n = tickets.getAndIncrement()) {
                if (System.nanoTime() >= deadline || closed) return;
                String path;
                String body;
                if (n % 2 == 0) {
                    path = "/api/v1/teams/" + tenant + "/jobs/job-" + (n % 10) + "/events";
                    body = "{\"status\":\"progress\",\"data\":{\"percent\":" + (n % 100) + ",\"step\":\"warm-up\"}}";
                } else {
                    path = "/api/v1/users/warmup/events";
                    body = "{\"type\":\"warmup.tick\",\"data\":{\"n\":" + n + ",\"note\":\"warm-up\"}}";
                }
                byte[] b = body.getBytes(StandardCharsets.UTF_8);
                String head = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + token
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n";
                out.write(head.getBytes(StandardCharsets.US_ASCII));
                out.write(b);
                out.flush();
                int status = readResponse(in);
                if (status != 201) throw new IOException("publish answered " + status);
            }
        } catch (IOException e) {
            if (!closed && tickets.get() < publishes) log.debug("warm-up publisher: {}", e.toString());
        }
    }

    /** Follows one SSE stream, counting the opening frame and every event (an `id:` line). */
    private void follow(Socket s, String path, String token, AtomicLong delivered) {
        try (s) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path
                            + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nAuthorization: Bearer "
                            + token + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new BufferedInputStream(s.getInputStream());
            String status = line(in);
            if (!status.startsWith("HTTP/1.1 200")) throw new IOException("SSE answered " + status);
            while (!line(in).isEmpty()) {
                // headers
            }
            delivered.incrementAndGet();
            // Until the warm-up closes the socket (EOFException, or a closed-socket IOException).
            for (String l = line(in); ; l = line(in)) {
                if (l.startsWith("id:")) delivered.incrementAndGet();
            }
        } catch (IOException e) {
            // closed at the end of the warm-up
        }
    }

    /** Reads one HTTP/1.1 response (Content-Length or chunked), returning its status. */
    private static int readResponse(InputStream in) throws IOException {
        String status = line(in);
        if (status.length() < 12) throw new IOException("no answer: " + status);
        long length = -1;
        boolean chunked = false;
        for (String h = line(in); !h.isEmpty(); h = line(in)) {
            String lower = h.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-length:"))
                length = Long.parseLong(h.substring(15).trim());
            if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
        }
        if (chunked) {
            for (long size = Long.parseLong(line(in).trim(), 16);
                    size > 0;
                    size = Long.parseLong(line(in).trim(), 16)) {
                in.skipNBytes(size);
                line(in);
            }
            while (!line(in).isEmpty()) {
                // trailers
            }
        } else if (length > 0) {
            in.skipNBytes(length);
        }
        return Integer.parseInt(status.substring(9, 12));
    }

    /** One line without its CRLF (or LF); EOFException when the stream ends first. */
    private static String line(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder(64);
        for (int c = in.read(); c != -1; c = in.read()) {
            if (c == '\n') {
                int n = sb.length();
                if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
                return sb.toString();
            }
            sb.append((char) c);
        }
        throw new EOFException("the server closed the connection");
    }

    /** The token, the tenant and everything published under it: nothing of the warm-up stays. */
    private void removeTraces(String tenant, String token) {
        try {
            auth.revoked(token.substring(0, Auth.PREFIX_LENGTH));
            db.dsl().transaction(cfg -> {
                var tx = DSL.using(cfg);
                tx.execute("DELETE FROM herald.events WHERE tenant = ?", tenant);
                tx.execute("DELETE FROM herald.streams WHERE tenant = ?", tenant);
                tx.execute("DELETE FROM herald.tokens WHERE tenant = ?", tenant);
                tx.execute("DELETE FROM herald.tenants WHERE id = ?", tenant);
            });
        } catch (RuntimeException e) {
            log.warn("warm-up could not remove its tenant {}: {}", tenant, e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        closeAll();
        Thread t = runner;
        if (t != null) {
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        done = true;
    }
}
