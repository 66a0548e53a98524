package dev.herald.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The layers of docs/architecture.md, checked on the compiled classes: the engine knows
 * nothing of HTTP or of the features built on it, features never reach into each other, and
 * only {@code Herald} wires the parts together.
 */
class TestArchitecture {
    private static final String[] FEATURES = {
        "dev.herald.userevents..",
        "dev.herald.teamjobs..",
        "dev.herald.inbox..",
        "dev.herald.chat..",
        "dev.herald.tenantconfig.."
    };

    private static final JavaClasses HERALD = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.herald");

    @Test
    void the_rules_see_the_whole_server() {
        assertTrue(HERALD.contain(dev.herald.Herald.class), "Herald itself was imported");
        assertTrue(HERALD.size() > 100, "every main class was imported: " + HERALD.size());
    }

    @Test
    void the_engine_imports_no_sse_http_auth_or_feature_package() {
        noClasses()
                .that()
                .resideInAPackage("dev.herald.stream..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(concat(
                        FEATURES,
                        "dev.herald.sse..",
                        "dev.herald.http..",
                        "dev.herald.browser..",
                        "dev.herald.auth..",
                        "dev.herald.ops..",
                        "io.javalin..",
                        "jakarta.servlet..",
                        "org.eclipse.jetty.."))
                .check(HERALD);
    }

    @Test
    void sse_serves_streams_without_knowing_any_feature() {
        noClasses()
                .that()
                .resideInAnyPackage("dev.herald.sse..", "dev.herald.http..", "dev.herald.json..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(FEATURES)
                .check(HERALD);
    }

    @Test
    void features_never_import_each_other() {
        slices().matching("dev.herald.(userevents|teamjobs|inbox|chat|tenantconfig)..")
                .should()
                .notDependOnEachOther()
                .check(HERALD);
    }

    @Test
    void only_herald_wires_the_parts() {
        // A feature's routes are constructed and registered in Herald only.
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.herald")
                .and()
                .haveNameNotMatching(".*Routes(\\$.*)?")
                .should()
                .dependOnClassesThat()
                .haveNameMatching(".*Routes")
                .check(HERALD);
        noClasses()
                .that()
                .resideOutsideOfPackage("dev.herald")
                .should()
                .dependOnClassesThat()
                .belongToAnyOf(dev.herald.Herald.class)
                .check(HERALD);
    }

    @Test
    void packages_have_no_cycles() {
        slices().matching("dev.herald.(*)..")
                .namingSlices("$1")
                .should()
                .beFreeOfCycles()
                .ignoreDependency(
                        com.tngtech.archunit.base.DescribedPredicate.alwaysTrue(),
                        com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage("dev.herald.jooq.."))
                .check(HERALD);
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
