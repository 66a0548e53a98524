package dev.herald.testing;

import dev.herald.Herald;
import dev.herald.database.Database;
import dev.herald.database.DatabaseUrl;
import dev.herald.settings.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Herald replicas for tests: each a real server on its own port with its own pool and LISTEN
 * connection, all on one fresh database. One for most tests, several for cross-replica cases
 * (writer on A, subscriber on B).
 *
 * <p>A test class declares its server once, and the extension starts it before the first test
 * and stops it after the last; test methods may take an {@link Api} (replica 0) as a parameter:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final TestServer server = TestServer.replicas(2);
 * }</pre>
 *
 * A test that needs a server of its own opens one with {@link #start} in try-with-resources.
 */
public final class TestServer implements AutoCloseable, BeforeAllCallback, AfterAllCallback, ParameterResolver {
    public static final String ADMIN_TOKEN = "test-operator-token-0123456789-abcdefgh";

    private final int initialReplicas;
    private final UnaryOperator<Settings.Builder> tune;
    private final List<Herald> replicas = new ArrayList<>();
    private final List<Database> databases = new ArrayList<>();
    private DatabaseUrl url;

    private TestServer(int replicas, UnaryOperator<Settings.Builder> tune) {
        this.initialReplicas = replicas;
        this.tune = tune;
    }

    /** A server for a test class, started and stopped by the extension. */
    public static TestServer replicas(int n) {
        return replicas(n, b -> b);
    }

    /** The same, with settings changed by {@code tune}. */
    public static TestServer replicas(int n, UnaryOperator<Settings.Builder> tune) {
        return new TestServer(n, tune);
    }

    /** A server started now, for one test: close it (try-with-resources). */
    public static TestServer start(int replicas, UnaryOperator<Settings.Builder> tune) {
        TestServer s = new TestServer(replicas, tune);
        s.open();
        return s;
    }

    public static TestServer start(int replicas) {
        return start(replicas, b -> b);
    }

    public static TestServer start() {
        return start(1);
    }

    /**
     * The settings every test replica starts from: fast watchdog, quick slow-client drops, and
     * the abuse limits off (tests send 401s and open streams of one token by the hundred on
     * purpose; TestAbuseLimits sets them), and no warm-up (thousands of events per start; TestWarmup
     * runs it).
     */
    public static Settings baseSettings(DatabaseUrl url) {
        return Settings.defaults()
                .with(b -> b.port(0)
                        .host("127.0.0.1")
                        .databaseUrl(url.jdbcUrl())
                        .adminToken(ADMIN_TOKEN)
                        .watchdog(Duration.ofMillis(300), Duration.ofMillis(1500))
                        .slowClientTimeout(Duration.ofSeconds(3))
                        .authFailures(0, Duration.ofSeconds(10))
                        .maxStreamsPerUser(1_000_000)
                        .warmup(0));
    }

    /** This server's settings with further changes, for replicas a test starts itself. */
    public Settings settings(UnaryOperator<Settings.Builder> change) {
        return baseSettings(url).with(b -> change.apply(tune.apply(b)));
    }

    private void open() {
        url = TestDatabase.fresh();
        for (int i = 0; i < initialReplicas; i++) addReplica();
    }

    public Herald addReplica() {
        Database db = Database.connect(url, 8);
        Herald h = Herald.start(settings(b -> b), db);
        databases.add(db);
        replicas.add(h);
        return h;
    }

    public Herald replica(int i) {
        return replicas.get(i);
    }

    public Herald herald() {
        return replicas.get(0);
    }

    public DatabaseUrl databaseUrl() {
        return url;
    }

    public Api api() {
        return api(0);
    }

    public Api api(int replica) {
        return new Api("http://127.0.0.1:" + replicas.get(replica).port());
    }

    /** Stops one replica as SIGTERM would (streams end cleanly). */
    public void stopReplica(int i) {
        replicas.get(i).stop(false);
    }

    @Override
    public void close() {
        for (Herald h : replicas) h.stop(false);
        for (Database d : databases) d.close();
        replicas.clear();
        databases.clear();
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        open();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        Class<?> type = p.getParameter().getType();
        return type == Api.class || type == TestServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == Api.class ? api() : this;
    }
}
