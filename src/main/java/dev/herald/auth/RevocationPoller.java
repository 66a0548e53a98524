package dev.herald.auth;

import java.time.Duration;
import java.time.OffsetDateTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backstop for revocation broadcasts: a ping can be lost (the listener reconnecting), so
 * every {@code interval} this asks the database for tokens revoked lately and ends their
 * streams here.
 */
public final class RevocationPoller implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RevocationPoller.class);
    /** Overlap between polls, so a revocation committed during a poll is seen by the next. */
    private static final long OVERLAP_SECONDS = 5;

    private final TokenStore tokens;
    private final Auth auth;
    private final Duration interval;
    private final Thread thread;

    public RevocationPoller(TokenStore tokens, Auth auth, Duration interval) {
        this.tokens = tokens;
        this.auth = auth;
        this.interval = interval;
        this.thread = Thread.ofVirtual().name("herald-revocations").unstarted(this::poll);
    }

    public void start() {
        thread.start();
    }

    private void poll() {
        OffsetDateTime since = OffsetDateTime.now().minusSeconds(OVERLAP_SECONDS);
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
                OffsetDateTime now = OffsetDateTime.now();
                for (String prefix : tokens.revokedSince(since)) auth.revoked(prefix);
                since = now.minusSeconds(OVERLAP_SECONDS);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.debug("revocation poll failed: {}", e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
