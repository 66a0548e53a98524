package dev.herald.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares what a subscriber received with what was committed: the figures every fault test
 * reports (published, delivered, lost, dup, order) and the assertion that they are exact.
 */
final class Ledger {
    record Figures(int published, int delivered, int lost, int dup, int outOfOrder, int mismatched) {
        @Override
        public String toString() {
            return "published=" + published + " delivered=" + delivered + " lost=" + lost + " dup=" + dup
                    + " outOfOrder=" + outOfOrder + " mismatched=" + mismatched;
        }
    }

    private Ledger() {}

    /**
     * committed: the stream's events in cursor order (cursor, writer, seq); the subscriber
     * must have exactly these, in this order, each once.
     */
    static Figures compare(List<Writers.Published> committed, Follower f) {
        List<Follower.Received> got = f.received();
        Map<Long, Writers.Published> byCursor = new HashMap<>();
        for (Writers.Published p : committed) byCursor.put(p.cursor(), p);
        Set<Long> seen = new HashSet<>();
        int outOfOrder = 0;
        int mismatched = 0;
        long prev = 0;
        for (Follower.Received r : got) {
            if (r.id() != prev + 1) outOfOrder++;
            prev = r.id();
            seen.add(r.id());
            Writers.Published p = byCursor.get(r.id());
            if (p == null || r.w() != p.writer() || r.i() != p.seq()) mismatched++;
        }
        int lost = 0;
        for (Writers.Published p : committed) if (!seen.contains(p.cursor())) lost++;
        return new Figures(committed.size(), got.size(), lost, f.duplicates.get(), outOfOrder, mismatched);
    }

    /** The committed cursors are 1..n without a hole (the server's density promise). */
    static void assertDense(List<Writers.Published> committed) {
        for (int i = 0; i < committed.size(); i++) {
            assertEquals(i + 1, committed.get(i).cursor(), "committed cursors must be dense from 1");
        }
    }

    static void assertExact(Figures fig, String who) {
        assertTrue(fig.published() > 0, who + ": nothing was published");
        assertEquals(0, fig.lost(), who + ": " + fig);
        assertEquals(0, fig.dup(), who + ": " + fig);
        assertEquals(0, fig.outOfOrder(), who + ": " + fig);
        assertEquals(0, fig.mismatched(), who + ": " + fig);
        assertEquals(fig.published(), fig.delivered(), who + ": " + fig);
    }
}
