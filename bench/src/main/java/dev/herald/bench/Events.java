package dev.herald.bench;

import java.util.BitSet;
import java.util.concurrent.atomic.LongAdder;

/**
 * Records deliveries: commit→client = arrival − the row's created_at (Herald renders it in
 * each user event; PostgreSQL's clock_timestamp() at insert, inside the committing
 * transaction), and send→client = arrival − the publisher's send time carried in data.t.
 */
final class Events implements SseMux.Handler {
    volatile boolean recording;
    final Hist commitToClient;
    final Hist sendToClient;
    final LongAdder delivered = new LongAdder();
    final LongAdder all = new LongAdder();
    /** When true, each connection's tag must be a BitSet of the cursors (or seqs) it got. */
    final boolean trackIds;
    /** For payload forwarders: the per-stream sequence is in data.seq, there is no id. */
    final boolean seqInData;

    Events(String name, boolean trackIds, boolean seqInData) {
        this.commitToClient = new Hist(name + " commit→client");
        this.sendToClient = new Hist(name + " send→client");
        this.trackIds = trackIds;
        this.seqInData = seqInData;
    }

    @Override
    public void onEvent(SseMux.Conn c, long id, String event, String data, long recv) {
        all.increment();
        if (trackIds && c.tag instanceof BitSet b) {
            long k = seqInData ? longField(data, "\"seq\":") : id;
            if (k >= 0 && k < Integer.MAX_VALUE) {
                synchronized (b) {
                    b.set((int) k);
                }
            }
        }
        if (!recording) return;
        delivered.increment();
        long created = createdAt(data);
        if (created > 0) commitToClient.recordMicros(recv - created);
        long t = longField(data, "\"t\":");
        if (t > 0) sendToClient.recordMicros(recv - t);
    }

    static long createdAt(String data) {
        int i = data.indexOf("\"created_at\":\"");
        if (i < 0) {
            long ts = longField(data, "\"ts\":");
            return ts;
        }
        int from = i + 14;
        int to = data.indexOf('"', from);
        if (to < 0) return -1;
        return Clock.parseIso(data.substring(from, to));
    }

    static long longField(String data, String key) {
        int i = data.indexOf(key);
        if (i < 0) return -1;
        int p = i + key.length();
        while (p < data.length() && data.charAt(p) == ' ') p++; // jsonb renders "key": value
        long v = 0;
        boolean any = false;
        for (; p < data.length(); p++) {
            char ch = data.charAt(p);
            if (ch < '0' || ch > '9') break;
            v = v * 10 + (ch - '0');
            any = true;
        }
        return any ? v : -1;
    }
}
