package dev.herald.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.herald.json.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

/** Scenarios against a running server process (Herald, or the forwarder baseline). */
final class Scenarios {
    static final String ADMIN = "bench-operator-token-0123456789abcdef";
    static final String TENANT = "bench";

    final Db db;
    final ServerProcess server;
    final int port;
    final Map<String, String> readTokens = new HashMap<>();
    String writeToken;

    final Cpu cpu;

    Scenarios(Db db, ServerProcess server) {
        this.db = db;
        this.server = server;
        this.port = server.port;
        this.cpu = new Cpu(server.pid, db.postmasterPid);
    }

    // --- tokens ----------------------------------------------------------------------------

    /** Mints read tokens for these users, 16 at a time. */
    void mintReadTokens(List<String> users) throws Exception {
        java.util.concurrent.ConcurrentHashMap<String, String> got = new java.util.concurrent.ConcurrentHashMap<>();
        try (var ex = java.util.concurrent.Executors.newFixedThreadPool(16, Thread.ofVirtual().factory())) {
            List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
            for (String u : users) {
                fs.add(ex.submit(() -> {
                    try (HttpConn h = new HttpConn(port)) {
                        HttpConn.Response r = h.post("/api/v1/admin/tokens", ADMIN,
                                "{\"tenant\":\"" + TENANT + "\",\"user\":\"" + u + "\",\"scopes\":[\"events:read\"]}");
                        if (r.status() != 201) throw new IllegalStateException("mint failed: " + r);
                        got.put(u, Json.parse(r.body()).get("token").asText());
                    }
                    return null;
                }));
            }
            for (var f : fs) f.get();
        }
        readTokens.putAll(got);
    }

    synchronized String readToken(String user) throws IOException {
        String t = readTokens.get(user);
        if (t != null) return t;
        try (HttpConn h = new HttpConn(port)) {
            HttpConn.Response r = h.post("/api/v1/admin/tokens", ADMIN,
                    "{\"tenant\":\"" + TENANT + "\",\"user\":\"" + user + "\",\"scopes\":[\"events:read\"]}");
            if (r.status() != 201) throw new IllegalStateException("mint failed: " + r);
            t = Json.parse(r.body()).get("token").asText();
        }
        readTokens.put(user, t);
        return t;
    }

    String writeToken() throws IOException {
        if (writeToken != null) return writeToken;
        try (HttpConn h = new HttpConn(port)) {
            HttpConn.Response r = h.post("/api/v1/admin/tokens", ADMIN, "{\"tenant\":\"" + TENANT + "\",\"scopes\":[\"events:write\"]}");
            if (r.status() != 201) throw new IllegalStateException("mint failed: " + r);
            writeToken = Json.parse(r.body()).get("token").asText();
        }
        return writeToken;
    }

