package dev.herald.database;

import java.util.List;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jooq.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The database boundary (docs/API.md "The database boundary", docs/adr/0080): applications publish from
 * their own transactions through the NOLOGIN role {@value #APP_ROLE}, which may execute the
 * {@link #PUBLISH_FUNCTIONS} and nothing else in schema herald. Migration V60 creates the role
 * and grants its rights when Herald's role may create roles; when it may not, Herald logs at
 * start, once, the SQL a DBA runs ({@link #DBA_SQL}, the same as in the README).
 */
public final class DatabaseBoundary {
    private static final Logger log = LoggerFactory.getLogger(DatabaseBoundary.class);

    public static final String APP_ROLE = "herald_app";

    /**
     * The documented publish functions (docs/API.md "The database boundary"), the only ones
     * {@value #APP_ROLE} may execute. A function added here is granted in a migration too.
     */
    public static final List<String> PUBLISH_FUNCTIONS = List.of(
            "herald.publish_user_event(text, text, text, jsonb)",
            "herald.publish_job_event(text, text, text, jsonb)",
            "herald.notify_inbox(text, text, text, text, text, text[], jsonb)");

    /** What a DBA runs, as a superuser connected to Herald's database, when the migration could not. */
    public static final String DBA_SQL = "CREATE ROLE " + APP_ROLE + " NOLOGIN;\n" + grants();

    private DatabaseBoundary() {}

    private static String grants() {
        return "GRANT USAGE ON SCHEMA herald TO " + APP_ROLE + ";\n"
                + "GRANT EXECUTE ON FUNCTION\n"
                + PUBLISH_FUNCTIONS.stream().map(f -> "    " + f).collect(Collectors.joining(",\n"))
                + "\n    TO " + APP_ROLE + ";\n";
    }

    /** Logs what a DBA must do when the role or its rights are missing; never stops the start. */
    static void check(DSLContext dsl, DatabaseUrl url) {
        try {
            Record r = dsl.fetchOptional("""
                            SELECT r.rolsuper,
                                   has_schema_privilege(r.oid, 'herald', 'USAGE') AS usage,
                                   (SELECT bool_and(has_function_privilege(r.oid, f::regprocedure::oid, 'EXECUTE'))
                                      FROM unnest(?::text[]) AS f) AS execute
                              FROM pg_catalog.pg_roles r
                             WHERE r.rolname = ?
                            """, PUBLISH_FUNCTIONS.toArray(String[]::new), APP_ROLE)
                    .orElse(null);
            if (r == null) {
                log.warn(
                        "Role {} does not exist and Herald's database role {} may not create roles: applications cannot"
                                + " publish from their own transactions (docs/API.md \"The database boundary\") until a"
                                + " DBA runs, as a superuser connected to database {}:\n{}",
                        APP_ROLE,
                        url.user(),
                        url.database(),
                        DBA_SQL);
            } else if (!r.get("usage", Boolean.class) || !r.get("execute", Boolean.class)) {
                log.warn(
                        "Role {} lacks its rights in database {}: a DBA (or Herald's role {}) runs there:\n{}",
                        APP_ROLE,
                        url.database(),
                        url.user(),
                        grants());
            } else if (r.get("rolsuper", Boolean.class)) {
                log.warn("Role {} is a superuser: whoever is granted it can do anything in the database", APP_ROLE);
            }
        } catch (RuntimeException e) {
            log.warn("Could not check role {}: {}", APP_ROLE, e.getMessage());
        }
    }
}
