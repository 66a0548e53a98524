package dev.herald.stream;

import com.impossibl.postgres.api.jdbc.PGConnection;
import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import com.impossibl.postgres.jdbc.PGDataSource;
import dev.herald.database.DatabaseUrl;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica's one LISTEN connection: dedicated, unpooled, strongly referenced (pgjdbc-ng
 * may otherwise close a weakly held connection under us, pgjdbc-ng#232). A watchdog sends a
 * self-ping through the pool every interval; if none comes back within the deadline — the
 * backend was killed, the TCP connection is half-open, the listener froze — it drops the
 * connection, reconnects with backoff, re-LISTENs and resyncs the topics, since pings may
 * have been lost meanwhile (nothing re-LISTENs by itself, pgjdbc-ng#614).
 *
 * <p>Every close is handled against the connection it belongs to ({@code Link}): a late close
 * of a connection already replaced does not touch its successor, and a close that comes while
 * the reconnect hooks and the resync run is seen before the listener reports itself connected
 * (it reconnects again). A connection whose LISTEN failed is closed at once. The backend of a
 * connection given up is ended at the next connect, matched by pid and start time.
 */
public final class Listener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    private static final String WATCHDOG = "wd";

    private final DatabaseUrl url;
    private final Hub hub;
    private final PingSeal seal;
    private final Consumer<String> selfPing;
    private final Duration interval;
    private final Duration deadline;
    private final String replicaId = Long.toHexString(Double.doubleToLongBits(Math.random()));
    private final Map<String, Consumer<String>> controls = new ConcurrentHashMap<>();
    private final Map<String, Consumer<String>> channels = new ConcurrentHashMap<>();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final java.util.List<Runnable> onReconnect = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * One LISTEN connection and what belongs to it. Its driver callbacks act on it alone: a
     * close reported late by a connection already replaced cannot tear down its successor.
     */
    private final class Link implements PGNotificationListener {
        final PGConnection pg;
        volatile int pid;
        /** pg_stat_activity.backend_start in microseconds since the epoch. */
        volatile long startMicros;
        /** Closed by the server or the network, or given up by the watchdog. */
        volatile boolean lost;

        Link(PGConnection pg) {
            this.pg = pg;
        }

        @Override
        public void notification(int pid, String channel, String payload) {
            dispatch(channel, payload);
        }

        @Override
        public void closed() {
            lost(this, "connection closed");
        }

        Backend backend() {
            return new Backend(pid, startMicros);
        }
    }

    /** A backend process: its pid and start time (a pid alone may be reused after a restart). */
    record Backend(int pid, long startMicros) {}

    /** The current connection, strongly referenced for its whole life; null while down. */
    private volatile Link link;

    private volatile boolean connected;
    private volatile long lastHeardNanos;
    private volatile int backendPid;
    /** Backends of connections given up as dead, to be ended once we are back. */
    private final Queue<Backend> stale = new ConcurrentLinkedQueue<>();

    private volatile boolean stopped;
    private long lastForgedLogNanos;
    private long seq;
    /**
     * The oldest self-ping sent successfully and not heard back yet (0: none), and when it was
     * sent. The deadline runs from there: a self-ping that could not be sent at all (pool
     * exhausted, database down) says nothing about the listener, and counting that silence
     * dropped healthy listeners and made every stream re-query an overloaded database
     * (found by TestWatchdog).
     */
    private long unheardSeq;

    private long unheardSinceNanos;
    private long heardSeq;
    private Thread watchdog;
    /** Tests only: runs on the watchdog thread before each reconnect attempt (to hold it down). */
    volatile Runnable beforeReconnect = () -> {};
    /** Tests only: runs once a connection is open, before its LISTEN (throw to make it fail). */
    volatile Runnable beforeListen = () -> {};

    /**
     * {@code seal} opens what arrives on {@value Ping#CHANNEL} (anything without authority is
     * dropped); {@code selfPing} sends a watchdog message through the pool.
     */
    public Listener(
            DatabaseUrl url, Hub hub, PingSeal seal, Consumer<String> selfPing, Duration interval, Duration deadline) {
        this.url = url;
        this.hub = hub;
        this.seal = seal;
        this.selfPing = selfPing;
        this.interval = interval;
        this.deadline = deadline;
    }

    /** Handles control messages of a kind (e.g. token revocations) from any replica. */
    public void onControl(String kind, Consumer<String> handler) {
        controls.put(kind, handler);
    }

    /** LISTENs on another channel too (e.g. config invalidation); add before start(). */
    public void onChannel(String channel, Consumer<String> handler) {
        channels.put(channel, handler);
    }

    /** Runs after every reconnect, once the LISTENs are back (caches may be stale). */
    public void onReconnect(Runnable r) {
        onReconnect.add(r);
    }

    /** Connects (retrying up to ~10 s), then starts the watchdog. */
    public void start() {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Link l;
        while ((l = connect()) == null) {
            if (System.nanoTime() > until) throw new IllegalStateException("the LISTEN connection could not be opened");
            sleep(250);
        }
        if (!up(l)) giveUp(l, "connection closed while starting");
        watchdog = Thread.ofPlatform().daemon().name("herald-listener-watchdog").start(this::watch);
    }

    public boolean connected() {
        return connected;
    }

    public long reconnects() {
        return reconnects.get();
    }

    public long notificationsReceived() {
        return received.get();
    }
    /** The listener's backend process id (tests kill it to prove recovery). */
    public int backendPid() {
        return backendPid;
    }

    /** The current connection's backend start, microseconds since the epoch (tests). */
    long backendStartMicros() {
        Link l = link;
        return l == null ? 0 : l.startMicros;
    }

    /** The current connection's driver callback (tests replay a late close of it). */
    PGNotificationListener currentCallback() {
        return link;
    }

    /** Whether the current connection was lost and the watchdog has not yet dropped it (tests). */
    boolean currentLost() {
        Link l = link;
        return l != null && l.lost;
    }

    /** Tests: a backend to end at the next reconnect, as if a connection to it had been given up. */
    void markStale(int pid, long startMicros) {
        stale.add(new Backend(pid, startMicros));
    }

    /**
     * Opens a connection and LISTENs; null on failure, and then nothing is left open: a
     * connection whose LISTEN failed is closed (it would otherwise stay open, unreferenced,
     * until the server or the garbage collector ends it).
     */
    private Link connect() {
        PGConnection c = null;
        Link l = null;
        try {
            PGDataSource ds = new PGDataSource();
            ds.setServerName(url.host());
            ds.setPort(url.port());
            ds.setDatabaseName(url.database());
            ds.setUser(url.user());
            if (url.password() != null) ds.setPassword(url.password());
            ds.setApplicationName("herald-listener");
            c = ds.getConnection().unwrap(PGConnection.class);
            l = new Link(c);
            c.addNotificationListener(l);
            beforeListen.run();
            try (Statement st = c.createStatement()) {
                st.execute("LISTEN " + Ping.CHANNEL);
                for (String ch : channels.keySet()) st.execute("LISTEN \"" + ch.replace("\"", "") + "\"");
                try (var rs = st.executeQuery("SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint"
                        + " FROM pg_stat_activity WHERE pid = pg_backend_pid()")) {
                    rs.next();
                    l.pid = rs.getInt(1);
                    l.startMicros = rs.getLong(2);
                }
            }
            terminateStale(c);
            if (l.lost) throw new IllegalStateException("the connection closed while it was being opened");
            synchronized (this) {
                if (stopped) throw new IllegalStateException("the listener is closed");
                link = l;
                backendPid = l.pid;
                lastHeardNanos = System.nanoTime();
                unheardSeq = 0;
            }
            return l;
        } catch (Exception e) {
            if (!stopped) log.warn("LISTEN connection failed: {}", e.getMessage());
            if (l != null) l.lost = true;
            if (c != null) closeAsync(c, l);
            return null;
        }
    }

    /** Marks a new connection up, unless it was lost meanwhile (then false). */
    private synchronized boolean up(Link l) {
        if (l.lost || stopped) return false;
        lastHeardNanos = System.nanoTime();
        connected = true;
        return true;
    }

    /**
     * A connection we gave up on may still be alive on the server's side (half-open TCP: the
     * backend sees no error until TCP retransmissions or keepalives give up, minutes to hours).
     * A LISTENing backend that no longer reads pins the tail of the cluster-wide NOTIFY queue,
     * which grows until every NOTIFY fails; so end it as soon as we are connected again. It is
     * matched by pid AND start time: after a PostgreSQL restart its pid may belong to another
     * replica's new listener.
     */
    private void terminateStale(PGConnection c) {
        for (Backend b; (b = stale.peek()) != null; ) {
            try (var st = c.prepareStatement("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    + " WHERE pid = ? AND application_name = 'herald-listener'"
                    + " AND (extract(epoch FROM backend_start) * 1000000)::bigint = ?")) {
                st.setInt(1, b.pid());
                st.setLong(2, b.startMicros());
                try (var rs = st.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) > 0) log.info("terminated the stale listener backend (pid {})", b.pid());
                }
                stale.remove(b);
            } catch (Exception e) {
                log.warn("could not terminate the stale listener backend (pid {}): {}", b.pid(), e.getMessage());
                return; // next reconnect
            }
        }
    }

    private void watch() {
        long backoff = 100;
        while (!stopped) {
            if (!connected) {
                beforeReconnect.run();
                Link l = connect();
                if (l != null) {
                    reconnects.incrementAndGet();
                    log.info("listener reconnected (backend pid {}); re-syncing every subscriber", l.pid);
                    backoff = 100;
                    for (Runnable r : onReconnect) {
                        try {
                            r.run();
                        } catch (RuntimeException e) {
                            log.warn("after-reconnect hook failed: {}", e.getMessage());
                        }
                    }
                    hub.resyncAll();
                    // Ready only once caches are flushed and every topic re-queries, and only if
                    // the connection is still there: a close that came meanwhile found us not yet
                    // connected and left it to us.
                    if (!up(l)) {
                        if (stopped) {
                            closeAsync(l.pg, l); // close() may have run before link was set
                            break;
                        }
                        giveUp(l, "connection closed while re-syncing");
                        continue;
                    }
                } else {
                    sleep(backoff);
                    backoff = Math.min(backoff * 2, 5_000);
                    continue;
                }
            }
            long sending = ++seq;
            try {
                selfPing.accept(Ping.control(WATCHDOG, replicaId + ":" + sending));
                synchronized (this) {
                    // (it may have been heard already: the NOTIFY is delivered at its commit)
                    if (unheardSeq == 0 && heardSeq < sending) {
                        unheardSeq = sending;
                        unheardSinceNanos = System.nanoTime();
                    }
                }
            } catch (RuntimeException e) {
                // Not evidence against the listener: the pool may be exhausted or the database
                // down (then the listener's own connection reports its close).
                log.debug("watchdog self-ping could not be sent: {}", e.getMessage());
            }
            sleep(interval.toMillis());
            long silentNanos;
            synchronized (this) {
                silentNanos = unheardSeq == 0 ? 0 : System.nanoTime() - unheardSinceNanos;
            }
            Link l = link;
            if (connected && l != null && silentNanos > deadline.toNanos()) {
                lost(l, "no self-ping within " + deadline.toMillis() + " ms");
            }
        }
    }

    /** Our own self-ping came back: every ping sent up to it has been heard (NOTIFY keeps order). */
    private synchronized void heard(long pingSeq) {
        lastHeardNanos = System.nanoTime();
        heardSeq = Math.max(heardSeq, pingSeq);
        if (unheardSeq != 0 && pingSeq >= unheardSeq) unheardSeq = 0;
    }

    /**
     * A connection is gone (the driver saw it close, or the watchdog gave up on it). Only the
     * current, connected one is torn down here; an older one is only marked (its successor is
     * not touched), and one still being brought up is left to the watchdog, which checks.
     */
    private void lost(Link l, String why) {
        synchronized (this) {
            if (l.lost) return;
            l.lost = true;
            if (stopped || l != link || !connected) return;
            drop(l);
        }
        log.warn("listener lost: {}; reconnecting", why);
        closeAsync(l.pg, l);
    }

    /** Drops a lost connection: its backend is ended at the next connect, the socket closed. */
    private void giveUp(Link l, String why) {
        synchronized (this) {
            drop(l);
        }
        log.warn("listener lost: {}; reconnecting", why);
        closeAsync(l.pg, l);
    }

    /** (holding the lock) The backend goes on the stale list before the watchdog may reconnect. */
    private void drop(Link l) {
        stale.add(l.backend());
        if (link == l) link = null;
        connected = false;
    }

    /** Closing a half-open connection may block: never on the caller's thread. */
    private static void closeAsync(PGConnection c, Link l) {
        Thread.ofVirtual().start(() -> {
            try {
                if (l != null) c.removeNotificationListener(l);
                c.close();
            } catch (Exception ignored) {
                // it is dead already
            }
        });
    }

    private void dispatch(String channel, String payload) {
        received.incrementAndGet();
        try {
            if (!Ping.CHANNEL.equals(channel)) {
                Consumer<String> h = channels.get(channel);
                if (h != null) h.accept(payload);
                return;
            }
            Ping.Message message = seal.open(payload);
            if (message == null) {
                forged(payload);
                return;
            }
            switch (message) {
                // No `when` guard here: palantir-java-format (make test's format check) cannot parse one.
                case Ping.Control c -> {
                    if (WATCHDOG.equals(c.kind())) {
                        if (c.value().startsWith(replicaId + ":")) {
                            heard(Long.parseLong(c.value().substring(replicaId.length() + 1)));
                        }
                    } else {
                        Consumer<String> h = controls.get(c.kind());
                        if (h != null) h.accept(c.value());
                    }
                }
                case Ping.Transient t -> hub.onTransient(t.key(), t.event(), t.data());
                case Ping.Change c -> hub.onPing(c.key(), c.cursor());
            }
        } catch (Exception e) {
            log.warn("ignoring malformed notification on {}: {}", channel, e.getMessage());
        }
    }

    /** A payload claiming authority it does not have: dropped, logged at most once a minute. */
    private void forged(String payload) {
        long now = System.nanoTime();
        if (now - lastForgedLogNanos < Duration.ofMinutes(1).toNanos() && lastForgedLogNanos != 0) return;
        lastForgedLogNanos = now;
        log.warn(
                "dropped a notification on {} that is neither a change ping nor sealed by Herald ({} so far),"
                        + " e.g. {} bytes starting {}",
                Ping.CHANNEL,
                seal.rejected(),
                payload.length(),
                payload.substring(0, Math.min(40, payload.length())));
    }

    @Override
    public void close() {
        Link l;
        synchronized (this) {
            stopped = true;
            connected = false;
            l = link;
            link = null;
        }
        if (watchdog != null) watchdog.interrupt();
        if (l != null) {
            try {
                l.pg.close();
            } catch (Exception ignored) {
                // closing anyway
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
