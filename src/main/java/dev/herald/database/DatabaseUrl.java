package dev.herald.database;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the database is: parsed from {@code postgres://user:pass@host:port/db} or
 * {@code jdbc:postgresql://host:port/db?user=..&password=..}. Both drivers (the pool's pgjdbc
 * and the listener's pgjdbc-ng) are configured from these parts.
 */
public record DatabaseUrl(String host, int port, String database, String user, String password) {

    /**
     * Parses a database URL. Every error message masks the password: a parser's own message
     * (which quotes its input) is passed through {@link #mask} and never kept as a cause.
     */
    public static DatabaseUrl parse(String url) {
        if (url == null) throw new IllegalArgumentException("HERALD_DATABASE_URL is not set");
        try {
            return parseUnmasked(url);
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : mask(e.getMessage());
            for (String secret : secretsIn(url)) why = why.replace(secret, "***");
            throw new IllegalArgumentException(
                    why.startsWith("HERALD_DATABASE_URL") ? why : "HERALD_DATABASE_URL is malformed: " + why);
        }
    }

    /** Text with any password of a URL in it replaced by {@code ***}: userinfo and query forms. */
    public static String mask(String text) {
        return text.replaceAll("(?i)(://[^:/?#@\\s]*:)[^@]*@", "$1***@")
                .replaceAll("(?i)((?:password|pass|pwd)=)[^&\\s]*", "$1***");
    }

    /** The password as it may appear in {@code url}: raw and percent-decoded, userinfo and query. */
    private static java.util.List<String> secretsIn(String url) {
        java.util.List<String> out = new java.util.ArrayList<>();
        int scheme = url.indexOf("://");
        int at = url.lastIndexOf('@');
        if (scheme >= 0 && at > scheme) {
            String userinfo = url.substring(scheme + 3, at);
            int colon = userinfo.indexOf(':');
            if (colon >= 0) out.add(userinfo.substring(colon + 1));
        }
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("(?i)password=([^&]*)").matcher(url);
        while (m.find()) out.add(m.group(1));
        for (String raw : java.util.List.copyOf(out)) {
            try {
                out.add(decode(raw));
            } catch (RuntimeException ignored) {
                // not decodable: the raw form is masked
            }
        }
        out.removeIf(String::isEmpty);
        return out;
    }

    private static DatabaseUrl parseUnmasked(String url) {
        String s = url.trim();
        if (s.startsWith("jdbc:")) s = s.substring(5);
        if (s.startsWith("postgresql://")) s = "postgres://" + s.substring("postgresql://".length());
        if (!s.startsWith("postgres://")) {
            throw new IllegalArgumentException("HERALD_DATABASE_URL must start with postgres:// or jdbc:postgresql://");
        }
        URI uri = URI.create(s);
        Map<String, String> query = query(uri.getRawQuery());
        String user = query.get("user");
        String password = query.get("password");
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            user = decode(parts[0]);
            if (parts.length > 1) password = decode(parts[1]);
        }
        String db = uri.getPath() == null || uri.getPath().length() <= 1
                ? "postgres"
                : uri.getPath().substring(1);
        String host = uri.getHost() == null ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? 5432 : uri.getPort();
        return new DatabaseUrl(host, port, db, user == null ? "postgres" : user, password);
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://" + host + ":" + port + "/" + database;
    }

    /** For logs: never the password. */
    public String describe() {
        return "postgres://" + user + "@" + host + ":" + port + "/" + database;
    }

    /** A record's toString would show the password: this one never does. */
    @Override
    public String toString() {
        return describe();
    }

    public DatabaseUrl withDatabase(String db) {
        return new DatabaseUrl(host, port, db, user, password);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> m = new LinkedHashMap<>();
        if (raw == null) return m;
        for (String kv : raw.split("&")) {
            String[] p = kv.split("=", 2);
            m.put(decode(p[0]), p.length > 1 ? decode(p[1]) : "");
        }
        return m;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
