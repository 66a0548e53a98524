package dev.herald.bench;

import dev.herald.json.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End to end — what users see (`--only=e2e`). Two Herald replicas, each its own JVM started
 * from target/herald.jar as deployed ({@link Replica}), share the run's database. N users, each
 * with its own `events:read` token minted through the admin API, subscribe on replica A to one
 * team stream; job events (10 jobs) are POSTed to replica B at a fixed rate by keep-alive
 * clients on an absolute schedule (open loop). Latency is publish request sent → event received, on the
 * load generator's clock: the send time travels in the event's data (with a sequence number
 * that says which phase the event belongs to).
 *
 * <p>The replicas start fresh for each configuration, so the first `cold` publishes are the
 * cold start (measured on their own) and the warm-up of the measured phase that follows.
 */
final class E2e {
    static final String TEAM = "e2e";
    static final int JOBS = 10;
    /** A pause in a `-Xlog:gc` line decorated with `timemillis`: `[<epoch ms>ms] GC(n) Pause … 1.234ms`. */
    static final Pattern GC_PAUSE = Pattern.compile("^\\[(\\d+)ms\\].*\\bPause\\b.*?([0-9]+(?:\\.[0-9]+)?)ms\\s*$");

    /** Keep-alive publishing clients: at least 16, and enough that a 60 ms answer keeps the schedule. */
    static int publishers(int rate) {
        return Math.max(16, rate / 16);
    }

    /** `subscribers` on replica A, `rate` publishes/s to replica B: `cold` publishes, then `seconds` measured. */
    record Config(int subscribers, int rate, double seconds, int cold) {
        String label() {
            return String.format(Locale.ROOT, "%,d subscribers × %,d events/s", subscribers, rate);
        }

        static List<Config> full() {
            return List.of(new Config(100, 200, 60, 1000), new Config(1000, 1000, 30, 1000));
        }

        static List<Config> quick() {
            return List.of(new Config(100, 200, 10, 300));
        }

        /** `--e2e=SUBSCRIBERS:RATE:SECONDS:COLD[,...]`, e.g. `--e2e=20:50:5:100`. */
        static List<Config> parse(String spec) {
            List<Config> out = new ArrayList<>();
            for (String one : spec.split(",")) {
                String[] f = one.trim().split(":");
                if (f.length != 4) {
                    throw new IllegalArgumentException("--e2e wants SUBSCRIBERS:RATE:SECONDS:COLD, got " + one);
                }
                out.add(new Config(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Double.parseDouble(f[2]),
                        Integer.parseInt(f[3])));
            }
            return out;
        }
    }

    /** GC pauses of one replica in one phase, from its GC log. */
    record Gc(int pauses, double maxMs, double p99Ms, double totalMs) {}

    /** One phase: latency over all its deliveries, and what it cost each component. */
    record Phase(String name, long scheduled, long publishes, long deliveries, long expected, Hist publishToClient,
                 Hist commitToClient, Hist answer, double seconds, double cpuA, double cpuB, double cpuPg,
                 double cpuBench, Gc gcA, Gc gcB, String loadStart, String loadEnd) {
        /** µs of replica B's CPU per publish. */
        double usPerPublish() {
            return publishes == 0 ? Double.NaN : cpuB * 1e6 / publishes;
        }

        /** µs of replica A's CPU per delivery. */
        double usPerDelivery() {
            return deliveries == 0 ? Double.NaN : cpuA * 1e6 / deliveries;
        }
    }

    record Result(Config config, int publishers, int connected, Phase cold, Phase measured, long gaps, long duplicates,
                  long closedByServer, long publishErrors, long late, String firstError) {}

    /** The two ends of a phase: CPU seconds of each component, the clocks, the load average. */
    record Snap(long nanos, long epochMs, double a, double b, double pg, double bench, String load) {}

    private final Db db;
    private final Map<String, String> env = new HashMap<>();
    private final List<String> readTokens = new ArrayList<>();
    private String writeToken;

    E2e(Db db) {
        this.db = db;
        env.put("HERALD_DATABASE_URL", db.heraldUrl());
        env.put("HERALD_ADMIN_TOKEN", Scenarios.ADMIN);
        env.put("HERALD_MAX_STREAMS_PER_USER", "1000000");
    }

    /** Every configuration in turn; a failed one is added to `failures` and the next still runs. */
    static List<Result> run(Db db, List<Config> configs, List<String> failures) throws Exception {
        E2e e = new E2e(db);
        int most = 0;
        for (Config c : configs) most = Math.max(most, c.subscribers());
        // The tokens come from a replica of their own, so A and B start cold (and the schema is migrated).
        try (Replica setup = Replica.start("e2e-setup", e.env)) {
            setup.awaitReady(Bench.QUICK ? 60 : 120);
            e.mint(setup.port, most);
        }
        List<Result> out = new ArrayList<>();
        for (Config c : configs) {
            try {
                Result r = e.one(c);
                print(r);
                out.add(r);
            } catch (Exception ex) {
                failures.add("end to end, " + c.label() + ": " + ex);
                ex.printStackTrace();
            }
        }
        return out;
    }

