package dev.herald.reliability;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

/**
 * Seeded generators of hostile input (no property-testing library: jqwik 1.10+ carries a
 * usage clause that rules it out). The same seed gives the same cases, so a failure names
 * the seed to replay ({@code -Dherald.fuzzSeed=...}).
 */
final class Hostile {
    static final long SEED = Long.getLong("herald.fuzzSeed", 0x4E52414CL);

    private static final List<String> NASTY = List.of(
            "..",
            "../",
            "..%2f",
            "%2e%2e",
            "%2e%2e%2f",
            "..;",
            "..\\",
            "%00",
            "\u0000",
            "%ff",
            "%c0%ae%c0%ae",
            "'",
            "\"",
            "`",
            "<script>",
            "${jndi:ldap://x}",
            "%s%n",
            "\r\n",
            "\t",
            " ",
            "😀",
            "\ud83d",
            "é",
            "٣",
            "１",
            "ǅ",
            "\u202e",
            "\ufeff",
            "*",
            "?",
            "#",
            "&",
            "=",
            "+",
            ";",
            ",",
            "/",
            "//",
            "\\",
            "NaN",
            "-0",
            "1e309");

    private static final List<String> CURSORS = List.of(
            "-1",
            "-0",
            "+1",
            " 1",
            "1 ",
            "01",
            "1.0",
            "1e3",
            "0x10",
            "١٢",
            "１２",
            "9223372036854775807",
            "9223372036854775808",
            "99999999999999999999999999",
            "18446744073709551616",
            "NaN",
            "Infinity",
            "",
            " ",
            "abc",
            "1,2",
            "1;2",
            "½",
            "²",
            "0000000000000000000000001",
            "\u0000",
            "1\u0000",
            "%00",
            "null",
            "[]",
            "{}",
            "true");

    final Random rnd;

    Hostile(long salt) {
        this.rnd = new Random(SEED ^ salt);
    }

    int between(int min, int max) {
        return min + rnd.nextInt(max - min + 1);
    }

    <T> T pick(List<T> l) {
        return l.get(rnd.nextInt(l.size()));
    }

    /** A string of random code points of every kind: ASCII, controls, surrogates, astral, nasty fragments. */
    String junk(int maxLen) {
        int len = rnd.nextInt(maxLen + 1);
        StringBuilder b = new StringBuilder();
        while (b.length() < len) {
            switch (rnd.nextInt(6)) {
                case 0 -> b.append((char) between(0x20, 0x7e));
                case 1 -> b.append((char) rnd.nextInt(0x20));
                case 2 -> b.append((char) between(0x80, 0xffff));
                case 3 -> b.appendCodePoint(between(0x10000, 0x10ffff));
                case 4 -> b.append(pick(NASTY));
                default -> b.append((char) between('a', 'z'));
            }
        }
        return b.toString();
    }

    /** Something that is not a valid cursor, or an edge case of one. */
    String cursor() {
        return switch (rnd.nextInt(4)) {
            case 0 -> pick(CURSORS);
            case 1 -> "-" + Math.abs(rnd.nextLong());
            case 2 -> "9".repeat(between(19, 400));
            default -> junk(40);
        };
    }

    byte[] bytes(int maxLen) {
        byte[] b = new byte[between(1, maxLen)];
        rnd.nextBytes(b);
        return b;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** JSON arrays nested depth deep: far past the parser's limit of 64. */
    static String nested(int depth, boolean objects) {
        StringBuilder b = new StringBuilder(depth * 6);
        for (int i = 0; i < depth; i++) b.append(objects ? "{\"a\":" : "[");
        b.append("1");
        for (int i = 0; i < depth; i++) b.append(objects ? "}" : "]");
        return b.toString();
    }
}
