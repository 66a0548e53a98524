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

    public static DatabaseUrl parse(String url) {
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
