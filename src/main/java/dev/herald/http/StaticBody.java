package dev.herald.http;

import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * A response body fixed at start (a page file, the OpenAPI document), served with a strong
 * {@code ETag} and {@code Cache-Control: no-cache}: clients revalidate every time, and a
 * matching {@code If-None-Match} costs a 304 without a body. Also {@code X-Content-Type-Options:
 * nosniff} and any extra headers the file needs.
 */
public record StaticBody(byte[] body, String contentType, String etag, Map<String, String> headers) {

    public static StaticBody of(byte[] body, String contentType, Map<String, String> headers) {
        return new StaticBody(body, contentType, etag(body), headers);
    }

    public static StaticBody of(String text, String contentType, Map<String, String> headers) {
        return of(text.getBytes(StandardCharsets.UTF_8), contentType, headers);
    }

    public void serve(Context ctx) {
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Cache-Control", "no-cache");
        ctx.header("ETag", etag);
        headers.forEach(ctx::header);
        String inm = ctx.header("If-None-Match");
        if (inm != null && (inm.equals(etag) || inm.equals("W/" + etag))) {
            ctx.status(304);
            return;
        }
        ctx.contentType(contentType).result(body);
    }

    private static String etag(byte[] body) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(body);
            return '"' + HexFormat.of().formatHex(h, 0, 12) + '"';
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
