package dev.herald.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `make bench`: Herald against its baselines on one machine, in one run. Starts PostgreSQL
 * (embedded, or the server of HERALD_DATABASE_URL), runs the baselines, starts Herald in its
 * own JVM and drives it over real HTTP and SSE on 127.0.0.1, then appends bench/RESULTS.md and
 * writes bench/latency.png. `--quick` (QUICK=1) runs the same scenarios with smaller counts.
 */
public final class Bench {
    static boolean QUICK;
    static String LOAD_AT_START = "?";
    static long heraldReconnects;
    static final List<String> NOTES = new ArrayList<>();
    static final long T0 = System.nanoTime();

    /** Seconds since the bench started, for the printed lines. */
    static String at() {
        return String.format(Locale.ROOT, "[%5.1fs] ", (System.nanoTime() - T0) / 1e9);
    }
    /** `--only=a,b`: run only these parts (floor, polling, listen, forwarder, latency, rate, idle, connrate, fanout, reconnect, e2e). */
    static java.util.Set<String> ONLY = java.util.Set.of();

    static boolean run(String part) {
        return ONLY.isEmpty() || ONLY.contains(part);
    }

    /** Every count and duration of a run. */
    record Params(double floorSeconds, int floorRate, int pollClients, double pollSeconds, int listenMax, double listenSeconds,
                  int reconnectClients, double reconnectSeconds, int latSubs, int latStreams, int latHot, int latRate,
                  double latWarmup, double latSeconds, int pubClients, double pubSeconds, int sqlConns, int sqlBatch,
                  double sqlSeconds, int singleConns, int idleConns, int openers, double connSeconds, int[] fanout, int fanPings,
                  int slowClients) {
        static Params full() {
            return new Params(15, 1000, 100, 20, 1000, 15,
                    100, 6, 1000, 100, 10, 1000,
                    5, 20, 64, 10, 4, 100,
                    8, 16, 10_000, 200, 10, new int[]{1, 100, 1000}, 300,
                    1000);
        }

        static Params quick() {
            return new Params(2, 1000, 20, 3, 40, 2,
                    50, 2, 300, 30, 10, 500,
                    1, 2.5, 64, 2, 4, 1000,
                    1.5, 16, 1000, 200, 2, new int[]{1, 100, 300}, 50,
                    300);
        }
    }

