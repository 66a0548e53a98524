package dev.herald.bench;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Client sockets bind to rotating loopback source addresses (127.0.0.2 – 127.0.0.251), so
 * tens of thousands of short connections never run out of ephemeral ports to TIME_WAIT.
 * Every address used is on this machine's loopback interface.
 */
final class Net {
    private static final AtomicInteger next = new AtomicInteger();
    private static final InetAddress[] SOURCES = new InetAddress[250];

    static {
        for (int i = 0; i < SOURCES.length; i++) {
            try {
                SOURCES[i] = InetAddress.getByAddress(new byte[]{127, 0, 0, (byte) (2 + i)});
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private Net() {}

    static InetSocketAddress nextSource() {
        return new InetSocketAddress(SOURCES[Math.floorMod(next.getAndIncrement(), SOURCES.length)], 0);
    }

    static InetSocketAddress server(int port) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
    }
}
