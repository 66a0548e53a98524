package dev.herald.stream;

/** A local reader of a stream (an SSE connection). The hub only wakes it; it pulls. */
public interface Subscriber {
    /** New events may be readable; called from the hub, must not block. */
    void wake();

    /** A transient signal for this stream, already encoded; must not block. */
    void offerTransient(byte[] frame);
}
