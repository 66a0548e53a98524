package dev.herald.stream;

/**
 * Input the engine cannot store or send, whatever the transport: the edge maps {@link Reason}
 * to its own answer (HTTP: 400 {@code invalid_field}, 413 {@code payload_too_large}).
 */
public final class EventRejected extends RuntimeException {
    public enum Reason {
        /** The event's data holds something PostgreSQL cannot store. */
        INVALID_DATA,
        /** A transient signal larger than a NOTIFY payload may be. */
        TOO_LARGE
    }

    private final Reason reason;

    public EventRejected(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
