package dev.herald.ops;

import dev.herald.sse.SseMetrics;
import dev.herald.stream.Event;
import dev.herald.stream.HubMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Herald's meters, exposed in Prometheus text at /metrics. */
public final class Metrics implements HubMetrics, SseMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Counter published = Counter.builder("herald_events_published")
            .description("Events committed through this replica")
            .register(registry);
    private final Counter delivered = Counter.builder("herald_events_delivered")
            .description("Events written to SSE clients")
            .register(registry);
    private final Counter slowDropped = Counter.builder("herald_slow_clients_dropped")
            .description("SSE clients disconnected for reading too slowly")
            .register(registry);
    private final Counter fetches = Counter.builder("herald_stream_fetches")
            .description("Database queries for events after a cursor")
            .register(registry);
    private final Counter resyncs = Counter.builder("herald_resyncs")
            .description(
                    "Times every local stream re-queried the database because pings may have been lost (after a listener reconnect)")
            .register(registry);
    private final Counter headQueries = Counter.builder("herald_resync_head_queries")
            .description("Queries reading the heads of many streams at once (a resync checking which moved)")
            .register(registry);
    private final Timer commitToSend = Timer.builder("herald_commit_to_send")
            .description("From an event's commit-time timestamp to its write to an SSE client")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(100_000))
            .maximumExpectedValue(Duration.ofSeconds(30))
            .register(registry);

    private final java.util.List<Object> strong = new java.util.concurrent.CopyOnWriteArrayList<>();

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public void published(int n) {
        published.increment(n);
    }

    @Override
    public void fetched(int rows) {
        fetches.increment();
    }

    public double fetchCount() {
        return fetches.count();
    }

    @Override
    public void delivered(Event e, Instant sentAt) {
        delivered.increment();
        OffsetDateTime created = e.createdAt();
        if (created != null) {
            // Field arithmetic instead of Duration objects: this runs once per event per client.
            long nanos = (sentAt.getEpochSecond() - created.toEpochSecond()) * 1_000_000_000L
                    + (sentAt.getNano() - created.getNano());
            if (nanos >= 0) commitToSend.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    @Override
    public void resynced(int topics) {
        resyncs.increment();
    }

    @Override
    public void headsQueried(int streams) {
        headQueries.increment();
    }

    public double headQueryCount() {
        return headQueries.count();
    }

    @Override
    public void slowClientDropped() {
        slowDropped.increment();
    }

    public void gauge(String name, String description, Supplier<Number> value) {
        io.micrometer.core.instrument.Gauge.builder(name, value)
                .description(description)
                .register(registry);
    }

    /** A monotonic count kept elsewhere (exposed as name_total). */
    public void functionCounter(String name, String description, Supplier<Number> value) {
        // Micrometer holds a function counter's object weakly: keep the supplier alive here.
        strong.add(value);
        io.micrometer.core.instrument.FunctionCounter.builder(
                        name, value, v -> v.get().doubleValue())
                .description(description)
                .register(registry);
    }

    public String scrape() {
        return registry.scrape();
    }
}
