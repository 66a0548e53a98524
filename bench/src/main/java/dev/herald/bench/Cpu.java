package dev.herald.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * CPU seconds used by the server under test, PostgreSQL (postmaster, its live children, and
 * the children it has reaped) and the load generator, plus the whole machine, from /proc.
 * On a shared machine this says who had the cores during a scenario.
 */
final class Cpu {
    static final double HZ = 100.0; // USER_HZ on Linux

    record Sample(long nanos, double server, double pg, double bench, double machineBusy, double machineTotal) {
        String since(Sample a) {
            double wall = (nanos - a.nanos) / 1e9;
            if (wall <= 0 || Double.isNaN(server)) return "";
            double busy = (machineBusy - a.machineBusy) / wall, total = (machineTotal - a.machineTotal) / wall;
            return String.format(Locale.ROOT, "CPU cores used: server %.2f, PostgreSQL %.2f, load generator %.2f, everything on the machine %.2f of %.0f",
                    (server - a.server) / wall, (pg - a.pg) / wall, (bench - a.bench) / wall, busy, total);
        }

        double serverCores(Sample a) { return (server - a.server) / ((nanos - a.nanos) / 1e9); }
        double pgCores(Sample a) { return (pg - a.pg) / ((nanos - a.nanos) / 1e9); }
        double benchCores(Sample a) { return (bench - a.bench) / ((nanos - a.nanos) / 1e9); }
        double machineCores(Sample a) { return (machineBusy - a.machineBusy) / ((nanos - a.nanos) / 1e9); }
    }

    private final long serverPid;
    private final long postmasterPid;

    Cpu(long serverPid, long postmasterPid) {
        this.serverPid = serverPid;
        this.postmasterPid = postmasterPid;
    }

    Sample sample() {
        double server = serverPid > 0 ? seconds(serverPid, false) : 0;
        double pg = Double.NaN;
        if (postmasterPid > 0) {
            pg = seconds(postmasterPid, true);
            try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
                for (Path p : (Iterable<Path>) procs::iterator) {
                    String name = p.getFileName().toString();
                    if (!name.chars().allMatch(Character::isDigit)) continue;
                    long[] f = stat(Long.parseLong(name));
                    if (f != null && f[0] == postmasterPid) pg += (f[1] + f[2]) / HZ;
                }
            } catch (Exception ignored) {
                // not Linux
            }
        }
        double bench = seconds(ProcessHandle.current().pid(), false);
        double busy = Double.NaN, total = Double.NaN;
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long sum = 0, idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            for (int i = 1; i < f.length && i <= 8; i++) sum += Long.parseLong(f[i]);
            busy = (sum - idle) / HZ;
            total = sum / HZ;
        } catch (Exception ignored) {
            // not Linux
        }
        return new Sample(System.nanoTime(), server, pg, bench, busy, total);
    }

    /** utime + stime (+ reaped children's) of a process, in seconds. */
    static double seconds(long pid, boolean withChildren) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            double t = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            if (withChildren) t += Long.parseLong(f[13]) + Long.parseLong(f[14]);
            return t / HZ;
        } catch (Exception e) {
            return Double.NaN;
        }
    }

    /** {ppid, utime, stime} of a process, or null. */
    private static long[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return new long[]{Long.parseLong(f[1]), Long.parseLong(f[11]), Long.parseLong(f[12])};
        } catch (Exception e) {
            return null;
        }
    }
}
