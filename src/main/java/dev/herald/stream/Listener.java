package dev.herald.stream;

import com.impossibl.postgres.api.jdbc.PGConnection;
import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import com.impossibl.postgres.jdbc.PGDataSource;
import dev.herald.database.DatabaseUrl;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replica's one LISTEN connection: dedicated, unpooled, strongly referenced (pgjdbc-ng
 * may otherwise close a weakly held connection under us, pgjdbc-ng#232). A watchdog sends a
 * self-ping through the pool every interval; if none comes back within the deadline — the
 * backend was killed, the TCP connection is half-open, the listener froze — it drops the
 * connection, reconnects with backoff, re-LISTENs and has every topic re-query, since pings
 * may have been lost meanwhile (nothing re-LISTENs by itself, pgjdbc-ng#614).
 */
public final class Listener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);
    private static final String WATCHDOG = "wd";

    private final DatabaseUrl url;
    private final Hub hub;
    private final Consumer<String> selfPing;
    private final Duration interval;
    private final Duration deadline;
    private final String replicaId = Long.toHexString(Double.doubleToLongBits(Math.random()));
    private final Map<String, Consumer<String>> controls = new ConcurrentHashMap<>();
    private final Map<String, Consumer<String>> channels = new ConcurrentHashMap<>();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final java.util.List<Runnable> onReconnect = new java.util.concurrent.CopyOnWriteArrayList<>();

    // Strong references for the connection's whole life.
    private volatile PGConnection connection;
    private final PGNotificationListener callback = new PGNotificationListener() {
        @Override
        public void notification(int pid, String channel, String payload) {
            dispatch(channel, payload);
        }

        @Override
        public void closed() {
            markDead("connection closed");
        }
    };

    private volatile boolean connected;
    private volatile long lastHeardNanos;
    private volatile int backendPid;
    /** The backend of a connection given up as dead, to be ended once we are back (0: none). */
    private volatile int stalePid;

    private volatile boolean stopped;
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

    public Listener(DatabaseUrl url, Hub hub, Consumer<String> selfPing, Duration interval, Duration deadline) {
        this.url = url;
        this.hub = hub;
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
        while (!connect()) {
            if (System.nanoTime() > until) throw new IllegalStateException("the LISTEN connection could not be opened");
            sleep(250);
        }
        connected = true;
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

    private boolean connect() {
        try {
            PGDataSource ds = new PGDataSource();
            ds.setServerName(url.host());
            ds.setPort(url.port());
            ds.setDatabaseName(url.database());
            ds.setUser(url.user());
            if (url.password() != null) ds.setPassword(url.password());
            ds.setApplicationName("herald-listener");
            PGConnection c = ds.getConnection().unwrap(PGConnection.class);
            c.addNotificationListener(callback);
            try (Statement st = c.createStatement()) {
                st.execute("LISTEN " + Ping.CHANNEL);
                for (String ch : channels.keySet()) st.execute("LISTEN \"" + ch.replace("\"", "") + "\"");
                try (var rs = st.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    backendPid = rs.getInt(1);
                }
                terminateStale(st);
            }
            connection = c;
            synchronized (this) {
                lastHeardNanos = System.nanoTime();
                unheardSeq = 0;
            }
            return true;
        } catch (Exception e) {
            log.warn("LISTEN connection failed: {}", e.getMessage());
            return false;
        }
    }

    /**
     * A connection we gave up on may still be alive on the server's side (half-open TCP: the
     * backend sees no error until TCP retransmissions or keepalives give up, minutes to hours).
     * A LISTENing backend that no longer reads pins the tail of the cluster-wide NOTIFY queue,
     * which grows until every NOTIFY fails; so end it as soon as we are connected again.
     */
    private void terminateStale(Statement st) {
        int pid = stalePid;
        if (pid == 0 || pid == backendPid) return;
        try (var rs = st.executeQuery("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity" + " WHERE pid = "
                + pid + " AND application_name = 'herald-listener'")) {
            rs.next();
            if (rs.getInt(1) > 0) log.info("terminated the stale listener backend (pid {})", pid);
            stalePid = 0;
        } catch (Exception e) {
            log.warn("could not terminate the stale listener backend (pid {}): {}", pid, e.getMessage());
        }
    }

    private void watch() {
        long backoff = 100;
        while (!stopped) {
            if (!connected) {
                beforeReconnect.run();
                if (connect()) {
                    reconnects.incrementAndGet();
                    log.info("listener reconnected (backend pid {}); re-syncing every subscriber", backendPid);
                    backoff = 100;
                    for (Runnable r : onReconnect) {
                        try {
                            r.run();
                        } catch (RuntimeException e) {
                            log.warn("after-reconnect hook failed: {}", e.getMessage());
                        }
                    }
                    hub.resyncAll();
                    // Ready only once caches are flushed and every topic re-queries.
                    lastHeardNanos = System.nanoTime();
                    connected = true;
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
            if (connected && silentNanos > deadline.toNanos()) {
                markDead("no self-ping within " + deadline.toMillis() + " ms");
            }
        }
    }

    /** Our own self-ping came back: every ping sent up to it has been heard (NOTIFY keeps order). */
    private synchronized void heard(long pingSeq) {
        lastHeardNanos = System.nanoTime();
        heardSeq = Math.max(heardSeq, pingSeq);
        if (unheardSeq != 0 && pingSeq >= unheardSeq) unheardSeq = 0;
    }

    private void markDead(String why) {
        if (stopped || !connected) return;
        connected = false;
        stalePid = backendPid;
        log.warn("listener lost: {}; reconnecting", why);
        PGConnection old = connection;
        connection = null;
        if (old != null) {
            // Closing a half-open connection may block; never on the watchdog's thread.
            Thread.ofVirtual().start(() -> {
                try {
                    old.removeNotificationListener(callback);
                    old.close();
                } catch (Exception ignored) {
                    // it is dead already
                }
            });
        }
    }

    private void dispatch(String channel, String payload) {
        received.incrementAndGet();
        try {
            if (!Ping.CHANNEL.equals(channel)) {
                Consumer<String> h = channels.get(channel);
                if (h != null) h.accept(payload);
                return;
            }
            switch (Ping.parse(payload)) {
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

    @Override
    public void close() {
        stopped = true;
        connected = false;
        if (watchdog != null) watchdog.interrupt();
        PGConnection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
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
