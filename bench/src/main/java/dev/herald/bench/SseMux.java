package dev.herald.bench;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many SSE client connections on one selector thread (no thread per connection): connect,
 * send the GET, parse the response head (plain or chunked body) and the event stream, and
 * hand each event to a callback with its arrival time. Connections that "never read" are
 * registered for nothing after sending their request, so the server's writes back up.
 */
final class SseMux implements AutoCloseable {
    interface Handler {
        default void onConnected(Conn c) {}

        void onEvent(Conn c, long id, String event, String data, long recvMicros);

        default void onClosed(Conn c) {}
    }

    final int port;
    private final Selector selector;
    private final Thread thread;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean stopped;
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger connected = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    final AtomicInteger closedByServer = new AtomicInteger();

    SseMux(int port, String name) throws IOException {
        this.port = port;
        this.selector = Selector.open();
        this.thread = Thread.ofPlatform().daemon().name("sse-mux-" + name).start(this::loop);
    }

    /** Opens a connection; path includes the query. lastEventId null = none. */
    Conn open(String path, String token, Long lastEventId, boolean reading, int receiveBuffer, Handler handler) {
        Conn c = new Conn(path, token, lastEventId, reading, receiveBuffer, handler);
        tasks.add(c::start);
        selector.wakeup();
        return c;
    }

    void closeAll(List<Conn> conns) {
        tasks.add(() -> {
            for (Conn c : conns) c.close(false);
        });
        selector.wakeup();
    }

