package dev.herald.reliability;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 that the test controls. It forwards bytes both ways and remembers,
 * per connection, the first bytes the client sent (a PostgreSQL startup packet names the
 * application), so a test can freeze exactly the connections it wants: a frozen connection
 * stops forwarding in both directions without closing — a half-open TCP connection as the
 * endpoints see it. {@link #freezeOnSend} freezes a connection at an exact point of its
 * conversation instead: when the client sends a marker for the n-th time.
 */
final class TcpProxy implements AutoCloseable {
    final class Link {
        final Socket client;
        final Socket upstream;
        private final StringBuilder head = new StringBuilder();
        /** The last bytes the client sent, so a marker split across two reads is still seen. */
        private String tail = "";

        volatile boolean frozen;
        /** System.nanoTime() when a {@link #freezeOnSend} trigger froze it. */
        volatile long frozenAt;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        synchronized String head() {
            return head.toString();
        }

        synchronized void sniff(byte[] b, int n) {
            String chunk = new String(b, 0, n, StandardCharsets.ISO_8859_1);
            if (head.length() < 4096) head.append(chunk);
            Trigger t = trigger;
            if (t == null) return;
            String text = tail + chunk;
            int found = 0;
            for (int i = text.indexOf(t.marker); i >= 0; i = text.indexOf(t.marker, i + 1)) found++;
            tail = text.substring(Math.max(0, text.length() - (t.marker.length() - 1)));
            if (found > 0 && t.sent.merge(this, found, Integer::sum) >= t.times && t.fire(this)) frozen = true;
        }

        void close() {
            try {
                client.close();
            } catch (IOException ignored) {
                // closed
            }
            try {
                upstream.close();
            } catch (IOException ignored) {
                // closed
            }
        }
    }

    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private volatile Trigger trigger;

    /** An armed {@link #freezeOnSend}: fires once, on the first connection to reach the count. */
    private final class Trigger {
        final String marker;
        final int times;
        final Map<Link, Integer> sent = new ConcurrentHashMap<>();
        final CompletableFuture<Link> frozen = new CompletableFuture<>();

        Trigger(String marker, int times) {
            this.marker = marker;
            this.times = times;
        }

        boolean fire(Link l) {
            l.frozenAt = System.nanoTime();
            if (!frozen.complete(l)) return false;
            trigger = null;
            return true;
        }
    }

    TcpProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("proxy-accept").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket c = server.accept();
                Socket u = new Socket();
                u.connect(new InetSocketAddress(targetHost, targetPort), 5_000);
                Link l = new Link(c, u);
                links.add(l);
                Thread.ofVirtual().start(() -> pump(l, c, u, true));
                Thread.ofVirtual().start(() -> pump(l, u, c, false));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    private void pump(Link l, Socket from, Socket to, boolean fromClient) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                // A trigger freezes the link before this chunk is forwarded: the server never sees it.
                if (fromClient) l.sniff(buf, n);
                // Frozen: hold the bytes, read nothing more, close nothing.
                while (l.frozen && !closed) Thread.sleep(20);
                if (closed) return;
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // one side went away
        } finally {
            if (!l.frozen) l.close();
        }
    }

    /** Freezes every current connection whose client's first bytes contain marker; returns how many. */
    int freeze(String marker) {
        int n = 0;
        for (Link l : links) {
            if (!l.frozen && l.head().contains(marker) && !l.client.isClosed()) {
                l.frozen = true;
                n++;
            }
        }
        return n;
    }

    /**
     * Freezes the first connection whose client sends {@code marker} for the {@code times}-th
     * time (counted from now), before the bytes holding it are forwarded — whatever the
     * server was asked before stays done, nothing after reaches it. Completes with that
     * connection.
     */
    CompletableFuture<Link> freezeOnSend(String marker, int times) {
        Trigger t = new Trigger(marker, times);
        trigger = t;
        return t.frozen;
    }

    long open(String marker) {
        return links.stream()
                .filter(l -> !l.client.isClosed() && l.head().contains(marker))
                .count();
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException ignored) {
            // closed
        }
        links.forEach(Link::close);
    }
}
