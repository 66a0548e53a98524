package dev.herald.stream;

import java.time.Duration;

/**
 * A publish or write through the group commit was not confirmed in time: its caller's deadline
 * passed, the database sent nothing back to the writer within its network timeout (a half-open
 * connection), or the database cancelled the writer's statement at its statement timeout.
 * {@link #mayHaveCommitted()} says whether the outcome is unknown (the statement may have
 * committed before the answer was lost) or known to be nothing. The edge answers 503.
 */
public final class WriteTimeout extends RuntimeException {
    private final boolean mayHaveCommitted;
    private final Duration bound;

    WriteTimeout(String message, boolean mayHaveCommitted, Duration bound, Throwable cause) {
        super(message, cause, false, false);
        this.mayHaveCommitted = mayHaveCommitted;
        this.bound = bound;
    }

    /** True when the write may have committed although its caller was not told; false: nothing was written. */
    public boolean mayHaveCommitted() {
        return mayHaveCommitted;
    }

    /** The bound that expired. */
    public Duration bound() {
        return bound;
    }
}
