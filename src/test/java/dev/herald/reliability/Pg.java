package dev.herald.reliability;

import dev.herald.database.DatabaseUrl;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Direct JDBC to a test database: what the tests inject (kills, triggers) and check (rows). */
final class Pg {
    private Pg() {}

    static Connection connect(DatabaseUrl url) throws SQLException {
        return DriverManager.getConnection(url.jdbcUrl(), url.user(), url.password());
    }

    static long scalar(DatabaseUrl url, String sql, Object... params) {
        try (Connection c = connect(url);
                PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    static List<String> strings(DatabaseUrl url, String sql, Object... params) {
        try (Connection c = connect(url);
                PreparedStatement st = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) st.setObject(i + 1, params[i]);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) out.add(rs.getString(1));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    static void execute(DatabaseUrl url, String sql) {
        try (Connection c = connect(url);
                var st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql + ": " + e.getMessage(), e);
        }
    }

    /** pg_terminate_backend(pid): true if a backend was signalled. */
    static boolean terminate(DatabaseUrl url, int pid) {
        return scalar(url, "SELECT CASE WHEN pg_terminate_backend(?) THEN 1 ELSE 0 END", pid) == 1;
    }

    /** Rows of a user's stream in the events table (what was committed). */
    static long events(DatabaseUrl url, String tenant, String user) {
        return scalar(
                url, "SELECT count(*) FROM herald.events WHERE tenant = ? AND stream = ?", tenant, "user:" + user);
    }
}