    public static void main(String[] args) throws Exception {
        for (String a : args) {
            if (a.equals("--quick")) QUICK = true;
            if (a.startsWith("--only=")) ONLY = java.util.Set.of(a.substring(7).split(","));
        }
        List<E2e.Config> e2eConfigs = QUICK ? E2e.Config.quick() : E2e.Config.full();
        for (String a : args) if (a.startsWith("--e2e=")) e2eConfigs = E2e.Config.parse(a.substring(6));
        Params p0 = QUICK ? Params.quick() : Params.full();
        String batchEnv = System.getenv("BENCH_SQL_BATCH");
        if (batchEnv != null && !batchEnv.isBlank()) {
            int b = Integer.parseInt(batchEnv.trim());
            Params p = p0;
            p0 = new Params(p.floorSeconds(), p.floorRate(), p.pollClients(), p.pollSeconds(), p.listenMax(), p.listenSeconds(),
                    p.reconnectClients(), p.reconnectSeconds(), p.latSubs(), p.latStreams(), p.latHot(), p.latRate(),
                    p.latWarmup(), p.latSeconds(), p.pubClients(), p.pubSeconds(), p.sqlConns(), Math.max(1, Math.min(b, 5000)),
                    p.sqlSeconds(), p.singleConns(), p.idleConns(), p.openers(), p.connSeconds(), p.fanout(), p.fanPings(), p.slowClients());
        }
        final Params p = p0;
        Path dir = Path.of(args.length > 0 && !args[args.length - 1].startsWith("--") ? args[args.length - 1] : "bench");
        long started = System.nanoTime();
        Report r = new Report();
        String when = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        System.out.println("Herald bench " + (QUICK ? "(QUICK)" : "(full)") + " — " + when);
        LOAD_AT_START = loadAverage();
        System.out.println("  open-file limit: " + openFileLimit() + ", load average at start: " + LOAD_AT_START);

        Baselines.Floor floor = null;
        List<Baselines.Polling> polls = List.of();
        Baselines.ListenPerClient lpc = null;
        Scenarios.Reconnect fwdLoss = null, heraldLoss = null;
        Scenarios.ConnRate bareRate = null, heraldRate = null;
        Scenarios.Idle bareIdle = null, heraldIdle = null;
        Scenarios.Latency lat = null, latSlow = null, latAgain = null;
        List<Scenarios.Rate> rates = new ArrayList<>();
        List<Scenarios.FanOut> fans = new ArrayList<>();
        Hist fwdLatency = null;
        List<E2e.Result> e2e = List.of();
        List<String> failures = new ArrayList<>();

        try (Db db = Db.open()) {
            String machine = machine(db);
            System.out.println("  " + machine);
            Baselines b = new Baselines(db);

            // ---- baselines on the bare database -------------------------------------------
            if (run("floor")) try {
                floor = b.floor(p.floorRate, p.floorSeconds);
                System.out.printf(at() + "floor      raw NOTIFY→LISTEN %s | NOTIFY+re-query %s | writer commit p50 %s ms (%d events)%n",
                        floor.raw().summary(), floor.requery().summary(), Hist.fmt(floor.writerCommit().ms(50)), floor.published());
            } catch (Exception e) {
                failures.add("floor: " + e);
            }
            if (run("polling")) try {
                polls = b.polling(p.pollClients, p.floorRate, p.pollSeconds, 1000, 100);
                for (Baselines.Polling pl : polls) {
                    System.out.printf(at() + "polling    every %d ms: %s | %.1f queries/s per client, %.0f%% empty (%d clients)%n",
                            pl.intervalMs(), pl.latency().summary(), pl.queriesPerSecondPerClient(), 100.0 * pl.empty() / Math.max(1, pl.queries()), pl.clients());
                }
            } catch (Exception e) {
                failures.add("polling: " + e);
            }
            if (run("listen")) try {
                lpc = b.listenPerClient(p.listenMax, p.floorRate, p.listenSeconds);
                System.out.printf(at() + "listen/client %d LISTEN connections: %s | writer commit p50 %s p99 %s ms | backend Pss %s kB, private %s kB each %s%n",
                        lpc.clients(), lpc.latency().summary(), Hist.fmt(lpc.writerCommit().ms(50)), Hist.fmt(lpc.writerCommit().ms(99)),
                        lpc.memoryKb() == null ? "n/a" : lpc.memoryKb()[0], lpc.memoryKb() == null ? "n/a" : lpc.memoryKb()[1], lpc.limitNote());
            } catch (Exception e) {
                failures.add("LISTEN per client: " + e);
            }

            // ---- the payload forwarder (and bare Javalin SSE) -----------------------------
            Map<String, String> fenv = new HashMap<>();
            fenv.put("HERALD_DATABASE_URL", db.heraldUrl());
            if (run("forwarder") || run("connrate") || run("idle")) try (ServerProcess fwd = ServerProcess.start("forwarder", fenv, "1g", Path.of("bench/target/forwarder.log"))) {
                Scenarios s = new Scenarios(db, fwd);
                if (run("forwarder")) try {
                    fwdLoss = s.reconnect("forwarder", p.reconnectClients, 500, p.reconnectSeconds, 1.0, false);
                    System.out.printf(at() + "forwarder  reconnect after 1 s: %d of %d deliveries lost (%d clients)%n", fwdLoss.lost(), fwdLoss.expected(), fwdLoss.clients());
                } catch (Exception e) {
                    failures.add("forwarder reconnect: " + e);
                }
                if (run("forwarder")) try {
                    fwdLatency = forwarderLatency(s, db, p);
                    System.out.printf(at() + "forwarder  latency %s%n", fwdLatency.summary());
                } catch (Exception e) {
                    failures.add("forwarder latency: " + e);
                }
                if (run("connrate")) try {
                    bareRate = s.connectionRate("bare Javalin SSE", p.openers, p.connSeconds, false);
                    printConnRate(bareRate);
                } catch (Exception e) {
                    failures.add("bare connection rate: " + e);
                }
                if (run("idle")) try {
                    bareIdle = s.idle("bare Javalin SSE", p.idleConns, false);
                    printIdle(bareIdle);
                } catch (Exception e) {
                    failures.add("bare idle: " + e);
                }
            }

            // ---- Herald ---------------------------------------------------------------------
            Map<String, String> env = new HashMap<>();
            env.put("HERALD_DATABASE_URL", db.heraldUrl());
            env.put("HERALD_ADMIN_TOKEN", Scenarios.ADMIN);
            env.put("HERALD_PORT", "0");
            env.put("HERALD_LOG_LEVEL", "WARN");
            // The bench's thousands of connections share a few users: the per-user replay
            // budget (60 connects a minute by default) would refuse most of them.
            env.put("HERALD_REPLAY_CONNECTS", "0");
            env.put("HERALD_REPLAY_ROWS", "0");
            // Scenarios open many streams per user token: the per-user stream limit is off too.
            env.put("HERALD_MAX_STREAMS_PER_USER", "1000000");
            boolean heraldParts = java.util.stream.Stream.of("latency", "rate", "idle", "connrate", "fanout", "reconnect")
                    .anyMatch(Bench::run);
            if (heraldParts) try (ServerProcess herald = ServerProcess.start("herald", env, "1g", Path.of("bench/target/herald-server.log"))) {
                Scenarios s = new Scenarios(db, herald);
                List<String> users = new ArrayList<>();
                for (int i = 0; i < 100; i++) users.add("u" + i);
                users.add("hot");
                s.mintReadTokens(users);
                if (run("latency")) try {
                    SseMux mux = new SseMux(herald.port, "latency");
                    Events ev = new Events("Herald", false, false);
                    int perStream = p.latSubs / p.latStreams;
                    List<SseMux.Conn> subs = s.subscribe(mux, p.latSubs + p.latHot,
                            i -> i < p.latSubs ? "u" + (i / perStream) : "hot", ev, true, 60);
                    lat = s.latency("latency", subs, ev, p.latStreams, p.latRate, p.latWarmup, p.latSeconds, 0);
                    printLatency(lat);
                    // Same subscribers and load, plus clients that never read; fresh histograms.
                    latSlow = slowClients(s, mux, subs, ev, p);
                    printLatency(latSlow);
                    // The same load again without them: a second reference for the comparison.
                    resetEvents(ev);
                    latAgain = s.latency("latency again, without the slow clients", subs, ev, p.latStreams, p.latRate, p.latWarmup, p.latSeconds, 0);
                    printLatency(latAgain);
                    s.closeAndWait(mux, subs, 0);
                    mux.close();
                } catch (Exception e) {
                    failures.add("latency: " + e);
                    e.printStackTrace();
                }
                if (run("rate")) try {
                    for (boolean hot : new boolean[]{true, false}) {
                        Scenarios.Rate http = s.httpRate("HTTP publish, " + (hot ? "one hot stream" : "100 streams"), p.pubClients, p.pubSeconds, hot);
                        printRate(http);
                        rates.add(http);
                        Scenarios.Rate single = s.sqlSingleRate("herald.publish(), 1 event/tx, " + (hot ? "one hot stream" : "100 streams"), p.singleConns, p.sqlSeconds, hot);
                        printRate(single);
                        rates.add(single);
                        // The configured batch size, and (full runs) 1,000 per call as well.
                        for (int size : p.sqlBatch == 1000 || QUICK ? new int[]{p.sqlBatch} : new int[]{p.sqlBatch, 1000}) {
                            Scenarios.Rate batch = s.sqlBatchRate("herald.publish_batch(), " + size + " events/call, " + (hot ? "one hot stream" : "100 streams"), p.sqlConns, size, p.sqlSeconds, hot);
                            printRate(batch);
                            rates.add(batch);
                        }
                    }
                } catch (Exception e) {
                    failures.add("publish rate: " + e);
                }
                if (run("idle")) try {
                    heraldIdle = s.idle("Herald", p.idleConns, true);
                    printIdle(heraldIdle);
                } catch (Exception e) {
                    failures.add("idle: " + e);
                }
                if (run("connrate")) try {
                    heraldRate = s.connectionRate("Herald", p.openers, p.connSeconds, true);
                    printConnRate(heraldRate);
                } catch (Exception e) {
                    failures.add("connection rate: " + e);
                }
                if (run("fanout")) try {
                    for (int n : p.fanout) {
                        Scenarios.FanOut f = s.fanOut(n, p.fanPings);
                        fans.add(f);
                        System.out.printf(at() + "fan-out    %,5d subscribers: %.2f DB fetches per ping (%d pings, %d/%d delivered)%n",
                                f.subscribers(), f.fetchesPerPing(), f.pings(), f.delivered(), (long) f.subscribers() * f.pings());
                    }
                } catch (Exception e) {
                    failures.add("fan-out: " + e);
                }
                if (run("reconnect")) try {
                    heraldLoss = s.reconnect("Herald", p.reconnectClients, 500, p.reconnectSeconds, 1.0, true);
                    System.out.printf(at() + "reconnect  Herald, 1 s away with Last-Event-ID: %d of %d deliveries lost%n", heraldLoss.lost(), heraldLoss.expected());
                } catch (Exception e) {
                    failures.add("Herald reconnect: " + e);
                }
                heraldReconnects = herald.stats().path("listenerReconnects").asLong();
            }

            // ---- end to end: two replicas started from the jar, publish on B, subscribers on A ----
            if (run("e2e")) try {
                e2e = E2e.run(db, e2eConfigs, failures);
            } catch (Exception e) {
                failures.add("end to end: " + e);
                e.printStackTrace();
            }

            double minutes = (System.nanoTime() - started) / 60e9;
            if (heraldReconnects > 0) NOTES.add("Herald's LISTEN connection was re-established " + heraldReconnects + " time(s) during the run: its watchdog (self-ping every 1 s, deadline 3 s) missed a ping while the machine was starved of CPU, and every topic re-queried. Nothing is lost by this (see the reconnect rows), but it adds latency while it happens.");
            Results.write(r, when, machine, p, floor, polls, lpc, fwdLatency, fwdLoss, heraldLoss, bareRate, heraldRate, bareIdle, heraldIdle,
                    lat, latSlow, latAgain, rates, fans, e2e, failures, minutes);
            r.appendTo(dir.resolve("RESULTS.md"));
            List<Hist> curves = new ArrayList<>();
            if (lat != null) curves.add(lat.commitToClient());
            if (floor != null) curves.add(floor.requery());
            for (Baselines.Polling pl : polls) if (pl.intervalMs() == 100) curves.add(pl.latency());
            // Only when a scenario drew a curve: a run of other parts keeps the last plot.
            if (!curves.isEmpty()) {
                Report.plot(dir.resolve("latency.png"), "Commit → client latency, CDF (" + (QUICK ? "QUICK run, " : "") + when + ")", curves);
            }
        }
        if (heraldReconnects > 0) System.out.println("note: Herald's LISTEN connection was re-established " + heraldReconnects + " time(s) during the run (its watchdog missed a self-ping: CPU starvation)");
        for (String f : failures) System.out.println("FAILED " + f);
        System.out.printf(Locale.ROOT, "bench finished in %.1f min; results appended to %s, plot %s%n",
                (System.nanoTime() - started) / 60e9, dir.resolve("RESULTS.md"), dir.resolve("latency.png"));
        System.exit(failures.isEmpty() ? 0 : 1);
    }

