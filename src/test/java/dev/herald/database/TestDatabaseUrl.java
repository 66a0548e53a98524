package dev.herald.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.Herald;
import dev.herald.settings.Settings;
import dev.herald.testing.TestDatabase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A database URL's password never shows: not in logs, not in any error while parsing it. */
class TestDatabaseUrl {
    static final String SECRET = "Sup3rS3cret";

    @Test
    void malformed_urls_fail_with_a_message_that_masks_the_password() {
        for (String url : List.of(
                "postgres://app:" + SECRET + "@db host:5432/herald",
                "postgres://app:" + SECRET + "%zz@db:5432/herald",
                "postgres://app:" + SECRET + "@db:5432/her ald",
                "jdbc:postgresql://db:5432/herald?user=app&password=" + SECRET + "%zz",
                "jdbc:postgresql://db:5432/her ald?user=app&password=" + SECRET,
                "postgres://app:" + SECRET + "@[db:5432/herald",
                "mysql://app:" + SECRET + "@db/herald")) {
            var e = assertThrows(IllegalArgumentException.class, () -> DatabaseUrl.parse(url), url);
            assertTrue(e.getMessage().contains("HERALD_DATABASE_URL"), e.getMessage());
            assertFalse(e.getMessage().contains(SECRET), url + " -> " + e.getMessage());
            assertFalse(e.getMessage().contains("Sup3r"), url + " -> " + e.getMessage());
            assertEquals(null, e.getCause(), "no cause carries the input");
        }
    }

    @Test
    void a_parsed_url_never_shows_its_password() {
        DatabaseUrl u = DatabaseUrl.parse("postgres://app:" + SECRET + "@db:6543/herald");
        assertEquals(SECRET, u.password());
        assertFalse(u.toString().contains(SECRET), u.toString());
        assertFalse(u.describe().contains(SECRET));
        assertEquals("postgres://app@db:6543/herald", u.toString());
        assertEquals(
                "postgres://app:***@db/x password=***",
                DatabaseUrl.mask("postgres://app:" + SECRET + "@db/x password=" + SECRET));
    }

    @Test
    void a_server_given_a_malformed_url_stops_without_showing_the_password() {
        TestDatabase.server(); // the same PostgreSQL the other tests use is up; this URL is not it
        Settings s = Settings.defaults()
                .with(b -> b.port(0).host("127.0.0.1").databaseUrl("postgres://app:" + SECRET + "@db host/herald"));
        var e = assertThrows(IllegalArgumentException.class, () -> Herald.start(s));
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
    }
}
