package dev.herald.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.DoublePredicate;

/** Reads a replica's /metrics as an operator's scraper would: the Prometheus text format. */
public final class MetricsText {
    private MetricsText() {}

    public static String scrape(Api api) {
        Api.Response r = api.get("/metrics", null);
        assertEquals(200, r.status());
        assertTrue(r.header("Content-Type").startsWith("text/plain"), r.header("Content-Type"));
        return r.body();
    }

    /** The value of a sample (the first, for labelled ones). */
    public static double value(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{"))
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError(name + " not in /metrics");
    }

    public static String awaitValue(Api api, String name, DoublePredicate ok) throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        String text;
        do {
            text = scrape(api);
            if (ok.test(value(text, name))) return text;
            Thread.sleep(100);
        } while (System.nanoTime() < until);
        throw new AssertionError(name + " = " + value(text, name) + " after 15 s");
    }
}