    static Hist forwarderLatency(Scenarios s, Db db, Params p) throws Exception {
        return s.forwarderLatency(p.latSubs / 10 * 10, p.latRate, p.latSeconds);
    }

    static void resetEvents(Events ev) {
        ev.commitToClient.h.reset();
        ev.sendToClient.h.reset();
        ev.commitToClient.negative.reset();
        ev.delivered.reset();
    }

    static Scenarios.Latency slowClients(Scenarios s, SseMux mux, List<SseMux.Conn> subs, Events ev, Params p) throws Exception {
        resetEvents(ev);
        return s.latency("latency + " + p.slowClients + " slow clients", subs, ev, p.latStreams, p.latRate, p.latWarmup, p.latSeconds, p.slowClients);
    }

    static void printLatency(Scenarios.Latency l) {
        System.out.printf(at() + "latency    %s: %d subscribers%s, commit→client %s | server-side commit→write p50 ≤ %s p99 ≤ %s | send→client p50 %s p99 %s | publish p99 %s ms | gaps %d dups %d%s%n",
                l.label(), l.subscribers(), l.slow() > 0 ? " + " + l.slow() + " slow (" + (long) l.slowDropped() + " dropped)" : "",
                l.commitToClient().summary(), Hist.fmt(l.serverP50()), Hist.fmt(l.serverP99()), Hist.fmt(l.sendToClient().ms(50)), Hist.fmt(l.sendToClient().ms(99)), Hist.fmt(l.publish().ms(99)),
                l.gaps(), l.duplicates(), l.error() == null ? "" : " | error: " + l.error());
        if (!l.cpu().isEmpty()) System.out.println("           " + l.cpu());
    }

