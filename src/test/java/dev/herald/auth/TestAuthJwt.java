package dev.herald.auth;

import static dev.herald.auth.Jwts.ISSUER;
import static dev.herald.auth.Jwts.SECRET;
import static dev.herald.auth.Jwts.TENANT;
import static dev.herald.auth.Jwts.assertInvalidToken;
import static dev.herald.auth.Jwts.claims;
import static dev.herald.auth.Jwts.es256;
import static dev.herald.auth.Jwts.generate;
import static dev.herald.auth.Jwts.hs256;
import static dev.herald.auth.Jwts.rs256;
import static dev.herald.auth.Jwts.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.PlainJWT;
import dev.herald.testing.Api;
import dev.herald.testing.JwksServer;
import dev.herald.testing.SseClient;
import dev.herald.testing.TestServer;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * JWTs minted by the application's own issuer (API.md "Tokens from the application's own
 * issuer"): HS256 with the shared secret, RS256 and ES256 with keys from a JWK Set the test
 * serves itself; every failure is 401 invalid_token; opaque tokens keep working beside them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TestAuthJwt {

    static final RSAKey RSA =
            generate(() -> new RSAKeyGenerator(2048).keyID("rsa-1").generate());
    static final ECKey EC =
            generate(() -> new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate());
    static final JwksServer JWKS = jwks();

    @RegisterExtension
    static final TestServer server = TestServer.replicas(
            1, b -> b.jwtSecret(SECRET).jwtJwksUrl(JWKS.url()).jwtIssuer(ISSUER));

    @AfterAll
    static void stopJwks() {
        JWKS.close();
    }

    private static JwksServer jwks() {
        JwksServer s = JwksServer.start();
        s.publish(RSA, EC);
        return s;
    }

    @Test
    void an_hs256_token_signed_with_the_secret_is_accepted(Api api) {
        Api.Response r = api.get("/api/v1/events/backlog", hs256(claims("hana").build()));
        assertEquals(200, r.status(), r.toString());
        // Its kid, if any, does not matter: there is one secret.
        String withKid = sign(
                JWSAlgorithm.HS256,
                "whatever",
                generate(() -> new MACSigner(SECRET.getBytes(StandardCharsets.UTF_8))),
                claims("hana").build());
        assertEquals(200, api.get("/api/v1/events/backlog", withKid).status());
    }

    @Test
    void rs256_and_es256_tokens_signed_with_keys_of_the_jwk_set_are_accepted(Api api) {
        Api.Response rs =
                api.get("/api/v1/events/backlog", rs256(RSA, claims("rosa").build()));
        assertEquals(200, rs.status(), rs.toString());
        Api.Response es =
                api.get("/api/v1/events/backlog", es256(EC, claims("elis").build()));
        assertEquals(200, es.status(), es.toString());
    }

    @Test
    void a_token_with_alg_none_is_invalid(Api api) {
        String none = new PlainJWT(claims("nora").build()).serialize();
        assertTrue(none.endsWith("."), none);
        assertInvalidToken(api, none, "alg none");
        // The same claims under an HS256 header whose signature was stripped.
        String hs = hs256(claims("nora").build());
        assertInvalidToken(api, hs.substring(0, hs.lastIndexOf('.') + 1), "signature stripped");
    }

    @Test
    void a_bad_signature_issuer_audience_time_or_claim_is_invalid(Api api) throws Exception {
        Instant now = Instant.now();
        RSAKey impostor = new RSAKeyGenerator(2048).keyID(RSA.getKeyID()).generate();
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put(
                "wrong HS256 secret",
                hs256("another secret of at least thirty-two bytes", claims("u").build()));
        bad.put("wrong RSA key under a known kid", rs256(impostor, claims("u").build()));
        String good = hs256(claims("u").build());
        bad.put("tampered payload", tamper(good));
        bad.put("wrong issuer", hs256(claims("u").issuer("https://evil.example").build()));
        bad.put("no issuer", hs256(claims("u").issuer(null).build()));
        bad.put("wrong audience", hs256(claims("u").audience("someone-else").build()));
        bad.put("no audience", hs256(claims("u").audience((String) null).build()));
        bad.put(
                "expired",
                hs256(claims("u").expirationTime(Date.from(now.minusSeconds(5))).build()));
        bad.put(
                "not yet valid (nbf beyond the skew)",
                hs256(claims("u").notBeforeTime(Date.from(now.plusSeconds(120))).build()));
        bad.put(
                "issued in the future beyond the skew",
                hs256(claims("u").issueTime(Date.from(now.plusSeconds(120))).build()));
        bad.put("missing tenant", hs256(claims("u").claim("tenant", null).build()));
        bad.put(
                "tenant not an external id",
                hs256(claims("u").claim("tenant", "a b").build()));
        bad.put("tenant not a string", hs256(claims("u").claim("tenant", 42).build()));
        bad.put("sub not an external id", hs256(claims("u/../v").build()));
        bad.put("missing exp", hs256(claims("u").expirationTime(null).build()));
        bad.put(
                "HS384, an algorithm not accepted",
                sign(
                        JWSAlgorithm.HS384,
                        null,
                        generate(() -> new MACSigner(SECRET.repeat(2).getBytes(StandardCharsets.UTF_8))),
                        claims("u").build()));
        bad.put("unparseable", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln");
        for (var e : bad.entrySet()) assertInvalidToken(api, e.getValue(), e.getKey());

        // Within the skew, nbf and iat are fine.
        String skewed = hs256(claims("u")
                .notBeforeTime(Date.from(now.plusSeconds(30)))
                .issueTime(Date.from(now.plusSeconds(30)))
                .build());
        assertEquals(200, api.get("/api/v1/events/backlog", skewed).status());
    }

    private static String tamper(String jwt) {
        String[] parts = jwt.split("\\.");
        String payload = new String(java.util.Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                .replace("\"sub\":\"", "\"sub\":\"x");
        return parts[0] + "."
                + java.util.Base64.getUrlEncoder()
                        .withoutPadding()
                        .encodeToString(payload.getBytes(StandardCharsets.UTF_8))
                + "." + parts[2];
    }

    @Test
    void admin_never_comes_from_a_jwt(Api api) {
        String token = hs256(claims(null).claim("scope", "admin events:read").build());
        Api.Response mint = api.post(
                "/api/v1/admin/tokens", token, Map.of("tenant", TENANT, "user", "x", "scopes", List.of("events:read")));
        assertEquals(403, mint.status(), mint.toString());
        assertEquals("missing_scope", mint.errorCode());
        Api.Response config = api.put("/api/v1/config/providers/p1", token, Map.of("value", 1));
        assertEquals(403, config.status(), config.toString());
        assertEquals("missing_scope", config.errorCode());
        // events:read is granted: a tenant-wide read of config works.
        Api.Response read = api.get("/api/v1/config/providers/p1", token);
        assertTrue(read.status() == 200 || read.status() == 404, read.toString());
        // And a token without scope gets none.
        Api.Response noScope = api.get(
                "/api/v1/events/backlog", hs256(claims("u").claim("scope", null).build()));
        assertEquals(403, noScope.status(), noScope.toString());
        assertEquals("missing_scope", noScope.errorCode());
    }

    @Test
    void a_jwt_opens_sse_streams_as_bearer_cookie_and_access_token(Api api) {
        String token = es256(EC, claims("sam").build());
        String url = api.base + "/api/v1/events";
        try (SseClient bearer = SseClient.open(url, token, null);
                SseClient cookie = SseClient.open(url, null, null, Map.of("Cookie", "herald_token=" + token));
                SseClient query = SseClient.open(
                        url + "?access_token=" + URLEncoder.encode(token, StandardCharsets.UTF_8), null, null)) {
            assertEquals(200, bearer.status, bearer.errorBody());
            assertEquals(200, cookie.status, cookie.errorBody());
            assertEquals(200, query.status, query.errorBody());
            String writer = hs256(claims(null).claim("scope", "events:write").build());
            assertEquals(
                    201,
                    api.post("/api/v1/users/sam/events", writer, Map.of("type", "hello"))
                            .status());
            for (SseClient s : List.of(bearer, cookie, query)) {
                SseClient.Event e = s.next(Duration.ofSeconds(5));
                assertNotNull(e, "every stream gets the event");
                assertEquals("hello", e.event());
            }
        }
        try (SseClient bad = SseClient.open(url + "?access_token=" + tamper(token), null, null)) {
            assertEquals(401, bad.status);
            assertTrue(bad.errorBody().contains("invalid_token"), bad.errorBody());
        }
    }

    @Test
    void a_stream_opened_with_a_jwt_ends_at_exp_and_resumes_with_a_fresh_token(Api api) {
        String writer = api.mint(TENANT, null, "events:write"); // opaque, beside the JWTs
        Instant exp = Instant.ofEpochSecond(Instant.now().getEpochSecond() + 3);
        String shortLived = hs256(claims("eve").expirationTime(Date.from(exp)).build());
        long id1;
        try (SseClient s = SseClient.open(api.base + "/api/v1/events", shortLived, null)) {
            assertEquals(200, s.status, s.errorBody());
            assertEquals(
                    201,
                    api.post("/api/v1/users/eve/events", writer, Map.of("type", "one"))
                            .status());
            SseClient.Event e1 = s.next(Duration.ofSeconds(5));
            assertNotNull(e1);
            id1 = e1.id();
            assertTrue(s.awaitClosed(Duration.ofSeconds(8)), "the stream ends by itself after exp");
            Instant closedAt = Instant.now();
            assertFalse(closedAt.isBefore(exp), "not before exp: closed " + closedAt + ", exp " + exp);
            assertTrue(closedAt.isBefore(exp.plusSeconds(3)), "soon after exp: closed " + closedAt + ", exp " + exp);
        }
        // The expired token is refused now; a fresh one resumes from the cursor.
        assertInvalidToken(api, shortLived, "expired after the stream ended");
        assertEquals(
                201,
                api.post("/api/v1/users/eve/events", writer, Map.of("type", "two"))
                        .status());
        try (SseClient again =
                SseClient.open(api.base + "/api/v1/events", hs256(claims("eve").build()), id1)) {
            assertEquals(200, again.status, again.errorBody());
            SseClient.Event e2 = again.next(Duration.ofSeconds(5));
            assertNotNull(e2, "the event published while disconnected");
            assertEquals("two", e2.event());
            assertEquals(id1 + 1, e2.id());
        }
    }

    @Test
    void opaque_tokens_keep_working_beside_jwts(Api api) {
        String opaque = api.userToken(TENANT, "olga");
        assertEquals(200, api.get("/api/v1/events/backlog", opaque).status());
        Api.Response garbage = api.get("/api/v1/events/backlog", "garbage-" + "x".repeat(32));
        assertEquals(401, garbage.status());
        assertEquals("unauthorized", garbage.errorCode());
        // A JWT's principal is its tenant's: it sees the opaque token's writes to its user.
        String jwt = hs256(claims("olga").build());
        assertEquals(
                201,
                api.post("/api/v1/users/olga/events", opaque, Map.of("type", "x"))
                        .status());
        Api.Response backlog = api.get("/api/v1/events/backlog", jwt);
        assertEquals(200, backlog.status(), backlog.toString());
    }
}