    /** A Prometheus value from /metrics (0 when absent). */
    double metric(String name) throws IOException {
        try (HttpConn h = new HttpConn(port)) {
            for (String line : h.get("/metrics", null).body().split("\n")) {
                if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return 0;
    }

    /** herald_commit_to_send's cumulative buckets (upper bound in seconds → count). */
    java.util.TreeMap<Double, Double> commitToSendBuckets() throws IOException {
        java.util.TreeMap<Double, Double> m = new java.util.TreeMap<>();
        try (HttpConn h = new HttpConn(port)) {
            for (String line : h.get("/metrics", null).body().split("\n")) {
                if (!line.startsWith("herald_commit_to_send_seconds_bucket{")) continue;
                int le = line.indexOf("le=\"");
                String bound = line.substring(le + 4, line.indexOf('"', le + 4));
                double ub = bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound);
                m.put(ub, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
            }
        }
        return m;
    }

    /** The bucket bound (ms) under which `q` of the events between two scrapes fell. */
    static double bucketQuantileMs(java.util.TreeMap<Double, Double> before, java.util.TreeMap<Double, Double> after, double q) {
        double total = after.getOrDefault(Double.POSITIVE_INFINITY, 0.0) - before.getOrDefault(Double.POSITIVE_INFINITY, 0.0);
        if (total <= 0) return Double.NaN;
        for (var e : after.entrySet()) {
            double n = e.getValue() - before.getOrDefault(e.getKey(), 0.0);
            if (n >= q * total) return e.getKey() * 1000;
        }
        return Double.NaN;
    }

    // --- SSE subscribers -------------------------------------------------------------------

    /** Opens n subscriptions (user -> path) and waits until each said ": connected". */
    List<SseMux.Conn> subscribe(SseMux mux, int n, IntFunction<String> userOf, SseMux.Handler h, boolean herald, double timeoutSeconds) throws IOException {
        List<SseMux.Conn> conns = new ArrayList<>(n);
        long until = System.nanoTime() + (long) (timeoutSeconds * 1e9);
        int base = mux.connected.get();
        int baseFailed = mux.failed.get();
        for (int i = 0; i < n; i++) {
            String user = userOf.apply(i);
            // At most 256 handshakes in flight: no SYN storm against the accept queue.
            for (int g = 0; g < 100_000 && conns.size() - (mux.connected.get() - base) - (mux.failed.get() - baseFailed) > 256 && System.nanoTime() < until; g++) {
                Clock.sleepMillis(1);
            }
            SseMux.Conn c = herald
                    ? mux.open("/api/v1/events", readToken(user), null, true, 0, h)
                    : mux.open("/sse?stream=" + user, null, null, true, 0, h);
            conns.add(c);
        }
        while (mux.connected.get() - base < n && System.nanoTime() < until) Clock.sleepMillis(10);
        int got = mux.connected.get() - base;
        if (got < n) System.out.printf("  warning: only %d of %d subscriptions connected (%d failed)%n", got, n, mux.failed.get() - baseFailed);
        return conns;
    }

    void closeAndWait(SseMux mux, List<SseMux.Conn> conns, int expectServerSse) {
        mux.closeAll(conns);
        long until = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < until) {
            if (server.stats().get("sse").asInt() <= expectServerSse) return;
            Clock.sleepMillis(100);
        }
        System.out.println("  warning: the server still had " + server.stats().get("sse").asInt() + " SSE connections 30 s after the clients closed");
    }

    /** The payload forwarder baseline's write: the whole event travels in the NOTIFY. */
    static final String FORWARD_SQL = "SELECT pg_notify('" + Forwarder.CHANNEL + "', ? || '|{\"seq\":' || ?::bigint || ',\"t\":' || ?::bigint || ',\"ts\":' || (extract(epoch FROM clock_timestamp()) * 1000000)::bigint || '}')";

    /** Binds one ticket's parameters. */
    interface Binder {
        void bind(PreparedStatement ps, long ticket) throws Exception;
    }

    /** Makes a Binder for a worker's connection (e.g. to create its arrays once). */
    interface Binders {
        Binder on(Connection c) throws Exception;
    }

    /** A worker on its own connection running one prepared query per ticket; latency optional. */
    Paced.Worker jdbcWorker(String app, String sql, Hist latency, Binders binders) throws Exception {
        Connection c = db.connect(app);
        PreparedStatement ps = c.prepareStatement(sql);
        Binder bind = binders.on(c);
        return new Paced.Worker() {
            @Override
            public void run(long ticket) throws Exception {
                bind.bind(ps, ticket);
                long s = System.nanoTime();
                ps.executeQuery().close();
                if (latency != null) latency.recordMicros((System.nanoTime() - s) / 1000);
            }

            @Override
            public void close() {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // done
                }
            }
        };
    }

    // --- publishing ------------------------------------------------------------------------

    /** A worker publishing over HTTP (keep-alive) to the user that `userOf(ticket)` names. */
    Paced.Worker httpPublisher(java.util.function.LongFunction<String> userOf, Hist latency) throws IOException {
        String token = writeToken();
        HttpConn h = new HttpConn(port);
        return new Paced.Worker() {
            @Override
            public void run(long ticket) throws Exception {
                String user = userOf.apply(ticket);
                long t = Clock.nowMicros();
                long t0 = System.nanoTime();
                HttpConn.Response r = h.post("/api/v1/users/" + user + "/events", token,
                        "{\"type\":\"bench.tick\",\"data\":{\"t\":" + t + ",\"n\":" + ticket + "}}");
                if (r.status() != 201) throw new IOException("publish: " + r.status() + " " + r.body());
                if (latency != null) latency.recordMicros((System.nanoTime() - t0) / 1000);
            }

            @Override
            public void close() {
                h.close();
            }
        };
    }

