package dev.herald.bench;

import com.impossibl.postgres.api.jdbc.PGConnection;
import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import com.impossibl.postgres.jdbc.PGDataSource;
import org.postgresql.PGNotification;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The baselines, on the same PostgreSQL and table shape, with the same latency definition as
 * Herald's figures: arrival at the reader minus the row's {@code clock_timestamp()} at
 * insert (inside the committing transaction, so the commit and its fsync are included).
 */
final class Baselines {
    private final Db db;

    Baselines(Db db) {
        this.db = db;
    }

    /** Inserts one row and NOTIFYs "stream,id,created_at_micros" on a channel — one statement. */
    static final String INSERT_NOTIFY = """
            WITH i AS (INSERT INTO bench.ev (stream, data) VALUES (?, '{"k":1}') RETURNING id, stream, created_at)
            SELECT pg_notify(?, i.stream || ',' || i.id || ',' || (extract(epoch FROM i.created_at) * 1000000)::bigint) FROM i""";
    static final String INSERT = "INSERT INTO bench.ev (stream, data) VALUES (?, '{\"k\":1}')";
    static final String AFTER = "SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint FROM bench.ev WHERE stream = ? AND id > ? ORDER BY id LIMIT 1000";

    /** A paced JDBC writer worker: one connection, one statement per event. */
    final class Writer implements Paced.Worker {
        final Connection c;
        final PreparedStatement ps;
        final boolean notify;
        final java.util.function.LongUnaryOperator streamOf;
        final java.util.function.LongFunction<String> channelOf;
        final Hist commit;

        Writer(boolean notify, java.util.function.LongUnaryOperator streamOf, java.util.function.LongFunction<String> channelOf, Hist commit) throws Exception {
            this.c = db.connect("bench-writer");
            this.notify = notify;
            this.ps = c.prepareStatement(notify ? INSERT_NOTIFY : INSERT);
            this.streamOf = streamOf;
            this.channelOf = channelOf;
            this.commit = commit;
        }

        @Override
        public void run(long ticket) throws Exception {
            long s = streamOf.applyAsLong(ticket);
            ps.setInt(1, (int) s);
            long t0 = System.nanoTime();
            if (notify) {
                ps.setString(2, channelOf.apply(s));
                ps.executeQuery().close();
            } else {
                ps.executeUpdate();
            }
            commit.recordMicros((System.nanoTime() - t0) / 1000);
        }

        @Override
        public void close() {
            try {
                c.close();
            } catch (Exception ignored) {
                // done
            }
        }
    }

    PGConnection listenConnection(String appName) throws Exception {
        PGDataSource ds = new PGDataSource();
        ds.setServerName(db.url.host());
        ds.setPort(db.url.port());
        ds.setDatabaseName(db.url.database());
        ds.setUser(db.url.user());
        if (db.url.password() != null) ds.setPassword(db.url.password());
        ds.setApplicationName(appName);
        return ds.getConnection().unwrap(PGConnection.class);
    }

    record Floor(Hist raw, Hist requery, Hist writerCommit, long published, long pings, long queries) {}