    /** One `events:read` token per user (reader-0 …), 16 requests at a time, and one `events:write` token. */
    private void mint(int port, int users) throws Exception {
        ConcurrentHashMap<Integer, String> got = new ConcurrentHashMap<>();
        try (var ex = Executors.newFixedThreadPool(16, Thread.ofVirtual().factory())) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < users; i++) {
                int u = i;
                fs.add(ex.submit(() -> {
                    String body = "{\"tenant\":\"" + TEAM + "\",\"user\":\"reader-" + u
                            + "\",\"scopes\":[\"events:read\"]}";
                    got.put(u, token(port, body));
                    return null;
                }));
            }
            for (Future<?> f : fs) f.get(120, TimeUnit.SECONDS);
        }
        for (int i = 0; i < users; i++) readTokens.add(got.get(i));
        writeToken = token(port, "{\"tenant\":\"" + TEAM + "\",\"scopes\":[\"events:write\"]}");
    }

    private static String token(int port, String body) throws IOException {
        try (HttpConn h = new HttpConn(port)) {
            HttpConn.Response r = h.post("/api/v1/admin/tokens", Scenarios.ADMIN, body);
            if (r.status() != 201) throw new IllegalStateException("mint failed: " + r);
            return Json.parse(r.body()).get("token").asText();
        }
    }

    /** Records each delivery under its phase (by the sequence number in its data). */
    static final class Deliveries implements SseMux.Handler {
        final long cold;
        final Hist[] publishToClient = {new Hist("cold start publish→client"), new Hist("publish→client")};
        final Hist[] commitToClient = {new Hist("cold start commit→client"), new Hist("commit→client")};
        final LongAdder[] delivered = {new LongAdder(), new LongAdder()};
        final LongAdder foreign = new LongAdder();
        /** created_at per event (parsed once, not once per subscriber), 0 until seen. */
        final AtomicLongArray createdAt;

        Deliveries(long cold, long total) {
            this.cold = cold;
            this.createdAt = new AtomicLongArray((int) total);
        }

        @Override
        public void onEvent(SseMux.Conn c, long id, String event, String data, long recv) {
            long seq = Events.longField(data, "\"seq\":");
            long sent = Events.longField(data, "\"t\":");
            if (seq < 0 || seq >= createdAt.length() || sent <= 0) {
                foreign.increment();
                return;
            }
            int ph = seq < cold ? 0 : 1;
            delivered[ph].increment();
            publishToClient[ph].recordMicros(recv - sent);
            long created = createdAt.get((int) seq);
            if (created == 0) {
                created = Events.createdAt(data);
                createdAt.set((int) seq, created);
            }
            if (created > 0) commitToClient[ph].recordMicros(recv - created);
        }
    }

    private Result one(Config c) throws Exception {
        long total = c.cold() + (long) (c.rate() * c.seconds());
        Deliveries d = new Deliveries(c.cold(), total);
        Hist[] answer = {new Hist("cold start publish answer"), new Hist("publish answer")};
        LongAdder[] published = {new LongAdder(), new LongAdder()};
        Snap s0, s1, s2;
        int connected;
        long gaps = 0, dups = 0, closedByServer = 0;
        Paced p;
        try (Replica a = Replica.start("e2e-A", env); Replica b = Replica.start("e2e-B", env)) {
            a.awaitReady(Bench.QUICK ? 60 : 120);
            b.awaitReady(Bench.QUICK ? 60 : 120);
            // Subscribers on A: one selector thread per 500 (the load generator must keep up).
            List<SseMux> muxes = new ArrayList<>();
            int selectors = Math.max(1, Math.min(4, c.subscribers() / 500));
            for (int m = 0; m < selectors; m++) muxes.add(new SseMux(a.port, "e2e" + m));
            List<List<SseMux.Conn>> conns = new ArrayList<>();
            for (int m = 0; m < muxes.size(); m++) conns.add(new ArrayList<>());
            try {
                connected = subscribe(c, muxes, conns, d);
                CountDownLatch boundary = new CountDownLatch(1);
                AtomicReference<Snap> mid = new AtomicReference<>();
                Thread sampler = Thread.ofVirtual().start(() -> {
                    try {
                        long limit = (long) (total / (double) c.rate() + 60);
                        if (boundary.await(limit, TimeUnit.SECONDS)) mid.set(snap(a, b));
                    } catch (InterruptedException ignored) {
                        // no boundary sample: the run failed
                    }
                });
                s0 = snap(a, b);
                p = Paced.runCount(publishers(c.rate()), c.rate(), total,
                        i -> publisher(b.port, c.cold(), boundary, answer, published));
                boundary.countDown();
                sampler.join(30_000);
                s1 = mid.get() == null ? snap(a, b) : mid.get();
                // Until every measured delivery arrived (bounded), so A's CPU is the whole fan-out.
                long want = published[1].sum() * connected;
                long until = System.nanoTime() + 15_000_000_000L;
                for (int i = 0; i < 100_000 && d.delivered[1].sum() < want && System.nanoTime() < until; i++) {
                    Clock.sleepMillis(20);
                }
                s2 = snap(a, b);
                for (int m = 0; m < muxes.size(); m++) {
                    for (SseMux.Conn x : conns.get(m)) {
                        gaps += x.gaps;
                        dups += x.duplicates;
                    }
                    closedByServer += muxes.get(m).closedByServer.get();
                }
            } finally {
                for (int m = 0; m < muxes.size(); m++) {
                    muxes.get(m).closeAll(conns.get(m));
                    muxes.get(m).close();
                }
            }
            a.close(); // the GC logs are complete once the replicas have exited
            b.close();
            String n = String.format(Locale.ROOT, "%,d", c.cold());
            Phase cold = phase("cold start: the first " + n + " publishes after start", c.cold(), s0, s1, 0, connected,
                    d, answer, published, a, b);
            Phase measured = phase("measured, after those " + n + " (the warm-up)", total - c.cold(), s1, s2, 1,
                    connected, d, answer, published, a, b);
            return new Result(c, publishers(c.rate()), connected, c.cold() > 0 ? cold : null, measured, gaps, dups,
                    closedByServer, p.errors.sum(), p.late.sum(), p.firstError);
        }
    }

    /** Opens one subscription per user (at most 256 handshakes in flight) and waits for ": connected". */
    private int subscribe(Config c, List<SseMux> muxes, List<List<SseMux.Conn>> conns, Deliveries d) {
        if (readTokens.size() < c.subscribers()) throw new IllegalStateException("not enough read tokens");
        String path = "/api/v1/teams/" + TEAM + "/events";
        long until = System.nanoTime() + 60_000_000_000L;
        for (int i = 0; i < c.subscribers(); i++) {
            for (int g = 0; g < 100_000 && i - settled(muxes) > 256 && System.nanoTime() < until; g++) {
                Clock.sleepMillis(1);
            }
            int m = i % muxes.size();
            conns.get(m).add(muxes.get(m).open(path, readTokens.get(i), null, true, 0, d));
        }
        for (int g = 0; g < 100_000 && connected(muxes) < c.subscribers() && System.nanoTime() < until; g++) {
            Clock.sleepMillis(10);
        }
        int got = connected(muxes);
        if (got < c.subscribers()) {
            int failed = 0;
            for (SseMux m : muxes) failed += m.failed.get();
            throw new IllegalStateException(
                    "only " + got + " of " + c.subscribers() + " subscribers connected (" + failed + " failed)");
        }
        return got;
    }

    private static int connected(List<SseMux> muxes) {
        int n = 0;
        for (SseMux m : muxes) n += m.connected.get();
        return n;
    }

    private static int settled(List<SseMux> muxes) {
        int n = 0;
        for (SseMux m : muxes) n += m.connected.get() + m.failed.get();
        return n;
    }

    /** A keep-alive publisher to replica B: job `ticket % 10`, data {seq, t = send time in µs}. */
    private Paced.Worker publisher(int port, int cold, CountDownLatch boundary, Hist[] answer, LongAdder[] published) {
        HttpConn h = new HttpConn(port);
        return new Paced.Worker() {
            @Override
            public void run(long ticket) throws Exception {
                if (ticket == cold) boundary.countDown();
                int ph = ticket < cold ? 0 : 1;
                String path = "/api/v1/teams/" + TEAM + "/jobs/job-" + (ticket % JOBS) + "/events";
                long sent = Clock.nowMicros();
                long t0 = System.nanoTime();
                HttpConn.Response r = h.post(path, writeToken,
                        "{\"status\":\"progress\",\"data\":{\"seq\":" + ticket + ",\"t\":" + sent + "}}");
                long took = System.nanoTime() - t0;
                if (r.status() != 201) throw new IOException("publish: " + r.status() + " " + r.body());
                answer[ph].recordMicros(took / 1000);
                published[ph].increment();
            }

            @Override
            public void close() {
                h.close();
            }
        };
    }

    private Snap snap(Replica a, Replica b) {
        Cpu.Sample s = new Cpu(a.pid, db.postmasterPid).sample();
        return new Snap(s.nanos(), System.currentTimeMillis(), s.server(), Cpu.seconds(b.pid, false), s.pg(), s.bench(),
                load1());
    }

    private static Phase phase(String name, long scheduled, Snap from, Snap to, int ph, int subscribers, Deliveries d,
                               Hist[] answer, LongAdder[] published, Replica a, Replica b) {
        long pubs = published[ph].sum();
        return new Phase(name, scheduled, pubs, d.delivered[ph].sum(), pubs * subscribers, d.publishToClient[ph],
                d.commitToClient[ph], answer[ph], (to.nanos() - from.nanos()) / 1e9, to.a() - from.a(),
                to.b() - from.b(), to.pg() - from.pg(), to.bench() - from.bench(),
                gc(a.gcLog, from.epochMs(), to.epochMs()), gc(b.gcLog, from.epochMs(), to.epochMs()), from.load(),
                to.load());
    }

    /** The pauses a GC log (-Xlog:gc, decorated with timemillis) records between two wall-clock instants. */
    static Gc gc(Path log, long fromMs, long toMs) {
        List<Double> ms = new ArrayList<>();
        try {
            for (String l : Files.readAllLines(log)) {
                Matcher m = GC_PAUSE.matcher(l);
                if (!m.find()) continue;
                long at = Long.parseLong(m.group(1));
                if (at >= fromMs && at <= toMs) ms.add(Double.parseDouble(m.group(2)));
            }
        } catch (IOException e) {
            return null;
        }
        if (ms.isEmpty()) return new Gc(0, 0, 0, 0);
        Collections.sort(ms);
        double sum = 0;
        for (double x : ms) sum += x;
        int p99 = Math.max(0, (int) Math.ceil(0.99 * ms.size()) - 1);
        return new Gc(ms.size(), ms.get(ms.size() - 1), ms.get(p99), sum);
    }

    /** The 1-minute load average, from /proc/loadavg. */
    static String load1() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 2)[0];
        } catch (Exception e) {
            return "?";
        }
    }

    static String cpu(double s) {
        return Double.isNaN(s) ? "–" : String.format(Locale.ROOT, "%.2f", s);
    }

    static String us(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%,.0f", v);
    }

    static String gc(Gc g) {
        if (g == null) return "–";
        if (g.pauses() == 0) return "no pause";
        return String.format(Locale.ROOT, "%s / %s ms (%d pause%s, %s ms in all)", Hist.fmt(g.maxMs()),
                Hist.fmt(g.p99Ms()), g.pauses(), g.pauses() == 1 ? "" : "s", Hist.fmt(g.totalMs()));
    }

    static void print(Result r) {
        Config c = r.config();
        for (Phase ph : r.cold() == null ? List.of(r.measured()) : List.of(r.cold(), r.measured())) {
            Hist h = ph.publishToClient();
            System.out.printf(Locale.ROOT, Bench.at() + "e2e        %s, %s:%n", c.label(), ph.name());
            System.out.printf(Locale.ROOT, "           publish→client p50 %s p90 %s p99 %s p99.9 %s max %s ms"
                            + " | commit→client p50 %s p99 %s ms | %,d of %,d publishes, %,d of %,d deliveries"
                            + " | load %s → %s%n",
                    Hist.fmt(h.ms(50)), Hist.fmt(h.ms(90)), Hist.fmt(h.ms(99)), Hist.fmt(h.ms(99.9)),
                    Hist.fmt(h.maxMs()), Hist.fmt(ph.commitToClient().ms(50)), Hist.fmt(ph.commitToClient().ms(99)),
                    ph.publishes(), ph.scheduled(), ph.deliveries(), ph.expected(), ph.loadStart(), ph.loadEnd());
            System.out.printf(Locale.ROOT, "           publish answer p50 %s p99 %s max %s ms | CPU s over %.1f s:"
                            + " replica A %s, replica B %s, PostgreSQL %s, load generator %s%n",
                    Hist.fmt(ph.answer().ms(50)), Hist.fmt(ph.answer().ms(99)), Hist.fmt(ph.answer().maxMs()),
                    ph.seconds(), cpu(ph.cpuA()), cpu(ph.cpuB()), cpu(ph.cpuPg()), cpu(ph.cpuBench()));
            System.out.printf(Locale.ROOT, "           %s µs CPU per publish (B), %s µs per delivery (A)"
                            + " | GC pause max / p99: A %s; B %s%n",
                    us(ph.usPerPublish()), us(ph.usPerDelivery()), gc(ph.gcA()), gc(ph.gcB()));
        }
        System.out.printf(Locale.ROOT, "           %d subscribers connected; gaps %d, duplicates %d,"
                        + " closed by the server %d; publish errors %d%s; %d publishes started > 50 ms behind schedule"
                        + " (%d publishers)%n",
                r.connected(), r.gaps(), r.duplicates(), r.closedByServer(), r.publishErrors(),
                r.firstError() == null ? "" : " (first: " + r.firstError() + ")", r.late(), r.publishers());
    }
}