    record Latency(String label, int subscribers, int slow, Hist commitToClient, Hist sendToClient, Hist publish, long published,
                   long delivered, long gaps, long duplicates, long late, double slowDropped, String error, double serverP50, double serverP99, String cpu) {}

    /**
     * Latency: `subs` subscribers over `streams` user streams + `hot` on one hot stream;
     * `rate` events/s over HTTP (10 % to the hot stream, the rest spread); optionally
     * `slow` extra subscribers that never read, spread the same way.
     */
    Latency latency(String label, List<SseMux.Conn> normal, Events events, int streams, int rate, double warmup, double seconds, int slow) throws Exception {
        SseMux slowMux = null;
        List<SseMux.Conn> slowConns = List.of();
        double droppedBefore = metric("herald_slow_clients_dropped_total");
        if (slow > 0) {
            slowMux = new SseMux(port, "slow");
            int before = server.stats().get("sse").asInt();
            slowConns = new ArrayList<>();
            for (int i = 0; i < slow; i++) {
                // A tenth on the hot stream (100 events/s: their buffers fill within seconds), the rest spread like the normal subscribers.
                String user = i % 10 == 0 ? "hot" : "u" + (i % streams);
                // A small receive window, never read: the server's writes back up quickly.
                slowConns.add(slowMux.open("/api/v1/events", readToken(user), null, false, 4096, (c, id, e, d, r) -> {}));
                if (i % 200 == 199) Clock.sleepMillis(50);
            }
            long until = System.nanoTime() + 60_000_000_000L;
            while (server.stats().get("sse").asInt() < before + slow && System.nanoTime() < until) Clock.sleepMillis(50);
        }
        Hist publish = new Hist("publish");
        long gaps0 = 0, dups0 = 0;
        for (SseMux.Conn c : normal) {
            gaps0 += c.gaps;
            dups0 += c.duplicates;
        }
        long total = (long) (rate * (warmup + seconds));
        long warmTickets = (long) (rate * warmup);
        java.util.concurrent.atomic.AtomicReference<java.util.TreeMap<Double, Double>> b0 = new java.util.concurrent.atomic.AtomicReference<>(new java.util.TreeMap<>());
        java.util.concurrent.atomic.AtomicReference<Cpu.Sample> c0 = new java.util.concurrent.atomic.AtomicReference<>();
        Thread recorder = Thread.ofVirtual().start(() -> {
            Clock.sleepMillis((long) (warmup * 1000));
            events.recording = true;
            c0.set(cpu.sample());
            try {
                b0.set(commitToSendBuckets());
            } catch (IOException ignored) {
                // the server-side figure is then missing
            }
        });
        Paced p = Paced.run(16, rate, warmup + seconds, i -> httpPublisher(t -> {
            ThreadLocalRandom r = ThreadLocalRandom.current();
            return r.nextInt(10) == 0 ? "hot" : "u" + r.nextInt(streams);
        }, publish));
        recorder.join();
        Cpu.Sample c1 = cpu.sample();
        Clock.sleepMillis(1000);
        events.recording = false;
        java.util.TreeMap<Double, Double> b1 = commitToSendBuckets();
        long gaps = -gaps0, dups = -dups0;
        for (SseMux.Conn c : normal) {
            gaps += c.gaps;
            dups += c.duplicates;
        }
        double dropped = metric("herald_slow_clients_dropped_total") - droppedBefore;
        if (slowMux != null) {
            slowMux.closeAll(slowConns);
            Clock.sleepMillis(500);
            slowMux.close();
        }
        String name = slow > 0 ? "Herald + " + slow + " slow clients" : "Herald";
        return new Latency(label, normal.size(), slow, events.commitToClient.snapshot(name), events.sendToClient.snapshot(name + " send→client"), publish, p.done.sum(),
                events.delivered.sum(), gaps, dups, p.late.sum(), dropped, p.firstError,
                bucketQuantileMs(b0.get(), b1, 0.5), bucketQuantileMs(b0.get(), b1, 0.99), c0.get() == null ? "" : c1.since(c0.get()));
    }

