package dev.herald.database;

import dev.herald.testing.Sql;

/**
 * The two LOGIN roles the database-boundary tests connect as: one granted herald_app, as an
 * application would use, and one with no grants at all (what PUBLIC may do). Roles are
 * cluster-wide, so each set has names of its own and is dropped on close.
 */
final class LoginRoles implements AutoCloseable {
    private static final String PASSWORD = "app-" + Long.toHexString(Double.doubleToLongBits(Math.random()));

    private final DatabaseUrl db;
    /** A LOGIN role granted herald_app. */
    final DatabaseUrl app;
    /** A LOGIN role with no grants. */
    final DatabaseUrl nobody;

    LoginRoles(DatabaseUrl db, String prefix) {
        this.db = db;
        String suffix = ProcessHandle.current().pid() + "_" + System.nanoTime();
        this.app = login(prefix + "_app_" + suffix, " IN ROLE " + DatabaseBoundary.APP_ROLE);
        this.nobody = login(prefix + "_nobody_" + suffix, "");
    }

    private DatabaseUrl login(String role, String membership) {
        Sql.execute(db, "CREATE ROLE " + role + " LOGIN PASSWORD '" + PASSWORD + "'" + membership);
        return new DatabaseUrl(db.host(), db.port(), db.database(), role, PASSWORD);
    }

    @Override
    public void close() {
        for (DatabaseUrl u : new DatabaseUrl[] {app, nobody}) Sql.execute(db, "DROP ROLE IF EXISTS " + u.user());
    }
}
