package dev.herald.testing;

import dev.herald.database.DatabaseUrl;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Direct SQL for tests: what an application does in its own transactions, and test setup. */
public final class Sql {
    private Sql() {}

    public static Connection connect(DatabaseUrl url) {
        try {
            return DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
        } catch (SQLException e) {
            throw new AssertionError("connect failed: " + e.getMessage(), e);
        }
    }

    /** Runs an update in its own connection; returns the row count. */
    public static int update(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = connect(url);
                PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) st.setObject(i + 1, args[i]);
            return st.executeUpdate();
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** The first column of the first row, as a long (0 when there is no row). */
    public static long scalar(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) st.setObject(i + 1, args[i]);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0;
            }
        }
    }

    public static long scalar(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = connect(url)) {
            return scalar(c, sql, args);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** SELECT herald.publish_job_event(...) on the given connection (inside its transaction). */
    public static long publishJobEvent(Connection c, String team, String job, String status, String dataJson)
            throws SQLException {
        return scalar(c, "SELECT herald.publish_job_event(?, ?, ?, ?::jsonb)", team, job, status, dataJson);
    }

    /** Makes a stream's events up to a cursor look older than retention. */
    public static int age(DatabaseUrl url, String tenant, String stream, long throughCursor, String interval) {
        return update(
                url,
                "UPDATE herald.events SET created_at = now() - ?::interval WHERE tenant = ? AND stream = ? AND cursor <= ?",
                interval,
                tenant,
                stream,
                throughCursor);
    }

    public static long prunedThrough(DatabaseUrl url, String tenant, String stream) {
        return scalar(url, "SELECT pruned_through FROM herald.streams WHERE tenant = ? AND stream = ?", tenant, stream);
    }

    public static long count(DatabaseUrl url, String tenant, String stream) {
        return scalar(url, "SELECT count(*) FROM herald.events WHERE tenant = ? AND stream = ?", tenant, stream);
    }

    public static long minCursor(DatabaseUrl url, String tenant, String stream) {
        return scalar(
                url,
                "SELECT coalesce(min(cursor), 0) FROM herald.events WHERE tenant = ? AND stream = ?",
                tenant,
                stream);
    }
}
