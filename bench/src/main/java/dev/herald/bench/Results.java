package dev.herald.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Turns one run's figures into RESULTS.md tables: a summary, then one table per scenario. */
final class Results {
    private Results() {}

    static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    static String pp(Hist h) {
        return h == null || h.count() == 0 ? "–" : Hist.fmt(h.ms(50)) + " / " + Hist.fmt(h.ms(99));
    }

    static String verdict(boolean met, String missedBy) {
        return met ? "met" : "**missed** (" + missedBy + ")";
    }

    static void write(Report r, String when, String machine, Bench.Params p, Baselines.Floor floor, List<Baselines.Polling> polls,
                      Baselines.ListenPerClient lpc, Hist fwdLatency, Scenarios.Reconnect fwdLoss, Scenarios.Reconnect heraldLoss,
                      Scenarios.ConnRate bareRate, Scenarios.ConnRate heraldRate, Scenarios.Idle bareIdle, Scenarios.Idle heraldIdle,
                      Scenarios.Latency lat, Scenarios.Latency latSlow, Scenarios.Latency latAgain, List<Scenarios.Rate> rates, List<Scenarios.FanOut> fans,
                      List<E2e.Result> e2e, List<String> failures, double minutes) {
        r.line("## " + when + " — " + (Bench.QUICK ? "QUICK run (`make bench QUICK=1`, smaller counts)" : "full run (`make bench`)"));
        r.line("");
        r.line(machine + ". The server under test, PostgreSQL and the load generator share these cores (the machine is also shared with other engineers' builds: load average at start " + Bench.LOAD_AT_START + "). Run time " + f("%.1f", minutes) + " min.");
        r.line("");
        r.line("Latency, everywhere: arrival at the client minus the event row's `clock_timestamp()` at insert, taken inside the committing transaction (so the commit and its fsync are included); for the payload forwarder, the NOTIFY statement's `clock_timestamp()`. Same clock, same host.");
        r.line("");

        Baselines.Polling p100 = null, p1000 = null;
        for (Baselines.Polling pl : polls) {
            if (pl.intervalMs() == 100) p100 = pl;
            if (pl.intervalMs() == 1000) p1000 = pl;
        }
        Scenarios.Rate httpHot = find(rates, "HTTP publish, one hot"), httpSpread = find(rates, "HTTP publish, 100"),
                singleHot = find(rates, "herald.publish(), 1 event/tx, one hot"), singleSpread = find(rates, "herald.publish(), 1 event/tx, 100"),
                batchHot = best(rates, "herald.publish_batch(), ", "one hot"), batchSpread = best(rates, "herald.publish_batch(), ", "100 streams");

        // ---- summary ------------------------------------------------------------------------
        r.line("### Summary — Herald vs the baselines of this run");
        r.line("");
        List<String[]> rows = new ArrayList<>();
        if (lat != null) {
            Hist h = lat.commitToClient();
            List<String> base = new ArrayList<>();
            if (floor != null) {
                base.add("floor NOTIFY + re-query " + pp(floor.requery()));
                base.add("raw NOTIFY " + pp(floor.raw()));
            }
            if (lpc != null) base.add("LISTEN per client (" + lpc.clients() + ") " + pp(lpc.latency()));
            if (fwdLatency != null) base.add("payload forwarder " + pp(fwdLatency));
            if (p100 != null) base.add("polling 100 ms " + pp(p100.latency()));
            if (p1000 != null) base.add("polling 1 s " + pp(p1000.latency()));
            boolean met = h.ms(50) <= 1.0 && h.ms(99) <= 5.0;
            String later = (latSlow == null ? "" : "; with slow clients " + pp(latSlow.commitToClient())) + (latAgain == null ? "" : "; the same load again " + pp(latAgain.commitToClient()));
            rows.add(new String[]{f("commit→client p50 / p99, ms (%,d subscribers, %,d events/s over HTTP)", lat.subscribers(), p.latRate()),
                    pp(h) + " (first run" + later + ")", String.join("; ", base), "≤ 1 / ≤ 5",
                    verdict(met, f("p50 %+.2f ms, p99 %+.2f ms vs goal", h.ms(50) - 1.0, h.ms(99) - 5.0))});
        }
        for (E2e.Result e : e2e) {
            E2e.Phase m = e.measured();
            rows.add(new String[]{
                    f("end to end: publish→client p50 / p99, ms (%s; publish on replica B, subscribers on replica A)",
                            e.config().label()),
                    pp(m.publishToClient()) + " (commit→client of the same deliveries " + pp(m.commitToClient())
                            + (e.cold() == null ? "" : "; cold start " + pp(e.cold().publishToClient()))
                            + f("; load %s → %s)", m.loadStart(), m.loadEnd()),
                    lat == null ? "–" : "one replica, commit→client (latency scenario) " + pp(lat.commitToClient()),
                    "–", ""});
        }
        if (httpHot != null) {
            boolean met = httpHot.perSecond() >= 20_000 && httpHot.latency().ms(99) <= 10;
            rows.add(new String[]{f("HTTP publishes/s into one hot stream (%d keep-alive clients), publish p99", p.pubClients()),
                    f("%,.0f/s, p99 %s ms (%.1f events per transaction)", httpHot.perSecond(), Hist.fmt(httpHot.latency().ms(99)), (double) httpHot.ops() / Math.max(1, httpHot.transactions())),
                    singleHot == null ? "–" : f("herald.publish() one event per transaction over JDBC (%d connections, no HTTP): %,.0f/s, p99 %s ms", p.singleConns(), singleHot.perSecond(), Hist.fmt(singleHot.latency().ms(99))),
                    "≥ 20,000/s, p99 ≤ 10 ms",
                    verdict(met, f("%.0f%% of the rate; p99 %s ms", 100 * httpHot.perSecond() / 20_000, Hist.fmt(httpHot.latency().ms(99))))});
        }
        if (httpSpread != null) {
            rows.add(new String[]{f("HTTP publishes/s into 100 streams (%d clients), publish p99", p.pubClients()),
                    f("%,.0f/s, p99 %s ms", httpSpread.perSecond(), Hist.fmt(httpSpread.latency().ms(99))),
                    singleSpread == null ? "–" : f("herald.publish() one event per transaction: %,.0f/s", singleSpread.perSecond()), "–", ""});
        }
        if (batchHot != null || batchSpread != null) {
            double best = Math.max(batchHot == null ? 0 : batchHot.perSecond(), batchSpread == null ? 0 : batchSpread.perSecond());
            rows.add(new String[]{f("events/s via herald.publish_batch() over JDBC, %d connections (best batch size; all sizes in the publish table)", p.sqlConns()),
                    f("one hot stream %,.0f/s (%d per call); 100 streams %,.0f/s (%d per call)", batchHot == null ? 0 : batchHot.perSecond(), batchHot == null ? 0 : batchHot.largest(),
                            batchSpread == null ? 0 : batchSpread.perSecond(), batchSpread == null ? 0 : batchSpread.largest()),
                    singleHot == null ? "–" : f("one event per transaction: %,.0f/s (hot), %,.0f/s (100 streams)", singleHot.perSecond(), singleSpread == null ? 0 : singleSpread.perSecond()),
                    "≥ 200,000/s", verdict(best >= 200_000, f("%.0f%% of the goal", 100 * best / 200_000))});
        }
        if (heraldIdle != null) {
            String base = (bareIdle == null ? "" : f("bare Javalin SSE (same connector) %.1f KB; ", bareIdle.heapPerConnKb()))
                    + (lpc != null && lpc.memoryKb() != null ? f("LISTEN per client: %,d kB Pss (%,d kB private) per PostgreSQL backend", lpc.memoryKb()[0], lpc.memoryKb()[1]) : "");
            rows.add(new String[]{f("heap per idle SSE connection after full GC (%,d connections)", heraldIdle.opened()),
                    f("%.1f KB", heraldIdle.heapPerConnKb()), base, "≤ 10 KB",
                    verdict(heraldIdle.heapPerConnKb() <= 10 && heraldIdle.opened() >= heraldIdle.target() * 0.99, f("%.1f KB; %,d of %,d opened", heraldIdle.heapPerConnKb(), heraldIdle.opened(), heraldIdle.target()))});
            rows.add(new String[]{"database connections with those connections open",
                    f("%d LISTEN + %d pooled", heraldIdle.dbListen(), heraldIdle.dbPool()),
                    lpc == null ? "–" : f("LISTEN per client: one backend per client (%d here, capped by max_connections)", lpc.clients()),
                    "1 LISTEN per replica", verdict(heraldIdle.dbListen() == 1, heraldIdle.dbListen() + " LISTEN connections")});
            double back = (heraldIdle.heap2() - heraldIdle.heap0()) / 1048576.0, peak = (heraldIdle.heap1() - heraldIdle.heap0()) / 1048576.0;
            rows.add(new String[]{"heap after they close, vs before (after full GC)",
                    f("%+.1f MB (peak %+.1f MB)", back, peak), bareIdle == null ? "–" : f("bare %+.1f MB", (bareIdle.heap2() - bareIdle.heap0()) / 1048576.0),
                    "back to baseline", verdict(back <= Math.max(8, 0.1 * peak), f("%+.1f MB", back))});
        }
        if (heraldRate != null) {
            boolean met = heraldRate.perSecond() >= 3000 && heraldRate.listenOverflows() == 0;
            rows.add(new String[]{f("new SSE connections/s (%d concurrent openers), listen overflows", p.openers()),
                    f("%,.0f/s, %d overflows", heraldRate.perSecond(), heraldRate.listenOverflows()),
                    bareRate == null ? "–" : f("bare Javalin SSE %,.0f/s, %d overflows", bareRate.perSecond(), bareRate.listenOverflows()),
                    "≥ 3,000/s, 0 overflows", verdict(met, f("%.0f%% of the rate, %d overflows", 100 * heraldRate.perSecond() / 3000, heraldRate.listenOverflows()))});
        }
        if (!fans.isEmpty()) {
            List<String> v = new ArrayList<>(), n = new ArrayList<>();
            double min = Double.MAX_VALUE, max = 0;
            for (Scenarios.FanOut fo : fans) {
                v.add(f("%.2f", fo.fetchesPerPing()));
                n.add(f("%,d", fo.subscribers()));
                min = Math.min(min, fo.fetchesPerPing());
                max = Math.max(max, fo.fetchesPerPing());
            }
            rows.add(new String[]{"DB queries per ping per replica at " + String.join(" / ", n) + " subscribers",
                    String.join(" / ", v), "LISTEN per client: one query per subscriber per ping (" + String.join(" / ", n) + "); polling: 1/interval per client, pings or not",
                    "flat", verdict(max <= 1.5 && max - min <= 0.5, "varies " + f("%.2f–%.2f", min, max))});
        }
        if (lat != null && latSlow != null) {
            double a1 = lat.commitToClient().ms(99), a2 = latAgain == null ? a1 : latAgain.commitToClient().ms(99);
            double a = (a1 + a2) / 2, b = latSlow.commitToClient().ms(99);
            double change = 100 * (b - a) / a;
            rows.add(new String[]{f("slow clients: normal clients' commit→client p99 with %,d clients that never read", latSlow.slow()),
                    f("%s ms (%+.0f%% vs the mean of the runs before and after); %d slow clients dropped by the server", Hist.fmt(b), change, (long) latSlow.slowDropped()),
                    f("without them, before: %s ms; after: %s ms", Hist.fmt(a1), Hist.fmt(a2)), "≤ +20 %", verdict(change <= 20, f("%+.0f%%", change))});
        }
        if (heraldLoss != null || fwdLoss != null) {
            rows.add(new String[]{"deliveries lost when every client reconnects after 1 s",
                    heraldLoss == null ? "–" : f("%,d of %,d (resume with Last-Event-ID)", heraldLoss.lost(), heraldLoss.expected()),
                    fwdLoss == null ? "–" : f("payload forwarder: %,d of %,d lost (%.0f%%)", fwdLoss.lost(), fwdLoss.expected(), 100.0 * fwdLoss.lost() / Math.max(1, fwdLoss.expected())),
                    "0", heraldLoss == null ? "" : verdict(heraldLoss.lost() == 0, heraldLoss.lost() + " lost")});
        }
        r.table(new String[]{"figure", "Herald", "baselines (same run)", "goal", "verdict"}, rows);

        // ---- detail tables --------------------------------------------------------------------
        List<String[]> lt = new ArrayList<>();
        if (lat != null) lt.add(latRow(f("Herald: %,d SSE subscribers (%d streams × %d + %d on one hot stream), %,d events/s over HTTP (16 keep-alive clients, 10%% to the hot stream)",
                lat.subscribers(), p.latStreams(), p.latSubs() / p.latStreams(), p.latHot(), p.latRate()), lat.commitToClient(), f("%,d delivered; gaps %d, duplicates %d; Herald's own herald_commit_to_send (created_at → write to the socket) p50 ≤ %s, p99 ≤ %s ms; send→client p50 %s p99 %s ms; publish p50 %s p99 %s ms",
                lat.delivered(), lat.gaps(), lat.duplicates(), Hist.fmt(lat.serverP50()), Hist.fmt(lat.serverP99()), Hist.fmt(lat.sendToClient().ms(50)), Hist.fmt(lat.sendToClient().ms(99)), Hist.fmt(lat.publish().ms(50)), Hist.fmt(lat.publish().ms(99))) + (lat.cpu().isEmpty() ? "" : "; " + lat.cpu())));
        if (latSlow != null) lt.add(latRow(f("Herald, same load + %,d clients that never read", latSlow.slow()), latSlow.commitToClient(),
                f("%,d delivered; gaps %d, duplicates %d; %d slow clients dropped by the server; herald_commit_to_send p50 ≤ %s, p99 ≤ %s ms", latSlow.delivered(), latSlow.gaps(), latSlow.duplicates(), (long) latSlow.slowDropped(), Hist.fmt(latSlow.serverP50()), Hist.fmt(latSlow.serverP99())) + (latSlow.cpu().isEmpty() ? "" : "; " + latSlow.cpu())));
        if (latAgain != null) lt.add(latRow("Herald, the same load again after the slow clients left", latAgain.commitToClient(),
                f("%,d delivered; gaps %d, duplicates %d; herald_commit_to_send p50 ≤ %s, p99 ≤ %s ms", latAgain.delivered(), latAgain.gaps(), latAgain.duplicates(), Hist.fmt(latAgain.serverP50()), Hist.fmt(latAgain.serverP99())) + (latAgain.cpu().isEmpty() ? "" : "; " + latAgain.cpu())));
        if (floor != null) {
            lt.add(latRow(f("floor: raw NOTIFY → LISTEN (one stream, %,d events/s asked, %,.0f/s achieved; one row + NOTIFY per transaction)", p.floorRate(), floor.published() / p.floorSeconds()), floor.raw(), f("writer commit p50 %s p99 %s ms", Hist.fmt(floor.writerCommit().ms(50)), Hist.fmt(floor.writerCommit().ms(99)))));
            lt.add(latRow("floor: NOTIFY + one re-query of the rows after the cursor", floor.requery(), f("%,d pings, %,d queries", floor.pings(), floor.queries())));
        }
        if (lpc != null) lt.add(latRow(f("one LISTEN connection per client: %d clients (%d streams × 10), re-query on own connection", lpc.clients(), lpc.streams()), lpc.latency(),
                f("writer commit p50 %s p99 %s ms (every NOTIFY wakes all %d backends); %s", Hist.fmt(lpc.writerCommit().ms(50)), Hist.fmt(lpc.writerCommit().ms(99)), lpc.clients(), lpc.limitNote())));
        if (fwdLatency != null) lt.add(latRow(f("payload forwarder (NOTIFY carries the event, relayed to SSE, no table), %d clients", p.latSubs() / 10 * 10), fwdLatency, "loses what is sent while a client is away (below)"));
        for (Baselines.Polling pl : polls) {
            lt.add(latRow(f("polling every %,d ms, %d clients", pl.intervalMs(), pl.clients()), pl.latency(),
                    f("%.1f queries/s per client (%.0f%% empty)", pl.queriesPerSecondPerClient(), 100.0 * pl.empty() / Math.max(1, pl.queries()))));
        }
        if (!lt.isEmpty()) {
            r.line("### Latency — commit → client");
            r.line("");
            r.table(new String[]{"reader", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "samples", "notes"}, lt);
            r.line("CDF: [latency.png](latency.png) (Herald vs the NOTIFY + re-query floor vs 100 ms polling).");
            r.line("");
        }
        if (!e2e.isEmpty()) endToEnd(r, e2e);

        if (!rates.isEmpty()) {
            r.line("### Publish rate");
            r.line("");
            List<String[]> rt = new ArrayList<>();
            for (Scenarios.Rate x : rates) {
                double[] c = x.cpuMsPerThousand();
                String cpuCol = c == null ? "–" : f("%.0f / %.0f / %.0f (machine busy %.2f of 2 cores)", c[0], c[1], c[2], x.c1().machineCores(x.c0()));
                rt.add(new String[]{x.label(), f("%,.0f", x.perSecond()), Hist.fmt(x.latency().ms(50)), Hist.fmt(x.latency().ms(99)), Hist.fmt(x.latency().maxMs()), cpuCol,
                        x.label().startsWith("HTTP") ? f("%,d transactions, %.1f events each, largest %d", x.transactions(), (double) x.ops() / Math.max(1, x.transactions()), x.largest()) : (x.label().contains("batch") ? "latency per call" : "latency per transaction"),
                        x.errors() == 0 ? "0" : x.errors() + " (" + x.error() + ")"});
            }
            r.table(new String[]{"publisher", "events/s", "p50 ms", "p99 ms", "max ms", "CPU ms per 1,000 events: server / PostgreSQL / load generator", "transactions", "errors"}, rt);
            r.line(f("HTTP: %d keep-alive clients in a closed loop for %.0f s, POST /api/v1/users/{user}/events, group commit on. JDBC rows are the same SQL without HTTP: "
                    + "one event per transaction is PostgreSQL's NOTIFY-serialized ceiling that group commit has to beat.", p.pubClients(), p.pubSeconds()));
            r.line("");
        }

        if (heraldIdle != null || bareIdle != null) {
            r.line("### Idle connections");
            r.line("");
            List<String[]> it = new ArrayList<>();
            for (Scenarios.Idle i : new Scenarios.Idle[]{heraldIdle, bareIdle}) {
                if (i == null) continue;
                it.add(new String[]{i.label(), f("%,d / %,d", i.opened(), i.target()), f("%.1f", i.heapPerConnKb()), f("%d → %d", i.threads0(), i.threads1()),
                        f("%,d → %,d", i.fds0(), i.fds1()), f("%d + %d", i.dbListen(), i.dbPool()), f("%+.1f", (i.heap2() - i.heap0()) / 1048576.0), f("%.1f", i.seconds())});
            }
            if (lpc != null && lpc.memoryKb() != null) {
                it.add(new String[]{"one LISTEN connection per client (PostgreSQL backends)", f("%d", lpc.clients()), f("%,d kB Pss, %,d kB private, %d kB page tables per backend", lpc.memoryKb()[0], lpc.memoryKb()[1], lpc.memoryKb()[2]),
                        "one process each", "–", f("%d", lpc.clients()), "–", "–"});
            }
            r.table(new String[]{"server", "open / target", "heap KB per connection (after full GC)", "threads", "fds", "db connections (LISTEN + pool)", "heap after close, MB vs before", "open time s"}, it);
        }

        if (heraldRate != null || bareRate != null) {
            r.line("### Connection rate — connect, read `retry:`, close");
            r.line("");
            List<String[]> ct = new ArrayList<>();
            for (Scenarios.ConnRate c : new Scenarios.ConnRate[]{heraldRate, bareRate}) {
                if (c == null) continue;
                ct.add(new String[]{c.label(), f("%,.0f", c.perSecond()), f("%,d", c.connections()), f("%d", c.failures()), Hist.fmt(c.connect().ms(99)), Hist.fmt(c.firstByte().ms(50)), Hist.fmt(c.firstByte().ms(99)),
                        f("%d / %d", c.listenOverflows(), c.listenDrops()), c.cpu()});
            }
            r.table(new String[]{"server", "connections/s", "completed", "failed", "connect p99 ms", "`retry:` p50 ms", "`retry:` p99 ms", "listen overflows / drops (nstat, whole host)", "CPU"}, ct);
            r.line(f("%d concurrent openers for %.0f s. Herald's path per connection: token check (cached), subscribe, one head query, `retry:` + `: connected`; the bare server only writes the two lines. docs/notes/javalin-sse.md measured bare Javalin at ~4,700/s on an idle machine.", p.openers(), p.connSeconds()));
            r.line("");
        }

        if (!fans.isEmpty()) {
            r.line("### Fan-out cost — one stream, one replica");
            r.line("");
            List<String[]> ft = new ArrayList<>();
            for (Scenarios.FanOut fo : fans) {
                ft.add(new String[]{f("%,d", fo.subscribers()), f("%d", fo.pings()), f("%.2f", fo.fetchesPerPing()), f("%,d / %,d", fo.delivered(), (long) fo.subscribers() * fo.pings()),
                        f("%,d", fo.subscribers())});
            }
            r.table(new String[]{"subscribers", "pings (one event each)", "Herald DB fetches per ping (`herald_stream_fetches`)", "delivered", "LISTEN per client: queries per ping"}, ft);
            r.line("Fewer than 1 fetch per ping: pings that arrive while a fetch is running are coalesced into its re-run.");
            r.line("");
        }

        if (heraldLoss != null || fwdLoss != null) {
            r.line("### Reconnect — what a client misses while away");
            r.line("");
            List<String[]> rc = new ArrayList<>();
            for (Scenarios.Reconnect x : new Scenarios.Reconnect[]{heraldLoss, fwdLoss}) {
                if (x == null) continue;
                rc.add(new String[]{x.label(), f("%d", x.clients()), f("%,d", x.expected()), f("%,d", x.received()), f("%,d", x.lost())});
            }
            r.table(new String[]{"server", "clients (10 streams)", "deliveries due", "received", "lost"}, rc);
            r.line(f("500 events/s for %.0f s; at 40%% of the run every client disconnects and reconnects 1 s later (Herald: with Last-Event-ID, as EventSource does; the forwarder has no ids to resume from).", p.reconnectSeconds()));
            r.line("");
        }
        if (!Bench.NOTES.isEmpty()) {
            r.line("### Notes");
            r.line("");
            for (String x : Bench.NOTES) r.line("- " + x);
            r.line("");
        }
        if (!failures.isEmpty()) {
            r.line("### Scenarios that failed in this run");
            r.line("");
            for (String x : failures) r.line("- " + x.replace("\n", " "));
            r.line("");
        }
    }

