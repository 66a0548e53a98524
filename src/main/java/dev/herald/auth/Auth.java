package dev.herald.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.herald.http.ApiException;
import dev.herald.settings.Settings;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates requests by bearer token (and, on SSE endpoints, the {@code herald_token}
 * cookie or {@code access_token} query parameter, since EventSource cannot set headers).
 * Validated tokens are cached briefly; a revocation evicts at once on every replica. Unknown
 * tokens and failures per client address are limited by an {@link AuthGuard}.
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
    private final AuthGuard guard;
    /** Verifies JWTs from the application's own issuer; null when none is configured. */
    private final JwtVerifier jwt;

    /** {@code broadcast} tells every replica of a revocation (a control ping); best effort. */
    public Auth(TokenStore store, Consumer<String> broadcast) {
        this(store, broadcast, Settings.defaults().limits(), null);
    }

    /**
     * The same, with the failure budget per client address of {@code limits}, also accepting
     * JWTs that {@code jwt} verifies (null: opaque tokens only).
     */
    public Auth(TokenStore store, Consumer<String> broadcast, Settings.Limits limits, JwtVerifier jwt) {
        this.store = store;
        this.broadcast = broadcast;
        this.guard = new AuthGuard(limits.authFailures(), limits.authFailureWindow());
        this.jwt = jwt;
    }

    /** The cache key of a raw token (its SHA-256, hex): what {@link #known} is told. */
    public static String key(String token) {
        return hex(hash(token));
    }

    /** A token with this key exists now (e.g. HERALD_ADMIN_TOKEN set on another replica). */
    public void known(String key) {
        guard.forgetUnknown(key);
    }

    /** Requests refused with 429 because their address failed authentication too often. */
    public long throttled() {
        return guard.throttled();
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
        if (token == null || token.isEmpty()) throw failed(ctx, "missing token: send 'Authorization: Bearer <token>'");
        if (jwt != null && JwtVerifier.looksLikeJwt(token)) return jwt(token);
        if (token.length() > 512) throw failed(ctx, "invalid token");
        String key = hex(hash(token));
        Principal p = cache.getIfPresent(key);
        if (p != null) return p;
        // An address over its failure budget (and a token that failed lately) costs no query.
        guard.admit(ctx.req().getRemoteAddr());
        if (guard.knownUnknown(key)) throw failed(ctx, "invalid or revoked token");
        p = store.findActive(hash(token)).orElse(null);
        if (p == null) {
            guard.rememberUnknown(key);
            throw failed(ctx, "invalid or revoked token");
        }
        cache.put(key, p);
        return p;
    }

    /** A 401, or 429 once the client's address is over its failure budget. */
    private ApiException failed(Context ctx, String message) {
        return guard.failed(ctx.req().getRemoteAddr(), ApiException.unauthorized(message));
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

    private String bearer(Context ctx) {
        String h = ctx.header("Authorization");
        if (h == null) return null;
        h = h.trim();
        if (h.regionMatches(true, 0, "Bearer ", 0, 7)) return h.substring(7).trim();
        throw failed(ctx, "the Authorization header must be 'Bearer <token>'");
    }

    /** Mints a token; the raw token is returned once and never stored. */
    public String mint(String tenant, String user, Set<Scope> scopes) {
        for (int attempt = 0; attempt < 5; attempt++) {
            String token = randomToken();
            if (store.insert(token.substring(0, PREFIX_LENGTH), hash(token), tenant, user, scopes, false)) {
                guard.forgetUnknown(hex(hash(token)));
                return token;
            }
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
     * The operator's bootstrap token: HERALD_ADMIN_TOKEN if set (at least 32 characters; stored
     * under a random prefix, never one taken from the secret; an earlier value set again is
     * reinstated; any other operator token is revoked), else one generated on the first start
     * and printed once. Runs under an advisory lock: replicas starting at once on a fresh
     * database generate (and print) one token between them.
     */
    public void bootstrap(String configured) {
        if (configured != null && configured.length() < Settings.MIN_ADMIN_TOKEN_LENGTH) {
            throw new IllegalArgumentException(
                    "HERALD_ADMIN_TOKEN must be at least " + Settings.MIN_ADMIN_TOKEN_LENGTH + " characters long");
        }
        String generated = store.underBootstrapLock(s -> configured != null ? configure(s, configured) : generate(s));
        if (configured != null) guard.forgetUnknown(hex(hash(configured)));
        if (generated == null) return;
        String banner = """

                ================================================================
                 Herald generated the operator (admin) token. It is shown once:

                     %s

                 Store it now; only its hash is kept. Set HERALD_ADMIN_TOKEN to
                 choose your own instead.
                ================================================================
                """.formatted(generated);
        System.out.println(banner);
        System.out.flush();
    }

    private String configure(TokenStore s, String configured) {
        byte[] h = hash(configured);
        Optional<Boolean> operator = s.operatorFlag(h);
        if (operator.isPresent() && !operator.get()) {
            throw new IllegalArgumentException("HERALD_ADMIN_TOKEN equals a tenant token; choose another token");
        }
        if (operator.isPresent()) {
            if (s.reinstateOperator(h)) log.info("reinstated the operator token: HERALD_ADMIN_TOKEN set back to it");
            // Stored before prefixes were random: its prefix was the secret's first characters.
            String old = configured.substring(0, PREFIX_LENGTH);
            if (s.reprefix(h, old, randomToken().substring(0, PREFIX_LENGTH)))
                log.info("gave the operator token a random prefix");
        } else {
            boolean inserted = false;
            for (int attempt = 0; attempt < 5 && !inserted; attempt++) {
                String prefix = randomToken().substring(0, PREFIX_LENGTH);
                inserted = s.insert(prefix, h, null, null, Set.of(Scope.values()), true);
            }
            if (!inserted) throw new IllegalStateException("could not find a free token prefix");
        }
        int rotated = s.revokeOtherOperators(h);
        if (rotated > 0) log.info("revoked {} older operator token(s): HERALD_ADMIN_TOKEN changed", rotated);
        return null;
    }

    private String generate(TokenStore s) {
        if (s.operatorExists()) return null;
        for (int attempt = 0; attempt < 5; attempt++) {
            String token = randomToken();
            if (s.insert(token.substring(0, PREFIX_LENGTH), hash(token), null, null, Set.of(Scope.values()), true))
                return token;
        }
        throw new IllegalStateException("could not find a free token prefix");
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
