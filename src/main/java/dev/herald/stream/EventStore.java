package dev.herald.stream;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.jooq.exception.DataAccessException;

/**
 * Reads of the event log: rows after a cursor, a stream's head. Plain prepared statements:
 * these run once per ping per replica and once per catching-up reader, and building them with
 * jOOQ cost a fifth of a fetch's CPU.
 */
public final class EventStore {
    private static final String AFTER = "SELECT cursor, type, data::text, created_at FROM herald.events"
            + " WHERE tenant = ? AND stream = ? AND cursor > ? ORDER BY cursor LIMIT ?";
    private static final String INFO =
            "SELECT head, pruned_through FROM herald.streams WHERE tenant = ? AND stream = ?";
    /**
     * One primary-key lookup per stream, whatever the size of herald.streams: the LIMIT keeps
     * the planner from turning the lookups into a hash join over the whole table.
     */
    static final String HEADS =
            "SELECT k.tenant, k.stream, s.head FROM unnest(?::text[], ?::text[]) AS k(tenant, stream)"
                    + " CROSS JOIN LATERAL (SELECT h.head FROM herald.streams h"
                    + " WHERE h.tenant = k.tenant AND h.stream = k.stream LIMIT 1) s";

    private final DataSource pool;

    public EventStore(DataSource pool) {
        this.pool = pool;
    }

    /** Events with cursor &gt; after, ascending, at most limit. */
    public List<Event> after(StreamKey key, long after, int limit) {
        try (Connection c = pool.getConnection();
                PreparedStatement ps = c.prepareStatement(AFTER)) {
            ps.setString(1, key.tenant());
            ps.setString(2, key.stream());
            ps.setLong(3, after);
            ps.setInt(4, limit);
            try (ResultSet rs = ps.executeQuery()) {
                List<Event> out = new ArrayList<>(Math.min(limit, 64));
                while (rs.next()) {
                    String data = rs.getString(3);
                    out.add(new Event(
                            rs.getLong(1),
                            rs.getString(2),
                            data == null ? "null" : data,
                            rs.getObject(4, OffsetDateTime.class)));
                }
                return out;
            }
        } catch (SQLException e) {
            throw new DataAccessException("reading events of " + key.stream() + ": " + e.getMessage(), e);
        }
    }

    /** The head cursor (0 for a stream never written) and how far retention has pruned it. */
    public StreamInfo info(StreamKey key) {
        try (Connection c = pool.getConnection();
                PreparedStatement ps = c.prepareStatement(INFO)) {
            ps.setString(1, key.tenant());
            ps.setString(2, key.stream());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new StreamInfo(rs.getLong(1), rs.getLong(2)) : new StreamInfo(0, 0);
            }
        } catch (SQLException e) {
            throw new DataAccessException("reading the head of " + key.stream() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The heads of several streams in one query (a listener resync): only streams that have a
     * head row are in the map (a stream never written is at 0).
     */
    public Map<StreamKey, Long> heads(List<StreamKey> keys) {
        String[] tenants = new String[keys.size()];
        String[] streams = new String[keys.size()];
        for (int i = 0; i < keys.size(); i++) {
            tenants[i] = keys.get(i).tenant();
            streams[i] = keys.get(i).stream();
        }
        try (Connection c = pool.getConnection();
                PreparedStatement ps = c.prepareStatement(HEADS)) {
            ps.setArray(1, c.createArrayOf("text", tenants));
            ps.setArray(2, c.createArrayOf("text", streams));
            try (ResultSet rs = ps.executeQuery()) {
                Map<StreamKey, Long> out = new HashMap<>();
                while (rs.next()) out.put(new StreamKey(rs.getString(1), rs.getString(2)), rs.getLong(3));
                return out;
            }
        } catch (SQLException e) {
            throw new DataAccessException("reading the heads of " + keys.size() + " streams: " + e.getMessage(), e);
        }
    }

    public record StreamInfo(long head, long prunedThrough) {}
}
