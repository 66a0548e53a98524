package dev.herald.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.herald.testing.Api;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;

/** Mints JWTs the way an application's backend would, for the JWT tests (nimbus). */
final class Jwts {
    static final String TENANT = "jwt-co";
    static final String ISSUER = "https://id.jwt-co.example";
    static final String SECRET = "an HS256 secret of at least 32 bytes, for the tests";

    private Jwts() {}

    interface KeyMaker<K> {
        K make() throws Exception;
    }

    static <K> K generate(KeyMaker<K> maker) {
        try {
            return maker.make();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Valid claims: this issuer, audience herald, tenant, user, read and write, exp in 5 min. */
    static JWTClaimsSet.Builder claims(String user) {
        Instant now = Instant.now();
        JWTClaimsSet.Builder b = new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience("herald")
                .claim("tenant", TENANT)
                .claim("scope", "events:read events:write")
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(300)))
                .jwtID(UUID.randomUUID().toString());
        if (user != null) b.subject(user);
        return b;
    }

    static String sign(JWSAlgorithm alg, String kid, JWSSigner signer, JWTClaimsSet claims) {
        try {
            SignedJWT jwt = new SignedJWT(
                    new JWSHeader.Builder(alg)
                            .keyID(kid)
                            .type(JOSEObjectType.JWT)
                            .build(),
                    claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String hs256(JWTClaimsSet claims) {
        return hs256(SECRET, claims);
    }

    static String hs256(String secret, JWTClaimsSet claims) {
        return sign(
                JWSAlgorithm.HS256,
                null,
                generate(() -> new MACSigner(secret.getBytes(StandardCharsets.UTF_8))),
                claims);
    }

    static String rs256(RSAKey key, JWTClaimsSet claims) {
        return sign(JWSAlgorithm.RS256, key.getKeyID(), generate(() -> new RSASSASigner(key)), claims);
    }

    static String es256(ECKey key, JWTClaimsSet claims) {
        return sign(JWSAlgorithm.ES256, key.getKeyID(), generate(() -> new ECDSASigner(key)), claims);
    }

    /** A JSON request with the token is refused with 401 invalid_token. */
    static void assertInvalidToken(Api api, String token, String what) {
        Api.Response r = api.get("/api/v1/events/backlog", token);
        assertEquals(401, r.status(), what + ": " + r);
        assertEquals("invalid_token", r.errorCode(), what + ": " + r);
    }
}
