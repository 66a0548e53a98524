package dev.herald.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The kernel's listen-queue counters (TcpExtListenOverflows, TcpExtListenDrops), absolute,
 * from `nstat -asz` (falls back to /proc/net/netstat). They count the whole network
 * namespace, so other processes on the machine may add to them.
 */
final class Nstat {
    private Nstat() {}

    static long[] read() {
        long[] v = fromNstat();
        return v != null ? v : fromProc();
    }

    private static long[] fromNstat() {
        try {
            Process p = new ProcessBuilder("nstat", "-asz", "TcpExtListenOverflows", "TcpExtListenDrops").redirectErrorStream(true).start();
            long over = -1, drops = -1;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length < 2) continue;
                    if (f[0].equals("TcpExtListenOverflows")) over = Long.parseLong(f[1]);
                    if (f[0].equals("TcpExtListenDrops")) drops = Long.parseLong(f[1]);
                }
            }
            p.waitFor();
            return over < 0 || drops < 0 ? null : new long[]{over, drops};
        } catch (Exception e) {
            return null;
        }
    }

    private static long[] fromProc() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/net/netstat"));
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (!lines.get(i).startsWith("TcpExt:")) continue;
                String[] names = lines.get(i).trim().split("\\s+");
                String[] vals = lines.get(i + 1).trim().split("\\s+");
                long over = 0, drops = 0;
                for (int k = 1; k < names.length && k < vals.length; k++) {
                    if (names[k].equals("ListenOverflows")) over = Long.parseLong(vals[k]);
                    if (names[k].equals("ListenDrops")) drops = Long.parseLong(vals[k]);
                }
                return new long[]{over, drops};
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return new long[]{0, 0};
    }
}
