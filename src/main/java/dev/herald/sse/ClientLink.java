package dev.herald.sse;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * The client's end of one SSE stream: how its close is seen at once (not at the next failed
 * write) and how the stream is cut mid-write (slow client, shutdown).
 *
 * <p>On HTTP/1.1 the stream is the TCP connection: a read that reaches EOF is the close,
 * closing the socket the cut. On HTTP/2 the connection carries many streams and Jetty reads it
 * all the time: reading it here would steal other streams' frames and closing it would end
 * them all. There a client's {@code RST_STREAM} (or the connection's loss) fails the request,
 * which its failure listener sees; the cut fails the request's callback, which resets only this
 * stream and fails its pending write.
 */
interface ClientLink {
    /**
     * Calls {@code onClose} with a reason once the client is gone (possibly more than once);
     * {@code ended}: whether the stream has ended anyway (stop watching).
     */
    void watch(Consumer<String> onClose, BooleanSupplier ended);

    /** Ends this stream now, even mid-write; other streams on the same connection go on. */
    void abort(String reason);

    /** Whether a response header such as {@code Connection: close} is legal (HTTP/1.x only). */
    boolean connectionHeaders();

    static ClientLink of(ServletContextRequest request) {
        HttpVersion v = request.getConnectionMetaData().getHttpVersion();
        if (v == HttpVersion.HTTP_2 || v == HttpVersion.HTTP_3) return new Multiplexed(request);
        return new Socket(request.getConnectionMetaData().getConnection().getEndPoint());
    }

    /** HTTP/1.x: the stream owns its TCP connection. */
    record Socket(EndPoint endPoint) implements ClientLink {
        @Override
        public void watch(Consumer<String> onClose, BooleanSupplier ended) {
            Callback cb = new Callback() {
                @Override
                public void succeeded() {
                    try {
                        ByteBuffer buf = BufferUtil.allocate(64);
                        int n = endPoint.fill(buf);
                        if (n < 0 || !endPoint.isOpen()) {
                            onClose.accept("client closed");
                            return;
                        }
                        // Clients send nothing more on an SSE request; ignore anything that comes.
                        endPoint.tryFillInterested(this);
                    } catch (IOException e) {
                        onClose.accept("client connection failed");
                    }
                }

                @Override
                public void failed(Throwable x) {
                    if (x instanceof TimeoutException && endPoint.isOpen() && !ended.getAsBoolean()) {
                        endPoint.tryFillInterested(this);
                    } else {
                        onClose.accept("client connection failed");
                    }
                }
            };
            endPoint.tryFillInterested(cb);
        }

        @Override
        public void abort(String reason) {
            endPoint.close();
        }

        @Override
        public boolean connectionHeaders() {
            return true;
        }
    }

    /** HTTP/2 (and 3): one stream of a shared connection. */
    record Multiplexed(ServletContextRequest request) implements ClientLink {
        @Override
        public void watch(Consumer<String> onClose, BooleanSupplier ended) {
            request.addFailureListener(x -> onClose.accept("client closed stream"));
        }

        @Override
        public void abort(String reason) {
            request.getServletChannel().getCallback().failed(new EOFException(reason));
        }

        @Override
        public boolean connectionHeaders() {
            return false;
        }
    }
}