    /** The forwarder's latency: `subs` clients over subs/10 streams, `rate` NOTIFYs/s with the payload. */
    Hist forwarderLatency(int subs, int rate, double seconds) throws Exception {
        SseMux mux = new SseMux(port, "fwd");
        Events ev = new Events("payload forwarder", false, true);
        int streams = Math.max(1, subs / 10);
        List<SseMux.Conn> conns = subscribe(mux, subs, i -> "f" + (i % streams), ev, false, 60);
        ev.recording = true;
        java.util.concurrent.atomic.AtomicLong seq = new java.util.concurrent.atomic.AtomicLong();
        Paced pw = Paced.run(4, rate, seconds, i -> {
            return jdbcWorker("bench-fwd-writer", FORWARD_SQL, null, c -> (ps, t) -> {
                ps.setString(1, "f" + ThreadLocalRandom.current().nextInt(streams));
                ps.setLong(2, seq.incrementAndGet());
                ps.setLong(3, Clock.nowMicros());
            });
        });
        if (pw.errors.sum() > 0) System.out.println("  forwarder writer: " + pw.errors.sum() + " errors, first: " + pw.firstError);
        Clock.sleepMillis(1000);
        ev.recording = false;
        mux.closeAll(conns);
        Clock.sleepMillis(300);
        mux.close();
        return ev.commitToClient.snapshot("payload forwarder");
    }

    // --- publish rate ----------------------------------------------------------------------

    record Rate(String label, long ops, long events, double seconds, Hist latency, long errors, String error, long transactions, long batches, long batchedEvents, long largest,
                Cpu.Sample c0, Cpu.Sample c1) {
        double perSecond() { return events / seconds; }

        /** CPU milliseconds per 1,000 events: {server, PostgreSQL, load generator}. */
        double[] cpuMsPerThousand() {
            if (c0 == null || c1 == null || events == 0) return null;
            double k = events / 1000.0;
            return new double[]{(c1.server() - c0.server()) * 1000 / k, (c1.pg() - c0.pg()) * 1000 / k, (c1.bench() - c0.bench()) * 1000 / k};
        }
    }

    Rate httpRate(String label, int clients, double seconds, boolean hot) throws Exception {
        Hist lat = new Hist(label);
        JsonNode s0 = server.stats();
        Cpu.Sample c0 = cpu.sample();
        long t0 = System.nanoTime();
        Paced p = Paced.closedLoop(clients, seconds, i -> httpPublisher(t -> hot ? "phot" : "p" + Math.floorMod(t, 100), lat));
        double secs = (System.nanoTime() - t0) / 1e9;
        Cpu.Sample c1 = cpu.sample();
        JsonNode s1 = server.stats();
        return new Rate(label, p.done.sum(), p.done.sum(), secs, lat, p.errors.sum(), p.firstError,
                s1.get("pubTransactions").asLong() - s0.get("pubTransactions").asLong(),
                s1.get("pubBatches").asLong() - s0.get("pubBatches").asLong(),
                s1.get("pubBatchedEvents").asLong() - s0.get("pubBatchedEvents").asLong(),
                s1.get("pubLargestBatch").asLong(), c0, c1);
    }

