package dev.herald.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.jwk.source.URLBasedJWKSetSource;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSKeySelector;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.herald.http.ApiException;
import dev.herald.http.Params;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.text.ParseException;
import java.time.Duration;
import java.util.Date;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies JWTs minted by the application's own issuer (API.md "Tokens from the application's
 * own issuer") with nimbus-jose-jwt: HS256 with the shared secret, RS256 / ES256 with the keys
 * of a JWK Set (cached; an unknown {@code kid} refetches the set, at most once per 10 s). Only
 * {@code events:read} and {@code events:write} come from a JWT's {@code scope}; never
 * {@code admin}.
 */
public final class JwtVerifier {
    private static final Logger log = LoggerFactory.getLogger(JwtVerifier.class);

    /** Three base64url parts joined by dots (the signature is empty for {@code alg: none}). */
    private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");

    /** Clock skew allowed for {@code nbf} and {@code iat}; {@code exp} is exact. */
    static final int MAX_SKEW_SECONDS = 60;

    /** An unknown {@code kid} refetches the JWK Set at most this often. */
    static final Duration JWKS_REFETCH_INTERVAL = Duration.ofSeconds(10);

    private static final Duration JWKS_CACHE_TTL = Duration.ofMinutes(5);
    /** Connect and read timeouts of a JWK Set fetch (nimbus' default, 500 ms, is tight on a busy host). */
    private static final Duration JWKS_TIMEOUT = Duration.ofSeconds(2);

    private static final Set<Scope> GRANTABLE = EnumSet.of(Scope.EVENTS_READ, Scope.EVENTS_WRITE);

    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

