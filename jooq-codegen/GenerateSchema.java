import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.flywaydb.core.Flyway;
import org.jooq.codegen.GenerationTool;
import org.jooq.meta.jaxb.Configuration;
import org.jooq.meta.jaxb.Jdbc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Generates Herald's jOOQ classes from migrations/: starts an embedded PostgreSQL, applies the
 * migrations with Flyway, then runs jOOQ's GenerationTool with jooq-config.xml. The build runs
 * this in generate-sources (see pom.xml); it does nothing when the inputs' hash is unchanged.
 *
 * Usage: java -cp <test classpath> jooq-codegen/GenerateSchema.java <project dir> <output dir>
 */
public class GenerateSchema {
    public static void main(String[] args) throws Exception {
        Path project = Path.of(args[0]).toAbsolutePath();
        Path output = Path.of(args[1]).toAbsolutePath();
        Path migrations = project.resolve("migrations");
        Path config = project.resolve("jooq-codegen/jooq-config.xml");
        Path stamp = output.resolve(".inputs-sha256");

        String hash = hashOf(migrations, config, project.resolve("jooq-codegen/GenerateSchema.java"));
        if (Files.exists(stamp) && Files.readString(stamp).equals(hash)) {
            System.out.println("[jooq-codegen] up to date (" + hash.substring(0, 12) + ")");
            return;
        }
        deleteTree(output);
        long started = System.nanoTime();
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().start()) {
            Flyway.configure()
                    .dataSource(pg.getPostgresDatabase())
                    .schemas("herald")
                    .locations("filesystem:" + migrations)
                    .load()
                    .migrate();
            Configuration cfg = GenerationTool.load(Files.newInputStream(config));
            cfg.withJdbc(new Jdbc()
                    .withDriver("org.postgresql.Driver")
                    .withUrl(pg.getJdbcUrl("postgres", "postgres"))
                    .withUser("postgres"));
            cfg.getGenerator().getTarget().withDirectory(output.toString());
            GenerationTool.generate(cfg);
        }
        Files.createDirectories(output);
        Files.writeString(stamp, hash);
        System.out.printf("[jooq-codegen] generated from %s in %d ms%n", migrations, (System.nanoTime() - started) / 1_000_000);
    }

    /** Hash of every input file, so a changed migration always regenerates. */
    static String hashOf(Path migrations, Path... files) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        List<Path> inputs;
        try (Stream<Path> s = Files.list(migrations)) {
            inputs = new java.util.ArrayList<>(s.filter(p -> p.toString().endsWith(".sql")).sorted().toList());
        }
        inputs.addAll(List.of(files));
        for (Path p : inputs) {
            sha.update(p.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            sha.update(Files.readAllBytes(p));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