    static void printRate(Scenarios.Rate r) {
        System.out.printf(Locale.ROOT, at() + "publish    %s: %,.0f events/s (%,d ops), latency p50 %s p99 %s ms%s%s%n", r.label(), r.perSecond(), r.ops(),
                Hist.fmt(r.latency().ms(50)), Hist.fmt(r.latency().ms(99)),
                r.batches() > 0 && r.label().startsWith("HTTP") ? String.format(Locale.ROOT, ", %,d transactions, avg %.1f events/tx", r.transactions(), (double) r.ops() / Math.max(1, r.transactions())) : "",
                r.errors() > 0 ? " | " + r.errors() + " errors: " + r.error() : "");
        double[] c = r.cpuMsPerThousand();
        if (c != null) System.out.printf(Locale.ROOT, "           CPU per 1,000 events: server %.0f ms, PostgreSQL %.0f ms, load generator %.0f ms; %s%n", c[0], c[1], c[2], r.c1().since(r.c0()));
    }

    static void printConnRate(Scenarios.ConnRate c) {
        System.out.printf(Locale.ROOT, at() + "conn rate  %s: %,.0f connections/s (%d ok, %d failed), connect p99 %s ms, retry: received p99 %s ms, listen overflows %d, drops %d%s%n",
                c.label(), c.perSecond(), c.connections(), c.failures(), Hist.fmt(c.connect().ms(99)), Hist.fmt(c.firstByte().ms(99)), c.listenOverflows(), c.listenDrops(),
                c.error() == null ? "" : " | first error: " + c.error().replace("\r", " ").replace("\n", " "));
        if (!c.cpu().isEmpty()) System.out.println("           " + c.cpu());
    }

