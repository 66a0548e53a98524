package dev.herald.reliability;

import dev.herald.testing.Api;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntFunction;

/**
 * Writers that publish user events over HTTP ({@code POST /api/v1/users/{user}/events}) and
 * remember exactly what was acknowledged: writer w publishes {"w":w,"i":i,...} to
 * users[w % users.size()]. Non-201 answers are kept (status and body) for the test to judge.
 */
final class Writers {
    record Published(String user, long cursor, int writer, int seq) {}

    record Failure(int writer, int seq, int status, String body) {}

    final List<Published> published = new CopyOnWriteArrayList<>();
    final List<Failure> failures = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Map<Integer, Integer> sent = new ConcurrentHashMap<>();
    /** Round-trip time of every POST, microseconds. */
    final List<Long> latencies = new CopyOnWriteArrayList<>();

    String latencySummary() {
        List<Long> l = new ArrayList<>(latencies);
        if (l.isEmpty()) return "no posts";
        l.sort(null);
        return "posts=" + l.size() + " p50=" + l.get(l.size() / 2) / 1000.0 + "ms p99="
                + l.get((int) (l.size() * 0.99)) / 1000.0 + "ms max=" + l.get(l.size() - 1) / 1000.0 + "ms";
    }

    /**
     * Starts {@code writers} threads, each publishing up to {@code perWriter} events (or until
     * {@link #stop()}), pausing {@code pause} between posts. api(w) picks the replica per post.
     */
    static Writers start(
            int writers,
            int perWriter,
            Duration pause,
            IntFunction<Api> api,
            String token,
            List<String> users,
            String padding) {
        Writers ws = new Writers();
        for (int w = 0; w < writers; w++) {
            final int writer = w;
            ws.threads.add(Thread.ofVirtual().name("writer-" + w).start(() -> {
                String user = users.get(writer % users.size());
                for (int i = 1; i <= perWriter && !ws.stop.get(); i++) {
                    Map<String, Object> data = new LinkedHashMap<>();
                    data.put("w", writer);
                    data.put("i", i);
                    data.put("t", System.nanoTime());
                    if (padding != null) data.put("pad", padding);
                    long t0 = System.nanoTime();
                    Api.Response r = api.apply(i + writer)
                            .post(
                                    "/api/v1/users/" + user + "/events",
                                    token,
                                    Map.of("type", "chaos.tick", "data", data));
                    ws.sent.merge(writer, 1, Integer::sum);
                    ws.latencies.add((System.nanoTime() - t0) / 1_000);
                    if (r.status() == 201) {
                        ws.published.add(
                                new Published(user, r.json().get("cursor").asLong(), writer, i));
                    } else {
                        ws.failures.add(new Failure(writer, i, r.status(), r.body()));
                    }
                    if (!pause.isZero()) {
                        try {
                            Thread.sleep(pause);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
            }));
        }
        return ws;
    }

    void stop() {
        stop.set(true);
    }

    /** Waits for every writer to finish; false if one is still running after the timeout. */
    boolean join(Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        for (Thread t : threads) {
            long left = until - System.nanoTime();
            if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
        }
        return true;
    }

    int attempts() {
        return sent.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** What was acknowledged for one user's stream, in cursor order. */
    List<Published> of(String user) {
        return published.stream()
                .filter(p -> p.user().equals(user))
                .sorted(Comparator.comparingLong(Published::cursor))
                .toList();
    }
}
