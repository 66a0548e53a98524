package dev.herald.jobs;

import dev.herald.auth.Auth;
import dev.herald.config.Config;
import dev.herald.ops.Metrics;
import dev.herald.sse.Sse;
import dev.herald.stream.Hub;
import io.javalin.config.RoutesConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import org.jooq.DSLContext;

/**
 * This package's parts, wired for {@code Herald}: team job routes, the replay budget (installed
 * on {@link Sse} for every SSE endpoint) and the retention janitor.
 */
public final class Jobs implements AutoCloseable {
    private final TeamJobRoutes routes;
    private final ReplayBudget budget;
    private final RetentionJanitor janitor;

    public Jobs(Config config, DSLContext db, Auth auth, Hub hub, Sse sse, Metrics metrics) {
        Config.Housekeeping hk = config.housekeeping();
        Counter refused = Counter.builder("herald_replay_refused")
                .description("SSE connects and backlog requests refused by the replay budget (429)")
                .register(metrics.registry());
        this.budget = new ReplayBudget(hk.replayConnects(), hk.replayRows(), hk.replayWindow(), refused::increment);
        sse.replayGate(budget);
        this.janitor = new RetentionJanitor(db, config.retention(), hk.retentionInterval(), hk.retentionBatch());
        FunctionCounter.builder("herald_retention_deleted_events", janitor, RetentionJanitor::deleted)
                .description("Events deleted by this replica's retention janitor")
                .register(metrics.registry());
        this.routes = new TeamJobRoutes(auth, new JobEvents(db), hub, sse, metrics, config.maxBodyBytes());
    }

    public void register(RoutesConfig r) {
        routes.register(r);
    }

    public void start() {
        janitor.start();
    }

    public RetentionJanitor janitor() {
        return janitor;
    }

    public ReplayBudget replayBudget() {
        return budget;
    }

    @Override
    public void close() {
        janitor.close();
    }
}