    /** The end-to-end section: latency per phase, then what each phase cost. */
    static void endToEnd(Report r, List<E2e.Result> e2e) {
        r.line("### End to end — publish on replica B → SSE on replica A");
        r.line("");
        r.line("Two Herald replicas, each its own JVM started from target/herald.jar as deployed "
                + "(`java @jvm.options -jar`, plus `-Xlog:gc` for the pause times), share this run's database "
                + "and start fresh for each configuration. Each subscriber is its own user with its own "
                + "`events:read` token, on replica A, all on one team stream (`GET /api/v1/teams/e2e/events`); "
                + "keep-alive HTTP clients (16, or rate / 16 if more) POST job events (" + E2e.JOBS + " jobs, "
                + "`status: progress`) to replica B on a fixed schedule (open loop). **publish→client**: request "
                + "sent → event received by each subscriber, on the load generator's clock (the send time travels "
                + "in the event's data); **commit→client**: the same deliveries against the row's `created_at`; "
                + "**publish answer**: request sent → 201 received. The first publishes after start are the cold "
                + "start, and the warm-up of the measured phase that follows at the same rate. Load average: "
                + "1 minute, from /proc/loadavg, at the start and the end of each phase.");
        r.line("");
        List<String[]> lt = new ArrayList<>(), ct = new ArrayList<>();
        for (E2e.Result e : e2e) {
            String conf = f("%s, %.0f s measured", e.config().label(), e.config().seconds());
            for (E2e.Phase ph : e.cold() == null ? List.of(e.measured()) : List.of(e.cold(), e.measured())) {
                Hist h = ph.publishToClient();
                String load = ph.loadStart() + " → " + ph.loadEnd();
                lt.add(new String[]{conf, ph.name(), Hist.fmt(h.ms(50)), Hist.fmt(h.ms(90)), Hist.fmt(h.ms(99)),
                        Hist.fmt(h.ms(99.9)), Hist.fmt(h.maxMs()), pp(ph.commitToClient()),
                        pp(ph.answer()) + " / " + Hist.fmt(ph.answer().maxMs()),
                        f("%,d of %,d", ph.publishes(), ph.scheduled()), f("%,d of %,d", ph.deliveries(), ph.expected()),
                        load});
                ct.add(new String[]{conf, ph.name(), f("%.1f", ph.seconds()),
                        E2e.cpu(ph.cpuA()) + " / " + E2e.cpu(ph.cpuB()) + " / " + E2e.cpu(ph.cpuPg()) + " / "
                                + E2e.cpu(ph.cpuBench()),
                        E2e.us(ph.usPerPublish()), E2e.us(ph.usPerDelivery()), E2e.gc(ph.gcA()), E2e.gc(ph.gcB()),
                        load});
            }
        }
        r.table(new String[]{"configuration", "phase", "publish→client p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
                "max ms", "commit→client p50 / p99 ms", "publish answer p50 / p99 / max ms",
                "publishes done / scheduled", "deliveries", "load average start → end"}, lt);
        r.table(new String[]{"configuration", "phase", "seconds",
                "CPU s: replica A / replica B / PostgreSQL / load generator", "µs CPU per publish (replica B)",
                "µs CPU per delivery (replica A)", "GC pause max / p99, replica A", "GC pause max / p99, replica B",
                "load average start → end"}, ct);
        r.line("CPU: utime + stime from /proc/<pid>/stat over the phase (the measured phase until its last "
                + "delivery arrived, at most 15 s after the last publish); PostgreSQL is the postmaster with all "
                + "its backends (live and exited); the load generator is the bench's own JVM (publishers and "
                + "subscribers). GC pauses: every `Pause` line of the replica's `-Xlog:gc` log within the phase; "
                + "p99 by nearest rank (with under 100 pauses it is the longest).");
        r.line("");
        for (E2e.Result e : e2e) {
            r.line(f("- %s: %,d subscribers connected; gaps %d, duplicates %d, closed by the server %d; %d publishers, "
                            + "publish errors %d%s; publishes started over 50 ms behind schedule: %d.",
                    e.config().label(), e.connected(), e.gaps(), e.duplicates(), e.closedByServer(), e.publishers(),
                    e.publishErrors(),
                    e.firstError() == null ? "" : " (first: " + e.firstError().replace("|", "/") + ")", e.late()));
        }
        r.line("");
    }

    static String[] latRow(String label, Hist h, String notes) {
        return new String[]{label, Hist.fmt(h.ms(50)), Hist.fmt(h.ms(99)), Hist.fmt(h.ms(99.9)), Hist.fmt(h.maxMs()), f("%,d", h.count()), notes};
    }

    static Scenarios.Rate best(List<Scenarios.Rate> rates, String prefix, String contains) {
        Scenarios.Rate b = null;
        for (Scenarios.Rate x : rates) {
            if (x.label().startsWith(prefix) && x.label().contains(contains) && (b == null || x.perSecond() > b.perSecond())) b = x;
        }
        return b;
    }

    static Scenarios.Rate find(List<Scenarios.Rate> rates, String prefix) {
        for (Scenarios.Rate x : rates) if (x.label().startsWith(prefix)) return x;
        return null;
    }
}