    /**
     * (1) The floor: a writer commits row + NOTIFY at `rate`; one LISTEN connection (pgjdbc-ng,
     * like Herald's) records ping arrival; a second connection re-queries rows after its
     * cursor on every ping (pings during a query coalesce into one re-run).
     */
    Floor floor(int rate, double seconds) throws Exception {
        Hist raw = new Hist("raw NOTIFY"), requery = new Hist("NOTIFY + re-query"), commit = new Hist("writer commit");
        LongAdder pings = new LongAdder();
        Object signal = new Object();
        boolean[] dirty = {false};
        PGConnection listen = listenConnection("bench-floor-listen");
        PGNotificationListener cb = new PGNotificationListener() {
            @Override
            public void notification(int pid, String channel, String payload) {
                long now = Clock.nowMicros();
                String[] p = payload.split(",");
                raw.recordMicros(now - Long.parseLong(p[2]));
                pings.increment();
                synchronized (signal) {
                    dirty[0] = true;
                    signal.notifyAll();
                }
            }
        };
        listen.addNotificationListener(cb);
        try (Statement st = listen.createStatement()) {
            st.execute("LISTEN bench_floor");
        }
        long startCursor = db.scalarLong("SELECT coalesce(max(id), 0) FROM bench.ev");
        long[] queries = {0};
        long stopAt = System.nanoTime() + (long) ((seconds + 8) * 1e9);
        boolean[] stop = {false};
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (Connection c = db.connect("bench-floor-query"); PreparedStatement ps = c.prepareStatement(AFTER)) {
                long cursor = startCursor;
                while (System.nanoTime() < stopAt) {
                    synchronized (signal) {
                        while (!dirty[0] && !stop[0] && System.nanoTime() < stopAt) signal.wait(50);
                        if (stop[0] && !dirty[0]) return;
                        dirty[0] = false;
                    }
                    ps.setInt(1, 0);
                    ps.setLong(2, cursor);
                    queries[0]++;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            long now = Clock.nowMicros();
                            cursor = rs.getLong(1);
                            requery.recordMicros(now - rs.getLong(2));
                        }
                    }
                }
            } catch (Exception e) {
                System.err.println("floor reader: " + e);
            }
        });
        Paced p = Paced.run(4, rate, seconds, i -> new Writer(true, t -> 0, s -> "bench_floor", commit));
        Clock.sleepMillis(500);
        synchronized (signal) {
            stop[0] = true;
            signal.notifyAll();
        }
        reader.join(10_000);
        listen.removeNotificationListener(cb);
        listen.close();
        return new Floor(raw, requery, commit, p.done.sum(), pings.sum(), queries[0]);
    }

    record Polling(long intervalMs, int clients, Hist latency, long queries, long empty, double seconds) {
        double queriesPerSecondPerClient() { return queries / seconds / clients; }
    }

    /**
     * (2) Polling: `clients` readers per interval, each polling its own stream for rows after
     * its cursor every interval (random phase), while a writer inserts `rate` rows/s spread
     * over all polled streams. Both intervals run at once, on disjoint streams.
     */
    List<Polling> polling(int clients, int rate, double seconds, long... intervals) throws Exception {
        int poolSize = 8;
        BlockingQueue<Connection> pool = new ArrayBlockingQueue<>(poolSize);
        for (int i = 0; i < poolSize; i++) pool.add(db.connect("bench-poller"));
        long startCursor = db.scalarLong("SELECT coalesce(max(id), 0) FROM bench.ev");
        int streams = clients * intervals.length;
        List<Hist> hists = new ArrayList<>();
        List<LongAdder> qs = new ArrayList<>(), empties = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        long measureFrom = System.nanoTime();
        long end = measureFrom + (long) (seconds * 1e9);
        for (int k = 0; k < intervals.length; k++) {
            long interval = intervals[k];
            Hist h = new Hist("polling " + interval + " ms");
            LongAdder q = new LongAdder(), empty = new LongAdder();
            hists.add(h);
            qs.add(q);
            empties.add(empty);
            for (int c = 0; c < clients; c++) {
                int stream = 1000 + k * clients + c;
                threads.add(Thread.ofVirtual().start(() -> {
                    long cursor = startCursor;
                    long next = System.nanoTime() + (long) (ThreadLocalRandom.current().nextDouble() * interval * 1e6);
                    for (int n = 0; n < 1_000_000 && next < end; n++) {
                        Clock.sleepUntilNanos(next);
                        next += interval * 1_000_000L;
                        Connection conn = null;
                        try {
                            conn = pool.take();
                            try (PreparedStatement ps = conn.prepareStatement(AFTER)) {
                                ps.setInt(1, stream);
                                ps.setLong(2, cursor);
                                q.increment();
                                boolean any = false;
                                try (ResultSet rs = ps.executeQuery()) {
                                    while (rs.next()) {
                                        any = true;
                                        cursor = rs.getLong(1);
                                        h.recordMicros(Clock.nowMicros() - rs.getLong(2));
                                    }
                                }
                                if (!any) empty.increment();
                            }
                        } catch (Exception e) {
                            System.err.println("poller: " + e);
                            return;
                        } finally {
                            if (conn != null) pool.add(conn);
                        }
                    }
                }));
            }
        }
        AtomicLong rr = new AtomicLong();
        Hist commit = new Hist("writer");
        Paced.run(4, rate, seconds, i -> new Writer(false, t -> 1000 + Math.floorMod(rr.getAndIncrement(), streams), null, commit));
        for (Thread t : threads) t.join(30_000);
        for (Connection c : pool) c.close();
        List<Polling> out = new ArrayList<>();
        for (int k = 0; k < intervals.length; k++) {
            out.add(new Polling(intervals[k], clients, hists.get(k), qs.get(k).sum(), empties.get(k).sum(), seconds));
        }
        return out;
    }

    record ListenPerClient(int clients, int streams, Hist latency, Hist writerCommit, long published, long notificationsReceived,
                           long queries, long[] memoryKb, String limitNote) {}

    /**
     * (3) One LISTEN connection per client, as many as the database allows (up to `max`):
     * clients LISTEN on their stream's channel (10 clients per stream) and re-query on their
     * own connection after each notification. Every NOTIFY wakes every listening backend.
     */
    ListenPerClient listenPerClient(int max, int rate, double seconds) throws Exception {
        int free = db.maxConnections - db.connectionsInUse() - 3 /* superuser reserve */ - 12 /* writers, probes */;
        int k = Math.max(10, Math.min(max, free));
        k -= k % 10;
        int streams = k / 10;
        String note = k < max ? "limited by max_connections=" + db.maxConnections : "";
        List<Connection> conns = new ArrayList<>();
        try {
            for (int i = 0; i < k; i++) conns.add(db.connect("bench-listen-client"));
        } catch (Exception e) {
            note = "opened " + conns.size() + " before: " + e.getMessage();
            k = conns.size() - conns.size() % 10;
            streams = k / 10;
            while (conns.size() > k) conns.remove(conns.size() - 1).close();
        }
        Hist lat = new Hist("LISTEN per client");
        LongAdder received = new LongAdder(), queries = new LongAdder();
        long startCursor = db.scalarLong("SELECT coalesce(max(id), 0) FROM bench.ev");
        for (int i = 0; i < k; i++) {
            try (Statement st = conns.get(i).createStatement()) {
                st.execute("LISTEN bench_s" + (2000 + i % streams));
            }
        }
        long end = System.nanoTime() + (long) ((seconds + 1) * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            Connection c = conns.get(i);
            int stream = 2000 + i % streams;
            threads.add(Thread.ofVirtual().start(() -> {
                long cursor = startCursor;
                try (PreparedStatement ps = c.prepareStatement(AFTER)) {
                    org.postgresql.PGConnection pg = c.unwrap(org.postgresql.PGConnection.class);
                    for (int n = 0; n < 10_000_000 && System.nanoTime() < end; n++) {
                        PGNotification[] ns = pg.getNotifications(200);
                        if (ns == null || ns.length == 0) continue;
                        received.add(ns.length);
                        ps.setInt(1, stream);
                        ps.setLong(2, cursor);
                        queries.increment();
                        try (ResultSet rs = ps.executeQuery()) {
                            while (rs.next()) {
                                cursor = rs.getLong(1);
                                lat.recordMicros(Clock.nowMicros() - rs.getLong(2));
                            }
                        }
                    }
                } catch (Exception e) {
                    System.err.println("listen client: " + e);
                }
            }));
        }
        Clock.sleepMillis(300);
        long[] mem = db.backendMemoryKb("bench-listen-client");
        Hist commit = new Hist("writer commit");
        AtomicLong rr = new AtomicLong();
        int s = streams;
        Paced p = Paced.run(4, rate, seconds, i -> new Writer(true, t -> 2000 + Math.floorMod(rr.getAndIncrement(), s), st -> "bench_s" + st, commit));
        for (Thread t : threads) t.join(30_000);
        long[] memAfter = db.backendMemoryKb("bench-listen-client");
        for (Connection c : conns) c.close();
        return new ListenPerClient(k, streams, lat, commit, p.done.sum(), received.sum(), queries.sum(), memAfter != null ? memAfter : mem, note);
    }
}