    /** herald.publish_batch() over JDBC: `conns` connections, `batch` events per call. */
    Rate sqlBatchRate(String label, int conns, int batch, double seconds, boolean hot) throws Exception {
        Hist lat = new Hist(label);
        Cpu.Sample c0 = cpu.sample();
        long t0 = System.nanoTime();
        Paced p = Paced.closedLoop(conns, seconds, w -> {
            String[] tenants = new String[batch], streams = new String[batch], types = new String[batch], datas = new String[batch];
            for (int i = 0; i < batch; i++) {
                tenants[i] = TENANT;
                streams[i] = hot ? "sql:hot" : "sql:s" + ((w * batch + i) % 100);
                types[i] = "bench.sql";
                datas[i] = "{\"k\":" + i + "}";
            }
            return jdbcWorker("bench-sql", "SELECT herald.publish_batch(?, ?, ?, ?::text[]::jsonb[])", lat, c -> {
                Array a1 = c.createArrayOf("text", tenants), a2 = c.createArrayOf("text", streams), a3 = c.createArrayOf("text", types), a4 = c.createArrayOf("text", datas);
                return (ps, ticket) -> {
                    ps.setArray(1, a1);
                    ps.setArray(2, a2);
                    ps.setArray(3, a3);
                    ps.setArray(4, a4);
                };
            });
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Rate(label, p.done.sum(), p.done.sum() * batch, secs, lat, p.errors.sum(), p.firstError, p.done.sum(), p.done.sum(), p.done.sum() * batch, batch, c0, cpu.sample());
    }

    /** herald.publish() one event per transaction over JDBC: the single-transaction ceiling. */
    Rate sqlSingleRate(String label, int conns, double seconds, boolean hot) throws Exception {
        Hist lat = new Hist(label);
        Cpu.Sample c0 = cpu.sample();
        long t0 = System.nanoTime();
        Paced p = Paced.closedLoop(conns, seconds, w -> {
            return jdbcWorker("bench-sql", "SELECT herald.publish(?, ?, 'bench.sql', '{\"k\":1}'::jsonb)", lat, c -> (ps, ticket) -> {
                ps.setString(1, TENANT);
                ps.setString(2, hot ? "sql1:hot" : "sql1:s" + Math.floorMod(ticket, 100));
            });
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        return new Rate(label, p.done.sum(), p.done.sum(), secs, lat, p.errors.sum(), p.firstError, p.done.sum(), 0, 0, 1, c0, cpu.sample());
    }

    // --- idle connections ------------------------------------------------------------------

    record Idle(String label, int target, int opened, long heap0, long heap1, long heap2, int threads0, int threads1, long fds0, long fds1,
                int dbPool, int dbListen, double seconds) {
        double heapPerConnKb() { return opened == 0 ? Double.NaN : (heap1 - heap0) / 1024.0 / opened; }
    }

    Idle idle(String label, int n, boolean herald) throws Exception {
        JsonNode g0 = server.gc();
        long t0 = System.nanoTime();
        SseMux mux = new SseMux(port, "idle");
        Events ignore = new Events("idle", false, false);
        List<SseMux.Conn> conns = subscribe(mux, n, i -> herald ? "u" + (i % 100) : "s" + (i % 100), ignore, herald, Bench.QUICK ? 60 : 180);
        double secs = (System.nanoTime() - t0) / 1e9;
        int opened = mux.connected.get();
        Clock.sleepMillis(500);
        JsonNode g1 = server.gc();
        if (System.getenv("BENCH_HISTO") != null) {
            // Diagnostic: the server's live-object histogram with every connection open.
            Path out = Path.of("bench/target/histo-" + (herald ? "herald" : "bare") + ".txt");
            new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(server.pid), "GC.class_histogram")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start().waitFor();
        }
        int pool = herald ? db.connections("herald") : 0;
        int listen = herald ? db.connections("herald-listener") : db.connections("bench-forwarder");
        closeAndWait(mux, conns, 0);
        mux.close();
        Clock.sleepMillis(1000);
        JsonNode g2 = server.gc();
        return new Idle(label, n, opened, g0.get("heapUsed").asLong(), g1.get("heapUsed").asLong(), g2.get("heapUsed").asLong(),
                g0.get("threads").asInt(), g1.get("threads").asInt(), g0.get("fds").asLong(), g1.get("fds").asLong(), pool, listen, secs);
    }

    // --- connection rate -------------------------------------------------------------------

    record ConnRate(String label, long connections, long failures, double seconds, Hist connect, Hist firstByte, long listenOverflows, long listenDrops, String error, String cpu) {
        double perSecond() { return connections / seconds; }
    }

    ConnRate connectionRate(String label, int openers, double seconds, boolean herald) throws Exception {
        List<String> tokens = new ArrayList<>();
        if (herald) for (int i = 0; i < 100; i++) tokens.add(readToken("u" + i));
        Hist connect = new Hist("connect"), first = new Hist("first byte");
        LongAdder ok = new LongAdder(), bad = new LongAdder();
        String[] err = {null};
        long[] nstat0 = Nstat.read();
        Cpu.Sample c0 = cpu.sample();
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (seconds * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (int o = 0; o < openers; o++) {
            int me = o;
            threads.add(Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[4096];
                for (int n = 0; n < 1_000_000 && System.nanoTime() < deadline; n++) {
                    String req = herald
                            ? "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + tokens.get((me + n) % tokens.size()) + "\r\n\r\n"
                            : "GET /sse?stream=c" + (me % 100) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
                    long s = System.nanoTime();
                    try (Socket sock = new Socket()) {
                        sock.setSoTimeout(10_000);
                        sock.setTcpNoDelay(true);
                        sock.bind(Net.nextSource());
                        sock.connect(Net.server(port), 10_000);
                        long c = System.nanoTime();
                        OutputStream out = sock.getOutputStream();
                        out.write(req.getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        InputStream in = sock.getInputStream();
                        StringBuilder got = new StringBuilder();
                        boolean retry = false;
                        for (int r = 0; r < 64 && !retry; r++) {
                            int k = in.read(buf);
                            if (k < 0) break;
                            got.append(new String(buf, 0, k, StandardCharsets.ISO_8859_1));
                            retry = got.indexOf("\nretry:") >= 0 && got.indexOf("HTTP/1.1 200") == 0;
                        }
                        long f = System.nanoTime();
                        if (retry) {
                            ok.increment();
                            connect.recordMicros((c - s) / 1000);
                            first.recordMicros((f - s) / 1000);
                        } else {
                            bad.increment();
                            if (err[0] == null) err[0] = got.length() > 200 ? got.substring(0, 200) : got.toString();
                        }
                    } catch (IOException e) {
                        bad.increment();
                        if (err[0] == null) err[0] = e.toString();
                    }
                }
            }));
        }
        for (Thread t : threads) t.join(60_000);
        double secs = (System.nanoTime() - t0) / 1e9;
        Cpu.Sample c1 = cpu.sample();
        long[] nstat1 = Nstat.read();
        // Let the server notice the closes before the next scenario.
        long until = System.nanoTime() + 20_000_000_000L;
        while (server.stats().get("sse").asInt() > 0 && System.nanoTime() < until) Clock.sleepMillis(100);
        return new ConnRate(label, ok.sum(), bad.sum(), secs, connect, first, nstat1[0] - nstat0[0], nstat1[1] - nstat0[1], err[0], c1.since(c0));
    }

    // --- fan-out ---------------------------------------------------------------------------

    record FanOut(int subscribers, long pings, double fetches, long delivered) {
        double fetchesPerPing() { return pings == 0 ? Double.NaN : fetches / pings; }
    }

    FanOut fanOut(int subs, int pings) throws Exception {
        String user = "fan" + subs;
        SseMux mux = new SseMux(port, "fan");
        Events ev = new Events("fan", false, false);
        List<SseMux.Conn> conns = subscribe(mux, subs, i -> user, ev, true, 60);
        Clock.sleepMillis(300);
        double f0 = server.stats().get("fetches").asDouble();
        // One publisher, paced at 100/s: each publish is its own transaction and its own ping.
        Paced p = Paced.run(1, 100, pings / 100.0, i -> httpPublisher(t -> user, null));
        long published = p.done.sum();
        long until = System.nanoTime() + 30_000_000_000L;
        long want = (long) conns.size() * published;
        while (ev.all.sum() < want && System.nanoTime() < until) Clock.sleepMillis(20);
        Clock.sleepMillis(300);
        double f1 = server.stats().get("fetches").asDouble();
        if (ev.all.sum() < want) {
            java.util.TreeMap<Long, Integer> dist = new java.util.TreeMap<>();
            for (SseMux.Conn c : conns) dist.merge(c.events, 1, Integer::sum);
            System.out.println("  fan-out " + subs + ": not every event arrived within 30 s; events per connection → connections: " + dist
                    + "; closed by server " + mux.closedByServer.get() + ", slow clients dropped (metric) " + metric("herald_slow_clients_dropped_total"));
        }
        closeAndWait(mux, conns, 0);
        mux.close();
        return new FanOut(subs, published, f1 - f0, ev.all.sum());
    }

    // --- reconnect loss --------------------------------------------------------------------

    record Reconnect(String label, int clients, long expected, long received, double gapSeconds) {
        long lost() { return expected - received; }
    }

    /**
     * `clients` over 10 streams; events at `rate`/s for `seconds`; at 40 % of the run every
     * client disconnects and comes back after `gap` s — Herald clients with Last-Event-ID,
     * forwarder clients as a browser's EventSource would (no id to send).
     */
    Reconnect reconnect(String label, int clients, int rate, double seconds, double gap, boolean herald) throws Exception {
        SseMux mux = new SseMux(port, "rc");
        Events ev = new Events("rc", true, !herald);
        String prefix = "rc" + System.nanoTime() % 100000 + "x";
        List<SseMux.Conn> conns = subscribe(mux, clients, i -> prefix + (i % 10), ev, herald, 60);
        for (SseMux.Conn c : conns) c.tag = new BitSet();
        long[] perStream = new long[10];
        Thread publisher = Thread.ofVirtual().start(() -> {
            try {
                Paced pw;
                if (herald) {
                    pw = Paced.run(4, rate, seconds, i -> httpPublisher(t -> prefix + Math.floorMod(t, 10), null));
                } else {
                    pw = Paced.run(4, rate, seconds, i -> {
                        return jdbcWorker("bench-fwd-writer", FORWARD_SQL, null, c -> (ps, t) -> {
                            int st = (int) Math.floorMod(t, 10);
                            long seq;
                            synchronized (perStream) {
                                seq = ++perStream[st];
                            }
                            ps.setString(1, prefix + st);
                            ps.setLong(2, seq);
                            ps.setLong(3, Clock.nowMicros());
                        });
                    });
                }
                if (pw.errors.sum() > 0) System.out.println("  reconnect publisher: " + pw.errors.sum() + " errors, first: " + pw.firstError);
            } catch (Exception e) {
                System.err.println("reconnect publisher: " + e);
            }
        });
        Clock.sleepMillis((long) (seconds * 400));
        mux.closeAll(conns);
        Clock.sleepMillis((long) (gap * 1000));
        List<SseMux.Conn> again = new ArrayList<>();
        for (SseMux.Conn old : conns) {
            SseMux.Conn c = herald
                    ? mux.open("/api/v1/events", old.token, old.lastId >= 0 ? old.lastId : null, true, 0, ev)
                    : mux.open(old.path, null, null, true, 0, ev);
            c.tag = old.tag;
            again.add(c);
        }
        publisher.join();
        Clock.sleepMillis(1500);
        long expected = 0, received = 0;
        long[] heads = new long[10];
        if (herald) {
            for (int s = 0; s < 10; s++) {
                heads[s] = db.scalarLong("SELECT coalesce(max(head), 0) FROM herald.streams WHERE tenant = '" + TENANT + "' AND stream = 'user:" + prefix + s + "'");
            }
        } else {
            synchronized (perStream) {
                System.arraycopy(perStream, 0, heads, 0, 10);
            }
        }
        for (int i = 0; i < again.size(); i++) {
            BitSet b = (BitSet) again.get(i).tag;
            expected += heads[i % 10];
            synchronized (b) {
                received += b.cardinality();
            }
        }
        mux.closeAll(again);
        Clock.sleepMillis(300);
        mux.close();
        return new Reconnect(label, clients, expected, received, gap);
    }
}
