package dev.herald.stream;

/**
 * A publish gave up on a stream whose head row another transaction holds (an application
 * that published from its own transaction and has not committed): past the lock timeout, or
 * when the slow lane for such streams is full. Nothing was written; the caller may retry. The
 * edge answers 503.
 */
public final class StreamBusy extends RuntimeException {
    public StreamBusy(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
