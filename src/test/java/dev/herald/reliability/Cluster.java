package dev.herald.reliability;

import dev.herald.Herald;
import dev.herald.database.Database;
import dev.herald.database.DatabaseUrl;
import dev.herald.settings.Settings;
import dev.herald.testing.Api;
import dev.herald.testing.TestServer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Replicas on a database URL the test chooses (through a proxy, on a dedicated PostgreSQL),
 * configured like the harness's TestServer otherwise.
 */
final class Cluster implements AutoCloseable {
    private final List<Herald> replicas = new ArrayList<>();
    private final List<Database> databases = new ArrayList<>();

    static Cluster start(DatabaseUrl url, int n, UnaryOperator<Settings.Builder> tune) {
        Cluster c = new Cluster();
        for (int i = 0; i < n; i++) {
            Database db = Database.connect(url, 8);
            c.databases.add(db);
            c.replicas.add(Herald.start(TestServer.baseSettings(url).with(tune), db));
        }
        return c;
    }

    Herald replica(int i) {
        return replicas.get(i);
    }

    Api api(int i) {
        return new Api("http://127.0.0.1:" + replicas.get(i).port());
    }

    @Override
    public void close() {
        for (Herald h : replicas) h.stop(false);
        for (Database d : databases) d.close();
    }
}