    static void printIdle(Scenarios.Idle i) {
        System.out.printf(Locale.ROOT, at() + "idle       %s: %,d of %,d connections open; heap %.1f KB per connection after full GC; threads %d→%d; fds %d→%d; db connections %d pool + %d listen; heap after close %+.1f MB vs before%n",
                i.label(), i.opened(), i.target(), i.heapPerConnKb(), i.threads0(), i.threads1(), i.fds0(), i.fds1(), i.dbPool(), i.dbListen(),
                (i.heap2() - i.heap0()) / 1048576.0);
    }

    static String machine(Db db) {
        String cpu = "?";
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) {
                    cpu = l.substring(l.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (Exception ignored) {
            // not Linux
        }
        long memGb = 0;
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) memGb = Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024 / 1024;
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return String.format(Locale.ROOT, "%d cores (%s), %d GiB RAM, %s %s; JDK %s (%s); PostgreSQL %s (%s; %s)",
                Runtime.getRuntime().availableProcessors(), cpu, memGb, System.getProperty("os.name"), System.getProperty("os.version"),
                System.getProperty("java.runtime.version"), System.getProperty("java.vendor"), db.version,
                db.embeddedServer ? "embedded" : "HERALD_DATABASE_URL", db.settings);
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split(" ", 4)[0] + " (1 min)";
        } catch (Exception e) {
            return "?";
        }
    }

    static String openFileLimit() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) return l.replaceAll("\\s+", " ").replace("Max open files ", "").trim();
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return "?";
    }
}
