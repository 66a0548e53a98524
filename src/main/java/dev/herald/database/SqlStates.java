package dev.herald.database;

import java.sql.SQLException;
import java.sql.SQLTransientException;

/**
 * What a failed database call means, read from its SQLSTATE (the first {@link SQLException}
 * in the cause chain): the one place that classifies database errors.
 */
public final class SqlStates {
    /** lock_not_available: a lock timeout expired. */
    public static final String LOCK_TIMEOUT = "55P03";
    /**
     * query_canceled: the statement ran past its {@code statement_timeout} (or was cancelled);
     * it rolled back with its transaction.
     */
    public static final String QUERY_CANCELED = "57014";

    private SqlStates() {}

    /** The SQLSTATE of the first SQLException in the cause chain, or null. */
    public static String of(Throwable e) {
        SQLException s = first(e);
        return s == null ? null : s.getSQLState();
    }

    /**
     * The database did not answer: connection failures (class 08), shutdown or admin
     * termination (57P), a pool time-out or any other transient JDBC failure.
     */
    public static boolean unavailable(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof SQLTransientException) return true;
            if (t instanceof SQLException s
                    && s.getSQLState() != null
                    && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) return true;
        }
        return false;
    }

    /**
     * True when the database itself reported the error (an SQLSTATE outside the connection,
     * shutdown, resource and internal classes): the statement — and with it the autocommit
     * transaction — rolled back, and nothing of it exists.
     */
    public static boolean rolledBackByServer(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof SQLTransientException) return false;
            if (t instanceof SQLException s) {
                String state = s.getSQLState();
                if (state == null || state.length() < 2) return false;
                String cls = state.substring(0, 2);
                return !(cls.equals("08")
                        || cls.equals("57")
                        || cls.equals("53")
                        || cls.equals("58")
                        || cls.equals("XX"));
            }
        }
        return false;
    }

    /**
     * PostgreSQL queues a transaction's NOTIFYs at commit and, when its queue is full (a
     * LISTENer that stopped reading pins its tail), fails the COMMIT with 54000 and a message
     * naming the queue. Other 54000 errors (row too big) differ.
     */
    public static boolean notifyQueueFull(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof SQLException s
                    && "54000".equals(s.getSQLState())
                    && s.getMessage() != null
                    && s.getMessage().contains("NOTIFY queue")) return true;
        }
        return false;
    }

    /**
     * The connection's network timeout expired: the database sent nothing back for that long
     * (a half-open connection, a frozen server). The driver closed the connection; whether the
     * statement it was waiting for committed is unknown.
     */
    public static boolean networkTimeout(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof java.net.SocketTimeoutException) return true;
        }
        return false;
    }

    private static SQLException first(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 32; t = t.getCause(), depth++) {
            if (t instanceof SQLException s) return s;
        }
        return null;
    }
}
