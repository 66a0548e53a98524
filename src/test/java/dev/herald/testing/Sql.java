package dev.herald.testing;

import dev.herald.database.DatabaseUrl;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

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

    /** Reads one row of a result. */
    @FunctionalInterface
    public interface Row<T> {
        T read(ResultSet rs) throws SQLException;
    }

    /** Runs SQL without parameters in its own connection: DDL, several statements, a SELECT for its effect. */
    public static void execute(DatabaseUrl url, String sql) {
        try (Connection c = connect(url);
                Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** Runs an update in its own connection; returns the row count. */
    public static int update(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = connect(url);
                PreparedStatement st = prepare(c, sql, args)) {
            return st.executeUpdate();
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** The first column of the first row, as a long (0 when there is no row). */
    public static long scalar(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement st = prepare(c, sql, args);
                ResultSet rs = st.executeQuery()) {
            return rs.next() ? rs.getLong(1) : 0;
        }
    }

    public static long scalar(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = connect(url)) {
            return scalar(c, sql, args);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /**
     * The first column of the first row as the driver returns it (a Long, a UUID, a Boolean, or
     * null for SQL NULL); fails when there is no row.
     */
    public static Object value(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement st = prepare(c, sql, args);
                ResultSet rs = st.executeQuery()) {
            if (!rs.next()) throw new AssertionError("no row: " + sql);
            return rs.getObject(1);
        }
    }

    public static Object value(DatabaseUrl url, String sql, Object... args) {
        try (Connection c = connect(url)) {
            return value(c, sql, args);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    /** Every row the query returns, each read by {@code row}. */
    public static <T> List<T> query(Connection c, String sql, Row<T> row, Object... args) throws SQLException {
        List<T> out = new ArrayList<>();
        try (PreparedStatement st = prepare(c, sql, args);
                ResultSet rs = st.executeQuery()) {
            while (rs.next()) out.add(row.read(rs));
        }
        return out;
    }

    public static <T> List<T> query(DatabaseUrl url, String sql, Row<T> row, Object... args) {
        try (Connection c = connect(url)) {
            return query(c, sql, row, args);
        } catch (SQLException e) {
            throw new AssertionError(sql + ": " + e.getMessage(), e);
        }
    }

    private static PreparedStatement prepare(Connection c, String sql, Object... args) throws SQLException {
        PreparedStatement st = c.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) st.setObject(i + 1, args[i]);
            return st;
        } catch (SQLException e) {
            st.close();
            throw e;
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
