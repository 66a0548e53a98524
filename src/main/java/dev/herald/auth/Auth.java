package dev.herald.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.herald.http.ApiException;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates requests by bearer token (and, on SSE endpoints, the {@code herald_token}
 * cookie or {@code access_token} query parameter, since EventSource cannot set headers).
 * Validated tokens are cached briefly; a revocation evicts at once on every replica.
 */
public final class Auth {
    private static final Logger log = LoggerFactory.getLogger(Auth.class);
    private static final char[] ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
    private static final int TOKEN_LENGTH = 40;
    public static final int PREFIX_LENGTH = 8;
    /** A JWT (an RS256 signature alone is 342 characters) fits in the 8 KB of request headers. */
    private static final int MAX_JWT_LENGTH = 8 * 1024;

    private final TokenStore store;
    private final SecureRandom random = new SecureRandom();
    private final Cache<String, Principal> cache = Caffeine.newBuilder()
            .expireAfterWrite(Duration.ofSeconds(5))
            .maximumSize(100_000)
            .build();
    private volatile Consumer<String> onRevoked = prefix -> {};

    private final Consumer<String> broadcast;
    /** Verifies JWTs from the application's own issuer; null when none is configured. */
    private final JwtVerifier jwt;

    /** {@code broadcast} tells every replica of a revocation (a control ping); best effort. */
    public Auth(TokenStore store, Consumer<String> broadcast) {
        this(store, broadcast, null);
    }

    /** The same, also accepting JWTs that {@code jwt} verifies (null: opaque tokens only). */
    public Auth(TokenStore store, Consumer<String> broadcast, JwtVerifier jwt) {
        this.store = store;
        this.broadcast = broadcast;
        this.jwt = jwt;
    }

    /** Called with a revoked token's prefix (locally or from another replica's ping). */
    public void onRevoked(Consumer<String> listener) {
        this.onRevoked = listener;
    }

    public Principal authenticate(Context ctx, boolean sse) {
        String token = bearer(ctx);
        if (token == null && sse) {
            // Explicit beats ambient: a page subscribing with a token wins over a stale cookie.
            token = ctx.queryParam("access_token");
            if (token == null || token.isEmpty()) token = ctx.cookie("herald_token");
        }
        if (token == null || token.isEmpty())
            throw ApiException.unauthorized("missing token: send 'Authorization: Bearer <token>'");
        if (jwt != null && JwtVerifier.looksLikeJwt(token)) return jwt(token);
        if (token.length() > 512) throw ApiException.unauthorized("invalid token");
        String key = hex(hash(token));
        Principal p = cache.getIfPresent(key);
        if (p != null) return p;
        p = store.findActive(hash(token)).orElseThrow(() -> ApiException.unauthorized("invalid or revoked token"));
        cache.put(key, p);
        return p;
    }

    /**
     * A JWT, told from an opaque token by its shape before any database lookup. Verified ones
     * are cached like opaque tokens, but never past their {@code exp}.
     */
    private Principal jwt(String token) {
        if (token.length() > MAX_JWT_LENGTH) throw ApiException.invalidToken("invalid token: too long");
        String key = hex(hash(token));
        Principal p = cache.getIfPresent(key);
        if (p == null) {
            p = jwt.verify(token);
            cache.put(key, p);
        }
        if (p.expired(Instant.now())) {
            cache.invalidate(key);
            throw ApiException.invalidToken("invalid token: Expired JWT");
        }
        return p;
    }

    private static String bearer(Context ctx) {
        String h = ctx.header("Authorization");
        if (h == null) return null;
        h = h.trim();
        if (h.regionMatches(true, 0, "Bearer ", 0, 7)) return h.substring(7).trim();
        throw ApiException.unauthorized("the Authorization header must be 'Bearer <token>'");
    }

    /** Mints a token; the raw token is returned once and never stored. */
    public String mint(String tenant, String user, Set<Scope> scopes) {
        for (int attempt = 0; attempt < 5; attempt++) {
            String token = randomToken();
            if (store.insert(token.substring(0, PREFIX_LENGTH), hash(token), tenant, user, scopes, false)) return token;
        }
        throw new IllegalStateException("could not find a free token prefix");
    }

    public boolean revoke(String prefix) {
        boolean done = store.revoke(prefix);
        if (!done) return false;
        revoked(prefix);
        try {
            // Other replicas end the token's streams at once; the revocation poll is the backstop.
            broadcast.accept(prefix);
        } catch (RuntimeException e) {
            log.warn("could not broadcast the revocation of {}: {}", prefix, e.getMessage());
        }
        return true;
    }

    /** A token was revoked (here or on another replica): forget it and end its streams. */
    public void revoked(String prefix) {
        cache.asMap().values().removeIf(p -> p.tokenPrefix().equals(prefix));
        onRevoked.accept(prefix);
    }

    /**
     * The operator's bootstrap token: HERALD_ADMIN_TOKEN if set (rotating out any older one),
     * else one generated on first start and printed once.
     */
    public void bootstrap(String configured) {
        if (configured != null) {
            if (configured.length() < 16) {
                throw new IllegalArgumentException("HERALD_ADMIN_TOKEN must be at least 16 characters long");
            }
            byte[] h = hash(configured);
            if (!store.exists(h)
                    && !store.insert(
                            configured.substring(0, PREFIX_LENGTH), h, null, null, Set.of(Scope.values()), true)) {
                throw new IllegalArgumentException(
                        "HERALD_ADMIN_TOKEN's first 8 characters equal another token's prefix; choose another token");
            }
            int rotated = store.revokeOtherOperators(h);
            if (rotated > 0) log.info("revoked {} older operator token(s): HERALD_ADMIN_TOKEN changed", rotated);
            return;
        }
        if (store.operatorExists()) return;
        String token = randomToken();
        store.insert(token.substring(0, PREFIX_LENGTH), hash(token), null, null, Set.of(Scope.values()), true);
        String banner = """

                ================================================================
                 Herald generated the operator (admin) token. It is shown once:

                     %s

                 Store it now; only its hash is kept. Set HERALD_ADMIN_TOKEN to
                 choose your own instead.
                ================================================================
                """.formatted(token);
        System.out.println(banner);
        System.out.flush();
    }

    private String randomToken() {
        char[] c = new char[TOKEN_LENGTH];
        for (int i = 0; i < c.length; i++) c[i] = ALPHABET[random.nextInt(ALPHABET.length)];
        return new String(c);
    }

    static byte[] hash(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