    private void loop() {
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        while (!stopped) {
            try {
                selector.select(50);
                Runnable t;
                int n = 0;
                while (n++ < 100_000 && (t = tasks.poll()) != null) t.run();
                for (SelectionKey k : selector.selectedKeys()) {
                    Conn c = (Conn) k.attachment();
                    try {
                        if (!k.isValid()) continue;
                        if (k.isConnectable()) c.finishConnect();
                        else if (k.isWritable()) c.flush();
                        else if (k.isReadable()) c.read(buf);
                    } catch (IOException | RuntimeException e) {
                        c.fail();
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException e) {
                if (!stopped) throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public void close() {
        tasks.add(() -> {
            for (SelectionKey k : new ArrayList<>(selector.keys())) ((Conn) k.attachment()).close(false);
        });
        selector.wakeup();
        long until = System.nanoTime() + 5_000_000_000L;
        while (!tasks.isEmpty() && System.nanoTime() < until) Clock.sleepMillis(5);
        stopped = true;
        selector.wakeup();
        try {
            thread.join(5_000);
            selector.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }

    final class Conn {
        final String path;
        final String token;
        final Long resumeFrom;
        final boolean reading;
        final int receiveBuffer;
        final Handler handler;
        private SocketChannel ch;
        private SelectionKey key;
        private ByteBuffer request;
        // response parsing
        private final StringBuilder head = new StringBuilder();
        private boolean headDone;
        private boolean chunked;
        private long chunkLeft = -1;       // -1: expecting a size line
        private final StringBuilder chunkLine = new StringBuilder();
        private boolean chunkCrlf;
        private final StringBuilder line = new StringBuilder(512);
        // event being assembled
        private long pendingId = -1;
        private String pendingEvent;
        private String pendingData;
        volatile int status;
        volatile boolean isConnected;
        volatile boolean closed;
        volatile boolean sawRetry;
        long connectStartNanos;
        long connectedNanos;
        long firstByteNanos;
        /** Highest persisted id seen (the resume cursor), -1 before any. */
        volatile long lastId = -1;
        long events, gaps, duplicates;
        Object tag;

        Conn(String path, String token, Long resumeFrom, boolean reading, int receiveBuffer, Handler handler) {
            this.path = path;
            this.token = token;
            this.resumeFrom = resumeFrom;
            this.reading = reading;
            this.receiveBuffer = receiveBuffer;
            this.handler = handler;
            if (resumeFrom != null) lastId = resumeFrom;
        }

        private void start() {
            try {
                ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                if (receiveBuffer > 0) ch.setOption(StandardSocketOptions.SO_RCVBUF, receiveBuffer);
                ch.bind(Net.nextSource());
                StringBuilder r = new StringBuilder(256).append("GET ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n");
                if (token != null) r.append("Authorization: Bearer ").append(token).append("\r\n");
                if (resumeFrom != null) r.append("Last-Event-ID: ").append(resumeFrom).append("\r\n");
                r.append("\r\n");
                request = ByteBuffer.wrap(r.toString().getBytes(StandardCharsets.US_ASCII));
                open.incrementAndGet();
                connectStartNanos = System.nanoTime();
                if (ch.connect(Net.server(port))) {
                    key = ch.register(selector, 0, this);
                    afterConnect();
                } else {
                    key = ch.register(selector, SelectionKey.OP_CONNECT, this);
                }
            } catch (IOException e) {
                fail();
            }
        }

        private void finishConnect() throws IOException {
            if (ch.finishConnect()) afterConnect();
        }

        private void afterConnect() throws IOException {
            connectedNanos = System.nanoTime();
            flush();
        }

        private void flush() throws IOException {
            ch.write(request);
            if (request.hasRemaining()) {
                key.interestOps(SelectionKey.OP_WRITE);
            } else {
                key.interestOps(reading ? SelectionKey.OP_READ : 0);
            }
        }

        private void read(ByteBuffer buf) throws IOException {
            buf.clear();
            int n = ch.read(buf);
            if (n < 0) {
                closedByServer.incrementAndGet();
                close(true);
                return;
            }
            if (n == 0) return;
            if (firstByteNanos == 0) firstByteNanos = System.nanoTime();
            long now = Clock.nowMicros();
            buf.flip();
            while (buf.hasRemaining()) {
                byte b = buf.get();
                if (!headDone) {
                    head.append((char) b);
                    int len = head.length();
                    if (len >= 4 && head.charAt(len - 1) == '\n' && head.charAt(len - 2) == '\r' && head.charAt(len - 3) == '\n' && head.charAt(len - 4) == '\r') {
                        headDone = true;
                        String h = head.toString();
                        status = Integer.parseInt(h.substring(9, 12));
                        chunked = h.toLowerCase().contains("transfer-encoding: chunked");
                        head.setLength(0);
                        if (status != 200) {
                            failed.incrementAndGet();
                        }
                    } else if (len > 16_384) {
                        throw new IOException("response head too long");
                    }
                    continue;
                }
                if (chunked) {
                    if (chunkCrlf) {                       // the CRLF after a chunk's data
                        if (b == '\n') chunkCrlf = false;
                        continue;
                    }
                    if (chunkLeft <= 0) {
                        if (b == '\n') {
                            String s = chunkLine.toString().trim();
                            chunkLine.setLength(0);
                            int semi = s.indexOf(';');
                            if (semi >= 0) s = s.substring(0, semi);
                            if (s.isEmpty()) continue;
                            chunkLeft = Long.parseLong(s, 16);
                            if (chunkLeft == 0) {
                                close(true);
                                return;
                            }
                        } else {
                            chunkLine.append((char) b);
                        }
                        continue;
                    }
                    chunkLeft--;
                    if (chunkLeft == 0) {
                        chunkCrlf = true;
                        chunkLeft = -1;
                    }
                }
                body(b, now);
            }
        }

        /** One body byte (UTF-8; only ASCII matters for the fields parsed here). */
        private void body(byte b, long now) {
            if (b != '\n') {
                line.append((char) (b & 0xff));
                return;
            }
            int n = line.length();
            if (n > 0 && line.charAt(n - 1) == '\r') line.setLength(--n);
            if (n == 0) {
                dispatch(now);
            } else if (line.charAt(0) == ':') {
                if (n >= 11 && line.indexOf("connected") == 2) {
                    isConnected = true;
                    connected.incrementAndGet();
                    handler.onConnected(this);
                }
            } else if (startsWith("id:")) {
                pendingId = Long.parseLong(value(3));
            } else if (startsWith("event:")) {
                pendingEvent = value(6);
            } else if (startsWith("data:")) {
                String d = new String(bytesOf(5), StandardCharsets.UTF_8);
                pendingData = pendingData == null ? d : pendingData + "\n" + d;
            } else if (startsWith("retry:")) {
                sawRetry = true;
            }
            line.setLength(0);
        }

        private boolean startsWith(String p) {
            if (line.length() < p.length()) return false;
            for (int i = 0; i < p.length(); i++) if (line.charAt(i) != p.charAt(i)) return false;
            return true;
        }

        private String value(int from) {
            int i = from;
            if (i < line.length() && line.charAt(i) == ' ') i++;
            return line.substring(i);
        }

        private byte[] bytesOf(int from) {
            int i = from;
            if (i < line.length() && line.charAt(i) == ' ') i++;
            byte[] out = new byte[line.length() - i];
            for (int k = 0; k < out.length; k++) out[k] = (byte) line.charAt(i + k);
            return out;
        }

        private void dispatch(long now) {
            if (pendingData == null && pendingEvent == null) {
                pendingId = -1;
                return;
            }
            long id = pendingId;
            if (id >= 0) {
                if (lastId >= 0 && id != lastId + 1) {
                    if (id <= lastId) duplicates++;
                    else gaps++;
                }
                if (id > lastId) lastId = id;
            }
            events++;
            handler.onEvent(this, id, pendingEvent == null ? "message" : pendingEvent, pendingData == null ? "" : pendingData, now);
            pendingId = -1;
            pendingEvent = null;
            pendingData = null;
        }

        private void fail() {
            failed.incrementAndGet();
            close(true);
        }

        /** Closes from the selector thread; use {@link SseMux#closeAll} from elsewhere. */
        void close(boolean byPeer) {
            if (closed) return;
            closed = true;
            open.decrementAndGet();
            if (isConnected) connected.decrementAndGet();
            try {
                if (key != null) key.cancel();
                if (ch != null) ch.close();
            } catch (IOException ignored) {
                // closed anyway
            }
            handler.onClosed(this);
        }
    }
}
