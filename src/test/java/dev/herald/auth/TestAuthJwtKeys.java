package dev.herald.auth;

import static dev.herald.auth.Jwts.assertInvalidToken;
import static dev.herald.auth.Jwts.claims;
import static dev.herald.auth.Jwts.generate;
import static dev.herald.auth.Jwts.rs256;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import dev.herald.testing.Api;
import dev.herald.testing.JwksServer;
import dev.herald.testing.TestServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Key rotation at the issuer: a new {@code kid} in the JWK Set is picked up by a refetch, and
 * unknown {@code kid}s refetch the set at most once per 10 s (counted at the test's own JWKS
 * server).
 */
class TestAuthJwtKeys {
    static final RSAKey K1 =
            generate(() -> new RSAKeyGenerator(2048).keyID("k1").generate());
    static final RSAKey K2 =
            generate(() -> new RSAKeyGenerator(2048).keyID("k2").generate());
    static final RSAKey K3 =
            generate(() -> new RSAKeyGenerator(2048).keyID("k3").generate());
    static final JwksServer JWKS = JwksServer.start();

    @RegisterExtension
    static final TestServer server =
            TestServer.replicas(1, b -> b.jwtJwksUrl(JWKS.url()).jwtIssuer(Jwts.ISSUER));

    @AfterAll
    static void stopJwks() {
        JWKS.close();
    }

    static int status(Api api, String token) {
        Api.Response r = api.get("/api/v1/events/backlog", token);
        if (r.status() != 200) System.out.println("[jwt keys] " + r);
        return r.status();
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void a_new_kid_is_fetched_and_unknown_kids_refetch_at_most_once_per_10_s(Api api) throws Exception {
        JWKS.publish(K1);
        assertEquals(0, JWKS.requests(), "the set is fetched on first use");
        assertEquals(200, status(api, rs256(K1, claims("kai").build())));
        assertEquals(1, JWKS.requests());

        // The issuer rotates: k2 appears. A token signed with it refetches the set once.
        JWKS.publish(K1, K2);
        long rotatedAt = System.nanoTime();
        assertEquals(200, status(api, rs256(K2, claims("kai").build())));
        assertEquals(2, JWKS.requests(), "an unknown kid refetched the set");

        // Within 10 s, another unknown kid fetches nothing: k3 is refused though the set now has it.
        JWKS.publish(K1, K2, K3);
        String withK3 = rs256(K3, claims("kai").build());
        assertInvalidToken(api, withK3, "k3 within 10 s of the last refetch");
        assertInvalidToken(api, rs256(K3, claims("kai").build()), "k3 again");
        assertEquals(2, JWKS.requests(), "at most one refetch per 10 s");
        // Known keys need no fetch.
        assertEquals(200, status(api, rs256(K1, claims("kai").build())));
        assertEquals(200, status(api, rs256(K2, claims("kai").build())));
        assertEquals(2, JWKS.requests());

        // 10 s after the last refetch, the unknown kid refetches again, once.
        long waitMs = 10_300 - (System.nanoTime() - rotatedAt) / 1_000_000;
        if (waitMs > 0) Thread.sleep(waitMs);
        assertEquals(200, status(api, rs256(K3, claims("kai").build())));
        assertEquals(3, JWKS.requests());
        assertEquals(200, status(api, rs256(K3, claims("kai").build())));
        assertEquals(3, JWKS.requests());
    }
}
