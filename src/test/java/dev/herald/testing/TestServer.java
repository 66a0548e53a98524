package dev.herald.testing;

import dev.herald.Herald;
import dev.herald.config.Config;
import dev.herald.database.Database;
import dev.herald.database.DatabaseUrl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Herald replicas for tests: each a real server on its own port with its own pool and LISTEN
 * connection, all on one fresh database. Use one for most tests, several for cross-replica
 * cases (writer on A, subscriber on B).
 */
public final class TestServer implements AutoCloseable {
    public static final String ADMIN_TOKEN = "test-operator-token-0123456789";

    private final DatabaseUrl url;
    private final List<Herald> replicas = new ArrayList<>();
    private final List<Database> databases = new ArrayList<>();
    private final UnaryOperator<Config> tune;

    private TestServer(DatabaseUrl url, UnaryOperator<Config> tune) {
        this.url = url;
        this.tune = tune;
    }

    public static TestServer start() {
        return start(1, c -> c);
    }

    public static TestServer start(int replicas) {
        return start(replicas, c -> c);
    }

    /** Starts replicas on a fresh database; {@code tune} adjusts their config. */
    public static TestServer start(int replicas, UnaryOperator<Config> tune) {
        TestServer s = new TestServer(TestDatabase.fresh(), tune);
        for (int i = 0; i < replicas; i++) s.addReplica();
        return s;
    }

    /** The base config tests use: fast watchdog, quick heartbeats. */
    public static Config baseConfig(DatabaseUrl url) {
        return Config.defaults()
                .withPort(0)
                .withDatabaseUrl(url.jdbcUrl())
                .withAdminToken(ADMIN_TOKEN)
                .withWatchdog(Duration.ofMillis(300), Duration.ofMillis(1500))
                .withSlowClientTimeout(Duration.ofSeconds(3));
    }

    public Herald addReplica() {
        Database db = Database.connect(url, 8);
        Herald h = Herald.start(tune.apply(baseConfig(url)).withHost("127.0.0.1"), db);
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
    }
}
