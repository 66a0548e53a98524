package dev.herald.bench;

import com.impossibl.postgres.api.jdbc.PGConnection;
import com.impossibl.postgres.api.jdbc.PGNotificationListener;
import com.impossibl.postgres.jdbc.PGDataSource;
import dev.herald.database.DatabaseUrl;
import dev.herald.http.WebServer;
import io.javalin.Javalin;
import io.javalin.http.Context;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Statement;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Baseline (4): what NOTIFY-payload forwarders do (pg_eventserv, postgres-websockets): one
 * LISTEN connection, each notification's payload relayed as an SSE event to the clients of
 * its stream; no table, no ids, no replay. Its SSE endpoint is also the "bare Javalin" baseline
 * for connection rate and heap per connection: same Jetty connector as Herald (backlog 4096),
 * {@code retry:} and {@code : connected} first, a 1 s heartbeat (a write is how it notices a
 * client has gone). Payload: {@code <stream>|<json>} on channel {@value #CHANNEL}.
 */
final class Forwarder implements AutoCloseable {
    static final String CHANNEL = "bench_fwd";
    private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

    private final Map<String, Set<BlockingQueue<String>>> clients = new ConcurrentHashMap<>();
    private final Javalin app;
    final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
    private PGConnection listen;
    private final PGNotificationListener callback = new PGNotificationListener() {
        @Override
        public void notification(int pid, String channel, String payload) {
            received.incrementAndGet();
            int bar = payload.indexOf('|');
            if (bar < 0) return;
            Set<BlockingQueue<String>> set = clients.get(payload.substring(0, bar));
            if (set == null) return;
            String data = payload.substring(bar + 1);
            for (BlockingQueue<String> q : set) q.offer(data); // a full queue drops: no replay anyway
        }
    };

    private Forwarder() {
        app = WebServer.create(
                "127.0.0.1", 0, 30_000, java.util.List.of(), dev.herald.settings.Settings.Tls.NONE, cfg -> cfg.routes
                        .get("/sse", this::serve));
    }

    static Forwarder start(String databaseUrl) throws Exception {
        Forwarder f = new Forwarder();
        DatabaseUrl url = DatabaseUrl.parse(databaseUrl);
        PGDataSource ds = new PGDataSource();
        ds.setServerName(url.host());
        ds.setPort(url.port());
        ds.setDatabaseName(url.database());
        ds.setUser(url.user());
        if (url.password() != null) ds.setPassword(url.password());
        ds.setApplicationName("bench-forwarder");
        f.listen = ds.getConnection().unwrap(PGConnection.class);
        f.listen.addNotificationListener(f.callback);
        try (Statement st = f.listen.createStatement()) {
            st.execute("LISTEN " + CHANNEL);
        }
        f.app.start();
        return f;
    }

    int port() { return app.port(); }

    int clients() {
        int n = 0;
        for (Set<BlockingQueue<String>> s : clients.values()) n += s.size();
        return n;
    }

    private void serve(Context ctx) throws IOException, InterruptedException {
        String stream = ctx.queryParam("stream");
        if (stream == null) stream = "";
        var res = ctx.res();
        res.setStatus(200);
        res.setContentType("text/event-stream");
        res.setHeader("Cache-Control", "no-cache");
        res.setHeader("Connection", "close");
        OutputStream out = res.getOutputStream();
        BlockingQueue<String> q = new LinkedBlockingQueue<>(10_000);
        Set<BlockingQueue<String>> set = clients.computeIfAbsent(stream, k -> ConcurrentHashMap.newKeySet());
        set.add(q);
        try {
            out.write("retry: 2000\n: connected\n\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // Bounded by the client: it ends when a write fails (at most ~1 s after it left).
            while (true) {
                String data = q.poll(1, TimeUnit.SECONDS);
                if (data == null) {
                    out.write(PING);
                } else {
                    StringBuilder sb = new StringBuilder(data.length() + 16).append("data: ").append(data).append("\n\n");
                    String more;
                    int n = 0;
                    while (n++ < 256 && (more = q.poll()) != null) sb.append("data: ").append(more).append("\n\n");
                    out.write(sb.toString().getBytes(StandardCharsets.UTF_8));
                }
                out.flush();
            }
        } catch (IOException gone) {
            // client left
        } finally {
            set.remove(q);
        }
    }

    @Override
    public void close() {
        app.stop();
        try {
            listen.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