    /**
     * {@code secret}: the HS256 key (null: none). {@code jwksUrl}: the JWK Set of RS256 / ES256
     * keys (null: none). {@code issuer}: the required {@code iss} (null: any). {@code audience}:
     * must be in {@code aud}.
     */
    public JwtVerifier(String secret, String jwksUrl, String issuer, String audience) {
        if (secret == null && jwksUrl == null) throw new IllegalArgumentException("no JWT key configured");
        JWSKeySelector<SecurityContext> hmac = null;
        if (secret != null) {
            List<Key> key = List.of(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            // The one shared secret, whatever the header's kid says.
            hmac = (header, ctx) -> JWSAlgorithm.HS256.equals(header.getAlgorithm()) ? key : List.of();
        }
        JWSKeySelector<SecurityContext> jwks = null;
        if (jwksUrl != null) {
            JWKSource<SecurityContext> source = JWKSourceBuilder.create(
                            new RefetchLimit<>(jwkSetAt(jwksUrl), JWKS_REFETCH_INTERVAL.toMillis()))
                    .cache(JWKS_CACHE_TTL.toMillis(), JWKSourceBuilder.DEFAULT_CACHE_REFRESH_TIMEOUT)
                    .rateLimited(false) // RefetchLimit does it: nimbus' limiter allows two fetches per interval
                    .retrying(false)
                    .build();
            jwks = new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256), source);
        }
        JWSKeySelector<SecurityContext> byHmac = hmac;
        JWSKeySelector<SecurityContext> byJwks = jwks;
        // The header's alg picks the key source; any other alg (none included) finds no key.
        processor.setJWSKeySelector((header, ctx) -> {
            JWSAlgorithm alg = header.getAlgorithm();
            if (JWSAlgorithm.HS256.equals(alg) && byHmac != null) return byHmac.selectJWSKeys(header, ctx);
            if ((JWSAlgorithm.RS256.equals(alg) || JWSAlgorithm.ES256.equals(alg)) && byJwks != null)
                return byJwks.selectJWSKeys(header, ctx);
            return List.of();
        });
        JWTClaimsSet exact = issuer == null
                ? new JWTClaimsSet.Builder().build()
                : new JWTClaimsSet.Builder().issuer(issuer).build();
        ClaimsVerifier claims = new ClaimsVerifier(audience, exact, Set.of("exp", "tenant"));
        claims.setMaxClockSkew(MAX_SKEW_SECONDS);
        processor.setJWTClaimsSetVerifier(claims);
    }

    /** Whether a presented token has a JWT's shape (and so is not looked up as an opaque token). */
    public static boolean looksLikeJwt(String token) {
        return token.indexOf('.') > 0 && SHAPE.matcher(token).matches();
    }

    /** The principal of a valid JWT; 401 {@code invalid_token} for anything else. */
    public Principal verify(String token) {
        JWTClaimsSet claims;
        try {
            claims = processor.process(token, null);
        } catch (ParseException | BadJOSEException | JOSEException e) {
            log.debug("JWT refused: {}", e.getMessage());
            throw ApiException.invalidToken("invalid token: " + reason(e));
        }
        try {
            String tenant = claims.getStringClaim("tenant");
            if (tenant == null || !Params.EXTERNAL_ID.matcher(tenant).matches())
                throw ApiException.invalidToken("the 'tenant' claim must be " + Params.EXTERNAL_ID_RULE);
            String user = claims.getSubject();
            if (user != null && !Params.EXTERNAL_ID.matcher(user).matches())
                throw ApiException.invalidToken("the 'sub' claim must be " + Params.EXTERNAL_ID_RULE);
            Set<Scope> scopes = EnumSet.noneOf(Scope.class);
            String scope = claims.getStringClaim("scope");
            if (scope != null) {
                for (String s : scope.trim().split("\\s+")) {
                    Scope.parse(s).filter(GRANTABLE::contains).ifPresent(scopes::add); // never admin
                }
            }
            String id = claims.getJWTID() != null ? claims.getJWTID() : token;
            String prefix = "jwt:" + HexFormat.of().formatHex(Auth.hash(id), 0, 4);
            return new Principal(
                    prefix,
                    tenant,
                    user,
                    Set.copyOf(scopes),
                    false,
                    claims.getExpirationTime().toInstant());
        } catch (ParseException e) {
            throw ApiException.invalidToken("invalid token: " + e.getMessage());
        }
    }

    private static String reason(Exception e) {
        if (e instanceof ParseException) return "not a JWT";
        if (e instanceof BadJWTException) return e.getMessage();
        if (e instanceof RateLimitReachedException || e.getCause() instanceof RateLimitReachedException)
            return "unknown signing key";
        if (e instanceof JOSEException) {
            log.warn("JWT signing keys could not be retrieved: {}", e.getMessage());
            return "its signing key could not be retrieved";
        }
        return e.getMessage();
    }

    private static JWKSetSource<SecurityContext> jwkSetAt(String url) {
        try {
            return new URLBasedJWKSetSource<>(
                    URI.create(url).toURL(),
                    new DefaultResourceRetriever(
                            (int) JWKS_TIMEOUT.toMillis(),
                            (int) JWKS_TIMEOUT.toMillis(),
                            JWKSourceBuilder.DEFAULT_HTTP_SIZE_LIMIT));
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("HERALD_JWT_JWKS_URL is not a URL: " + url, e);
        }
    }

    /**
     * nimbus' claims checks (audience, exact issuer, required claims, {@code exp} and {@code nbf}
     * with the skew), plus: {@code exp} is exact (a stream ends at {@code exp}, so a reconnect
     * with the same token must not be let in), and {@code iat} is not in the future beyond the
     * skew.
     */
    private static final class ClaimsVerifier extends DefaultJWTClaimsVerifier<SecurityContext> {
        ClaimsVerifier(String audience, JWTClaimsSet exact, Set<String> required) {
            super(audience, exact, required);
        }

        @Override
        public void verify(JWTClaimsSet claims, SecurityContext ctx) throws BadJWTException {
            super.verify(claims, ctx);
            Date now = currentTime();
            if (!claims.getExpirationTime().after(now)) throw new BadJWTException("Expired JWT");
            Date iat = claims.getIssueTime();
            if (iat != null && iat.toInstant().isAfter(now.toInstant().plusSeconds(MAX_SKEW_SECONDS)))
                throw new BadJWTException("JWT issued in the future");
        }
    }

    /**
     * Fetches the JWK Set at most once per interval after the first fetch (an unknown
     * {@code kid} past that gets no key). nimbus' own rate limiter allows two fetches per
     * interval, so it is replaced by this one.
     */
    private static final class RefetchLimit<C extends SecurityContext> implements JWKSetSource<C> {
        private final JWKSetSource<C> source;
        private final long intervalMillis;
        private boolean fetched;
        private long lastRefetch;

        RefetchLimit(JWKSetSource<C> source, long intervalMillis) {
            this.source = source;
            this.intervalMillis = intervalMillis;
        }

        @Override
        public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refresh, long currentTime, C context)
                throws com.nimbusds.jose.KeySourceException {
            synchronized (this) {
                if (fetched) {
                    if (currentTime - lastRefetch < intervalMillis) throw new RateLimitReachedException();
                    lastRefetch = currentTime;
                } else {
                    fetched = true;
                    lastRefetch = currentTime - intervalMillis; // the first refetch may follow at once
                }
            }
            return source.getJWKSet(refresh, currentTime, context);
        }

        @Override
        public void close() throws IOException {
            source.close();
        }
    }
}
