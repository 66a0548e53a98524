package dev.herald.reliability;

import dev.herald.testing.SseFrames;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal SSE client on a raw socket (HTTP/1.1, chunked or close-delimited bodies). Unlike
 * the harness's SseClient it tells a clean end of the stream (the terminating chunk) from an
 * aborted one (reset, truncated chunk), and costs one virtual thread per connection, so tests
 * can hold hundreds of them.
 */
final class RawSse implements AutoCloseable {
    /** A parsed frame; id is null for transient events. */
    record Event(Long id, String event, String data) {}

    enum End {
        CLEAN,
        ABORTED
    }

    final int status;
    final Map<String, String> headers;
    final String errorBody;
    private final Socket socket;
    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final List<String> comments = new ArrayList<>();
    private volatile End end;
    private int eventsPerMilli;

    private RawSse(Socket socket, int status, Map<String, String> headers, String errorBody) {
        this.socket = socket;
        this.status = status;
        this.headers = headers;
        this.errorBody = errorBody;
    }

    static RawSse open(int port, String path, String token, Long lastEventId) throws IOException {
        return open(port, path, token, lastEventId, Map.of());
    }

    static RawSse open(int port, String path, String token, Long lastEventId, Map<String, String> extra)
            throws IOException {
        return open(port, path, token, lastEventId, extra, 0, 0);
    }

    /**
     * A slow reader: receiveBuffer &gt; 0 sets a small SO_RCVBUF (no autotuning) and
     * eventsPerMilli &gt; 0 parses at most that many events per millisecond, so the server's
     * writes back up.
     */
    static RawSse open(
            int port,
            String path,
            String token,
            Long lastEventId,
            Map<String, String> extra,
            int receiveBuffer,
            int eventsPerMilli)
            throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) s.setReceiveBufferSize(receiveBuffer);
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(0);
        StringBuilder req = new StringBuilder("GET ")
                .append(path)
                .append(" HTTP/1.1\r\n")
                .append("Host: 127.0.0.1:")
                .append(port)
                .append("\r\n")
                .append("Accept: text/event-stream\r\n");
        if (token != null) req.append("Authorization: Bearer ").append(token).append("\r\n");
        if (lastEventId != null)
            req.append("Last-Event-ID: ").append(lastEventId).append("\r\n");
        extra.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
        req.append("\r\n");
        OutputStream out = s.getOutputStream();
        out.write(req.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        InputStream in = new java.io.BufferedInputStream(s.getInputStream(), 16 * 1024);
        s.setSoTimeout(10_000); // the status line must come quickly
        String statusLine = line(in);
        if (statusLine == null) throw new EOFException("no response");
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
            int i = h.indexOf(':');
            if (i > 0)
                headers.put(
                        h.substring(0, i).trim().toLowerCase(Locale.ROOT),
                        h.substring(i + 1).trim());
        }
        boolean chunked = "chunked".equalsIgnoreCase(headers.get("transfer-encoding"));
        InputStream body = chunked ? new Chunked(in) : in;
        if (status != 200) {
            String len = headers.get("content-length");
            byte[] b = len != null ? in.readNBytes(Integer.parseInt(len)) : body.readAllBytes();
            s.close();
            RawSse r = new RawSse(s, status, headers, new String(b, StandardCharsets.UTF_8));
            r.end = End.CLEAN;
            return r;
        }
        s.setSoTimeout(0);
        RawSse r = new RawSse(s, status, headers, null);
        r.eventsPerMilli = eventsPerMilli;
        Thread.ofVirtual().name("raw-sse").start(() -> r.read(body));
        return r;
    }

    private void read(InputStream body) {
        End how = End.ABORTED;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
            long[] parsed = {0};
            SseFrames.parse(r, new SseFrames.Handler() {
                @Override
                public void event(Long id, String event, String data) throws InterruptedException {
                    events.add(new Event(id, event, data));
                    if (eventsPerMilli > 0 && ++parsed[0] % eventsPerMilli == 0) Thread.sleep(1);
                }

                @Override
                public void comment(String text) {
                    synchronized (comments) {
                        comments.add(text);
                    }
                }
            });
            how = End.CLEAN;
        } catch (IOException | InterruptedException e) {
            how = End.ABORTED;
        } finally {
            end = how;
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    /** The end of the stream, or null while it is open. */
    End end() {
        return end;
    }

    boolean ended() {
        return end != null;
    }

    List<String> comments() {
        synchronized (comments) {
            return new ArrayList<>(comments);
        }
    }

    Event next(Duration timeout) throws InterruptedException {
        return events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    Event poll() {
        return events.poll();
    }

    boolean awaitEnd(Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (end == null && System.nanoTime() < until) Thread.sleep(10);
        return end != null;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closed
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') break;
            if (c != '\r') b.write(c);
        }
        if (c < 0 && b.size() == 0) return null;
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /** Chunked transfer decoding: EOF only at the terminating chunk; a cut mid-stream is an error. */
    private static final class Chunked extends InputStream {
        private final InputStream in;
        private long left;
        private boolean first = true;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        private boolean nextChunk() throws IOException {
            if (done) return false;
            if (!first) {
                String crlf = line(in);
                if (crlf == null) throw new EOFException("stream cut after a chunk");
            }
            first = false;
            String size = line(in);
            if (size == null) throw new EOFException("stream cut before the terminating chunk");
            int semi = size.indexOf(';');
            left = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (left == 0) {
                for (String t = line(in); t != null && !t.isEmpty(); t = line(in)) {
                    // trailers
                }
                done = true;
                return false;
            }
            return true;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0 && !nextChunk()) return -1;
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) throw new EOFException("stream cut inside a chunk");
            left -= n;
            return n;
        }
    }
}
