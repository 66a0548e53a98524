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
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy on 127.0.0.1 that the test controls. It forwards bytes both ways and remembers,
 * per connection, the first bytes the client sent (a PostgreSQL startup packet names the
 * application), so a test can freeze exactly the connections it wants: a frozen connection
 * stops forwarding in both directions without closing — a half-open TCP connection as the
 * endpoints see it.
 */
final class TcpProxy implements AutoCloseable {
    final class Link {
        final Socket client;
        final Socket upstream;
        private final StringBuilder head = new StringBuilder();
        volatile boolean frozen;

        Link(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        synchronized String head() {
            return head.toString();
        }

        synchronized void sniff(byte[] b, int n) {
            if (head.length() < 4096) head.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
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
