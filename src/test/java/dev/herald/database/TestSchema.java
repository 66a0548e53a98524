package dev.herald.database;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.herald.jooq.Herald;
import dev.herald.testing.Sql;
import dev.herald.testing.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The schema: jOOQ classes match migrations/, and a replica refuses a newer schema. */
class TestSchema {

    @Test
    void the_jooq_classes_were_generated_from_the_current_migrations() throws Exception {
        // The build regenerates whenever this hash of its inputs changes (jooq-codegen/).
        Path stamp = Path.of("target/generated-sources/jooq/.inputs-sha256");
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        List<Path> inputs;
        try (Stream<Path> s = Files.list(Path.of("migrations"))) {
            inputs = new ArrayList<>(
                    s.filter(p -> p.toString().endsWith(".sql")).sorted().toList());
        }
        inputs.add(Path.of("jooq-codegen/jooq-config.xml"));
        inputs.add(Path.of("jooq-codegen/GenerateSchema.java"));
        for (Path p : inputs) {
            sha.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            sha.update(Files.readAllBytes(p));
        }
        assertEquals(HexFormat.of().formatHex(sha.digest()), Files.readString(stamp));
    }

    @Test
    void every_table_of_the_migrated_schema_has_a_generated_class_and_no_other() throws Exception {
        DatabaseUrl url = TestDatabase.fresh();
        try (Database db = Database.connect(url, 2)) {
            Set<String> inDatabase = new TreeSet<>(db.dsl()
                    .fetch(
                            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'herald' AND table_name <> 'flyway_schema_history'")
                    .getValues(0, String.class));
            // Table-valued SQL functions are generated as tables too; they are not tables.
            Set<String> generated = Herald.HERALD.getTables().stream()
                    .filter(t -> t.getOptions().type() != org.jooq.TableOptions.TableType.FUNCTION)
                    .map(t -> t.getName())
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(inDatabase, generated);
        }
    }

    @Test
    void a_replica_never_starts_against_a_schema_newer_than_it_knows() throws Exception {
        DatabaseUrl url = TestDatabase.fresh();
        try (Database db = Database.connect(url, 2)) {
            assertTrue(db.reachable());
        }
        Sql.update(
                url,
                "INSERT INTO herald.flyway_schema_history (installed_rank, version, description, type, script, checksum, installed_by, execution_time, success) "
                        + "VALUES (999, '999', 'from the future', 'SQL', 'V999__future.sql', 0, 'test', 0, true)");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Database.connect(url, 2));
        assertTrue(e.getMessage().contains("migration"), e.getMessage());
    }
}
